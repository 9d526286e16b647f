import type { Logger } from '@nestjs/common';
import type { ClientProxy } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { DOMAIN_STREAM_PREFIXES, EventFromLaterVersion, checkReadable } from '@rollcall/domain';
import type { EventStore, RecordedEvent, Subscription } from '@rollcall/event-store';
import type { Metrics } from './metrics';
import { LEASE_RENEW_MS, LEASE_TTL_MS } from './lease';
import type { PublisherCoordination } from './publisher-coordination';
import { type IntegrationEvent, type IntegrationEventsStatus, toIntegrationEvent } from './integration-event';
import { ConfirmedCheckpoint } from './confirmed-checkpoint';
import { type EventSubject, operatorSubject } from './event-subjects';
import { OrganizationChains } from './organization-chains';
import { NatsPublishRefused } from './nats-publish-refusals';

/**
 * The publisher's waits and windows (idle poll, a subscription's stability) on a clock that never steps: the wall
 * clock stepped back stretched them by the step (probe 55).
 */
const elapsedMs = (): number => performance.now();

/**
 * How often the publisher looks for events that other processes appended to the embedded log (its subscription wakes
 * only for this process's appends): when the log's head is past what it published and its subscription has delivered
 * nothing for this long, it subscribes again from its checkpoint.
 */
const IDLE_POLL_MS = 100;
/** while catching up, the publisher yields to the event loop this often (timers renew its lease; requests are served) */
const YIELD_EVERY = 256;

export type TransportName = 'nats' | 'tcp';

export interface TransportPublisherOptions {
  transport: TransportName;
  client: ClientProxy;
  /** this transport's lease and checkpoint (job-coordination.ts) */
  coordination: PublisherCoordination;
  store: EventStore;
  metrics: Metrics;
  /** the lease can pass to another process (embedded data dir, MongoDB): looked at every IDLE_POLL_MS */
  leased: boolean;
  /** the embedded log: other processes' appends are looked for every IDLE_POLL_MS too */
  embedded: boolean;
  logger: Logger;
  /** backoff between re-subscriptions (shared with the other transport's, read at each failure) */
  retry: { initialDelayMs: number; maxDelayMs: number; stableAfterMs: number };
  /**
   * Resolves once the transport has what was emitted (NATS: a flush, the server's answer to a ping sent after it);
   * until then the checkpoint stays before the event. Rejects when it does not answer within CONFIRM_TIMEOUT_MS: a failed
   * send, sent again. Probe 55 F4: a client's emit resolves once the event is in its own buffer, so with the server
   * stalled (SIGSTOP) the checkpoint moved past 20 events that no consumer ever got, and nothing said so.
   */
  confirm?: () => Promise<void>;
  /**
   * the subjects an event is published on (NATS: ROLLCALL_NATS_EVENT_SUBJECTS), an organization's own naming it; default
   * `rollcall.events.<Type>`
   */
  subjects?: (event: IntegrationEvent) => EventSubject[];
  /** a subscription starts (from the checkpoint): NATS forgets the refusals of the sends before it (nats-publish-refusals.ts) */
  subscribing?: () => void;
}

/** how long the transport has to confirm what it was sent before the sends count as failed (re-sent from the checkpoint) */
export const CONFIRM_TIMEOUT_MS = 5_000;

/**
 * Publishes domain events as integration events on one transport. It follows the log with a catch-up subscription
 * from its checkpoint (its own: a transport refusing holds only itself, probe 38 F3; ADR 0022), publishes each event
 * until the transport takes it, then moves the checkpoint: at-least-once, consumers dedupe by `eventId`.
 *
 * When the subscription fails (event store unreachable, leader change, …) or ends on its own, it re-subscribes from its
 * checkpoint after a backoff (doubling from `retry.initialDelayMs` up to `retry.maxDelayMs`), as the projector does;
 * `status()` tells the health check where it stands.
 *
 * Over an embedded data dir shared by several processes (docs/adr/0011), one publishes on this transport at a time: it
 * holds the transport's lease (the others stand by and take over from the shared checkpoint), and it follows every
 * process's appends, not only its own (IDLE_POLL_MS). Each event is then published once in the steady state; at least
 * once across a takeover.
 */
export class TransportPublisher {
  readonly transport: TransportName;
  private subscription?: Subscription;
  private loop?: Promise<void>;
  private stopping = false;
  private state: IntegrationEventsStatus['state'] = 'stopped';
  private failures = 0;
  private failedSends = 0;
  /**
   * confirmations a transport refused in a row (NATS: a publish its server refused, said after the send resolved), until
   * the checkpoint moves: `failedSends` shows the worse of the two (probe 114 F4: a refusal showed only as `retrying`)
   */
  private refusedConfirmations = 0;
  private lastError?: string;
  private subscribedAt = 0;
  /** the last position published and checkpointed; undefined until read from the checkpoint or the log's head */
  private position?: bigint;
  private wakeRetry?: () => void;
  /** whether this process published at the last look at the lease */
  private leading = false;
  private ticker?: NodeJS.Timeout;
  /** the subscription was ended on purpose (to read other processes' events, or the lease was lost): not a failure */
  private restart = false;
  private deliveredAt = 0;
  /** the log's head when the subscription was last begun again: events past it are not of the types published, or new */
  private resubscribedAtHead = -1n;
  /** the transport is being handed an event (its time does not count as idle) */
  private publishing = false;
  /** what each event on an organization's own subject follows (organization-chains.ts) */
  private readonly chains = new OrganizationChains();

  constructor(private readonly o: TransportPublisherOptions) {
    this.transport = o.transport;
  }

  start(): void {
    this.stopping = false;
    if (this.o.leased) {
      this.ticker = setInterval(() => void this.tick(), IDLE_POLL_MS);
      this.ticker.unref();
    }
    // a failure outside the loop's own handling (the lease's file, the checkpoint's) is logged, never an unhandled rejection
    this.loop = this.run().catch((error: unknown) => {
      this.state = 'stopped';
      this.lastError = error instanceof Error ? error.message : String(error);
      this.o.logger.error({ transport: this.transport, reason: this.lastError }, `integration events (${this.transport}) stopped: ${this.lastError}`);
    });
  }

  /** Whether this process publishes on this transport now (the lease is renewed at most every LEASE_RENEW_MS). */
  private holdsLease(): boolean {
    const leads = this.o.coordination.leads();
    if (leads && !this.leading) {
      // taking over (or starting): publishing resumes at the shared checkpoint, read again
      this.position = undefined;
      this.chains.clear();
      this.o.logger.log(`integration events (${this.transport}): this process publishes (lease taken)`);
    } else if (!leads && this.leading) this.o.logger.log(`integration events (${this.transport}): the lease passed to another process; this one stands by`);
    this.leading = leads;
    return leads;
  }

  /** Ends the subscription when the lease is lost, or when other processes appended while it idles (run subscribes again). */
  private async tick(): Promise<void> {
    const subscription = this.subscription;
    if (this.stopping || this.state !== 'running' || !subscription || this.restart) return;
    try {
      const lost = !this.holdsLease();
      // (the embedded store's subscription wakes for this process's appends only: others' are looked for)
      const head = !this.o.embedded || lost || this.publishing || elapsedMs() - this.deliveredAt < IDLE_POLL_MS ? undefined : await this.o.store.headPosition();
      // past what was published, and moved since the last time: another process appended (the head may also be an
      // event of a type that is not published, such as PersonalDataErased: then once, not every tick)
      const behind = head !== undefined && head > (this.position ?? -1n) && head > this.resubscribedAtHead;
      if (behind) this.resubscribedAtHead = head;
      if (lost || behind) {
        this.restart = true;
        await subscription.unsubscribe();
      }
    } catch {
      // the store is closing or unreachable: the subscription reports it
    }
  }

  status(): Omit<IntegrationEventsStatus, 'transports'> {
    const stable = this.state === 'running' && elapsedMs() - this.subscribedAt >= this.o.retry.stableAfterMs;
    return {
      state: this.state,
      consecutiveFailures: stable ? 0 : this.failures,
      failedSends: Math.max(this.failedSends, this.refusedConfirmations),
      ...(this.lastError !== undefined && { lastError: this.lastError }),
      ...(this.position !== undefined && this.position >= 0n && { checkpoint: this.position.toString() }),
    };
  }

  /** subscribes from the checkpoint, publishes until the subscription fails, waits, subscribes again */
  private async run(): Promise<void> {
    const { coordination, store, retry, logger } = this.o;
    while (!this.stopping) {
      let subscription: Subscription | undefined;
      // whatever ended the previous subscription, this one starts unflagged (a flag left set kept tick from renewing the lease)
      this.restart = false;
      try {
        if (!this.holdsLease()) {
          this.state = 'standby';
          await this.pause(LEASE_RENEW_MS);
          continue;
        }
        if (this.position === undefined) {
          this.position = (await coordination.readCheckpoint()) ?? (await store.headPosition());
          // written at once: a takeover or a restart before the first event is published starts here, not at a later
          // head, nor (a checkpoint read from the job this one was split from: ADR 0022) where the other transport got to
          await coordination.writeCheckpoint(this.position);
        }
        const from = this.position;
        subscription = store.subscribe({
          ...(from >= 0n && { fromPosition: from }),
          // every event of the domain's streams, also of a type this version does not know: it stops before one
          // (publishAll), where it skipped it and moved past it for good (probe 67 F4)
          filter: { streamPrefixes: [...DOMAIN_STREAM_PREFIXES] },
        });
        this.subscription = subscription;
        this.subscribedAt = elapsedMs();
        this.deliveredAt = elapsedMs();
        this.state = 'running';
        if (this.stopping) {
          // shut down while this subscription was being made: stop() unsubscribed the previous one
          await subscription.unsubscribe().catch(() => undefined);
          break;
        }
        await this.publishAll(subscription);
        if (this.stopping) break;
        if (this.restart) {
          await subscription.unsubscribe().catch(() => undefined);
          continue;
        }
        throw new Error('the subscription ended');
      } catch (error) {
        if (this.stopping) break;
        const stable = elapsedMs() - this.subscribedAt >= retry.stableAfterMs;
        this.failures = subscription && stable ? 1 : this.failures + 1;
        this.lastError = error instanceof Error ? error.message : String(error);
        if (error instanceof NatsPublishRefused) this.refusedConfirmations++;
        this.state = 'retrying';
        let delay = Math.min(retry.maxDelayMs, retry.initialDelayMs * 2 ** Math.min(this.failures - 1, 20));
        // stopped before an event a later version of Rollcall wrote: an upgraded process publishes it, so the lease goes
        // to one standing by, asked for again only after LEASE_TTL_MS (probe 68 F5: this one kept it while it stood stopped)
        if (error instanceof EventFromLaterVersion) {
          await coordination.standDown().catch(() => undefined);
          delay = Math.max(delay, LEASE_TTL_MS);
        }
        logger.error(
          { transport: this.transport, reason: this.lastError, retryInMs: delay, failuresInARow: this.failures },
          `integration events (${this.transport}): ${this.lastError}; re-subscribing from the checkpoint in ${delay} ms (failure ${this.failures} in a row)`,
        );
        await subscription?.unsubscribe().catch(() => undefined);
        await this.pause(delay);
      }
    }
    this.state = 'stopped';
  }

  private async publishAll(subscription: Subscription): Promise<void> {
    let count = 0;
    // what each event says it follows (`previousPosition`): the event handed over before it on this subscription, or
    // the checkpoint the subscription started from (everything up to it was taken before); a consumer whose last
    // applied position is below it may have missed events in between, and reads the feed first (probe 67 F1)
    let previous = this.position ?? -1n;
    // on an organization's own subject: its last event confirmed, or this checkpoint (organization-chains.ts)
    this.chains.restart(previous);
    this.o.subscribing?.();
    // a transport confirmed apart from the send (NATS): the checkpoint follows its confirmations (ConfirmedCheckpoint)
    const confirmed =
      this.o.confirm &&
      new ConfirmedCheckpoint(this.o.confirm, (position) => this.moveCheckpoint(position), CONFIRM_TIMEOUT_MS, this.transport, () => void subscription.unsubscribe().catch(() => undefined));
    try {
      for await (const recorded of subscription) {
        confirmed?.check();
        this.deliveredAt = elapsedMs();
        // a backlog read and published without a pause would hold the event loop: no timer (the lease's renewal), no request
        if (++count % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
        // the lease passed to another process meanwhile: it publishes from the shared checkpoint, this one stops writing it
        if (this.restart) return this.leading ? await confirmed?.settled() : await confirmed?.abandon();
        if (!this.holdsLease()) {
          this.restart = true;
          return await confirmed?.abandon();
        }
        // an event a later version of Rollcall wrote (docs/adr/0020 point 4): this process stops before it, as its
        // projector does, and retries from its checkpoint until an upgraded one publishes it (throws: `retrying`)
        checkReadable(recorded);
        const integration = toIntegrationEvent(recorded);
        if (integration) {
          const subjects = this.o.subjects?.(integration) ?? [{ subject: operatorSubject(integration.type) }];
          const sends = subjects.map(({ subject, organizationId }) => {
            const before = organizationId === undefined ? previous : this.chains.previous(organizationId);
            return { subject, previousPosition: before < 0n ? null : before.toString() };
          });
          this.publishing = true;
          try {
            // shutting down before the transport took it: the checkpoint stays before this event
            const handed = await this.publish(integration, sends, () => this.readAgain(recorded));
            if (!handed) return await confirmed?.abandon();
          } finally {
            this.publishing = false;
          }
          previous = recorded.position;
          for (const { organizationId } of subjects) if (organizationId !== undefined) this.chains.handed(organizationId, recorded.position);
          this.o.metrics.integrationEvents.inc({ type: integration.type, transport: this.transport });
        }
        if (confirmed) confirmed.handed(recorded.position);
        else await this.moveCheckpoint(recorded.position);
      }
      // the subscription ended (unsubscribed to re-subscribe, or failed): what was handed over confirmed first
      await confirmed?.settled();
    } catch (error) {
      // the subscription failed (or a confirmation did): what was handed over is confirmed first while this process
      // publishes, so that the next subscription starts after it rather than sending it again
      if (this.leading && confirmed) await confirmed.settled().catch(() => undefined);
      else await confirmed?.abandon();
      throw error;
    }
  }

  /** past `position`: every event up to it taken (and confirmed) by the transport */
  private async moveCheckpoint(position: bigint): Promise<void> {
    await this.o.coordination.writeCheckpoint(position);
    this.position = position;
    this.chains.confirmedThrough(position);
    this.refusedConfirmations = 0;
    if (this.failures > 0) this.o.logger.log({ transport: this.transport, failures: this.failures }, `integration events (${this.transport}): following the log again after ${this.failures} failure(s)`);
    this.failures = 0;
  }

  /**
   * Retries until the transport takes the event (backoff capped at 5 s): nothing is dropped. False: stopping. Each retry
   * sends the event as the log gives it then, read again: its user may have been deleted meanwhile (rule 12), and the
   * copy read before would carry their personal data past the erasure (probe 38 F2: an address went out 22 s after the
   * deletion, to a TCP consumer that had been down).
   */
  private async publish(first: IntegrationEvent, sends: { subject: string; previousPosition: string | null }[], readAgain: () => Promise<IntegrationEvent | undefined>): Promise<boolean> {
    let event = first;
    for (let attempt = 1; !this.stopping; attempt++) {
      try {
        if (attempt > 1) event = (await readAgain()) ?? event;
        // on each of its subjects, each saying what it follows there (a retry sends it on every one again: at least once on each)
        for (const { subject, previousPosition } of sends) await lastValueFrom(this.o.client.emit(subject, { ...event, previousPosition }), { defaultValue: undefined });
        this.failedSends = 0;
        if (this.state === 'retrying') this.state = 'running';
        return true;
      } catch (error) {
        this.failedSends = attempt;
        // a transport that refuses shows as retrying, not running (probe 39c F2: an alert on the state saw nothing)
        this.state = 'retrying';
        this.lastError = `sending ${event.type} failed: ${error instanceof Error ? error.message : String(error)}`;
        if (attempt === 1 || attempt % 20 === 0)
          this.o.logger.warn(
            { transport: this.transport, eventType: event.type, eventId: event.eventId, attempt, reason: error instanceof Error ? error.message : String(error) },
            `publishing ${event.type} ${event.eventId} over ${this.transport} failed (attempt ${attempt}), retrying`,
          );
        await new Promise((r) => setTimeout(r, Math.min(5000, 100 * attempt)));
      }
    }
    return false;
  }

  /**
   * How far the log's head is past the last event published on this transport, in log positions (events with the
   * embedded store; with EventStoreDB, offsets in its transaction log); undefined: this process does not publish on it
   * now, or has not started. A consumer down, or a transport refusing, shows here and in `/metrics` (probe 38 F4).
   */
  async behind(): Promise<number | undefined> {
    if ((this.state !== 'running' && this.state !== 'retrying') || this.position === undefined) return undefined;
    const head = await this.o.store.headPosition();
    if (head <= this.position) return 0;
    // only the log's own records (PersonalDataErased after a deletion) past it: nothing left to publish (probe 45 F9:
    // `behind: 1` after every deletion until the next write, an alert on a quiet system)
    for await (const _next of this.o.store.readAll({ fromPosition: this.position, filter: { streamPrefixes: [...DOMAIN_STREAM_PREFIXES] }, maxCount: 1 })) return Number(head - this.position);
    return 0;
  }

  /** the event as the log gives it now (decrypted with the keys left: an erased subject's fields null) */
  private async readAgain(recorded: RecordedEvent): Promise<IntegrationEvent | undefined> {
    for await (const again of this.o.store.readStream(recorded.stream, { fromRevision: recorded.revision, toPosition: recorded.position })) return toIntegrationEvent(again);
    return undefined;
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeRetry = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** stops publishing (the checkpoint stays after the last event the transport took), closes the client, lets the lease go */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.ticker) clearInterval(this.ticker);
    this.wakeRetry?.();
    await this.subscription?.unsubscribe().catch(() => undefined);
    await this.loop;
    await this.o.client.close();
    // a process standing by takes over at its next try
    await this.o.coordination.release();
    await this.o.coordination.close();
  }
}
