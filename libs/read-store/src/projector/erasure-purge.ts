import type { EventStore, RecordedEvent } from '@rollcall/event-store';
import type { ReadStore } from '../port';

/** the events that erase personal data (docs/rules.md#rule-12: a user's, an address's): documents go, their old versions too */
const ERASING_EVENTS = ['UserDeleted', 'AddressErased'];
/** how soon a purge that readers prevented is tried again */
const RETRY_MS = 200;
/** no deletion found after the last one purged for (nothing to purge at start) */
const AT_START = -1n;

export interface ErasurePurgeOptions {
  /**
   * At most one rewrite of the whole store (ReadStore.purgeOldVersions with a position: SQLite's VACUUM) per this many
   * ms (default 0: one after each commit of a deletion). Every deletion still has its old versions dropped at once
   * (purgeOldVersions without a position: the WAL copied back over the pages that held the deleted rows, the search
   * index merged); what waits for the rewrite is only the copies page splits left in pages' unused space. The first
   * deletion after a start is rewritten for at once; those committed within the interval after a rewrite share the
   * next one, at its end (docs/adr/0029: the rewrite is O(file) and the projections wait for it, so one per deletion
   * stalled read-your-writes past 5 s at a few hundred MB: probe 56 F1).
   */
  minIntervalMs?: number;
  /** a rewrite done (what it covered, how long it took) */
  logInfo?: (message: string) => void;
  /** an elapsed clock (performance.now): the interval is a duration, never a wall time (ADR 0028) */
  now?: () => number;
}

/**
 * Rule 12 at rest, for the projector: once the documents a user deletion removed are committed, the store drops the
 * old versions it still keeps of them (ReadStore.purgeOldVersions). When it cannot now (a reader holds an older
 * snapshot: the SQLite file still has the pages as they were, their new versions only in the WAL), it tries again
 * shortly, until it can. Deletions close together share a rewrite (`minIntervalMs`).
 */
export class ErasurePurge {
  /** position of the latest deletion applied to the batches being built (not committed yet, maybe) */
  private erasedAt: bigint | undefined;
  /**
   * the latest committed deletion the store is not rewritten for yet. Never a deletion only applied: a rewrite
   * recorded for it while its users' rows may still move (and be copied) would be recorded too early.
   */
  private rewriteFor: bigint | undefined;
  /** a committed deletion (or the start) whose old versions are not dropped yet */
  private oldVersionsLeft = false;
  /** the next purge's timer: a retry, or the rewrite at the interval's end */
  private timer: NodeJS.Timeout | undefined;
  /** when it fires (options.now) */
  private timerAt = 0;
  /** the purge running now (stop waits for it) */
  private running: Promise<void> | undefined;
  /** when the last rewrite ended (options.now) */
  private lastRewriteAt: number | undefined;
  private stopped = false;
  private readonly minIntervalMs: number;
  private readonly now: () => number;
  /**
   * atStart rewrites the store for a deletion it found left undone (the projections wait for it: ProjectionStatus
   * .purging, named by the API's /health). Not otherwise (probe
   * 43 F2: /health said a deletion's rewrite was being redone at each restart after deletions, long done).
   */
  purgingAtStart = false;

  constructor(
    private readonly store: Pick<ReadStore, 'purgeOldVersions' | 'erasuresPurgedThrough' | 'noteErasuresPurgedThrough'>,
    private readonly logError: (message: string) => void,
    private readonly options: ErasurePurgeOptions = {},
  ) {
    this.minIntervalMs = options.minIntervalMs ?? 0;
    this.now = options.now ?? (() => performance.now());
  }

  /** an event was applied to the batches being built */
  applied(recorded: RecordedEvent): void {
    if (ERASING_EVENTS.includes(recorded.type)) this.erasedAt = recorded.position;
  }

  /**
   * batches up to these positions were committed: a deletion among them has its old versions dropped now, and the
   * store rewritten now or at the interval's end (awaited when now: the projector goes on once it is done)
   */
  async committed(positions: (bigint | undefined)[]): Promise<void> {
    const erasedAt = this.erasedAt;
    if (erasedAt === undefined || !this.store.purgeOldVersions) return;
    if (!positions.some((p) => p !== undefined && p >= erasedAt)) return;
    this.erasedAt = undefined;
    if (this.rewriteFor === undefined || this.rewriteFor < erasedAt) this.rewriteFor = erasedAt;
    this.oldVersionsLeft = true;
    await this.step();
  }

  start(): void {
    this.stopped = false;
  }

  /**
   * Once as the projector starts, before it projects: a deletion projected before a crash (or a stop) may not have
   * been purged — the purge it waited for lived in this memory only — and its users' trigrams would stay in the search
   * indexes until the next deletion's purge. Nothing when the log holds no deletion after the last one purged for
   * (until session 56 the search indexes were merged at every start all the same: ~0.5 s at 100,000 members). When
   * the log holds a deletion after the last one the store vacuumed for (its vacuum did not run, or the store was
   * written before vacuums were: a store left by an earlier version vacuums once), that deletion's position is passed
   * on: the store vacuums (copies of moved rows, ReadStore.purgeOldVersions). `checkpoints`: the projections' (none
   * yet: undefined). Never rejects: a failure is logged (the Projector runs it before its first batch, not awaited by
   * its start: probe 42 F4).
   */
  async atStart(log: Pick<EventStore, 'readAll' | 'headPosition'>, checkpoints: readonly (bigint | undefined)[]): Promise<void> {
    try {
      await this.lookAtStart(log, checkpoints);
    } catch (error) {
      // the next deletion's purge, or the next start's, covers what this one could not
      this.logError(`purging erased data at start: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.purgingAtStart = false;
    }
  }

  private async lookAtStart(log: Pick<EventStore, 'readAll' | 'headPosition'>, checkpoints: readonly (bigint | undefined)[]): Promise<void> {
    if (!this.store.purgeOldVersions) return;
    const through = (await this.store.erasuresPurgedThrough?.()) ?? AT_START;
    const head = await log.headPosition();
    // what every projection has applied (-1n: one has applied nothing)
    const projectedThrough = checkpoints.reduce<bigint>((low, c) => ((c ?? -1n) < low ? (c ?? -1n) : low), head);
    let last = AT_START;
    let unprojected = false;
    for await (const e of log.readAll({ fromPosition: through < 0n ? undefined : through, filter: { eventTypes: ERASING_EVENTS } })) {
      // one every projection has not applied yet is vacuumed for once it is committed (a vacuum now would record it
      // as done while its users' rows may still move, and be copied, until then)
      if (e.position > projectedThrough) {
        unprojected = true;
        break;
      }
      last = e.position;
    }
    // no deletion since: the next start reads on from the head (not the whole log again)
    if (last === AT_START && !unprojected && head > through) await this.store.noteErasuresPurgedThrough?.(head);
    this.rewriteFor = last === AT_START ? undefined : last;
    // nothing erased since the last purge: nothing to drop. The search indexes' merge that every start ran regardless
    // (~0.5 s of the projector's thread at 100,000 members) ran beside a restarted server's first commands on two
    // cores: the cold load of a 100,000-member workspace waited for a core (bench:http, session 56: its thread busy
    // ~770 ms of the load's ~1.5 s; in-process the load takes ~0.5 s)
    this.oldVersionsLeft = last !== AT_START;
    // (a deletion found is one after `through`: the log is read from there)
    this.purgingAtStart = last !== AT_START;
    await this.step();
  }

  /** no purge from now on (the next start finds a deletion left undone); resolves once the one running ends */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** what is owed now: the rewrite when it is due (it drops the old versions too), else the old versions alone */
  private step(): Promise<void> {
    if (this.running) return this.running; // it plans what came in meanwhile once it ends
    const rewriteDue = this.rewriteFor !== undefined && (this.lastRewriteAt === undefined || this.now() >= this.lastRewriteAt + this.minIntervalMs);
    if (!rewriteDue && !this.oldVersionsLeft) {
      this.plan(0);
      return Promise.resolve();
    }
    this.oldVersionsLeft = false;
    this.running = this.attempt(rewriteDue ? this.rewriteFor : undefined).then((done) => {
      this.running = undefined;
      // not done (readers held an older snapshot, or it failed): again in RETRY_MS, not at once
      this.plan(done ? 0 : RETRY_MS);
    });
    return this.running;
  }

  /** whether the store did it; never rejects (a failure is logged, and tried again) */
  private async attempt(at: bigint | undefined): Promise<boolean> {
    let done = false;
    const started = this.now();
    try {
      done = (await this.store.purgeOldVersions?.(at)) ?? true;
    } catch (error) {
      this.logError(`purging old document versions after a user deletion: ${error instanceof Error ? error.message : String(error)}; tried again shortly`);
    }
    if (!done) {
      this.oldVersionsLeft = true;
      return false;
    }
    if (at === undefined) return true;
    this.lastRewriteAt = this.now();
    if (this.rewriteFor === at) this.rewriteFor = undefined;
    this.options.logInfo?.(`read store rewritten for the deletions through position ${at} (rule 12 at rest) in ${Math.round(this.lastRewriteAt - started)} ms`);
    return true;
  }

  /** the timer for what is still owed: old versions in `soonest` ms, a rewrite at the interval's end */
  private plan(soonest: number): void {
    if (this.oldVersionsLeft) return this.later(soonest);
    if (this.rewriteFor === undefined) return;
    this.later(this.lastRewriteAt === undefined ? 0 : Math.max(0, this.lastRewriteAt + this.minIntervalMs - this.now()));
  }

  /** the next step in `ms`, unless one is planned sooner (a retry or old versions do not wait for the interval) */
  private later(ms: number): void {
    if (this.stopped) return;
    const at = this.now() + ms;
    if (this.timer) {
      if (this.timerAt <= at) return;
      clearTimeout(this.timer);
    }
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.step();
    }, ms);
    this.timer.unref();
  }
}
