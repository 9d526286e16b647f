/**
 * What stops an embedded (node:sqlite) store from working, by SQLite's primary result code: `contention` (another
 * process holds the write lock past the busy timeout: passes by itself), `disk` (full, read-only, failing: the
 * operator frees or repairs it, and the same writes succeed then), `damaged` (a file reads as malformed or as no
 * database: a failing disk, or a damaged file to restore or rebuild). Probe 41 F2: a failing disk, which SQLite often
 * reads as a damaged file, answered 500 INTERNAL_ERROR; probe 41b F2, F4: a damaged file was advised "free space", a
 * lock held by another replica took the replica out of `/health`.
 */
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

/** the sentence of the 503 EVENT_STORE_UNAVAILABLE a storage fault is answered with */
export function storageFaultDetail(fault: StorageFault): string {
  const retry = 'retry later (a write with the same Idempotency-Key)';
  return fault.kind === 'damaged'
    ? `The data store cannot be used (${fault.cause}: a failing disk, or a damaged file its operator must repair, restore or rebuild); ${retry}.`
    : `The data store cannot be used right now (${fault.cause}); ${retry}.`;
}
