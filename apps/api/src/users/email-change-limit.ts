import { Logger } from '@nestjs/common';
import { ProblemException, problem } from '../shared/problem';
import type { EmailChangeMails } from './email-change-mails';

/** the window the limit counts in */
const HOUR_MS = 3_600_000;

/**
 * At most `perHour` email confirmations mailed for one user in an hour (probe 83: every email change a member asks for
 * mails a confirmation link to the address they typed — "Someone asked to make this the email address of your account
 * in Acme" —, so any member could mail any address in the organization's name as often as they liked). One more is
 * refused before it is decided, `429 TOO_MANY_EMAIL_CHANGES`, nothing written or mailed; a retry of a change already
 * made (the same Idempotency-Key) is answered as before.
 *
 * Counted in `mails`, which every API process of the deployment shares (docs/adr/0038, amended in session 61: counted
 * per process, N replicas let N times the limit through). Two replicas checking the same user at the same moment may
 * both let one more through: a limit on abuse, not a count to the unit. A store that cannot answer lets the change
 * through (logged): the limit is no reason to refuse a user their email change while api.sqlite or MongoDB is out.
 */
export class EmailChangeLimit {
  constructor(
    private readonly perHour: number,
    private readonly mails: EmailChangeMails,
    private readonly logger = new Logger('EmailChangeLimit'),
  ) {}

  /** refuses (ProblemException 429) when the user's confirmations of the last hour reached the limit */
  async check(organizationId: string, userId: string, now = Date.now()): Promise<void> {
    let recent: number[];
    try {
      recent = await this.mails.since(organizationId, userId, now - HOUR_MS + 1);
    } catch (error) {
      this.logger.warn(`The email changes mailed for user ${userId} could not be read (${String(error)}); the limit is not checked for this one.`);
      return;
    }
    if (recent.length < this.perHour) return;
    const nextAt = recent[recent.length - this.perHour]! + HOUR_MS;
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

  /** a confirmation was mailed for the user now (a failure to note it is logged: the change is made, and mailed) */
  async mailedFor(organizationId: string, userId: string, now = Date.now()): Promise<void> {
    try {
      await this.mails.mailed(organizationId, userId, now, now - HOUR_MS);
    } catch (error) {
      this.logger.warn(`A confirmation mailed for user ${userId} could not be counted (${String(error)}).`);
    }
  }
}
