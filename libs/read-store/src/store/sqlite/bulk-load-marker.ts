/**
 * Which process is bulk-loading the file (a rebuild: `npm run rebuild`), in `rs_bulk_load`. While it runs, the
 * collections it reset are bare tables (no field indexes, no search rows, `ready = 0`) that its writer thread fills;
 * another process over the same file (an API serving reads, or starting) used to build their indexes and mark them
 * ready on its first read or at its start — and the rebuild then refused its next write and stopped, its collections
 * left empty (black-box probe 8). While a live process holds the mark, the others leave those collections alone:
 * reads answer what the rebuild has written so far, without their indexes. A mark left by a process that is gone (a
 * rebuild killed) counts for nothing: the next read or start builds what it dropped, as before.
 */
import { hostname } from 'node:os';
import type { SqliteConnection } from './connection';

const ME = `${hostname()}|${process.pid}`;

export const BULK_LOAD_TABLE_SQL =
  'CREATE TABLE IF NOT EXISTS rs_bulk_load (id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT NOT NULL)';

/** this process bulk-loads the file from now on (replacing a mark another process left) */
export function markBulkLoad(conn: SqliteConnection): void {
  conn.stmt('INSERT OR REPLACE INTO rs_bulk_load (id, holder) VALUES (1, ?)').run(ME);
}

/** this process's bulk load is over */
export function clearBulkLoad(conn: SqliteConnection): void {
  conn.stmt('DELETE FROM rs_bulk_load WHERE holder = ?').run(ME);
}

/** whether another live process bulk-loads the file (read inside the caller's transaction, to be decided with it) */
export function bulkLoadElsewhere(conn: SqliteConnection): boolean {
  const holder = conn.stmt('SELECT holder FROM rs_bulk_load WHERE id = 1').get()?.holder as string | undefined;
  if (holder === undefined || holder === ME) return false;
  const [host, pid] = holder.split('|');
  // the embedded store's file is on a local disk (README): a holder on another host is taken to be alive
  return host !== hostname() || alive(Number(pid));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
