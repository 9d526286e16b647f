import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { type ClientNats, ClientProxyFactory, Transport } from '@nestjs/microservices';
import type { NatsConnection } from '@nats-io/transport-node';
import type { EventStore } from '@rollcall/event-store';
import { APP_CONFIG, EVENT_STORE } from '../shared/tokens';
import type { Config } from '../config';
import { Metrics } from '../infrastructure/metrics';
import { jobCoordination } from './job-coordination';
import type { IntegrationEventsStatus } from './integration-event';
import { TransportPublisher } from './transport-publisher';
import { natsConnectionOptions } from './nats-options';
import { subjectsOf } from './event-subjects';
import { NatsPublishRefusals, confirmNatsPublishes } from './nats-publish-refusals';

export { type IntegrationEvent, type IntegrationEventsStatus, toIntegrationEvent } from './integration-event';

/** the worse state first: what `/health` shows for the publisher as a whole */
const STATE_RANK: IntegrationEventsStatus['state'][] = ['retrying', 'running', 'standby', 'stopped', 'disabled'];

/**
 * Publishes domain events as integration events: on NATS when NATS_URL is set, and over TCP to
 * ROLLCALL_EVENTS_TCP_TARGET when set, one `TransportPublisher` each (transport-publisher.ts). Each follows the log from
 * its own checkpoint under its own lease, so a transport refusing (its consumer down) holds only itself (probe 38 F3;
 * docs/adr/0022-one-checkpoint-per-transport.md):
 * - NATS keeps the names both transports shared before: the `publisher` lease, `integration-events.checkpoint` (and
 *   MongoDB's `publisher` document);
 * - TCP has the `publisher_tcp` lease, `integration-events-tcp.checkpoint` (MongoDB's `publisher_tcp`). Its first start
 *   resumes from the shared checkpoint: a TCP consumer loses nothing across the upgrade.
 */
@Injectable()
export class IntegrationEvents implements OnApplicationShutdown {
  private readonly logger = new Logger('IntegrationEvents');
  private readonly publishers: TransportPublisher[] = [];
  private started = false;
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
    const { config } = this;
    // the lease can pass between processes over an embedded data dir, or through MongoDB; with EventStoreDB alone every replica publishes
    const shared = { store: this.store, metrics: this.metrics, logger: this.logger, retry: this.retry, leased: !config.eventstoreUrl || !!config.mongoUrl, embedded: !config.eventstoreUrl };
    if (config.natsUrl) {
      const client = ClientProxyFactory.create({ transport: Transport.NATS, options: natsConnectionOptions(config.natsUrl) });
      const refusals = new NatsPublishRefusals();
      this.publishers.push(
        new TransportPublisher({
          ...shared,
          transport: 'nats',
          client,
          // the server has what was published once it answers a ping sent after it (core NATS has no other receipt),
          // and refused none of it (a permissions violation: told apart, asynchronously)
          confirm: () => confirmNatsPublishes((client as unknown as ClientNats).unwrap<NatsConnection>(), refusals),
          subscribing: () => refusals.forget(),
          subjects: (event) => subjectsOf(event, config.natsEventSubjects),
          coordination: jobCoordination(config, 'publisher', 'integration-events.checkpoint', this.logger),
        }),
      );
    }
    if (config.eventsTcpTarget)
      this.publishers.push(
        new TransportPublisher({
          ...shared,
          transport: 'tcp',
          client: ClientProxyFactory.create({ transport: Transport.TCP, options: config.eventsTcpTarget }),
          coordination: jobCoordination(config, 'publisher_tcp', 'integration-events-tcp.checkpoint', this.logger, { job: 'publisher', checkpointFile: 'integration-events.checkpoint' }),
        }),
      );
    this.started = true;
    for (const publisher of this.publishers) publisher.start();
  }

  /** the whole (the worse state, the most failures, the lower checkpoint) and, with a transport configured, each one's */
  status(): IntegrationEventsStatus {
    if (this.publishers.length === 0) return { state: this.started ? 'disabled' : 'stopped', consecutiveFailures: 0, failedSends: 0 };
    const each = this.publishers.map((p) => p.status());
    const checkpoints = each.flatMap((s) => (s.checkpoint === undefined ? [] : [BigInt(s.checkpoint)]));
    const lastError = each.find((s) => s.lastError !== undefined)?.lastError;
    return {
      state: STATE_RANK.find((state) => each.some((s) => s.state === state))!,
      consecutiveFailures: Math.max(...each.map((s) => s.consecutiveFailures)),
      failedSends: Math.max(...each.map((s) => s.failedSends)),
      ...(lastError !== undefined && { lastError }),
      ...(checkpoints.length === each.length && { checkpoint: checkpoints.reduce((a, b) => (b < a ? b : a)).toString() }),
      transports: Object.fromEntries(this.publishers.map((p, i) => [p.transport, each[i]!])),
    };
  }

  /** each transport's distance behind the log's head (undefined: it does not publish in this process now) */
  async behindByTransport(): Promise<Partial<Record<TransportPublisher['transport'], number>>> {
    const entries = await Promise.all(this.publishers.map(async (p) => [p.transport, await p.behind()] as const));
    return Object.fromEntries(entries.filter(([, behind]) => behind !== undefined));
  }

  /** how far the log's head is past the checkpoint of the transport furthest behind; undefined: none publishes here now */
  async behind(): Promise<number | undefined> {
    const values = Object.values(await this.behindByTransport());
    return values.length === 0 ? undefined : Math.max(...values);
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.publishers.map((p) => p.stop()));
  }
}
