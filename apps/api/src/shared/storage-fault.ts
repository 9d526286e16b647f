/**
 * What stops an embedded (node:sqlite) store from working, by SQLite's primary result code: `contention` (another
 * process holds the write lock past the busy timeout: passes by itself), `disk` (full, read-only, failing: the
 * operator frees or repairs it, and the same writes succeed then), `damaged` (a file reads as malformed or as no
 * database: a failing disk, or a damaged file to restore or rebuild). Probe 41 F2: a failing disk, which SQLite often
 * reads as a damaged file, answered 500 INTERNAL_ERROR; probe 41b F2, F4: a damaged file was advised "free space", a
 * lock held by another replica took the replica out of `/health`.
 */
import { closeSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export type StorageFaultKind = 'contention' | 'disk' | 'damaged';

export interface StorageFault {
  cause: string;
  kind: StorageFaultKind;
}

const SQLITE_FAULTS: Record<number, StorageFault> = {
  5: { cause: 'busy: another process holds its write lock', kind: 'contention' },
  6: { cause: 'locked', kind: 'contention' },
  8: { cause: 'read-only', kind: 'disk' },
  10: { cause: 'I/O error', kind: 'disk' },
  13: { cause: 'disk full', kind: 'disk' },
  14: { cause: 'a data file cannot be opened', kind: 'disk' },
  11: { cause: 'a data file reads as damaged', kind: 'damaged' },
  26: { cause: 'a data file reads as no database', kind: 'damaged' },
};

/** the storage fault the error is, or what caused it (its `cause` chain: a wrapped SQLite error), if any */
export function storageFault(error: unknown): StorageFault | undefined {
  for (let e = error as { code?: unknown; errcode?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++)
    if (e.code === 'ERR_SQLITE_ERROR' && typeof e.errcode === 'number' && SQLITE_FAULTS[e.errcode & 0xff]) return SQLITE_FAULTS[e.errcode & 0xff];
  return undefined;
}

/**
 * An I/O error under a data dir whose file system has gone read-only: SQLite reports EROFS as a plain I/O error, and
 * a kernel that met an error on an ext4 file system remounts it read-only (`errors=remount-ro`), where no write can
 * succeed until the operator stops the processes, checks the file system and mounts it read-write again (probe 51 F4:
 * the log and `rollcall_storage_faults_total` said "I/O error" only). Asked only when a refusal is an I/O error.
 */
export const READ_ONLY_FILE_SYSTEM: StorageFault = { cause: 'read-only file system', kind: 'disk' };

export function onReadOnlyFileSystem(dataDir: string, create: (path: string) => void = createAndRemove): boolean {
  try {
    // a file made and removed: access(W_OK) would not do, a kernel that aborted an ext4 file system (`emergency_ro`)
    // keeps its mount flags, so access() says writable while every write fails with EROFS (probe 58 F3)
    create(join(dataDir, `.rollcall-write-probe-${process.pid}`));
    return false;
  } catch (error) {
    return (error as { code?: unknown }).code === 'EROFS';
  }
}

function createAndRemove(path: string): void {
  closeSync(openSync(path, 'w'));
  rmSync(path, { force: true });
}

/** the fault as the data dir explains it: an I/O error on a read-only file system is that */
export function faultUnder(fault: StorageFault, dataDir: string | undefined, create?: (path: string) => void): StorageFault {
  return fault.cause === SQLITE_FAULTS[10]!.cause && dataDir !== undefined && onReadOnlyFileSystem(dataDir, create) ? READ_ONLY_FILE_SYSTEM : fault;
}

/** the sentence of the 503 EVENT_STORE_UNAVAILABLE a storage fault is answered with */
export function storageFaultDetail(fault: StorageFault): string {
  const retry = 'retry later (a write with the same Idempotency-Key)';
  return fault.kind === 'damaged'
    ? `The data store cannot be used (${fault.cause}: a failing disk, or a damaged file its operator must repair, restore or rebuild); ${retry}.`
    : `The data store cannot be used right now (${fault.cause}); ${retry}.`;
}
