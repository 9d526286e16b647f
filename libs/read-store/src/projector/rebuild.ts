import type { EventStore } from '@rollcall/event-store';
import type { ReadStore } from '../port';
import type { Projection } from '../projections/projection';
import { Projector, type ProjectorLogger } from './projector';

export interface RebuildProgress {
  /** checkpoint reached (a position) */
  position: bigint;
  /** the head of the log when the rebuild started: the rebuild is done when position reaches it */
  target: bigint;
  /** events handled so far */
  events: number;
}

export interface RebuildResult {
  events: number;
  ms: number;
  eventsPerSec: number;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Drops the projections' read models and checkpoints and replays the whole log into them, up to the head the
 * log had when the rebuild started. Run it while no projector runs these projections.
 */
export async function rebuild(
  eventStore: EventStore,
  readStore: ReadStore,
  projections: readonly Projection[],
  options: {
    onProgress?: (p: RebuildProgress) => void;
    progressEveryMs?: number;
    /** events per commit (default 20,000: a rebuild has no reader waiting, and larger batches fold more writes) */
    batchSize?: number;
    /** documents kept in memory (default 200,000) */
    cacheSize?: number;
    logger?: ProjectorLogger;
  } = {},
): Promise<RebuildResult> {
  const started = performance.now();
  await readStore.init(Projector.collectionsOf(projections));
  for (const p of projections) await readStore.reset(p.name, Object.keys(p.collections));
  // stores without the capability rebuild commit by commit, as a projector catching up would
  const bulkLoad = readStore.bulkLoad;
  bulkLoad?.start();
  const target = await eventStore.headPosition();
  const projector = new Projector({
    eventStore,
    readStore,
    projections,
    initStore: false,
    freshStore: true,
    batchSize: options.batchSize ?? 20_000,
    cacheSize: options.cacheSize ?? 200_000,
    logger: options.logger,
  });
  const report = () => {
    const status = projector.status();
    const position = status.reduce((min, s) => ((s.checkpoint ?? 0n) < min ? (s.checkpoint ?? 0n) : min), target);
    options.onProgress?.({ position, target, events: Math.min(...status.map((s) => s.processed)) });
  };
  await projector.start();
  const timer = setInterval(report, options.progressEveryMs ?? 200);
  try {
    const reached = target < 0n || (await projector.waitFor(target, MAX_TIMER_MS));
    const failed = projector.status().filter((s) => s.error !== undefined);
    if (!reached || failed.length > 0)
      throw new Error(`rebuild failed: ${failed.map((s) => `${s.name}: ${s.error}`).join('; ') || 'projector stopped'}`);
  } catch (error) {
    await bulkLoad?.abort();
    throw error;
  } finally {
    clearInterval(timer);
    await projector.stop();
  }
  report();
  await bulkLoad?.finish();
  const ms = performance.now() - started;
  const events = Math.max(0, ...projector.status().map((s) => s.processed));
  return { events, ms, eventsPerSec: Math.round(events / (ms / 1000)) };
}
