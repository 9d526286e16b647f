import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

/** SQLite's primary result code for "database is locked" */
const SQLITE_BUSY = 5;
const RETRY_PAUSE_MS = 5;

export interface OpenDatabaseOptions {
  /** how long a statement waits for another connection's lock (SQLite's busy timeout); default 5,000 ms */
  busyTimeoutMs?: number;
  /** SQL run once the database is in WAL mode: pragmas, then `CREATE … IF NOT EXISTS` */
  setUp?: string;
}

/**
 * Opens (creating its folder and file if need be) one of the project's SQLite files in WAL mode.
 *
 * Why not just `new DatabaseSync` + `PRAGMA journal_mode = WAL`: when several processes open a new file at once (API
 * replicas started together on a fresh data dir), SQLite answers that pragma "database is locked" at once, without
 * calling the busy handler, to all but the one that converts the file (reproduced: 3 processes on a fresh file,
 * ~1 start in 100 failed; CI caught it in test/replicas.e2e-spec.ts). The pragma is retried here until the busy
 * timeout has passed; the statements after it wait on the busy handler as usual.
 */
export function openDatabase(file: string, options: OpenDatabaseOptions = {}): DatabaseSync {
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new DatabaseSync(file, { timeout: busyTimeoutMs });
  try {
    retryWhileBusy(() => db.exec('PRAGMA journal_mode = WAL'), busyTimeoutMs);
    if (options.setUp) db.exec(options.setUp);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** runs `work` again while SQLite answers SQLITE_BUSY, pausing the thread a few ms between tries, for up to `timeoutMs` */
export function retryWhileBusy<T>(work: () => T, timeoutMs: number): T {
  const until = performance.now() + timeoutMs; // a clock that never steps: a timeout, not a time
  for (;;) {
    try {
      return work();
    } catch (error) {
      if (!isBusy(error) || performance.now() >= until) throw error;
      // a synchronous pause: the callers are constructors, and node:sqlite is synchronous anyway
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, RETRY_PAUSE_MS);
    }
  }
}

/** whether `error` is SQLite's "database is locked" (another connection held the lock past the busy timeout) */
export function isBusy(error: unknown): boolean {
  // node:sqlite puts SQLite's extended result code in `errcode`: its low byte is the primary code
  const code = (error as { errcode?: unknown } | null)?.errcode;
  return typeof code === 'number' && (code & 0xff) === SQLITE_BUSY;
}
