export { type SnapshotStore, type SnapshotToWrite, type StoredSnapshot, SnapshotUnreadableError } from './snapshot-store';
export { SqliteSnapshotStore } from './sqlite-snapshot-store';
export { KurrentDbSnapshotStore, snapshotStreamOf, SNAPSHOT_EVENT, SNAPSHOT_CHUNK_EVENT } from './kurrentdb-snapshot-store';
export { createSnapshotStore } from './create-snapshot-store';
export { type SnapshotCipher, snapshotCipher } from './snapshot-cipher';
