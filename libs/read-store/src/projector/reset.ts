/**
 * A projector's resets: a projection without a checkpoint (a fresh store, a new version: ADR 0015) is emptied and
 * replayed from the log's first event. The SQLite store's reset drops the collections' indexes and search rows, so
 * that the replay inserts into bare tables (store/sqlite/reset.ts); `ResetCompletion` has them built again by the
 * projector once its replay reaches the head, on its own connection (in the API, its thread). Left to the first read
 * of each collection, as before, they were built on the reader's thread (a stall of seconds for whoever read a large
 * one first), and until then the projector's live writes went to unindexed tables: cheaper than in steady state, so
 * bench:http, which never reads the history, measured a projector cheaper than a production one.
 */
import type { ReadStore } from '../port';
import { type Projection, checkpointKey, earlierCheckpointKeys } from '../projections/projection';
import type { ProjectorLogger } from './projector-options';

/** whether a checkpoint of one of the projection's earlier versions is stored (they are dropped when this version resets) */
export async function earlierVersionProjected(readStore: ReadStore, projection: Projection): Promise<boolean> {
  for (const key of earlierCheckpointKeys(projection)) if ((await readStore.checkpoint(key)) !== undefined) return true;
  return false;
}

/** Drops a projection's collections and checkpoint, and its earlier versions' checkpoints (a rollback then replays). */
export async function resetProjection(readStore: ReadStore, projection: Projection): Promise<void> {
  await readStore.reset(checkpointKey(projection), Object.keys(projection.collections));
  for (const key of earlierCheckpointKeys(projection)) await readStore.reset(key, []);
}

/** a completion that took longer is logged */
const SAY_ABOVE_MS = 1000;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The collections a projector reset at its start, whose deferred indexes it builds (`ReadStore.completeReset`) once
 * its replay reaches the head the log had then: before committing the batch that reaches it, so that a reader who
 * waits for that position (read-your-writes, bench:http's catch-up) finds them built, and the live batches after it
 * maintain them (usually: a projector that stops or fails here commits that batch all the same, and the next `init`
 * or a read builds what is left). A collection at a time, the event loop running between two (the projector thread's
 * lease renewals, its messages) but not during one: a build blocks the thread ~7–10 µs per document on this machine
 * (1.9 s for 300,000 history entries), and one past the lease's 5 s TTL (~500,000+ entries) could let a replica on
 * another host take over meanwhile, as an `init` at a projector's start already could (docs/adr/0012, "Session 18").
 * One that cannot be built now (another process holds the write lock past the busy timeout) is tried again before
 * the next commit.
 */
export class ResetCompletion {
  private pending: string[] = [];
  private head = -1n;

  constructor(
    private readonly readStore: ReadStore,
    private readonly logger: ProjectorLogger,
  ) {}

  /** `collections` were just reset; their replay ends at `head` (-1n: the log is empty, there is nothing to replay) */
  async replaying(collections: string[], head: bigint, going: () => boolean): Promise<void> {
    this.pending = this.readStore.completeReset ? [...new Set(collections)] : [];
    this.head = head;
    // an empty log: no batch will come to end the replay, and the collections are empty (building is instant)
    if (head < 0n) await this.complete(going);
  }

  /** whether the batch ending at `position` ends the replay: its commit waits for `complete` */
  due(position: bigint | undefined): boolean {
    return this.pending.length > 0 && position !== undefined && position >= this.head;
  }

  /** builds the pending collections, one at a time, while `going` */
  async complete(going: () => boolean): Promise<void> {
    const started = performance.now();
    const names = [...this.pending];
    while (this.pending.length > 0 && going()) {
      try {
        await this.readStore.completeReset!([this.pending[0]!]);
      } catch (error) {
        this.logger.error(`projector: cannot build the indexes of ${this.pending[0]} yet (${error instanceof Error ? error.message : String(error)}); tried again before the next commit`);
        return;
      }
      this.pending.shift();
      await nextTurn();
    }
    // said when it held the projector up noticeably (large collections), not at every start
    const ms = Math.round(performance.now() - started);
    if (this.pending.length === 0 && ms >= SAY_ABOVE_MS)
      this.logger.info(`projector: replay caught up; built the indexes of ${names.length} collections it reset in ${ms} ms`);
  }
}
