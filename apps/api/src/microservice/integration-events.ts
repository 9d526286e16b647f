import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { type ClientProxy, ClientProxyFactory, Transport } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { DOMAIN_EVENT_TYPES, fromStored } from '@rollcall/domain';
import type { EventStore, RecordedEvent, Subscription } from '@rollcall/event-store';
import { APP_CONFIG, EVENT_STORE } from '../commands/tokens';
import type { Config } from '../config';
import { Metrics } from '../infrastructure/metrics';

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
    data: event.data,
  };
};

/**
 * Publishes domain events as integration events on the transport(s): NATS when NATS_URL is set, and TCP to
 * ROLLCALL_EVENTS_TCP_TARGET when set. It follows the log with a catch-up subscription from its checkpoint
 * (a file in the data dir; the head of the log on the very first start), publishes each event until the
 * transport takes it, then moves the checkpoint: at-least-once, consumers dedupe by `eventId`.
 */
@Injectable()
export class IntegrationEvents implements OnApplicationShutdown {
  private readonly logger = new Logger('IntegrationEvents');
  private readonly clients: ClientProxy[] = [];
  private subscription?: Subscription;
  private loop?: Promise<void>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: Config,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(Metrics) private readonly metrics: Metrics,
  ) {}

  async start(): Promise<void> {
    if (this.config.natsUrl) this.clients.push(ClientProxyFactory.create({ transport: Transport.NATS, options: { servers: [this.config.natsUrl] } }));
    if (this.config.eventsTcpTarget) this.clients.push(ClientProxyFactory.create({ transport: Transport.TCP, options: this.config.eventsTcpTarget }));
    if (this.clients.length === 0) return;
    const from = this.readCheckpoint() ?? (await this.store.headPosition());
    this.subscription = this.store.subscribe({
      ...(from >= 0n && { fromPosition: from }),
      filter: { eventTypes: [...DOMAIN_EVENT_TYPES] },
    });
    this.loop = this.publishAll(this.subscription);
  }

  private async publishAll(subscription: Subscription): Promise<void> {
    try {
      for await (const recorded of subscription) {
        const integration = toIntegrationEvent(recorded);
        if (integration) {
          for (const client of this.clients) await this.publish(client, integration);
          this.metrics.integrationEvents.inc({ type: integration.type });
        }
        this.writeCheckpoint(recorded.position);
      }
    } catch (error) {
      this.logger.error(`integration events stopped: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Retries until the transport takes the event (backoff capped at 5 s): nothing is dropped. */
  private async publish(client: ClientProxy, event: IntegrationEvent): Promise<void> {
    for (let attempt = 1; !this.stopping; attempt++) {
      try {
        await lastValueFrom(client.emit(`rollcall.events.${event.type}`, event), { defaultValue: undefined });
        return;
      } catch (error) {
        if (attempt === 1 || attempt % 20 === 0)
          this.logger.warn(`publishing ${event.type} ${event.eventId} failed (attempt ${attempt}), retrying: ${error instanceof Error ? error.message : String(error)}`);
        await new Promise((r) => setTimeout(r, Math.min(5000, 100 * attempt)));
      }
    }
  }

  private get checkpointFile() {
    return join(this.config.dataDir, 'integration-events.checkpoint');
  }

  private readCheckpoint(): bigint | undefined {
    return existsSync(this.checkpointFile) ? BigInt(readFileSync(this.checkpointFile, 'utf8').trim()) : undefined;
  }

  private writeCheckpoint(position: bigint): void {
    writeFileSync(`${this.checkpointFile}.tmp`, position.toString());
    renameSync(`${this.checkpointFile}.tmp`, this.checkpointFile);
  }

  private stopping = false;

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.subscription?.unsubscribe();
    await this.loop;
    await Promise.all(this.clients.map((c) => c.close()));
  }
}
