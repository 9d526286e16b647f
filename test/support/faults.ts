// Storage faults for test/faults-*.e2e-spec.ts: a small tmpfs for the event store where the machine lets us mount
// one (root, `mount -t tmpfs`), filled to the last byte; else the same SQLite errors raised by the connections that
// append (the adapter's and its commit thread's: a page limit, SQLITE_FULL; query_only, SQLITE_READONLY).
import { execFileSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { SqliteEventStore } from '@rollcall/event-store';

/** Mounts a tmpfs of `size` (e.g. '2m') at `dir`; false when the machine does not allow it. */
export function tryMountTmpfs(dir: string, size: string): boolean {
  mkdirSync(dir, { recursive: true });
  if (process.env.ROLLCALL_FAULTS_INJECT === '1') return false; // forced: the adapter-level faults
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/** Unmounts `dir` (lazily when a file there is still open) and removes the empty mount point. */
export function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    } catch {
      /* not mounted */
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Writes a ballast file in `dir` until the filesystem is full, then gives `leaveBytes` back (a few writes still fit);
 * returns its path (delete it to free the space).
 */
export function fillFilesystem(dir: string, leaveBytes = 0): string {
  const file = join(dir, 'ballast');
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(4096, 0xab);
  let size = 0;
  try {
    for (;;) size += writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    ftruncateSync(fd, Math.max(0, size - leaveBytes));
    closeSync(fd);
  }
  return file;
}

export const freeSpace = (ballast: string) => rmSync(ballast, { force: true });

/**
 * The embedded event store adapter behind the application's store (the crypto-shredding store keeps the adapter as
 * `inner`).
 */
export function sqliteStoreOf(store: unknown): SqliteEventStore {
  let current = store as Record<string, unknown> | undefined;
  for (let depth = 0; current && depth < 5; depth++) {
    if (current instanceof SqliteEventStore) return current;
    current = current.inner as Record<string, unknown> | undefined;
  }
  throw new Error('no embedded SQLite event store behind this store');
}

/**
 * The connections that append (the adapter's, and its commit thread's) take no more pages than the file has now: the
 * next write that needs one is SQLITE_FULL.
 */
export async function capPages(store: SqliteEventStore): Promise<() => Promise<void>> {
  const db = new DatabaseSync(store.file, { readOnly: true });
  const pages = Number((db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count);
  db.close();
  await store.execOnWriters(`PRAGMA max_page_count = ${pages}`);
  return () => store.execOnWriters('PRAGMA max_page_count = 4294967294');
}

/** The connections that append refuse to write (SQLITE_READONLY) until the returned function is called. */
export async function readOnly(store: SqliteEventStore): Promise<() => Promise<void>> {
  await store.execOnWriters('PRAGMA query_only = ON');
  return () => store.execOnWriters('PRAGMA query_only = OFF');
}
