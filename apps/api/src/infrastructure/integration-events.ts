import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { type ClientProxy, ClientProxyFactory, Transport } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { DOMAIN_EVENT_TYPES, type DomainEvent, fromStored } from '@rollcall/domain';
import type { EventStore, RecordedEvent, Subscription } from '@rollcall/event-store';
import { APP_CONFIG, EVENT_STORE } from '../shared/tokens';
import type { Config } from '../config';
import { Metrics } from '../infrastructure/metrics';
import { LEASE_RENEW_MS } from './lease';
import { jobCoordination } from './job-coordination';
import type { PublisherCoordination } from './publisher-coordination';

/**
 * How often the publisher looks for events that other processes appended to the embedded log (its subscription wakes
 * only for this process's appends): when the log's head is past what it published and its subscription has delivered
 * nothing for this long, it subscribes again from its checkpoint.
 */
const IDLE_POLL_MS = 100;
/** while catching up, the publisher yields to the event loop this often (timers renew its lease; requests are served) */
const YIELD_EVERY = 256;

/** What consumers (e.g. the contacts service) receive on `rollcall.events.<Type>`. */
export interface IntegrationEvent {
  eventId: string;
  type: string;
  stream: string;
  position: string;
  occurredAt?: string;
  actorId?: string;
  data: unknown;
}

export const toIntegrationEvent = (e: RecordedEvent): IntegrationEvent | undefined => {
  const event = fromStored(e);
  if (!event) return undefined;
  return {
    eventId: e.id,
    type: event.type,
    stream: e.stream,
    position: e.position.toString(),
    occurredAt: e.metadata.occurredAt as string | undefined,
    actorId: e.metadata.actorId as string | undefined,
    data: publishedData(event),
  };
};

/**
 * What of an event's data consumers get: all of it, but the hash of an API key's secret (`ApiKeyIssued`), which only
 * the API's key check needs: consumers learn that a key was issued, and its id. A deleted user's removal from a
 * workspace says what became of their contacts, as a revoke does (rule 12: they are unassigned, a revoke's default;
 * probe 38 F7: the contacts service had to infer it).
 */
const publishedData = (event: DomainEvent): unknown => {
  if (event.type === 'UserDeletedFromWorkspace') return { ...event.data, contacts: { mode: 'unassigned' } };
  if (event.type !== 'ApiKeyIssued') return event.data;
  const { secretHash: _secretHash, ...rest } = event.data;
  return rest;
};

/** What the health check reads: is the publisher following the log, and how often did it fail in a row. */
export interface IntegrationEventsStatus {
  /**
   * 'disabled': no transport configured; 'stopped': not started, or shut down; 'running': subscribed to the log;
   * 'retrying': the subscription (or the event store) failed, waiting to re-subscribe from the checkpoint;
   * 'standby': another process over the data dir publishes (it holds the publisher's lease).
   */
  state: 'disabled' | 'stopped' | 'running' | 'retrying' | 'standby';
  /** failures since the last subscription that delivered an event or stayed up `stableAfterMs` (0 when healthy) */
  consecutiveFailures: number;
  /** the last failure's message (kept after recovery, for the record) */
  lastError?: string;
  /** global position of the last event published (and checkpointed), as a string */
  checkpoint?: string;
  /** sends of the event at hand that a transport refused, in a row (a consumer down: it is sent again until taken) */
  failedSends: number;
}

/**
 * Publishes domain events as integration events on the transport(s): NATS when NATS_URL is set, and TCP to
 * ROLLCALL_EVENTS_TCP_TARGET when set. It follows the log with a catch-up subscription from its checkpoint
 * (a file in the data dir; the head of the log on the very first start), publishes each event until the
 * transport takes it, then moves the checkpoint: at-least-once, consumers dedupe by `eventId`.
 *
 * When the subscription fails (event store unreachable, leader change, …) or ends on its own, the publisher
 * re-subscribes from its checkpoint after a backoff (doubling from `retry.initialDelayMs` up to
 * `retry.maxDelayMs`), as the projector does; `status()` tells the health check where it stands.
 *
 * Over an embedded data dir shared by several processes (docs/adr/0011), one publishes at a time: it holds the
 * `publisher` lease (the others stand by and take over from the shared checkpoint), and it follows every process's
 * appends, not only its own (IDLE_POLL_MS). Each event is then published once in the steady state; at least once
 * across a takeover.
 */
@Injectable()
export class IntegrationEvents implements OnApplicationShutdown {
  private readonly logger = new Logger('IntegrationEvents');
  private readonly clients: ClientProxy[] = [];
  private subscription?: Subscription;
  private loop?: Promise<void>;
  private stopping = false;
  private state: IntegrationEventsStatus['state'] = 'stopped';
  private failures = 0;
  private failedSends = 0;
  private lastError?: string;
  private subscribedAt = 0;
  /** the last position published and checkpointed; undefined until read from the file or the log's head */
  private position?: bigint;
  private wakeRetry?: () => void;
  /** which process publishes, and from where (publisher-coordination.ts) */
  private coordination?: PublisherCoordination;
  /** whether this process published at the last look at the lease */
  private leading = false;
  private ticker?: NodeJS.Timeout;
  /** the subscription was ended on purpose (to read other processes' events, or the lease was lost): not a failure */
  private restart = false;
  private deliveredAt = 0;
  /** the log's head when the subscription was last begun again: events past it are not of the types published, or new */
  private resubscribedAtHead = -1n;
  /** a transport is being handed an event (its time does not count as idle) */
  private publishing = false;
  /** backoff between re-subscriptions; a subscription that lived `stableAfterMs` resets the failure count */
  readonly retry = { initialDelayMs: 500, maxDelayMs: 30_000, stableAfterMs: 30_000 };

  constructor(
    @Inject(APP_CONFIG) private readonly config: Config,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(Metrics) private readonly metrics: Metrics,
  ) {
    metrics.publisher = this;
  }

  async start(): Promise<void> {
    if (this.config.natsUrl) this.clients.push(ClientProxyFactory.create({ transport: Transport.NATS, options: { servers: [this.config.natsUrl] } }));
    if (this.config.eventsTcpTarget) this.clients.push(ClientProxyFactory.create({ transport: Transport.TCP, options: this.config.eventsTcpTarget }));
    if (this.clients.length === 0) {
      this.state = 'disabled';
      return;
    }
    this.stopping = false;
    this.coordination = jobCoordination(this.config, 'publisher', 'integration-events.checkpoint', this.logger);
    if (!this.config.eventstoreUrl || this.config.mongoUrl) {
      this.ticker = setInterval(() => void this.tick(), IDLE_POLL_MS);
      this.ticker.unref();
    }
    // a failure outside the loop's own handling (the lease's file, the checkpoint's) is logged, never an unhandled rejection
    this.loop = this.run().catch((error: unknown) => {
      this.state = 'stopped';
      this.lastError = error instanceof Error ? error.message : String(error);
      this.logger.error({ reason: this.lastError }, `integration events stopped: ${this.lastError}`);
    });
  }

  /** Whether this process publishes now (the lease is renewed at most every LEASE_RENEW_MS); always true with EventStoreDB alone. */
  private holdsLease(): boolean {
    const leads = this.coordination?.leads() ?? false;
    if (leads && !this.leading) {
      // taking over (or starting): publishing resumes at the shared checkpoint, read again
      this.position = undefined;
      this.logger.log('integration events: this process publishes (lease taken)');
    } else if (!leads && this.leading) this.logger.log('integration events: the lease passed to another process; this one stands by');
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
      const embedded = !this.config.eventstoreUrl;
      const head = !embedded || lost || this.publishing || Date.now() - this.deliveredAt < IDLE_POLL_MS ? undefined : await this.store.headPosition();
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

  status(): IntegrationEventsStatus {
    const stable = this.state === 'running' && Date.now() - this.subscribedAt >= this.retry.stableAfterMs;
    return {
      state: this.state,
      consecutiveFailures: stable ? 0 : this.failures,
      failedSends: this.failedSends,
      ...(this.lastError !== undefined && { lastError: this.lastError }),
      ...(this.position !== undefined && this.position >= 0n && { checkpoint: this.position.toString() }),
    };
  }

  /** subscribes from the checkpoint, publishes until the subscription fails, waits, subscribes again */
  private async run(): Promise<void> {
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
          const checkpoint = await this.coordination!.readCheckpoint();
          this.position = checkpoint ?? (await this.store.headPosition());
          // written at once: a takeover or a restart before the first event is published starts here, not at a later head
          if (checkpoint === undefined) await this.coordination!.writeCheckpoint(this.position);
        }
        const from = this.position;
        subscription = this.store.subscribe({
          ...(from >= 0n && { fromPosition: from }),
          filter: { eventTypes: [...DOMAIN_EVENT_TYPES] },
        });
        this.subscription = subscription;
        this.subscribedAt = Date.now();
        this.deliveredAt = Date.now();
        this.state = 'running';
        if (this.stopping) {
          // shut down while this subscription was being made: onApplicationShutdown unsubscribed the previous one
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
        const stable = Date.now() - this.subscribedAt >= this.retry.stableAfterMs;
        this.failures = subscription && stable ? 1 : this.failures + 1;
        this.lastError = error instanceof Error ? error.message : String(error);
        this.state = 'retrying';
        const delay = Math.min(this.retry.maxDelayMs, this.retry.initialDelayMs * 2 ** Math.min(this.failures - 1, 20));
        this.logger.error(
          { reason: this.lastError, retryInMs: delay, failuresInARow: this.failures },
          `integration events: ${this.lastError}; re-subscribing from the checkpoint in ${delay} ms (failure ${this.failures} in a row)`,
        );
        await subscription?.unsubscribe().catch(() => undefined);
        await this.pause(delay);
      }
    }
    this.state = 'stopped';
  }

  private async publishAll(subscription: Subscription): Promise<void> {
    let count = 0;
    for await (const recorded of subscription) {
      this.deliveredAt = Date.now();
      // a backlog read and published without a pause would hold the event loop: no timer (the lease's renewal), no request
      if (++count % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
      // the lease passed to another process meanwhile: it publishes from the shared checkpoint, this one stops writing it
      if (this.restart) return;
      if (!this.holdsLease()) {
        this.restart = true;
        return;
      }
      const integration = toIntegrationEvent(recorded);
      if (integration) {
        this.publishing = true;
        try {
          for (const client of this.clients) {
            // shutting down before the transport took it: the checkpoint stays before this event
            if (!(await this.publish(client, integration, () => this.readAgain(recorded)))) return;
          }
        } finally {
          this.publishing = false;
        }
        this.metrics.integrationEvents.inc({ type: integration.type });
      }
      await this.coordination!.writeCheckpoint(recorded.position);
      this.position = recorded.position;
      if (this.failures > 0) this.logger.log({ failures: this.failures }, `integration events: following the log again after ${this.failures} failure(s)`);
      this.failures = 0;
    }
  }

  /**
   * Retries until the transport takes the event (backoff capped at 5 s): nothing is dropped. False: stopping. Each retry
   * sends the event as the log gives it then, read again: its user may have been deleted meanwhile (rule 12), and the
   * copy read before would carry their personal data past the erasure (probe 38 F2: an address went out 22 s after the
   * deletion, to a TCP consumer that had been down).
   */
  private async publish(client: ClientProxy, first: IntegrationEvent, readAgain: () => Promise<IntegrationEvent | undefined>): Promise<boolean> {
    let event = first;
    for (let attempt = 1; !this.stopping; attempt++) {
      try {
        if (attempt > 1) event = (await readAgain()) ?? event;
        await lastValueFrom(client.emit(`rollcall.events.${event.type}`, event), { defaultValue: undefined });
        this.failedSends = 0;
        return true;
      } catch (error) {
        this.failedSends = attempt;
        if (attempt === 1 || attempt % 20 === 0)
          this.logger.warn(
            { eventType: event.type, eventId: event.eventId, attempt, reason: error instanceof Error ? error.message : String(error) },
            `publishing ${event.type} ${event.eventId} failed (attempt ${attempt}), retrying`,
          );
        await new Promise((r) => setTimeout(r, Math.min(5000, 100 * attempt)));
      }
    }
    return false;
  }

  /**
   * How far the log's head is past the last event this process published, in log positions (events with the embedded
   * store; with EventStoreDB, positions are offsets in its transaction log); undefined: it does not publish now, or has
   * not started. A consumer down, or a transport refusing, shows here and in `/metrics` (probe 38 F4: nothing did).
   */
  async behind(): Promise<number | undefined> {
    if ((this.state !== 'running' && this.state !== 'retrying') || this.position === undefined) return undefined;
    const head = await this.store.headPosition();
    return head > this.position ? Number(head - this.position) : 0;
  }

  /** the event as the log gives it now (decrypted with the keys left: an erased subject's fields null) */
  private async readAgain(recorded: RecordedEvent): Promise<IntegrationEvent | undefined> {
    for await (const again of this.store.readStream(recorded.stream, { fromRevision: recorded.revision, toPosition: recorded.position })) return toIntegrationEvent(again);
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

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    if (this.ticker) clearInterval(this.ticker);
    this.wakeRetry?.();
    await this.subscription?.unsubscribe().catch(() => undefined);
    await this.loop;
    await Promise.all(this.clients.map((c) => c.close()));
    // a process standing by takes over at its next try
    await this.coordination?.release();
    await this.coordination?.close();
  }
}
