import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown, Optional } from '@nestjs/common';
import { MAIL_EVENT_TYPES, fromStored, invitationSubject } from '@rollcall/domain';
import type { EventStore, RecordedEvent } from '@rollcall/event-store';
import type { Config } from '../config';
import { jobCoordination } from '../infrastructure/job-coordination';
import { LEASE_RENEW_MS } from '../infrastructure/lease';
import { Metrics } from '../infrastructure/metrics';
import type { PublisherCoordination } from '../infrastructure/publisher-coordination';
import { AddressErasure } from '../shared/erasure/address-erasure';
import { invitationMailFor } from './mail-text';
import { type HandOff, INVITATION_MAILER, type InvitationMailer, SEND_TIMEOUT_MS, handOver } from './mailer';
import { EmailConfirmationLinks, InvitationLinks } from '../shared/secrets';
import { settledWithin } from '../shared/settled-within';
import { StreamHandler } from '../shared/command-path/stream-handler';
import { loadWorkspace } from '../shared/command-path/targets';
import { APP_CONFIG, EVENT_STORE } from '../shared/tokens';
import { emailChangeLinkCurrent, invitationLinkCurrent } from './current-links';
import { MailLedger } from './mail-ledger';

/** the events that decide a link to mail, and the ledger's records of mails handed over */
const TYPES = ['UserInvited', 'InvitationResent', 'EmailChangeRequested', ...MAIL_EVENT_TYPES];
/** events read per pass at most (a long way behind, it catches up over several passes) */
const READ_PER_PASS = 20_000;
/** mails sent at once */
const CONCURRENCY = 4;
/**
 * after a failed send, the wait before the next try doubles from this, up to MAX_BACKOFF_MS, each drawn between half
 * and all of it (links that failed together, a relay throttling a burst, are not all tried again in one second: probe
 * 49 F2). A failure that is not for good (a 4xx, a connection refused or dropped, a timeout) is tried until the link is
 * no longer current (expired, resent, accepted, cancelled, erased): MTAs retry for days, and a mail given up after ten
 * tries (~77 min, until session 46) was never sent unless the process restarted. A refusal for good (a 5xx) is given
 * up at once (probe 46 F3).
 */
const FIRST_BACKOFF_MS = 30_000;
const MAX_BACKOFF_MS = 15 * 60_000;
/** a failed send's wait: the doubling backoff, drawn between half and all of it */
export const retryWaitMs = (failures: number, random: () => number = Math.random): number => {
  const full = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** Math.min(failures - 1, 10));
  return Math.round(full / 2 + (full / 2) * random());
};
/** how long a stop waits for a pass under way (a hung SMTP server must not hold the shutdown for its timeouts) */
const STOP_WAIT_MS = 2_000;

/** A link decided and not known to be mailed yet. */
interface Due {
  kind: 'invitation' | 'email-confirmation';
  organizationId: string;
  /** the workspace of an invitation; the user of an email change */
  workspaceId?: string;
  userId?: string;
  invitationId?: string;
  /** the link's version: the invitation's `linkVersion`, the email change's `version` */
  version: number;
  /** who sent the link (its event's actor): the invitation mail names them */
  actorId?: string;
  /** where it was decided: the checkpoint stays before the oldest link not settled */
  position: bigint;
  /** when it was decided (ms): it is sent once this is `retryAfterMs` old and still unrecorded */
  decidedAt: number;
  failures: number;
  nextTryAt: number;
}

type Outcome = 'sent' | 'stale' | 'failed' | 'refused';
/** what a hand-off's outcome makes of a link due: an erased address settles it */
const outcomeOf = (handOff: HandOff): Outcome => (handOff === 'erased' ? 'stale' : handOff);

export interface MailDispatchOptions {
  coordination?: PublisherCoordination;
  now?: () => number;
  /** SEND_TIMEOUT_MS */
  sendTimeoutMs?: number;
  /** the retry waits' draw (retryWaitMs) */
  random?: () => number;
}
export const MAIL_DISPATCH_OPTIONS = Symbol('MailDispatchOptions');

const keyOf = (kind: Due['kind'], id: string): string => `${kind}:${id}`;
/** a link as the log lines name it: ids only (probe 49 F2: "resend it" named no invitation) */
const linkOf = (due: Due) =>
  due.kind === 'invitation' ? { kind: due.kind, workspaceId: due.workspaceId, invitationId: due.invitationId, linkVersion: due.version } : { kind: due.kind, organizationId: due.organizationId, userId: due.userId, version: due.version };

/**
 * Mails the links whose mail was never handed over (docs/adr/0018, "Session 29"). A command hands its mail over
 * before it answers, and the mail ledger (mail-ledger.ts) records the hand-off in the log. The dispatcher follows the
 * log from its checkpoint and keeps the links decided and not recorded; one that is still unrecorded `retryAfterMs`
 * after it was decided (the process died between its commit and its hand-off, and the client never retried; or the
 * transport failed) is mailed now if it is still the current link of a pending invitation or email change whose address
 * was not erased, and recorded. A send that fails is tried again later, with a doubling wait, until the link expires.
 *
 * One process at a time dispatches (the `mail` job's lease: the data dir's, or MongoDB's; with EventStoreDB alone,
 * every replica, each from its own checkpoint). The first start begins at the log's head as it was when the process
 * started (before it answered any command): links decided before the dispatcher existed are not looked at. The checkpoint stays before the oldest link not settled, so a takeover reads
 * those again, with the records that settle them.
 */
@Injectable()
export class MailDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('MailDispatcher');
  private readonly due = new Map<string, Due>();
  private coordination?: PublisherCoordination;
  /** the last position read; undefined until this process leads and has read the checkpoint */
  private cursor?: bigint;
  private timer?: NodeJS.Timeout;
  private renewal?: NodeJS.Timeout;
  private passing?: Promise<number>;
  private stopped = false;
  /** the log's head when this process started: where the dispatch begins when no checkpoint exists yet */
  private startedAt?: bigint;

  constructor(
    @Inject(APP_CONFIG) private readonly config: Config,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(StreamHandler) private readonly streams: StreamHandler,
    @Inject(INVITATION_MAILER) private readonly mailer: InvitationMailer,
    @Inject(InvitationLinks) private readonly invitationLinks: InvitationLinks,
    @Inject(EmailConfirmationLinks) private readonly confirmationLinks: EmailConfirmationLinks,
    @Inject(MailLedger) private readonly ledger: MailLedger,
    @Optional() @Inject(Metrics) private readonly metrics?: Metrics,
    @Optional() @Inject(AddressErasure) private readonly erasure?: AddressErasure,
    /** tests: the coordination and the clock (no provider in the app) */
    @Optional() @Inject(MAIL_DISPATCH_OPTIONS) private readonly options: MailDispatchOptions = {},
  ) {}

  /**
   * Notes the log's head before this process answers any command (bootstrap.ts calls it before the TCP and NATS
   * transports start; the bootstrap hook comes later, with the HTTP server): where a first start begins.
   */
  async noteStart(): Promise<void> {
    if (this.startedAt !== undefined || this.config.mailRetryAfterSeconds <= 0) return;
    this.startedAt = await this.store.headPosition();
    this.coordination ??= this.options.coordination ?? jobCoordination(this.config, 'mail', 'mail-dispatch.checkpoint', this.logger);
    // a first start writes its checkpoint now, not at its first pass: a process that answered commands and died before
    // that pass left none, and the next one began at its own start, past the dead one's links (probe 29b). (With
    // MongoDB the lease is taken in the background: there the first pass writes it.)
    if (this.coordination.leads() && (await this.coordination.readCheckpoint()) === undefined) await this.coordination.writeCheckpoint(this.startedAt);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.mailRetryAfterSeconds <= 0) return;
    await this.noteStart();
    this.timer = setInterval(() => void this.pass(), this.config.mailDispatchEveryMs);
    this.timer.unref();
    // the lease renewed as often as it is meant to be (LEASE_RENEW_MS), not once a pass: a pass longer than the lease
    // (sends of up to SEND_TIMEOUT_MS each) let it lapse, and another process would dispatch the same links meanwhile
    this.renewal = setInterval(() => {
      try {
        this.coordination?.leads();
        this.failed('lease', undefined);
      } catch (error) {
        this.failed('lease', error);
        this.logger.error({ reason: error instanceof Error ? error.message : String(error) }, 'mail dispatch: the lease could not be renewed');
      }
    }, LEASE_RENEW_MS);
    this.renewal.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.renewal) clearInterval(this.renewal);
    if (this.passing) await settledWithin(STOP_WAIT_MS, this.passing.catch(() => 0), () => 0);
    // the records of what the last pass sent, before the store closes
    await this.ledger.flush();
    await this.coordination?.release().catch(() => undefined);
    await this.coordination?.close().catch(() => undefined);
  }

  /** One pass (never two at once): reads what is new in the log, then mails what is due. Returns the mails sent. */
  pass(): Promise<number> {
    this.passing ??= this.run()
      .then((sent) => {
        this.failed('pass', undefined);
        return sent;
      })
      .catch((error: unknown) => {
        this.failed('pass', error);
        this.logger.error({ reason: error instanceof Error ? error.message : String(error) }, 'mail dispatch: the pass failed; the next one reads again from the checkpoint');
        this.cursor = undefined;
        return 0;
      })
      .finally(() => (this.passing = undefined));
    return this.passing;
  }

  /**
   * Whether its passes or its lease renewals fail now (the data dir's disk full, read-only, failing: probe 95 F7, where
   * only the log said so), for `/health` (info.mailDispatch) and /metrics (rollcall_mail_dispatch_failing): the links
   * stay due, and are mailed once a pass succeeds again.
   */
  standing(): { failing: boolean } {
    return { failing: this.failures.size > 0 };
  }

  private readonly failures = new Set<'pass' | 'lease'>();

  private failed(what: 'pass' | 'lease', error: unknown): void {
    if (error === undefined) this.failures.delete(what);
    else this.failures.add(what);
    this.metrics?.mailDispatchFailing.set(this.failures.size > 0 ? 1 : 0);
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private async run(): Promise<number> {
    const coordination = this.coordination;
    if (!coordination || this.stopped) return 0;
    if (!coordination.leads()) {
      // another process dispatches: what this one knew is read again from the checkpoint when it leads
      this.cursor = undefined;
      this.due.clear();
      this.countWaiting();
      return 0;
    }
    if (this.cursor === undefined) {
      this.due.clear();
      const checkpoint = await coordination.readCheckpoint();
      if (checkpoint === undefined) {
        // the first start: the links decided before this process started are not looked at
        this.cursor = this.startedAt ?? (await this.store.headPosition());
        await coordination.writeCheckpoint(this.cursor);
      } else this.cursor = checkpoint;
    }
    // a pass that stopped short of the head sends nothing: the records of links it read may be past where it stopped
    // (a dispatcher behind by more than the retry time mailed links their commands had mailed: review of session 29)
    const sent = (await this.read()) ? await this.send() : 0;
    // before the oldest link not settled (read again by whoever leads next), else what was read
    let checkpoint = this.cursor;
    for (const due of this.due.values()) if (due.position - 1n < checkpoint) checkpoint = due.position - 1n;
    await coordination.writeCheckpoint(checkpoint);
    this.countWaiting();
    return sent;
  }

  /** reads the log's new links and records, up to READ_PER_PASS events; whether it reached the head */
  private async read(): Promise<boolean> {
    const head = await this.store.headPosition();
    let read = 0;
    // only ids and versions are read here (the address is opened when a link is mailed, from its workspace's state):
    // opening every invitation's address cost the main thread a key lookup and an AES-GCM open per invitation
    const events = this.store.readAll({ fromPosition: this.cursor, filter: { eventTypes: TYPES }, maxCount: READ_PER_PASS, personalData: 'sealed' });
    for await (const recorded of events) {
      this.note(recorded);
      this.cursor = recorded.position;
      read++;
    }
    if (read >= READ_PER_PASS) return false;
    // every event up to the head read before was of other types: no need to look at them again
    if (head > this.cursor!) this.cursor = head;
    return true;
  }

  private note(recorded: RecordedEvent): void {
    const event = fromStored(recorded);
    if (!event) return;
    const decidedAt = Date.parse(typeof recorded.metadata.occurredAt === 'string' ? recorded.metadata.occurredAt : '') || this.now();
    const actorId = typeof recorded.metadata.actorId === 'string' ? recorded.metadata.actorId : undefined;
    const dueFrom = (d: Omit<Due, 'position' | 'decidedAt' | 'failures' | 'nextTryAt'>): Due => ({ ...d, actorId, position: recorded.position, decidedAt, failures: 0, nextTryAt: 0 });
    switch (event.type) {
      case 'UserInvited':
      case 'InvitationResent': {
        const { organizationId, workspaceId, invitationId, linkVersion } = event.data;
        // (resends written before session 18 lack the organization; the dispatcher never reads back that far)
        if (organizationId === undefined) return;
        this.due.set(keyOf('invitation', invitationId), dueFrom({ kind: 'invitation', organizationId, workspaceId, invitationId, version: linkVersion }));
        return;
      }
      case 'EmailChangeRequested': {
        const { organizationId, userId, version } = event.data;
        this.due.set(keyOf('email-confirmation', userId), dueFrom({ kind: 'email-confirmation', organizationId, userId, version }));
        return;
      }
      case 'InvitationMailed':
      // refused for good: not tried again, by this process or the next (probe 46 F3)
      case 'InvitationMailRefused':
        this.settle(keyOf('invitation', event.data.invitationId), event.data.linkVersion);
        return;
      case 'EmailConfirmationMailed':
      case 'EmailConfirmationMailRefused':
        this.settle(keyOf('email-confirmation', event.data.userId), event.data.version);
        return;
    }
  }

  /** rollcall_mails_waiting: the links past their retry time, not mailed yet (none when this process does not lead) */
  private countWaiting(): void {
    const waiting = { invitation: 0, 'email-confirmation': 0 };
    const since = this.now() - this.config.mailRetryAfterSeconds * 1000;
    for (const due of this.due.values()) if (due.decidedAt <= since) waiting[due.kind]++;
    for (const [kind, count] of Object.entries(waiting)) this.metrics?.mailsWaiting.set({ kind }, count);
  }

  /** a record of this link's mail (or a later link's: this one is dead then) */
  private settle(key: string, version: number): void {
    const due = this.due.get(key);
    if (due && due.version <= version) this.due.delete(key);
  }

  /** mails the links unrecorded for `retryAfterMs`; returns how many were sent */
  private async send(): Promise<number> {
    const now = this.now();
    const ready = [...this.due.entries()].filter(([, d]) => d.decidedAt + this.config.mailRetryAfterSeconds * 1000 <= now && d.nextTryAt <= now);
    let next = 0;
    let sent = 0;
    await Promise.all(
      Array.from({ length: Math.min(CONCURRENCY, ready.length) }, async () => {
        while (next < ready.length && !this.stopped) {
          const [key, due] = ready[next++]!;
          const timeoutMs = this.options.sendTimeoutMs ?? SEND_TIMEOUT_MS;
          const outcome = await settledWithin(
            timeoutMs,
            this.mail(due).catch((error: unknown) => {
              this.logger.error({ kind: due.kind, reason: error instanceof Error ? error.message : String(error) }, 'mail dispatch: could not look the link up');
              return 'failed' as const;
            }),
            (): Outcome => {
              this.logger.error({ kind: due.kind, afterMs: timeoutMs }, 'mail dispatch: the transport did not take the mail in time; tried again later');
              return 'failed';
            },
          );
          this.metrics?.mailsDispatched.inc({ kind: due.kind, outcome });
          if (outcome === 'failed') {
            due.nextTryAt = now + retryWaitMs(++due.failures, this.options.random);
            // (every tenth failure said once more: a relay that refuses for hours is an operator's problem)
            if (due.failures % 10 === 0) this.logger.error({ ...linkOf(due), failures: due.failures }, 'mail dispatch: the transport keeps refusing this link; tried again until it expires');
            continue;
          }
          // a 5xx is not tried again: it would be refused again, and relays hold repeated refusals against the sender (probe 46 F3)
          if (outcome === 'refused') this.logger.error({ ...linkOf(due) }, 'mail dispatch: gave up a link whose mail the relay refused for good (check the address; resend it, or copy its link)');
          // sent (and recorded), no longer to be sent, or refused for good: settled
          if (this.due.get(key) === due) this.due.delete(key);
          if (outcome === 'sent') sent++;
        }
      }),
    );
    if (sent > 0) this.logger.warn({ sent }, 'mail dispatch: mailed links whose mail had not been handed over (a process died before it, or the transport failed)');
    return sent;
  }

  /** sends `due`'s mail if its link is still current; 'stale': not to be sent (accepted, cancelled, resent, expired, erased) */
  private async mail(due: Due): Promise<Outcome> {
    return due.kind === 'invitation' ? this.mailInvitation(due) : this.mailConfirmation(due);
  }

  private async mailInvitation(due: Due): Promise<Outcome> {
    const ref = { organizationId: due.organizationId, workspaceId: due.workspaceId! };
    const { context } = await loadWorkspace(this.streams.states, ref);
    if (!invitationLinkCurrent(context.ws, due.invitationId!, due.version, this.now())) return 'stale';
    const inv = context.ws.invitations.get(due.invitationId!)!;
    const inviteUrl = this.invitationLinks.url({ ...ref, invitationId: due.invitationId!, linkVersion: due.version });
    const mail = invitationMailFor(context, { to: inv.email, access: inv.access, actorId: due.actorId, inviteUrl, expiresAt: inv.expiresAt });
    const erased = async () => (await this.erasure?.erasedAfter(invitationSubject(context.ws, inv), due.position)) ?? false;
    const outcome = outcomeOf(await handOver('invitation email', { workspace: mail.workspaceName, dispatched: true }, () => this.mailer.send(mail), erased, this.logger));
    const link = { ...ref, invitationId: due.invitationId!, linkVersion: due.version };
    if (outcome === 'sent') await this.ledger.invitationMailed(link);
    if (outcome === 'refused') await this.ledger.invitationMailRefused(link);
    return outcome;
  }

  private async mailConfirmation(due: Due): Promise<Outcome> {
    const org = await this.streams.states.organization(due.organizationId);
    const pending = emailChangeLinkCurrent(org.state, due.userId!, due.version, this.now());
    if (!pending) return 'stale';
    const confirmUrl = this.confirmationLinks.url({ organizationId: due.organizationId, userId: due.userId!, version: due.version });
    const mail = { to: pending.email, organizationName: org.state.name, confirmUrl, expiresAt: pending.expiresAt };
    const erased = async () => (await this.erasure?.userErasedAfter(due.userId!, due.position)) ?? false;
    const outcome = outcomeOf(await handOver('email confirmation', { dispatched: true }, () => this.mailer.sendEmailConfirmation(mail), erased, this.logger));
    const link = { organizationId: due.organizationId, userId: due.userId!, version: due.version };
    if (outcome === 'sent') await this.ledger.emailConfirmationMailed(link);
    if (outcome === 'refused') await this.ledger.emailConfirmationMailRefused(link);
    return outcome;
  }
}
