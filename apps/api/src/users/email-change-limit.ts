import { ProblemException, problem } from '../shared/problem';

/** the window the limit counts in */
const HOUR_MS = 3_600_000;
/** users whose recent confirmation mails are remembered at most (the oldest forgotten first): bounded memory */
const MAX_USERS = 10_000;

/**
 * At most `perHour` email confirmations mailed for one user in an hour, in this process (probe 83: every email change
 * a member asks for mails a confirmation link to the address they typed — "Someone asked to make this the email
 * address of your account in Acme" —, so any member could mail any address in the organization's name as often as
 * they liked). One more is refused before it is decided, `429 TOO_MANY_EMAIL_CHANGES`, nothing written or mailed; a
 * retry of a change already made (the same Idempotency-Key) is answered as before. Per process, as the heavy reads'
 * limit (docs/adr/0038): behind a balancer over N replicas a user may reach N times it (a limit kept in the log would be every
 * replica's: not built).
 */
export class EmailChangeLimit {
  /** per organization and user, the times (epoch ms) of the confirmations mailed within the last hour, oldest first */
  private readonly mailed = new Map<string, number[]>();

  constructor(private readonly perHour: number) {}

  /** refuses (ProblemException 429) when the user's confirmations of the last hour reached the limit */
  check(organizationId: string, userId: string, now = Date.now()): void {
    const recent = this.recent(`${organizationId}\n${userId}`, now);
    if (recent.length < this.perHour) return;
    const nextAt = recent[0]! + HOUR_MS;
    throw new ProblemException(
      problem(
        429,
        'TOO_MANY_EMAIL_CHANGES',
        `This user's email was asked to change ${recent.length} times in the last hour, each mailing a confirmation link, and ${this.perHour} an hour is the limit: the next can be asked at ${new Date(nextAt).toISOString()}.`,
      ),
      // when that is, not a fixed wait (probe 92 F2: Retry-After 60 led a client to retry an hour long)
      Math.max(1, Math.ceil((nextAt - now) / 1000)),
    );
  }

  /** a confirmation was mailed for the user now */
  mailedFor(organizationId: string, userId: string, now = Date.now()): void {
    const key = `${organizationId}\n${userId}`;
    const recent = this.recent(key, now);
    recent.push(now);
    // re-inserted: a Map keeps insertion order, so the first key is the user heard from longest ago
    this.mailed.delete(key);
    this.mailed.set(key, recent);
    if (this.mailed.size > MAX_USERS) this.mailed.delete(this.mailed.keys().next().value!);
  }

  private recent(key: string, now: number): number[] {
    const times = this.mailed.get(key) ?? [];
    while (times.length > 0 && times[0]! <= now - HOUR_MS) times.shift();
    return times;
  }
}
