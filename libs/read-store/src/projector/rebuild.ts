import { getHeapStatistics } from 'node:v8';
import { checkReadable } from '@rollcall/domain';
import type { EventStore } from '@rollcall/event-store';
import type { Doc, DocWrite, ReadStore, SerializedWrites } from '../port';
import { type Projection, RETIRED_COLLECTIONS, checkpointKey } from '../projections/projection';
import { toProjectedEvent } from './batch';
import { type FoldTotals, ProjectionFold } from './fold';
import { Projector, type ProjectorLogger } from './projector';
import { resetProjection } from './reset';
import { StoreSource } from './store-source';

export interface RebuildProgress {
  /** position reached in the log (folded in memory; written to the store behind it) */
  position: bigint;
  /** the head of the log when the rebuild started: the rebuild is done when position reaches it */
  target: bigint;
  /** events read so far */
  events: number;
}

export interface RebuildResult {
  events: number;
  ms: number;
  eventsPerSec: number;
  /** times the documents changed were written out while the log was read, and times memory was let go */
  writeOuts: number;
  evictions: number;
  /**
   * where the time went: reading and folding the log; handing over the last write-outs (and the index builds of
   * each projection's collections behind them); waiting for those writes and builds to end
   */
  phases: { foldMs: number; writeMs: number; finishMs: number };
}

export interface RebuildOptions {
  onProgress?: (p: RebuildProgress) => void;
  progressEveryMs?: number;
  /**
   * write the changed documents out (behind the reading of the log, by the store's writer thread when it has one)
   * once this many are waiting (default 500,000); the last version of a document changed again later is written
   * again then
   */
  writeOutEvery?: number;
  /**
   * documents held in memory above which they are let go (after being written out) and read back from the store
   * when needed (default: unbounded; `maxHeapShare` applies)
   */
  maxDocuments?: number;
  /**
   * share of the log read after which the indexes of the collections mostly written once are built, by the store's
   * writer thread, while the rest is read (default 0.6; 1 or more: at the end, with the others')
   */
  indexAt?: number;
  /** share of the V8 heap limit in use above which the documents held are let go (default 0.6) */
  maxHeapShare?: number;
  /** documents read back from the store after they were let go, kept in memory (default 200,000) */
  cacheSize?: number;
  logger?: ProjectorLogger;
}

/** how often (in events) the heap and the progress timer are looked at */
const CHECK_EVERY = 1024;

/**
 * Drops the projections' read models and checkpoints and replays the log into them, up to the head it had when
 * the rebuild started. Run it while no projector runs these projections.
 *
 * A rebuild is a pure function of the log, so it runs in memory: one pass over the log, each event parsed and
 * upcast once and handed to every projection that takes its type, each projection reading and writing its
 * documents in a fold (fold.ts). The documents changed are written out now and then, each in its last version,
 * with the checkpoints of the position reached (in one commit per projection: the store is always at a position
 * of the log), through the store's bulk load when it has one: its writer thread writes while the log is read on,
 * and indexes and search structures are built once at the end. The last write-out hands over the documents held
 * as text first (nothing to serialize: the thread starts on them at once), then the others. When the documents
 * held outgrow `maxDocuments` or `maxHeapShare` of the heap, they are let go once written, and what the
 * projections read next comes from the store.
 */
export async function rebuild(
  eventStore: EventStore,
  readStore: ReadStore,
  projections: readonly Projection[],
  options: RebuildOptions = {},
): Promise<RebuildResult> {
  const started = performance.now();
  const names = projections.map((p) => p.name);
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice !== undefined) throw new Error(`projection ${twice} is listed twice`);
  await readStore.init(Projector.collectionsOf(projections), { retired: RETIRED_COLLECTIONS });
  // stores without the capability take the documents commit by commit; started before the resets, so that other
  // processes over the same store leave the collections reset to this load (sqlite/bulk-load-marker.ts)
  const bulkLoad = readStore.bulkLoad;
  bulkLoad?.start();
  /** what runs before the fold's own try: a failure leaves the bulk load too (its mark, its writer thread) */
  const leavingOnFailure = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      await bulkLoad?.abort();
      throw error;
    }
  };
  await leavingOnFailure(async () => {
    for (const p of projections) await resetProjection(readStore, p);
  });
  const source = new StoreSource(readStore, options.cacheSize ?? 200_000);
  source.startFresh();
  const totals: FoldTotals = { held: 0, dirty: 0 };
  const folds = projections.map((p) => new ProjectionFold(p, source, totals));
  const foldsOf = new Map<string, ProjectionFold[]>();
  for (const fold of folds)
    for (const type of new Set(fold.projection.eventTypes)) foldsOf.set(type, [...(foldsOf.get(type) ?? []), fold]);
  const writeOutEvery = options.writeOutEvery ?? 500_000;
  const maxDocuments = options.maxDocuments ?? Number.POSITIVE_INFINITY;
  const heapLimit = getHeapStatistics().heap_size_limit * (options.maxHeapShare ?? 0.6);
  const progressEveryMs = options.progressEveryMs ?? 200;
  const phases = { foldMs: 0, writeMs: 0, finishMs: 0 };
  let writeOuts = 0;
  let evictions = 0;

  /**
   * the write-outs still being written, in order: through a bulk load (its writer thread writes them one after the
   * other while the log is read on) a new one waits while four are; otherwise for the last
   */
  const writing: Promise<void>[] = [];
  const inFlight = bulkLoad ? 4 : 1;
  const written = async (): Promise<void> => {
    while (writing.length > 0) await writing.shift();
  };
  /**
   * at `position`, the documents changed up to `upTo` (all by default), or only those of the collections mostly
   * written once
   */
  const writeOut = async (
    position: bigint,
    { upTo, last = false, writtenOnceOnly = false }: { upTo?: bigint; last?: boolean; writtenOnceOnly?: boolean } = {},
  ): Promise<void> => {
    while (writing.length >= inFlight) await writing.shift();
    // only the last write-out moves the checkpoints: before it, what is written is not the read models at any position
    // (documents changed recently are held back), so a rebuild that dies or fails leaves its projections without a
    // checkpoint, and a projector starting resets them, instead of following on from documents that miss changes
    const checkpoint = last ? position : undefined;
    const commit = async (fold: ProjectionFold, collections: SerializedWrites[]): Promise<unknown> => {
      if (!bulkLoad) {
        // the documents, then the checkpoint apart: a store with transactions (MongoDB) writes a write-out without one,
        // whatever its size (a rebuild that fails is reset), and only the checkpoint's commit is its own
        await readStore.commit(checkpointKey(fold.projection), collections.flatMap(asDocWrites), undefined);
        return checkpoint === undefined ? undefined : readStore.commit(checkpointKey(fold.projection), [], checkpoint);
      }
      const written = bulkLoad.write(checkpointKey(fold.projection), collections, checkpoint);
      // the last write of these collections: their indexes are built behind it (by the store's writer thread,
      // while the next projection's documents are serialized here)
      if (!last || !bulkLoad.complete) return written;
      return Promise.all([written, bulkLoad.complete(Object.keys(fold.projection.collections))]);
    };
    // each projection's documents are posted before the next one's are serialized (the writer thread starts on them)
    const commits: Promise<unknown>[] = [];
    for (const fold of folds) {
      const collections = fold.writeOut(upTo, writtenOnceOnly);
      // (a projection without such documents moves its checkpoint with its next write-out)
      if (!writtenOnceOnly || collections.length > 0) commits.push(commit(fold, collections));
    }
    if (commits.length === 0) return;
    // past `indexAt` of the log, the collections mostly written once (history entries, daily figures) have most of
    // their documents: their indexes are built now, by the writer thread while the log is read on, rather than
    // after the last write-out; the documents written after maintain them
    if (!last && !writtenOnceOnly && !indexedEarly && bulkLoad?.index && Number(position) >= indexAt * Number(target)) {
      indexedEarly = true;
      commits.push(bulkLoad.index(folds.flatMap((fold) => fold.writtenOnce())));
    }
    const done = Promise.all(commits).then(() => undefined);
    done.catch(() => undefined); // awaited by a later write-out, or at the end
    writing.push(done);
    // (the documents held as text handed over first at the end count with the last write-out)
    if (!writtenOnceOnly) writeOuts++;
  };

  const indexAt = options.indexAt ?? 0.6;
  let indexedEarly = false;
  const target = await leavingOnFailure(() => eventStore.headPosition());
  let position = -1n;
  let events = 0;
  let lastReport = performance.now();
  /** position of the last write-out, and the number of documents changed at which the next one comes */
  let previousWriteOut = -1n;
  let nextWriteOut = writeOutEvery;
  const report = () => {
    // the load's claim on the collections it reset holds while it reports progress (sqlite/bulk-load-marker.ts)
    bulkLoad?.keepAlive?.();
    options.onProgress?.({ position, target, events });
  };
  try {
    if (target >= 0n)
      for await (const recorded of eventStore.readAll()) {
        if (recorded.position > target) break;
        position = recorded.position;
        events++;
        // an event a later version wrote: no read model rebuilt as if it had not happened (docs/adr/0020 point 4)
        checkReadable(recorded);
        const projected = toProjectedEvent(recorded);
        const interested = projected && foldsOf.get(projected.event.type);
        if (interested)
          for (const fold of interested) {
            try {
              await fold.apply(projected);
            } catch (error) {
              throw new Error(
                `rebuild failed: ${fold.projection.name}: ${recorded.id} at ${recorded.position} (${recorded.type}): ${error instanceof Error ? error.message : String(error)}`,
                { cause: error },
              );
            }
          }
        const checking = events % CHECK_EVERY === 0;
        if (checking && performance.now() - lastReport >= progressEveryMs) {
          lastReport = performance.now();
          report();
        }
        const { held, dirty } = totals;
        if (held > maxDocuments || (checking && getHeapStatistics().used_heap_size > heapLimit)) {
          options.logger?.info(`rebuild: letting go of ${held} documents held in memory at position ${position}`);
          await writeOut(position);
          await written();
          // the source knows the documents let go are in the store (and forgets what it had read of them before)
          for (const fold of folds) for (const [collection, ids] of fold.evict()) source.wroteOut(collection, ids);
          evictions++;
        } else if (dirty >= nextWriteOut) {
          // what changed before the previous write-out and not since: the documents changed recently stay held
          // as they are (many change again soon), so that they are serialized and written once rather than twice
          await writeOut(position, { upTo: previousWriteOut });
          previousWriteOut = position;
          nextWriteOut = totals.dirty + writeOutEvery;
        }
      }
    phases.foldMs = performance.now() - started;
    // the documents held as text first (nothing to serialize: the writer thread starts on them at once), then the
    // others, each projection's followed by the building of its collections' indexes
    if (position >= 0n) await writeOut(position, { writtenOnceOnly: true });
    if (position >= 0n) await writeOut(position, { last: true });
    phases.writeMs = performance.now() - started - phases.foldMs;
    await written();
    report();
    await bulkLoad?.finish();
    phases.finishMs = performance.now() - started - phases.foldMs - phases.writeMs;
  } catch (error) {
    await Promise.allSettled(writing);
    await bulkLoad?.abort();
    throw error;
  }
  const ms = performance.now() - started;
  return { events, ms, eventsPerSec: Math.round(events / (ms / 1000)), writeOuts, evictions, phases };
}

const asDocWrites = ({ collection, writes }: SerializedWrites): DocWrite[] =>
  writes.map((w) =>
    w.json === null
      ? { kind: 'delete', collection, id: w.id, position: w.position }
      : { kind: 'upsert', collection, doc: JSON.parse(w.json) as Doc, position: w.position },
  );
