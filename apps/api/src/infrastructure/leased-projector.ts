import type { EventStore } from '@rollcall/event-store';
import { PROJECTIONS, type ProjectionStatus, Projector, type ReadStore } from '@rollcall/read-store';
import { LEASE_RENEW_MS, LEASE_TTL_MS, Lease } from './lease';
import { MongoJobLease } from './mongo-job-lease';

/** how often a projector under MongoDB's lease looks whether it still holds it (no I/O: what the renewals learned) */
const SHARED_TURN_MS = 250;

/**
 * A projector that runs only while its process holds the read store's `projector` lease, so that two processes never
 * project one read store (docs/adr/0011 point 4): both the API's projector thread and the separate projector process
 * (apps/projector) take it. Over an embedded read store the lease is a file of the data dir (lease.ts); over a
 * MongoDB read store, which replicas on several hosts share, a document in MongoDB (mongo-job-lease.ts). Two
 * projectors at once would not just do the work twice: one behind the other reads the documents the other wrote
 * after the event it applies, and writes what it derives from them (a history entry from a later state).
 * A new Projector each time this process leads: what an earlier one cached may be stale once another process projected.
 */
export class LeasedProjector {
  /** the running projector, while this process leads */
  current: Projector | undefined;
  /**
   * what its projections said when this process let the lease go, stopped before an event a later version of Rollcall
   * wrote (handOver): reported meanwhile (it cannot project that log), until a projector of its own runs again
   */
  stoppedBefore: ProjectionStatus[] | undefined;
  /** after a hand-over, no try for the data dir's lease before this time (MongoDB's lease keeps its own) */
  private quietUntil = 0;
  /** the data dir's lease (its `want`/`wanted` carry a standby's readers' positions to the leader) */
  readonly lease: Lease | undefined;
  /** MongoDB's lease, over a MongoDB read store */
  private readonly shared: MongoJobLease | undefined;
  private turning: Promise<void> = Promise.resolve();
  private inTurn = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly newProjector: () => Projector,
    options: { dataDir: string; mongoUrl?: string },
    private readonly logger: { info(message: string): void; error(message: string): void },
  ) {
    if (options.mongoUrl) this.shared = new MongoJobLease(options.mongoUrl, 'projector', (error) => logger.error(`projector lease (MongoDB): ${String(error)}`));
    else this.lease = new Lease(options.dataDir, 'projector');
  }

  /**
   * Leads at once if the lease is free, then turns every LEASE_RENEW_MS: the data dir's lease is asked for (or
   * renewed) at each turn; MongoDB's is renewed in the background (a MongoDB that does not answer holds up no turn),
   * and a turn every SHARED_TURN_MS reads what it last learned, so that a holder that could not renew stops well
   * before its lease ends and another may take it.
   */
  async start(): Promise<void> {
    await this.shared?.start();
    await (this.turning = this.lead());
    this.timer = setInterval(() => this.turn(), this.shared ? SHARED_TURN_MS : LEASE_RENEW_MS);
  }

  /** one turn at a time: a turn still running (a projector starting, a file busy) is not queued behind again */
  private turn(): void {
    if (this.inTurn) return;
    this.inTurn = true;
    // a failed turn (the lease's file busy, a projector that could not start) is logged and tried again at the next:
    // the chain always ends handled, so no turn's failure is an unhandled rejection
    this.turning = this.lead()
      .catch((error: unknown) => this.logger.error(`projector lease: ${String(error)}`))
      .finally(() => (this.inTurn = false));
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.turning.catch(() => undefined);
    await this.current?.stop();
    this.current = undefined;
    this.lease?.release();
    this.lease?.close();
    await this.shared?.release();
    await this.shared?.close();
  }

  /** what the projections say: the running projector's, or what they said when they stopped before a later version's event */
  status(): ProjectionStatus[] {
    return this.current?.status() ?? this.stoppedBefore ?? [];
  }

  /** whether this process holds the lease now: the data dir's taken or renewed now, MongoDB's as last renewed */
  private async holds(): Promise<boolean> {
    if (this.lease) return performance.now() >= this.quietUntil && this.lease.tryAcquire();
    return this.shared!.leads();
  }

  /**
   * Its projections stopped before an event a later version of Rollcall wrote (docs/adr/0020 point 4): this process
   * cannot project past it, an upgraded one can. It lets the lease go and asks again only after LEASE_TTL_MS, so that
   * one standing by takes it (probe 68 F5: the old process kept it while it stood stopped, and the read models waited
   * for the end of the upgrade). With none there, this one takes it back and stops at the same event again.
   */
  private async handOver(projector: Projector): Promise<void> {
    this.stoppedBefore = projector.status();
    this.current = undefined;
    this.logger.error('projector: stopped before an event a later version of Rollcall wrote; the lease goes to another process for an upgraded one to project it');
    await projector.stop();
    this.quietUntil = performance.now() + LEASE_TTL_MS;
    this.lease?.release();
    await this.shared?.standDown();
  }

  private async lead(): Promise<void> {
    const held = await this.holds();
    if (held && this.current?.status().some((s) => s.laterVersion)) return this.handOver(this.current);
    if (held && !this.current) {
      const projector = this.newProjector();
      try {
        await projector.start();
      } catch (error) {
        // not leading after all: let the lease go, so that another process (or this one's next turn) takes it
        await projector.stop().catch(() => undefined);
        this.lease?.release();
        await this.shared?.standDown();
        throw error;
      }
      this.current = projector;
      this.stoppedBefore = undefined;
      this.logger.info(`projector: this process projects the ${this.lease ? 'embedded' : 'MongoDB'} read store (lease taken)`);
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
    /** ProjectorOptions.erasureRewriteMinIntervalMs (ROLLCALL_ERASURE_REWRITE_SECONDS); none: after each deletion */
    erasureRewriteMs?: number;
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
        erasureRewriteMinIntervalMs: options.erasureRewriteMs,
        logger,
      }),
    options,
    logger,
  );
}
