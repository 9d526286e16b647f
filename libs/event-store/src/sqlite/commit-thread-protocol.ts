/** The messages between a CommitThread (commit-thread.ts) and its thread (commit-thread-worker.ts). */
import type { ExpectedRevision, MultiAppendResult } from '../port';
import type { SerializedPart, WrittenHead } from './group-commit';
import type { SubjectKeyChange } from './subject-keys';

export interface CommitThreadData {
  file: string;
  synchronous: 'FULL' | 'NORMAL';
  cacheSizeKiB: number;
  busyTimeoutMs: number;
  /** the connection's wal_autocheckpoint (the committing connection is the one that checkpoints); unset: SQLite's */
  autocheckpointPages?: number;
  /**
   * the log's last position as the appending process read it before starting the thread: a later one when the thread
   * opens its connection is another connection's commit its data_version will not show (counted in SHARED_FOREIGN)
   */
  startPosition: bigint;
  /** BigInt64Array: [SHARED_FOREIGN, SHARED_LAST_OWN] */
  shared: SharedArrayBuffer;
}

/** times the thread saw another connection's commit at the start of a group (a counter) */
export const SHARED_FOREIGN = 0;
/** the last position the thread committed (-1: none yet) */
export const SHARED_LAST_OWN = 1;

export type ToCommitThread =
  | { kind: 'appends'; appends: { id: number; parts: SerializedPart[]; keys: readonly SubjectKeyChange[] }[] }
  | { kind: 'close' }
  /** fault injection in tests: SQL run on the thread's connection (answered `executed`) */
  | { kind: 'exec'; sql: string };

export type Outcome =
  | { id: number; ok: true; result: MultiAppendResult }
  | {
      id: number;
      ok: false;
      error:
        | { kind: 'wrong-revision'; stream: string; expected: ExpectedRevision; actual: bigint | 'no_stream' }
        | { kind: 'duplicate-id'; eventId: string; stream: string; existingStream: string }
        | { kind: 'key-conflict'; subjectIds: string[]; gone: string[] }
        | { kind: 'other'; message: string; code: unknown; errcode: unknown };
    };

export type FromCommitThread =
  /** one group: the heads its commit moved (none if it failed), then the outcome of each of its appends */
  | { kind: 'group'; written: WrittenHead[]; outcomes: Outcome[] }
  | { kind: 'closed' }
  | { kind: 'executed'; error?: string };
