// Probe 83: confirmation mails for one user, at most so many an hour (email-change-limit.ts), counted by every API
// process of the data dir (docs/adr/0038 as amended in session 61).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProblemException } from '../shared/http/problem';
import { EmailChangeLimit } from './email-change-limit';
import { type EmailChangeMails, ProcessEmailChangeMails, SqliteEmailChangeMails } from './email-change-mails';
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

const refusal = async (taking: Promise<unknown>): Promise<ProblemException> => {
  try {
    await taking;
  } catch (error) {
    if (error instanceof ProblemException) return error;
    throw error;
  }
  throw new Error('not refused');
};

it("probe 83: a user's confirmations are limited per hour, counted from each mail; another user or organization is apart", async () => {
  const limit = new EmailChangeLimit(2, store());
  await limit.take('org', 'ann', T0);
  await limit.take('org', 'ann', T0 + 10 * MINUTE);
  const refused = await refusal(limit.take('org', 'ann', T0 + 30 * MINUTE));
  expect(refused.problem).toMatchObject({
    status: 429,
    code: 'TOO_MANY_EMAIL_CHANGES',
    detail:
      "This user's email was asked to change 2 times in the last hour, each sending a confirmation link to the address asked for, and 2 an hour is the limit: the next can be asked at 2026-03-01T11:00:00.000Z at the latest (earlier if the mail relay refuses one of those links for good).",
  });
  // its Retry-After: until then (probe 92 F2: a fixed 60 s)
  expect(refused.retryAfterSeconds).toBe(30 * 60);
  // others are counted apart
  await limit.take('org', 'bob', T0 + 30 * MINUTE);
  await limit.take('other-org', 'ann', T0 + 30 * MINUTE);
  // an hour after the first mail, one more may be asked; a moment before, not yet
  await refusal(limit.take('org', 'ann', T0 + 60 * MINUTE - 1));
  await limit.take('org', 'ann', T0 + 60 * MINUTE);
});

it('the limit holds across the API processes of a data dir: what one took counts in another (it was per process: N replicas let N times it through)', async () => {
  const [a, b] = [new EmailChangeLimit(2, store()), new EmailChangeLimit(2, store())];
  await a.take('org', 'ann', T0);
  await b.take('org', 'ann', T0 + MINUTE);
  await refusal(a.take('org', 'ann', T0 + 2 * MINUTE));
  await refusal(b.take('org', 'ann', T0 + 2 * MINUTE));
  // and a restart does not forget them
  await refusal(new EmailChangeLimit(2, store()).take('org', 'ann', T0 + 2 * MINUTE));
});

it('requests taken at the same moment by two processes: no more than the limit get through (probe 99 F1: 15 of 20 did, counted after their mails)', async () => {
  const [a, b] = [new EmailChangeLimit(5, store()), new EmailChangeLimit(5, store())];
  const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).take('org', 'ann', T0 + i)));
  expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(5);
  expect(outcomes.filter((o) => o.status === 'rejected').every((o) => (o as PromiseRejectedResult).reason instanceof ProblemException)).toBe(true);
});

it('a slot given back (no mail went out: refused, replayed, a withdrawal) frees its place', async () => {
  const limit = new EmailChangeLimit(1, store());
  const slot = await limit.take('org', 'ann', T0);
  await refusal(limit.take('org', 'ann', T0 + MINUTE));
  await limit.giveBack(slot);
  await limit.giveBack(undefined);
  await limit.take('org', 'ann', T0 + 2 * MINUTE);
});

it('a store that cannot answer lets the change through and says so in the log: the limit is no reason to refuse an email change', async () => {
  const broken: EmailChangeMails = {
    take: () => Promise.reject(new Error('database or disk is full')),
    giveBack: () => Promise.reject(new Error('disk I/O error')),
    close: () => Promise.resolve(),
  };
  const warned: string[] = [];
  const limit = new EmailChangeLimit(1, broken, { warn: (message: string) => void warned.push(message) } as never);
  await expect(limit.take('org', 'ann', T0)).resolves.toBeUndefined();
  await limit.giveBack('7');
  expect(warned).toEqual([
    'The email changes mailed for user ann could not be counted (Error: database or disk is full); the limit is not checked for this one.',
    'A slot of the email-change limit could not be given back (Error: disk I/O error): it counts for the hour.',
  ]);
});

it('keeps no more than the last hour of slots (the table stays as small as the last hour)', async () => {
  const limit = new EmailChangeLimit(5, store());
  await limit.take('org', 'old', T0);
  await limit.take('org', 'new', T0 + 61 * MINUTE);
  const db = new (await import('node:sqlite')).DatabaseSync(join(dir, 'api.sqlite'), { readOnly: true });
  try {
    expect(db.prepare('SELECT user_id FROM email_change_mails').all()).toEqual([{ user_id: 'new' }]);
  } finally {
    db.close();
  }
});

it("probe 109 F1: the same request (its key) sent again while its slot is held is neither counted nor refused at the limit; a table from before session 65 gets the key's column, its slots kept", async () => {
  const { DatabaseSync } = await import('node:sqlite');
  const old = new DatabaseSync(join(dir, 'api.sqlite'));
  old.exec('CREATE TABLE email_change_mails (organization_id TEXT NOT NULL, user_id TEXT NOT NULL, mailed_at INTEGER NOT NULL)');
  old.prepare('INSERT INTO email_change_mails VALUES (?, ?, ?)').run('org', 'ann', T0);
  old.close();
  const limit = new EmailChangeLimit(2, store());
  const last = await limit.take('org', 'ann', T0 + MINUTE, 'request-1');
  expect(last).toEqual(expect.any(String));
  await expect(limit.take('org', 'ann', T0 + 2 * MINUTE, 'request-1')).resolves.toBeUndefined();
  await refusal(limit.take('org', 'ann', T0 + 2 * MINUTE, 'request-2'));
  await refusal(limit.take('org', 'ann', T0 + 2 * MINUTE));
});

emailChangeMailsContract('SQLite', () => ({ one: store(), other: store() }));
emailChangeMailsContract('in-process memory (a handler built alone)', () => {
  const shared = new ProcessEmailChangeMails();
  return { one: shared, other: shared };
});
