import type { RecordedEvent } from '@rollcall/event-store';
import { type CollectionSpec, type Projection, RETIRED_COLLECTIONS, checkpointKey } from '../projections/projection';
import { ProjectionBatch, toProjectedEvent } from './batch';
import { type Stoppable, stopBeforeLaterVersion } from './later-version';
import { StoreSource } from './store-source';
import { ErasurePurge } from './erasure-purge';
import { CommitLinger, firstOf } from './commit-linger';
import type { ProjectionStatus, ProjectorLogger, ProjectorOptions } from './projector-options';
import { ResetCompletion, earlierVersionProjected, resetProjection } from './reset';
import { BatchSize } from './batch-size';
import { CommitTooLargeError } from '../port';

/** the events a commit holds (each batch sees every event of it, applied or skipped) */
const eventsOf = (batches: readonly ProjectionBatch[]): number => Math.max(0, ...batches.map((b) => b.events));

export type { ProjectionStatus, ProjectorLogger, ProjectorOptions } from './projector-options';
export { resetProjection } from './reset';

interface Slot extends Stoppable {
  projection: Projection;
  types: ReadonlySet<string>;
  checkpoint: bigint | undefined;
  processed: number;
  commitFailures: number;
  commitError?: string;
}

const IDLE = Symbol('idle');
const MOVED = Symbol('moved');
const isBehind = (checkpoint: bigint | undefined, position: bigint) => checkpoint === undefined || checkpoint < position;

const consoleLogger: ProjectorLogger = {
  info: (message) => console.log(message),
  error: (message) => console.error(message),
};

/**
 * Runs projections over the global log: one catch-up subscription from the lowest checkpoint; each projection
 * skips the events at or below its own checkpoint. Events are applied in batches (up to `batchSize`, or fewer
 * when the subscription has nothing more right now); a batch's writes are folded in memory, then committed once
 * per projection with the batch's last position as checkpoint, in the same atomic commit as the documents.
 * Documents carry the position of the last event applied to them and the store ignores older writes, so
 * applying an event again changes nothing.
 *
 * A projection reset at the start (no checkpoint) replays into collections whose indexes the store may defer: they
 * are built here once the replay reaches the head (reset.ts), not by their first reader.
 *
 * A projection that throws stops alone: its writes before the failing event are committed, its checkpoint stays
 * before that event (a restart retries it), one line is logged and `status()` reports the error. The others
 * go on. A failing event store or read store stops nothing: the projector re-subscribes from the stored
 * checkpoints after `retryDelayMs`. A projection whose commits keep failing (a document over the server's
 * size limit, write concern errors: the store refuses the batch, the checkpoint stays) is reported `degraded`
 * after `degradedAfter` failures in a row, with the count and the last error, and logged once; its next
 * successful commit makes it `running` again.
 *
 * One projector per projection at a time (a second one would do the same work twice, harmlessly but uselessly).
 */
export class Projector {
  private readonly slots: Slot[];
  private readonly source: StoreSource;
  private readonly batchSize: BatchSize;
  private readonly logger: ProjectorLogger;
  private readonly degradedAfter: number;
  private running = false;
  private loop: Promise<void> | undefined;
  private subscription: { unsubscribe(): Promise<void> } | undefined;
  private head = -1n;
  private waiters = new Set<() => void>();
  /** rule 12 at rest: the store's old versions of what a deletion removed are purged once it is committed */
  private readonly purge: ErasurePurge;
  private wakeRetry: (() => void) | undefined;
  private readonly linger: CommitLinger;
  private readonly completion: ResetCompletion;

  constructor(private readonly options: ProjectorOptions) {
    this.purge = new ErasurePurge(options.readStore, (m) => this.logger.error(m), { minIntervalMs: options.erasureRewriteMinIntervalMs, logInfo: (m) => this.logger.info(m) });
    const names = new Set<string>();
    for (const p of options.projections) {
      if (names.has(p.name)) throw new Error(`projection ${p.name} is listed twice`);
      names.add(p.name);
    }
    this.slots = options.projections.map((projection) => ({
      projection,
      types: new Set(projection.eventTypes),
      checkpoint: undefined,
      processed: 0,
      commitFailures: 0,
    }));
    this.source = new StoreSource(options.readStore, options.cacheSize);
    this.batchSize = new BatchSize(options.batchSize ?? 1000);
    this.logger = options.logger ?? consoleLogger;
    this.degradedAfter = options.degradedAfter ?? 3;
    this.linger = new CommitLinger(options.lingerMs ?? 0, options.lingerAbove ?? 100);
    this.completion = new ResetCompletion(options.readStore, this.logger);
  }

  /** the collections of all projections, as `ReadStore.init` wants them */
  static collectionsOf(projections: readonly Projection[]): Record<string, CollectionSpec> {
    const all: Record<string, CollectionSpec> = {};
    for (const p of projections) Object.assign(all, p.collections);
    return all;
  }

  async start(): Promise<void> {
    this.purge.start();
    if (this.running) return;
    if (this.options.initStore !== false) await this.options.readStore.init(Projector.collectionsOf(this.options.projections), { retired: RETIRED_COLLECTIONS });
    await this.loadCheckpoints();
    // a projection with no checkpoint starts from the first event, so from empty collections: whatever they hold was
    // left by a reset that died half-way (or a commit without its checkpoint, on a store without transactions)
    // an earlier version's checkpoint beside this version's: that version projected after this one did (a rollback,
    // then this upgrade again), over this version's documents: they are a mix, replayed from the start (ADR 0015)
    for (const slot of this.slots)
      if (slot.checkpoint !== undefined && (await earlierVersionProjected(this.options.readStore, slot.projection))) slot.checkpoint = undefined;
    const reset = this.slots.filter((slot) => slot.checkpoint === undefined);
    for (const slot of reset) await resetProjection(this.options.readStore, slot.projection);
    this.head = await this.options.eventStore.headPosition();
    await this.completion.replaying(reset.flatMap((slot) => Object.keys(slot.projection.collections)), this.head, () => true);
    // no stored document can be ahead of the log's head; after a reset, none is ahead of anything (nor stored)
    if (this.options.freshStore) this.source.startFresh();
    else this.source.trustAfter = this.head;
    // the purge a deletion projected before a stop may have left runs first in the loop, not awaited here: its VACUUM
    // of a 1 GB read store kept the API's port closed ~13 s (probe 42 F4); the projections trail meanwhile instead
    this.running = true;
    this.loop = this.purge.atStart(this.options.eventStore, this.slots.map((slot) => slot.checkpoint)).then(() => this.run());
  }

  /** stops after committing what was applied; resolves when the projector is idle */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    const purgeStopped = this.purge.stop();
    this.wakeRetry?.();
    await this.subscription?.unsubscribe();
    await Promise.all([this.loop, purgeStopped]);
    this.notify();
  }

  status(): ProjectionStatus[] {
    return this.slots.map((s) => ({
      name: s.projection.name,
      checkpoint: s.checkpoint,
      lag: this.head > (s.checkpoint ?? 0n) ? this.head - (s.checkpoint ?? 0n) : 0n,
      processed: s.processed,
      state: s.error !== undefined ? 'failed' : !this.running ? 'stopped' : s.commitFailures >= this.degradedAfter ? 'degraded' : 'running',
      ...(s.error !== undefined && { error: s.error }), ...(s.laterVersion && { laterVersion: true }), ...(this.purge.purgingAtStart && { purging: true as const }),
      ...(s.commitFailures > 0 && { commitFailures: s.commitFailures, commitError: s.commitError }),
    }));
  }

  /**
   * Resolves true once every projection (or the named ones) has committed `position`; false after `timeoutMs`,
   * or as soon as one of them has failed before reaching it (read-your-writes with `X-Min-Position`).
   */
  waitFor(position: bigint, timeoutMs: number, projections?: readonly string[]): Promise<boolean> {
    const targets = this.slots.filter((s) => !projections || projections.includes(s.projection.name));
    const unknown = projections?.filter((n) => !this.slots.some((s) => s.projection.name === n)) ?? [];
    if (unknown.length > 0) return Promise.reject(new Error(`unknown projection ${unknown.join(', ')}`));
    const reached = () => targets.every((s) => !isBehind(s.checkpoint, position));
    const hopeless = () => !this.running || targets.some((s) => s.error !== undefined && isBehind(s.checkpoint, position));
    if (reached()) return Promise.resolve(true);
    if (hopeless()) return Promise.resolve(false);
    this.hurry(position);
    return new Promise<boolean>((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(value);
      };
      const check = () => {
        if (reached()) done(true);
        else if (hopeless()) done(false);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      this.waiters.add(check);
    });
  }

  /** a reader waits for `position`: commit at each pause, without lingering, until it is committed (commit-linger.ts) */
  hurry(position: bigint): void {
    this.linger.hurry(position);
  }

  // --- the loop ----------------------------------------------------------------------------------------------

  private async run(): Promise<void> {
    while (this.running) {
      if (this.active().length === 0) {
        this.logger.error('projector: every projection has failed; nothing left to run');
        this.running = false;
        break;
      }
      try {
        await this.consume();
      } catch (error) {
        if (!this.running) break;
        this.logger.error(`projector: ${message(error)}; re-subscribing from the stored checkpoints`);
        this.source.clear();
        this.source.trustAfter = await this.options.eventStore.headPosition().catch(() => undefined);
        await this.pause(this.options.retryDelayMs ?? 1000);
        try {
          await this.loadCheckpoints();
        } catch (reloadError) {
          this.logger.error(`projector: cannot read checkpoints: ${message(reloadError)}`);
        }
      }
    }
    this.notify();
  }

  /** one subscription: from the lowest checkpoint of the running projections until stopped or failed */
  private async consume(): Promise<void> {
    const active = this.active();
    const from = active.some((s) => s.checkpoint === undefined)
      ? undefined
      : active.reduce((min, s) => (s.checkpoint! < min ? s.checkpoint! : min), active[0]!.checkpoint!);
    const subscription = this.options.eventStore.subscribe({ fromPosition: from });
    this.subscription = subscription;
    const events = subscription[Symbol.asyncIterator]();
    let batches = this.newBatches();
    let count = 0;
    // A full batch is committed while the next one is applied (a store that writes from another thread, as the
    // SQLite one in a bulk load, then works alongside): the next batch reads through the one being committed,
    // until its commit is done. One commit at a time, in order.
    let inflight: Promise<void> | undefined;
    const settle = async (): Promise<void> => {
      const committing = inflight;
      inflight = undefined;
      await committing;
    };
    try {
      let next = events.next();
      for (;;) {
        // waiting for the next event, a commit still running must not fail unseen: the log may stay idle (probe, session 24)
        const result = count > 0 ? await this.linger.whenReady(next, IDLE) : await this.nextOrPoll(inflight ? Promise.race([next, inflight.then(() => next)]) : next);
        if (result === MOVED) {
          await settle();
          return;
        }
        if (result === IDLE) {
          this.linger.cut(count, lastPositionOf(batches));
          await settle();
          await this.commit(batches);
          batches = this.newBatches();
          count = 0;
          continue;
        }
        if (result.done) break;
        next = events.next();
        await this.applyEvent(batches, result.value);
        if (++count >= this.batchSize.value) {
          this.linger.cut(count, lastPositionOf(batches));
          await settle();
          const committing = batches;
          const following = (batches = this.newBatches(committing));
          inflight = this.commit(committing).then(() => {
            for (const batch of following) batch.readThrough(this.source);
          });
          inflight.catch(() => undefined); // handled by the next settle
          count = 0;
        }
      }
      await settle();
      await this.commit(batches);
    } finally {
      // never leave a commit running behind: the caller may re-subscribe from the stored checkpoints
      await inflight?.catch(() => undefined);
      this.subscription = undefined;
      await subscription.unsubscribe();
    }
  }

  /** the next event; or MOVED when polling found the log's head moved while the subscription did not hear it */
  private async nextOrPoll<T>(next: Promise<T>): Promise<T | typeof MOVED> {
    const every = this.options.pollIntervalMs;
    if (every === undefined) return next;
    for (;;) {
      const result = await firstOf(next, IDLE, every);
      if (result !== IDLE) return result;
      const head = await this.options.eventStore.headPosition();
      if (head > this.head) {
        this.head = head;
        return MOVED;
      }
    }
  }

  private async applyEvent(batches: ProjectionBatch[], recorded: RecordedEvent): Promise<void> {
    if (recorded.position > this.head) this.head = recorded.position;
    this.purge.applied(recorded);
    if (stopBeforeLaterVersion(recorded, this.slots, (slot) => isBehind(slot.checkpoint, recorded.position), (m) => this.logger.error(m))) return;
    const projected = toProjectedEvent(recorded);
    for (const batch of batches) {
      const slot = this.slotOf(batch);
      if (slot.error !== undefined || !isBehind(slot.checkpoint, recorded.position)) continue;
      if (!projected || !slot.types.has(projected.event.type)) {
        batch.skip(recorded.position);
        continue;
      }
      try {
        await batch.apply(projected);
      } catch (error) {
        slot.error = `${recorded.id} at ${recorded.position}: ${message(error)}`;
        this.logger.error(
          `projection ${slot.projection.name} failed on event ${recorded.id} (${recorded.type}, position ${recorded.position}): ${message(error)}; it is stopped (the others go on), a restart retries this event`,
        );
      }
    }
  }

  /** commits each projection's batch (all handed to the store at once: they are independent) */
  private async commit(batches: ProjectionBatch[]): Promise<void> {
    if (this.completion.due(lastPositionOf(batches))) await this.completion.complete(() => this.running);
    const commits = batches.map(async (batch) => {
      const slot = this.slotOf(batch);
      const position = batch.lastPosition;
      if (position === undefined || !isBehind(slot.checkpoint, position)) return;
      const writes = batch.writes();
      try {
        await this.options.readStore.commit(checkpointKey(slot.projection), writes, position);
      } catch (error) {
        // refused for its size: fewer events are tried next (BatchSize), not a degraded projection until one is refused
        if (error instanceof CommitTooLargeError && batch.events > 1) this.logger.info(`projection ${slot.projection.name}: ${batch.events} events refused for their size; fewer at a time`);
        else this.commitFailed(slot, error);
        throw error;
      }
      if (slot.commitFailures > 0) {
        this.logger.info(`projection ${slot.projection.name} commits again (after ${slot.commitFailures} failed)`);
        slot.commitFailures = 0;
        slot.commitError = undefined;
      }
      this.source.committed(writes);
      slot.checkpoint = position;
      slot.processed += batch.events;
    });
    const settled = await Promise.allSettled(commits);
    const failed = settled.find((result) => result.status === 'rejected');
    if (failed) {
      if (settled.some((result) => result.status === 'rejected' && result.reason instanceof CommitTooLargeError)) this.batchSize.failed(eventsOf(batches));
      this.notify();
      throw failed.reason;
    }
    this.batchSize.committed(eventsOf(batches));
    this.notify();
    await this.purge.committed(batches.map((b) => b.lastPosition));
    // a catch-up resolves everything in microtasks: let timers and I/O (the API, in embedded mode) run between batches
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** counts a failed commit; logs once, when the projection becomes degraded */
  private commitFailed(slot: Slot, error: unknown): void {
    slot.commitFailures++;
    slot.commitError = message(error);
    if (slot.commitFailures === this.degradedAfter)
      this.logger.error(
        `projection ${slot.projection.name} degraded: ${slot.commitFailures} commits in a row failed (last: ${slot.commitError}); its checkpoint stays at ${slot.checkpoint ?? 'none'}, the projector keeps retrying`,
      );
  }

  private active(): Slot[] {
    return this.slots.filter((s) => s.error === undefined);
  }

  /** a batch per running projection, reading through the given batches (being committed) or the store */
  private newBatches(through?: ProjectionBatch[]): ProjectionBatch[] {
    return this.active().map((s) => {
      const previous = through?.find((batch) => batch.projection === s.projection);
      return new ProjectionBatch(s.projection, previous ? previous.reader : this.source);
    });
  }

  private slotOf(batch: ProjectionBatch): Slot {
    return this.slots.find((s) => s.projection === batch.projection)!;
  }

  private async loadCheckpoints(): Promise<void> {
    for (const slot of this.slots) slot.checkpoint = await this.options.readStore.checkpoint(checkpointKey(slot.projection));
  }

  private notify(): void {
    for (const check of this.waiters) check();
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
}

/** the last position the batches applied or skipped (they all see every event) */
const lastPositionOf = (batches: ProjectionBatch[]): bigint | undefined =>
  batches.reduce<bigint | undefined>((max, b) => (b.lastPosition !== undefined && (max === undefined || b.lastPosition > max) ? b.lastPosition : max), undefined);

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));
