// Probe 83: confirmation mails for one user, at most so many an hour (email-change-limit.ts), counted by every API
// process of the data dir (docs/adr/0038 as amended in session 61).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProblemException } from '../shared/problem';
import { EmailChangeLimit } from './email-change-limit';
import { type EmailChangeMails, SqliteEmailChangeMails } from './email-change-mails';
import { emailChangeMailsContract } from './testing/email-change-mails.contract';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const MINUTE = 60_000;

let dir: string;
const open: EmailChangeMails[] = [];
const store = () => {
  const made = new SqliteEmailChangeMails(dir);
  open.push(made);
  return made;
};
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'email-change-mails-'));
});
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

const refusal = async (check: Promise<void>): Promise<ProblemException> => {
  try {
    await check;
  } catch (error) {
    if (error instanceof ProblemException) return error;
    throw error;
  }
  throw new Error('not refused');
};

it("probe 83: a user's confirmations are limited per hour, counted from each mail; another user or organization is apart", async () => {
  const limit = new EmailChangeLimit(2, store());
  await limit.check('org', 'ann', T0);
  await limit.mailedFor('org', 'ann', T0);
  await limit.mailedFor('org', 'ann', T0 + 10 * MINUTE);
  const refused = await refusal(limit.check('org', 'ann', T0 + 30 * MINUTE));
  expect(refused.problem).toMatchObject({
    status: 429,
    code: 'TOO_MANY_EMAIL_CHANGES',
    detail: "This user's email was asked to change 2 times in the last hour, each mailing a confirmation link, and 2 an hour is the limit: the next can be asked at 2026-03-01T11:00:00.000Z.",
  });
  // its Retry-After: until then (probe 92 F2: a fixed 60 s)
  expect(refused.retryAfterSeconds).toBe(30 * 60);
  // others are counted apart
  await limit.check('org', 'bob', T0 + 30 * MINUTE);
  await limit.check('other-org', 'ann', T0 + 30 * MINUTE);
  // an hour after the first mail, one more may be asked; a moment before, not yet
  await refusal(limit.check('org', 'ann', T0 + 60 * MINUTE - 1));
  await limit.check('org', 'ann', T0 + 60 * MINUTE);
});

it('the limit holds across the API processes of a data dir: what one mailed counts in another (it was per process: N replicas let N times it through)', async () => {
  const [a, b] = [new EmailChangeLimit(2, store()), new EmailChangeLimit(2, store())];
  await a.mailedFor('org', 'ann', T0);
  await b.mailedFor('org', 'ann', T0 + MINUTE);
  await refusal(a.check('org', 'ann', T0 + 2 * MINUTE));
  await refusal(b.check('org', 'ann', T0 + 2 * MINUTE));
  // and a restart does not forget them
  await refusal(new EmailChangeLimit(2, store()).check('org', 'ann', T0 + 2 * MINUTE));
});

it('two replicas that both let one more through (a race): the next is refused until enough of them are an hour old', async () => {
  const limit = new EmailChangeLimit(2, store());
  for (const at of [T0, T0 + MINUTE, T0 + 2 * MINUTE]) await limit.mailedFor('org', 'ann', at);
  // three in the hour, two allowed: the first two must leave the window, the second at T0 + 61 min
  expect((await refusal(limit.check('org', 'ann', T0 + 3 * MINUTE))).retryAfterSeconds).toBe(58 * 60);
  await refusal(limit.check('org', 'ann', T0 + 61 * MINUTE - 1));
  await limit.check('org', 'ann', T0 + 61 * MINUTE);
});

it('a store that cannot answer lets the change through and says so in the log: the limit is no reason to refuse an email change', async () => {
  const broken: EmailChangeMails = {
    since: () => Promise.reject(new Error('disk I/O error')),
    mailed: () => Promise.reject(new Error('database or disk is full')),
    close: () => Promise.resolve(),
  };
  const warned: string[] = [];
  const limit = new EmailChangeLimit(1, broken, { warn: (message: string) => void warned.push(message) } as never);
  await limit.check('org', 'ann', T0);
  await limit.mailedFor('org', 'ann', T0);
  expect(warned).toEqual([
    'The email changes mailed for user ann could not be read (Error: disk I/O error); the limit is not checked for this one.',
    'A confirmation mailed for user ann could not be counted (Error: database or disk is full).',
  ]);
});

it('keeps no more than the last hour of mails (the table stays as small as the last hour)', async () => {
  const mails = store();
  const limit = new EmailChangeLimit(5, mails);
  await limit.mailedFor('org', 'old', T0);
  await limit.mailedFor('org', 'new', T0 + 61 * MINUTE);
  expect(await mails.since('org', 'old', 0)).toEqual([]);
  expect(await mails.since('org', 'new', 0)).toEqual([T0 + 61 * MINUTE]);
});

emailChangeMailsContract('SQLite', () => ({ one: store(), other: store() }));
