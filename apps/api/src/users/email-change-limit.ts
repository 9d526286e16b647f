import { Logger } from '@nestjs/common';
import { ProblemException, problem } from '../shared/http/problem';
import type { EmailChangeMails, TakenSlot } from './email-change-mails';

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
 * per process, N replicas let N times the limit through). A request takes its mail's slot before it is decided, in one
 * step with the count, and gives it back when no mail goes out (probe 99 F1: counted after the mail, requests sent
 * together all went through). A store that cannot answer lets the change through (logged): the limit is no reason to
 * refuse a user their email change while api.sqlite or MongoDB is out.
 */
export class EmailChangeLimit {
  constructor(
    private readonly perHour: number,
    private readonly mails: EmailChangeMails,
    private readonly logger = new Logger('EmailChangeLimit'),
  ) {}

  /**
   * A slot for one confirmation mail of the user's, to give back if none goes out; refused (ProblemException 429) when
   * the hour's are taken; undefined when the store could not answer (the change goes through, uncounted), or when the
   * same request (`requestKey`) holds one (its twin or retry: decided as that request, found by its key in the log)
   */
  async take(organizationId: string, userId: string, now = Date.now(), requestKey?: string): Promise<string | undefined> {
    let took: TakenSlot;
    try {
      took = await this.mails.take(organizationId, userId, now, now - HOUR_MS + 1, this.perHour, requestKey);
    } catch (error) {
      this.logger.warn(`The email changes mailed for user ${userId} could not be counted (${String(error)}); the limit is not checked for this one.`);
      return undefined;
    }
    if ('slot' in took) return took.slot;
    if ('sameRequest' in took) return undefined;
    const recent = took.taken;
    const nextAt = recent[recent.length - this.perHour]! + HOUR_MS;
    throw new ProblemException(
      problem(
        429,
        'TOO_MANY_EMAIL_CHANGES',
        // (each change sends a link, or is about to: a link the relay refuses for good frees its place earlier, and older
        // links a later one replaced before they went out still count: probe 101 F2, F3)
        `This user's email was asked to change ${recent.length} times in the last hour, each sending a confirmation link to the address asked for, and ${this.perHour} an hour is the limit: the next can be asked at ${new Date(nextAt).toISOString()} at the latest (earlier if the mail relay refuses one of those links for good).`,
      ),
      // when that is, not a fixed wait (probe 92 F2: Retry-After 60 led a client to retry an hour long)
      Math.max(1, Math.ceil((nextAt - now) / 1000)),
    );
  }

  /** no mail went out for this slot after all (the change refused, replayed or withdrawn): it counts no more */
  async giveBack(slot: string | undefined): Promise<void> {
    if (slot === undefined) return;
    try {
      await this.mails.giveBack(slot);
    } catch (error) {
      this.logger.warn(`A slot of the email-change limit could not be given back (${String(error)}): it counts for the hour.`);
    }
  }
}
