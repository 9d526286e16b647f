// Probe 83: confirmation mails for one user, at most so many an hour (email-change-limit.ts).
import { ProblemException } from '../shared/problem';
import { EmailChangeLimit } from './email-change-limit';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const MINUTE = 60_000;

it('probe 83: a user\'s confirmations are limited per hour, counted from each mail; another user or organization is apart', () => {
  const limit = new EmailChangeLimit(2);
  limit.check('org', 'ann', T0);
  limit.mailedFor('org', 'ann', T0);
  limit.mailedFor('org', 'ann', T0 + 10 * MINUTE);
  let refused: unknown;
  try {
    limit.check('org', 'ann', T0 + 30 * MINUTE);
  } catch (error) {
    refused = error;
  }
  expect(refused).toBeInstanceOf(ProblemException);
  expect((refused as ProblemException).problem).toMatchObject({
    status: 429,
    code: 'TOO_MANY_EMAIL_CHANGES',
    detail: "This user's email was asked to change 2 times in the last hour, each mailing a confirmation link, and 2 an hour is the limit: the next can be asked at 2026-03-01T11:00:00.000Z.",
  });
  // its Retry-After: until then (probe 92 F2: a fixed 60 s)
  expect((refused as ProblemException).retryAfterSeconds).toBe(30 * 60);
  // others are counted apart
  limit.check('org', 'bob', T0 + 30 * MINUTE);
  limit.check('other-org', 'ann', T0 + 30 * MINUTE);
  // an hour after the first mail, one more may be asked; a moment before, not yet
  expect(() => limit.check('org', 'ann', T0 + 60 * MINUTE - 1)).toThrow(ProblemException);
  limit.check('org', 'ann', T0 + 60 * MINUTE);
});

it('remembers at most 10,000 users, the one heard from longest ago forgotten first', () => {
  const limit = new EmailChangeLimit(1);
  limit.mailedFor('org', 'first', T0);
  for (let i = 0; i < 10_000; i++) limit.mailedFor('org', `u${i}`, T0);
  // `first` was forgotten: it may ask again; the latest is still held
  limit.check('org', 'first', T0 + MINUTE);
  expect(() => limit.check('org', 'u9999', T0 + MINUTE)).toThrow(ProblemException);
});
