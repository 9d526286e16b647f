import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationShutdown, Optional } from '@nestjs/common';
import {
  type EmailConfirmationMailRefused,
  type EmailConfirmationMailed,
  type EventMetadata,
  type InvitationMailRefused,
  type InvitationMailed,
  MAIL_EVENT_TYPES,
  type MailEvent,
  SYSTEM_ACTOR,
  fromStored,
  mailStream,
  toStored,
} from '@rollcall/domain';
import { type EventStore, newEventId } from '@rollcall/event-store';
import { EVENT_STORE } from '../shared/tokens';
import { type HandOff, MAIL_HANDOFF_WAIT_MS, type MailStatus, SEND_TIMEOUT_MS } from './mailer';
import { Metrics } from '../infrastructure/metrics';
import type { Config } from '../config';

/** A link whose mail the ledger may hold a record of: an invitation's at a link version, or an email change's. */
export type MailLink =
  | { kind: 'invitation'; organizationId: string; invitationId: string; linkVersion: number }
  | { kind: 'email-confirmation'; organizationId: string; userId: string; version: number };

/**
 * the ledger's records read at most by one lookup (recordedAfter): a retry comes seconds or minutes after its first
 * attempt, whose record was appended before it answered; past these, it is mailed again (a second mail of one link)
 */
const LOOKUP_RECORDS = 10_000;

/** whether an event is the ledger's record (mailed or refused) of this link's mail */
function recordOf(event: { type: string; data: unknown }, link: MailLink): boolean {
  switch (event.type) {
    case 'InvitationMailed':
    case 'InvitationMailRefused': {
      const data = event.data as InvitationMailed['data'];
      return link.kind === 'invitation' && data.invitationId === link.invitationId && data.linkVersion === link.linkVersion;
    }
    case 'EmailConfirmationMailed':
    case 'EmailConfirmationMailRefused': {
      const data = event.data as EmailConfirmationMailed['data'];
      return link.kind === 'email-confirmation' && data.userId === link.userId && data.version === link.version;
    }
    default:
      return false;
  }
}

/** The request a mail was handed over in: its id (X-Request-Id) and the organization API key it came with. */
export interface MailRequest {
  correlationId: string;
  apiKeyId?: string;
}

/** what a command's context tells of its request, for the mail it hands over */
export const mailRequestOf = (ctx: { correlationId: string; apiKey?: { keyId: string } }): MailRequest => ({
  correlationId: ctx.correlationId,
  ...(ctx.apiKey !== undefined && { apiKeyId: ctx.apiKey.keyId }),
});

/**
 * The ledger of mails handed over (docs/adr/0018, "Session 29"): once the transport took a link's mail, an
 * `InvitationMailed` or `EmailConfirmationMailed` on the organization's mail stream says so, and the mail dispatcher
 * does not send it again. Appended with no expected revision (a ledger append never contends with a decision), before
 * the command answers (within its wait for the hand-off: mail/mailer.ts), so that a request answered left its record
 * and nothing lands in the log after its answer; the store's group commit gathers the records of concurrent commands.
 * A record lost (its append failed: logged; or the process died first) costs the invitee a second mail of the same
 * link, when the dispatcher finds the link unrecorded.
 */
@Injectable()
export class MailLedger implements OnApplicationShutdown {
  private readonly logger = new Logger('MailLedger');
  /** the appends under way (awaited at shutdown, before the store closes) */
  private readonly appending = new Set<Promise<void>>();

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Optional() private readonly metrics?: Metrics,
  ) {}

  /** `request`: the request that mailed it (its log line's id, the API key it came with), when a request did */
  invitationMailed(mailed: Omit<InvitationMailed['data'], 'mailedAt'>, request?: MailRequest): Promise<void> {
    return this.record({ type: 'InvitationMailed', version: 1, data: { ...mailed, mailedAt: new Date().toISOString() } }, request);
  }

  /** the relay refused the link's mail for good (a 5xx): recorded, so that it is not tried again and the console can tell */
  invitationMailRefused(refused: Omit<InvitationMailRefused['data'], 'refusedAt'>, request?: MailRequest): Promise<void> {
    return this.record({ type: 'InvitationMailRefused', version: 1, data: { ...refused, refusedAt: new Date().toISOString() } }, request);
  }

  /**
   * What a command's hand-off of an invitation's mail leaves in the ledger: its record, or its refusal for good; every
   * outcome counted in rollcall_mails_handed_over_total (the dispatcher counts its own)
   */
  invitationHandedOff(outcome: HandOff, link: Omit<InvitationMailed['data'], 'mailedAt'>, request?: MailRequest): Promise<void> | undefined {
    this.metrics?.mailsHandedOver.inc({ kind: 'invitation', outcome });
    if (outcome === 'sent') return this.invitationMailed(link, request);
    return outcome === 'refused' ? this.invitationMailRefused(link, request) : undefined;
  }

  /** what a command's hand-off of an email confirmation leaves: its record, or its refusal for good (as invitationHandedOff) */
  emailConfirmationHandedOff(outcome: HandOff, link: Omit<EmailConfirmationMailed['data'], 'mailedAt'>, request?: MailRequest): Promise<void> | undefined {
    this.metrics?.mailsHandedOver.inc({ kind: 'email-confirmation', outcome });
    if (outcome === 'sent') return this.emailConfirmationMailed(link, request);
    return outcome === 'refused' ? this.emailConfirmationMailRefused(link, request) : undefined;
  }

  emailConfirmationMailed(mailed: Omit<EmailConfirmationMailed['data'], 'mailedAt'>, request?: MailRequest): Promise<void> {
    return this.record({ type: 'EmailConfirmationMailed', version: 1, data: { ...mailed, mailedAt: new Date().toISOString() } }, request);
  }

  /** the relay refused the confirmation's mail for good: recorded, so that the dispatcher does not try it again */
  emailConfirmationMailRefused(refused: Omit<EmailConfirmationMailRefused['data'], 'refusedAt'>, request?: MailRequest): Promise<void> {
    return this.record({ type: 'EmailConfirmationMailRefused', version: 1, data: { ...refused, refusedAt: new Date().toISOString() } }, request);
  }

  /**
   * What the ledger recorded of a link's mail after `after` (the position of the events that decided the link: its
   * record is appended after them): `handed_over`, `refused` for good, or undefined when it holds neither. A command's
   * retry answered from the log asks it before mailing again (mailUnlessRecorded).
   */
  async recordedAfter(link: MailLink, after: bigint): Promise<MailStatus | undefined> {
    const records = this.store.readAll({
      fromPosition: after,
      // the organization's events only, where the store indexes the log by organization (the embedded one)
      filter: { eventTypes: [...MAIL_EVENT_TYPES], streamPrefixes: [mailStream(link.organizationId)], organizationId: link.organizationId },
      maxCount: LOOKUP_RECORDS,
      personalData: 'sealed', // (the ledger's records hold none)
    });
    for await (const recorded of records) {
      if (recorded.stream !== mailStream(link.organizationId)) continue;
      const event = fromStored(recorded);
      if (event && recordOf(event, link)) return event.type === 'InvitationMailRefused' || event.type === 'EmailConfirmationMailRefused' ? 'refused' : 'handed_over';
    }
    return undefined;
  }

  /** waits for the appends under way */
  async flush(): Promise<void> {
    await Promise.all(this.appending);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.flush();
  }

  /** appends the record; never rejects (a failure is logged) */
  private record(event: MailEvent, request?: MailRequest): Promise<void> {
    const id = newEventId();
    const occurredAt = 'mailedAt' in event.data ? event.data.mailedAt : event.data.refusedAt;
    // the mailing is the system's act; a request's hand-off names the request and its key, as the request's other
    // events do, so that a consumer knows the whole echo of its own write (probe 88 F4)
    const metadata: EventMetadata = {
      actorId: SYSTEM_ACTOR,
      correlationId: request?.correlationId ?? randomUUID(),
      causationId: id,
      idempotencyKey: `mail:${id}`,
      occurredAt,
      ...(request?.apiKeyId !== undefined && { apiKeyId: request.apiKeyId }),
    };
    const stream = mailStream(event.data.organizationId);
    const appended = this.store.append(stream, [{ id, ...toStored(event, metadata) }], 'any').then(
      () => undefined,
      (error: unknown) =>
        this.logger.error({ stream, reason: error instanceof Error ? error.message : String(error) }, 'mail ledger: record not appended (the dispatcher will mail that link again)'),
    );
    this.appending.add(appended);
    void appended.finally(() => this.appending.delete(appended));
    return appended;
  }
}

/**
 * A command's mail of a link, once: a retry answered from the log (`replay`: where it read its events back, and when
 * they were decided) first asks the ledger what became of the first attempt's mail — handed over, or refused for good
 * — and then sends nothing and answers that (probe 105 F1, probe 106 F5: a retry mailed the link again and answered
 * without `mail`; probe 109 F3: also once the link is no longer current). Otherwise it sends, unless `send` is false (a
 * first attempt sends; a retry whose first attempt left no record — its process died before the hand-off, or it
 * failed — sends while its link is current); undefined: not recorded, and not sent.
 *
 * Before it sends, a retry waits for a record up to a hand-off's time (MAIL_HANDOFF_WAIT_MS), asking every
 * RECORD_POLL_MS: the attempt that wrote the events may be alive and handing the link over right now — the same request
 * sent to another replica at once, whose append won (probe 110 F2: 5 of 12 such twins mailed the link twice). A retry
 * whose first attempt died before its hand-off mails that much later — unless the mail dispatcher (`dispatch`) is on
 * and its first try of that link is not over: then the retry leaves it to the dispatcher and answers `pending` (probes
 * 111 F1, 112 F1, 113 F3: a retry's send and the dispatcher's met, the link mailed twice; leftToDispatcher).
 */
export async function mailUnlessRecorded(
  ledger: MailLedger | undefined,
  link: MailLink,
  replay: Replay | undefined,
  send: (() => Promise<MailStatus>) | false,
  dispatch: MailDispatchTiming,
  waitMs = MAIL_HANDOFF_WAIT_MS,
): Promise<MailStatus | undefined> {
  if (replay === undefined || ledger === undefined) return send ? send() : undefined;
  const arrived = Date.now();
  const deadline = arrived + (send ? waitMs : 0);
  for (;;) {
    const recorded = await ledger.recordedAfter(link, replay.after);
    if (recorded) return recorded;
    if (Date.now() >= deadline) {
      if (!send) return undefined;
      return leftToDispatcher(dispatch, Date.parse(replay.decidedAt), arrived) ? 'pending' : send();
    }
    await new Promise((resolve) => setTimeout(resolve, RECORD_POLL_MS));
  }
}

/** how often a retry about to mail again asks the ledger for its first attempt's record (mailUnlessRecorded) */
const RECORD_POLL_MS = 100;

/** when the mail dispatcher sends a link left unrecorded (config: ROLLCALL_MAIL_RETRY_AFTER_SECONDS, 0 = off; its pass) */
export type MailDispatchTiming = Pick<Config, 'mailRetryAfterSeconds' | 'mailDispatchEveryMs'>;

/**
 * Whether a retry that arrived at `arrived` leaves the mail of a link decided at `decidedAt` (ms) to the mail
 * dispatcher, which sends it, or may be sending it: the dispatcher takes a link left unrecorded up at its first pass
 * once it is `mailRetryAfterSeconds` old, and its send may take up to SEND_TIMEOUT_MS (a slow relay) before it
 * records. Both send, then record, and
 * neither sees the other's send under way: a retry that sends before that first try is over meets it whenever either
 * send is slow (probe 111 F1: a 2 s wait ending as the dispatcher sent; probe 112 F1: a window that gave the
 * dispatcher's send 2 s, with a relay taking 7 s; probe 113 F3: a retry's own send, held 5 s by the relay, still under
 * way at the dispatcher's first try). So until then the dispatcher alone mails such a link. A retry that arrives
 * later sends: the dispatcher's try left no record, so it failed (a relay failing: it tries again, later and later; or
 * it was not following the log then). The cost: the link of a retry within it goes out at the dispatcher's first try
 * (`mailRetryAfterSeconds` after the decision), or its next one, 15–30 s later, when the first failed (probe 112 F2).
 */
export function leftToDispatcher(dispatch: MailDispatchTiming, decidedAt: number, arrived: number): boolean {
  if (!(dispatch.mailRetryAfterSeconds > 0) || Number.isNaN(decidedAt)) return false;
  const firstTryOver = decidedAt + dispatch.mailRetryAfterSeconds * 1000 + dispatch.mailDispatchEveryMs + SEND_TIMEOUT_MS + DISPATCH_MARGIN_MS;
  return arrived <= firstTryOver;
}

/** what the processes' clocks and a pass's reading of the log may add to the dispatcher's time (leftToDispatcher) */
const DISPATCH_MARGIN_MS = 1_000;

/**
 * A kept answer's `mail` as it stands now: one kept `pending` (the relay had not taken the link by the first answer) is
 * what the ledger recorded of it since, if anything — as a retry answered from the log says (probe 109 F2: a retry
 * answered from the kept answer said `pending` for a link mailed since); nothing recorded and the link no longer
 * current (`current`: replaced, accepted, cancelled, expired — never to be mailed), absent, as from the log (probe 111
 * F3). The ledger unreadable: `pending`, as kept.
 */
export async function mailNow(
  ledger: MailLedger | undefined,
  kept: MailStatus | undefined,
  link: MailLink,
  position: string,
  current: () => Promise<boolean>,
): Promise<MailStatus | undefined> {
  if (kept !== 'pending' || ledger === undefined) return kept;
  const recorded = await ledger.recordedAfter(link, BigInt(position)).catch(() => undefined);
  if (recorded) return recorded;
  return (await current().catch(() => true)) ? kept : undefined;
}

/** A retry answered from the log: where it read its events back (the ledger's record comes after), when they were decided. */
export interface Replay {
  after: bigint;
  /** the decided event's time (its `invitedAt`, `resentAt`, `requestedAt`: the log's `occurredAt`, which the dispatcher reads) */
  decidedAt: string;
}

/** a command's retry answered from the log, for mailUnlessRecorded; undefined for a first attempt */
export const replayOf = (done: { replayed: boolean; position: string }, decidedAt: string): Replay | undefined =>
  done.replayed ? { after: BigInt(done.position), decidedAt } : undefined;
