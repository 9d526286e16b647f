import { Worker } from 'node:worker_threads';

/**
 * Copies the WAL of a SQLite file back into the file (a PASSIVE checkpoint) from a thread of its own, every `everyMs`,
 * so that the writer's commits never do it: with SQLite's default, the commit that takes the WAL past 1,000 pages
 * copies them all and fsyncs the file before it returns, on the writer's thread (the API's event loop, for the event
 * store: docs/adr/0010-command-throughput.md). A PASSIVE checkpoint waits for no one: it copies what no reader still
 * needs and stops where the writer is; the writer starts the WAL over at its next commit once everything was copied
 * (so the file is reused, not grown: a commit appending to a growing WAL file pays for that in its fsync).
 *
 * The checkpoint's own fsyncs follow `synchronous`. Errors (busy, disk full) are left to the next turn: the writer
 * keeps a far larger auto-checkpoint of its own, which bounds the WAL if this thread cannot keep up or is gone.
 */
export class WalCheckpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private stopping: Promise<void> | undefined;

  constructor(file: string, options: { everyMs: number; synchronous: 'FULL' | 'NORMAL'; busyTimeoutMs: number }) {
    // no execArgv: none of the process's preloads (-r: a TypeScript hook, a bench's child hook) run in this thread
    this.worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { file, ...options }, name: 'wal-checkpoint' });
    // never keeps the process alive on its own
    this.worker.unref();
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    // a thread that failed to start or died checkpoints nothing: the writer's own auto-checkpoint takes over
    this.worker.on('error', () => undefined);
  }

  /** stops the thread and closes its connection (resolves once it is gone) */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      // held by the event loop until it is gone: a close would otherwise end with the process before the thread did
      this.worker.ref();
      this.worker.postMessage('stop');
      const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 5000).unref());
      if ((await Promise.race([this.exited, timeout])) === 'timeout') await this.worker.terminate();
    })();
    return this.stopping;
  }
}

/** The thread, as plain JavaScript (no build step or TypeScript hook needed in a worker started from the sources). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { DatabaseSync } = require('node:sqlite');
const { file, everyMs, synchronous, busyTimeoutMs } = workerData;
const db = new DatabaseSync(file, { timeout: busyTimeoutMs });
db.exec('PRAGMA synchronous = ' + synchronous);
// this connection never commits: it must not checkpoint on its own terms either
db.exec('PRAGMA wal_autocheckpoint = 0');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const timer = setInterval(() => {
  try {
    checkpoint.get();
  } catch {
    // busy or failing storage: tried again next turn
  }
}, everyMs);
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;
