import { preloadWorker, startWorker } from '@rollcall/event-store';
import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { PROJECTIONS, type ProjectionStatus, Projector, RETIRED_COLLECTIONS, checkpointKey, createReadStore, registerProjectorMetrics } from '@rollcall/read-store';
import type { Config } from '../config';
import type { Metrics } from './metrics';
import type { ReadSide } from './read-side';
import type { FromWorker, ProjectorWorkerData, ToWorker } from './projector-worker';


/** Spawns the projector's thread ahead of `start`, to load its modules while the process starts (preloaded-workers.ts). */
export function preloadProjectorThread(): void {
  preloadWorker(__dirname, 'projector-worker', __filename, 'projector');
}

/**
 * The read store (MongoDB or embedded SQLite) for queries, and the projections' progress. By default the
 * projector runs in this process on a worker thread (`projector-worker.ts`); with ROLLCALL_PROJECTOR=external,
 * apps/projector runs it. Either way read-your-writes (`waitFor`) watches the checkpoints in the read store.
 * `logger` writes the worker thread's log lines (the API's pino logger, context Projector).
 */
export async function createReadSide(config: Config, metrics: Metrics, logger: Logger): Promise<ReadSide> {
  const store = await createReadStore({ mongoUrl: config.mongoUrl, dataDir: config.dataDir, warn: (m) => logger.warn(m) });
  await store.init(Projector.collectionsOf(PROJECTIONS), { retired: RETIRED_COLLECTIONS });
  let worker: Worker | undefined;
  let status: ProjectionStatus[] = [];
  let stopped: Promise<void> | undefined;

  if (config.projectorInProcess) registerProjectorMetrics({ status: () => status }, metrics.registry);

  const checkpoints = () => Promise.all(PROJECTIONS.map((p) => store.checkpoint(checkpointKey(p))));
  /** the position every projection has reached: the lowest checkpoint (undefined while one has none) */
  const lowest = async (): Promise<bigint | undefined> => {
    const all = await checkpoints();
    return all.some((c) => c === undefined) ? undefined : all.reduce<bigint | undefined>((low, c) => (low === undefined || c! < low ? c : low), undefined);
  };
  const checkpointsReached = async (position: bigint) => {
    const reached = await lowest();
    return reached !== undefined && reached >= position;
  };

  return {
    store,
    ping: () => store.ping(),
    projections: () => status,
    withoutCheckpoint: async () => (await checkpoints()).flatMap((c, i) => (c === undefined ? [PROJECTIONS[i]!.name] : [])),
    position: lowest,
    waitFor: async (position, timeoutMs) => {
      const deadline = performance.now() + timeoutMs; // a clock that never steps: a timeout, not a time
      for (let wait = 2; ; wait = Math.min(wait * 2, 25)) {
        if (await checkpointsReached(position)) return true;
        // the projector thread of this process stops lingering (commit-linger.ts) until it commits this position
        if (wait === 2) worker?.postMessage({ type: 'hurry', position: position.toString() } satisfies ToWorker);
        if (status.some((s) => s.state === 'failed') || performance.now() >= deadline) return false;
        await new Promise((r) => setTimeout(r, wait));
      }
    },
    forgotten: (subjectIds) => worker?.postMessage({ type: 'forget', subjectIds } satisfies ToWorker),
    start: async () => {
      if (!config.projectorInProcess) return;
      const data: ProjectorWorkerData = {
        eventstoreUrl: config.eventstoreUrl,
        mongoUrl: config.mongoUrl,
        dataDir: config.dataDir,
        pollIntervalMs: 10,
        lingerMs: config.projectorLingerMs,
        erasureRewriteMs: config.erasureRewriteMs,
        nice: config.projectorNice,
      };
      // named: the OS thread carries the name (ps, top -H, /proc/<pid>/task/*/comm)
      worker = startWorker(__dirname, 'projector-worker', __filename, 'projector', data);
      let onStopped: () => void = () => undefined;
      stopped = new Promise<void>((resolve) => (onStopped = resolve));
      await new Promise<void>((resolve, reject) => {
        worker!.on('message', (m: FromWorker) => {
          if (m.type === 'status')
            status = m.status.map((s) => ({
              ...s,
              checkpoint: s.checkpoint === null ? undefined : BigInt(s.checkpoint),
              lag: BigInt(s.lag),
              state: s.state as ProjectionStatus['state'],
            }));
          // the worker thread has no logger of its own: its lines are written here, by the API's pino logger
          else if (m.type === 'log') logger[m.level]({ thread: 'projector-worker' }, m.message);
          else if (m.type === 'started') resolve();
          else if (m.type === 'stopped') onStopped();
        });
        worker!.on('error', (error) => {
          logger.error({ err: error, thread: 'projector-worker' }, 'projector thread failed');
          reject(error);
        });
        worker!.on('exit', () => onStopped());
      });
    },
    close: async () => {
      if (worker) {
        worker.postMessage({ type: 'stop' } satisfies ToWorker);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([stopped, new Promise((r) => (timer = setTimeout(r, 5000)))]);
        clearTimeout(timer);
        await worker.terminate();
      }
      await store.close();
    },
  };
}
