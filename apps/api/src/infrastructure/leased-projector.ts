import type { EventStore } from '@rollcall/event-store';
import { PROJECTIONS, Projector, type ReadStore } from '@rollcall/read-store';
import { LEASE_RENEW_MS, Lease } from './lease';

/**
 * A projector that runs only while its process holds the embedded read store's `projector` lease (lease.ts,
 * docs/adr/0011 point 4): both the API's projector thread and the separate projector process (apps/projector) take
 * it, so that two never project one read store. Without a lease (MongoDB: one projector by deployment) it just runs.
 * A new Projector each time this process leads: what an earlier one cached may be stale once another process projected.
 */
export class LeasedProjector {
  /** the running projector, while this process leads */
  current: Projector | undefined;
  readonly lease: Lease | undefined;
  private turning: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly newProjector: () => Projector,
    options: { dataDir: string; mongoUrl?: string },
    private readonly logger: { info(message: string): void; error(message: string): void },
  ) {
    this.lease = options.mongoUrl ? undefined : new Lease(options.dataDir, 'projector');
  }

  /** leads at once if the lease is free, then asks for it (or renews it) every LEASE_RENEW_MS */
  async start(): Promise<void> {
    await (this.turning = this.lead());
    // a failed turn (the lease's file busy, a projector that could not start) is logged and tried again at the next:
    // the chain always ends handled, so no turn's failure is an unhandled rejection
    if (this.lease)
      this.timer = setInterval(() => (this.turning = this.turning.then(() => this.lead()).catch((error: unknown) => this.logger.error(`projector lease: ${String(error)}`))), LEASE_RENEW_MS);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.turning.catch(() => undefined);
    await this.current?.stop();
    this.current = undefined;
    this.lease?.release();
    this.lease?.close();
  }

  private async lead(): Promise<void> {
    const held = this.lease ? this.lease.tryAcquire() : true;
    if (held && !this.current) {
      const projector = this.newProjector();
      try {
        await projector.start();
      } catch (error) {
        // not leading after all: let the lease go, so that another process (or this one's next turn) takes it
        await projector.stop().catch(() => undefined);
        this.lease?.release();
        throw error;
      }
      this.current = projector;
      if (this.lease) this.logger.info('projector: this process projects the embedded read store (lease taken)');
    } else if (!held && this.current) {
      this.logger.error('projector: the lease passed to another process; this one stands by');
      const stopping = this.current;
      this.current = undefined;
      await stopping.stop();
    }
  }
}

/**
 * Every projection over a process's stores, leased: what the API's projector thread (projector-worker.ts) and the
 * projector process (apps/projector) both run, so that the two cannot drift apart.
 */
export function leasedProjections(
  stores: { eventStore: EventStore; readStore: ReadStore },
  options: {
    eventstoreUrl?: string;
    mongoUrl?: string;
    dataDir: string;
    /** the embedded store notifies subscriptions of appends made in its own process only: others are polled for */
    pollIntervalMs: number;
    /** ProjectorOptions.lingerMs (the API's thread: ROLLCALL_PROJECTOR_LINGER_MS); none: each batch committed at once */
    lingerMs?: number;
  },
  logger: { info(message: string): void; error(message: string): void },
): LeasedProjector {
  const lingerMs = options.lingerMs ?? 0;
  return new LeasedProjector(
    () =>
      new Projector({
        ...stores,
        projections: PROJECTIONS,
        pollIntervalMs: options.eventstoreUrl ? undefined : options.pollIntervalMs,
        lingerMs,
        // lingering lets a batch grow past the default 1,000 events (~2 s of events at the API's measured pace)
        batchSize: lingerMs > 0 ? 5000 : undefined,
        logger,
      }),
    options,
    logger,
  );
}
