/**
 * Which process is bulk-loading the file (a rebuild: `npm run rebuild`), in `rs_bulk_load`. While it runs, the
 * collections it reset are bare tables (no field indexes, no search rows, `ready = 0`) that its writer thread fills;
 * another process over the same file (an API serving reads, or starting) used to build their indexes and mark them
 * ready on its first read or at its start — and the rebuild then refused its next write and stopped, its collections
 * left empty (black-box probe 8). While a live process holds the mark, the others leave those collections alone:
 * reads answer what the rebuild has written so far, without their indexes.
 *
 * A mark lasts MARK_TTL_MS unless renewed (the rebuild renews it as it goes: `renewBulkLoad`), and counts for nothing
 * once its process is gone from this host: a rebuild killed is finished by the next read or start, as before — also
 * one that ran in another container (another host name) over the same volume, once its mark ran out.
 */
import { hostname } from 'node:os';
import { processRunning } from '@rollcall/event-store';
import type { SqliteConnection } from './connection';
import { sqlText } from './sql';

const ME = `${hostname()}|${process.pid}`;
/** how long a mark holds without renewal (renewals may wait behind a write-out or an index build of the load) */
export const MARK_TTL_MS = 600_000;
/** how often a mark is renewed */
export const MARK_RENEW_MS = 30_000;

export const BULK_LOAD_TABLE_SQL =
  'CREATE TABLE IF NOT EXISTS rs_bulk_load (id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT NOT NULL, expires INTEGER NOT NULL DEFAULT 0)';

/** this process bulk-loads the file from now on (replacing a mark another process left) */
export function markBulkLoad(conn: SqliteConnection, now = Date.now()): void {
  conn.stmt('INSERT OR REPLACE INTO rs_bulk_load (id, holder, expires) VALUES (1, ?, ?)').run(ME, now + MARK_TTL_MS);
}

let renewedAt = 0;

/**
 * this process is still at it: its mark holds MARK_TTL_MS more (at most every MARK_RENEW_MS). `write` runs the
 * statement: the load's writer thread when it has one, queued behind its work (the main connection would wait on the
 * write lock the thread holds for whole write-outs)
 */
export function renewBulkLoad(write: (sql: string) => void, now = Date.now()): void {
  if (now - renewedAt < MARK_RENEW_MS) return;
  renewedAt = now;
  write(`UPDATE rs_bulk_load SET expires = ${now + MARK_TTL_MS} WHERE holder = ${sqlText(ME)}`);
}

/** this process's bulk load is over */
export function clearBulkLoad(conn: SqliteConnection): void {
  conn.stmt('DELETE FROM rs_bulk_load WHERE holder = ?').run(ME);
}

/** whether another live process bulk-loads the file (read inside the caller's transaction, to be decided with it) */
export function bulkLoadElsewhere(conn: SqliteConnection, now = Date.now()): boolean {
  const mark = conn.stmt('SELECT holder, expires FROM rs_bulk_load WHERE id = 1').get() as { holder: string; expires: number } | undefined;
  if (mark === undefined || mark.holder === ME || Number(mark.expires) <= now) return false;
  const [host, pid] = mark.holder.split('|');
  return host !== hostname() || processRunning(Number(pid));
}
