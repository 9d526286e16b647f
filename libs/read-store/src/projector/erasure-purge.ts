import type { EventStore, RecordedEvent } from '@rollcall/event-store';
import type { ReadStore } from '../port';

/** the events that erase personal data (docs/rules.md#rule-12: a user's, an address's): documents go, their old versions too */
const ERASING_EVENTS = ['UserDeleted', 'AddressErased'];
/** how soon a purge that readers prevented is tried again */
const RETRY_MS = 200;
/** the purge at start, when no deletion is left to vacuum (the search indexes merged still) */
const AT_START = -1n;

/**
 * Rule 12 at rest, for the projector: once the documents a user deletion removed are committed, the store drops the
 * old versions it still keeps of them (ReadStore.purgeOldVersions). When it cannot now (a reader holds an older
 * snapshot: the SQLite file still has the pages as they were, their new versions only in the WAL), it tries again
 * shortly, until it can.
 */
export class ErasurePurge {
  /** position of the latest deletion applied whose old versions are not purged yet */
  private erasedAt: bigint | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;
  /**
   * atStart rewrites the store for a deletion it found left undone (the projections wait for it: ProjectionStatus
   * .purging, named by the API's /health). Not while it only merges the search indexes, as every start does (probe
   * 43 F2: /health said a deletion's rewrite was being redone at each restart after deletions, long done).
   */
  purgingAtStart = false;

  constructor(
    private readonly store: Pick<ReadStore, 'purgeOldVersions' | 'erasuresPurgedThrough' | 'noteErasuresPurgedThrough'>,
    private readonly logError: (message: string) => void,
  ) {}

  /** an event was applied to the batches being built */
  applied(recorded: RecordedEvent): void {
    if (ERASING_EVENTS.includes(recorded.type)) this.erasedAt = recorded.position;
  }

  /** batches up to these positions were committed */
  async committed(positions: (bigint | undefined)[]): Promise<void> {
    const erasedAt = this.erasedAt;
    if (erasedAt === undefined || !this.store.purgeOldVersions) return;
    if (positions.some((p) => p !== undefined && p >= erasedAt)) await this.purge(erasedAt);
  }

  start(): void {
    this.stopped = false;
  }

  /**
   * Once as the projector starts, before it projects: a deletion projected before a crash (or a stop) may not have
   * been purged — the purge it waited for lived in this memory only — and its users' trigrams would stay in the search
   * indexes until the next deletion's purge. Cheap when nothing is left to drop (~0.1 ms); a merge of the search
   * indexes when ordinary changes left segments since the last one (~0.5 s at 100,000 members; docs/adr/0003). When
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
    this.erasedAt = last;
    // (a deletion found is one after `through`: the log is read from there)
    this.purgingAtStart = last !== AT_START;
    await this.purge(last);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.retry = undefined;
  }

  private async purge(erasedAt: bigint): Promise<void> {
    let done = false;
    try {
      done = (await this.store.purgeOldVersions?.(erasedAt < 0n ? undefined : erasedAt)) ?? true;
    } catch (error) {
      this.logError(`purging old document versions after a user deletion: ${error instanceof Error ? error.message : String(error)}; tried again shortly`);
    }
    if (done) {
      if (this.erasedAt === erasedAt) this.erasedAt = undefined;
      return;
    }
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (this.erasedAt !== undefined) void this.purge(this.erasedAt);
    }, RETRY_MS);
    this.retry.unref();
  }
}
