import { type MessagePort, Worker, parentPort } from 'node:worker_threads';
import { workerEntry } from './worker-entry';

/**
 * Worker threads spawned before their data is known, so that their modules load on another core while the process
 * goes on starting (the API's projector and notary threads, each ~0.15–0.4 s of module loading, were started one
 * after the other once the app was built, with the main thread idle meanwhile).
 *
 * The process spawns one early with `preloadWorker` and later takes it with `startWorker`, which hands it its data in
 * a first message; a thread nobody preloaded is spawned by `startWorker` then. The thread's module waits for that
 * message with `dataFromParent` instead of reading `workerData`.
 *
 * A preloaded thread does not keep the process alive until it is taken (unref), and one that failed while loading
 * is dropped: `startWorker` spawns a new one, whose failure reaches its owner's listeners as before.
 */
const DATA = 'worker-data';

interface Preloaded {
  worker: Worker;
  failed: boolean;
  thread: PreloadedThread;
}

const preloaded = new Map<string, Preloaded>();

/** A thread spawned ahead: its id, and a promise settled if it ends (fails) before it is taken. */
export interface PreloadedThread {
  threadId: number;
  endedUntaken: Promise<void>;
}

/**
 * Spawns the thread of module `name` (beside `callerFile`, in `dir`) now, to be taken by `startWorker`. Idempotent: a
 * thread preloaded and not taken yet is kept.
 */
export function preloadWorker(dir: string, name: string, callerFile: string, threadName: string): PreloadedThread {
  const key = `${dir}/${name}`;
  const waiting = preloaded.get(key);
  if (waiting) return waiting.thread;
  const { file, execArgv } = workerEntry(dir, name, callerFile);
  const worker = new Worker(file, { execArgv, name: threadName });
  worker.unref();
  let ended!: () => void;
  const entry: Preloaded = { worker, failed: false, thread: { threadId: worker.threadId, endedUntaken: new Promise<void>((resolve) => (ended = resolve)) } };
  // a failure before it is taken is not this process's to report: the thread spawned in its place reports its own
  const fail = () => {
    entry.failed = true;
    ended();
  };
  worker.once('error', fail);
  worker.once('exit', fail);
  preloaded.set(key, entry);
  return entry.thread;
}

/** The thread of module `name`, preloaded or spawned now, handed `data` (its module reads it with dataFromParent). */
export function startWorker(dir: string, name: string, callerFile: string, threadName: string, data: unknown): Worker {
  const key = `${dir}/${name}`;
  const early = preloaded.get(key);
  preloaded.delete(key);
  let worker: Worker;
  if (early && !early.failed) {
    worker = early.worker;
    worker.removeAllListeners('error');
    worker.removeAllListeners('exit');
    worker.ref();
  } else {
    if (early) void early.worker.terminate();
    const { file, execArgv } = workerEntry(dir, name, callerFile);
    worker = new Worker(file, { execArgv, name: threadName });
  }
  worker.postMessage({ type: DATA, data });
  return worker;
}

/** In a thread started by startWorker: its data, from the first message of its parent. */
export function dataFromParent<T>(port: MessagePort | null = parentPort): Promise<T> {
  if (!port) return Promise.reject(new Error('dataFromParent: not in a worker thread'));
  return new Promise<T>((resolve) => {
    const onMessage = (m: { type?: unknown; data?: unknown }) => {
      if (m?.type !== DATA) return;
      port.off('message', onMessage);
      resolve(m.data as T);
    };
    port.on('message', onMessage);
  });
}
