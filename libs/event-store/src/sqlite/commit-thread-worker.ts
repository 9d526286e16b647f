/**
 * The thread of a CommitThread (commit-thread.ts): the group commit (group-commit.ts) on a connection of its own, so
 * that its INSERTs and its COMMIT's fsync do not hold the event loop of the process that appends. Appends arrive
 * serialized, in the order they were made; those that arrive while a group commits form the next group. After each
 * group one message goes back: the heads it moved, then every append's outcome.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { StatementSync } from 'node:sqlite';
import { type MultiAppendResult, WrongExpectedRevisionError } from '../port';
import { DuplicateEventIdError, SubjectKeyConflictError } from './append-checks';
import {
  type CommitThreadData,
  type FromCommitThread,
  type Outcome,
  SHARED_FOREIGN,
  SHARED_LAST_OWN,
  type ToCommitThread,
} from './commit-thread-protocol';
import { GroupCommit, type WrittenHead } from './group-commit';
import { KnownHeads, versionMoved } from './known-heads';
import { openDatabase } from './open-database';
import { SubjectKeyTable } from './subject-keys';

const { file, synchronous, cacheSizeKiB, busyTimeoutMs, autocheckpointPages, startPosition, shared: sharedBuffer } = workerData as CommitThreadData;
const port = parentPort!;
const shared = new BigInt64Array(sharedBuffer);
const db = openDatabase(file, { busyTimeoutMs });
db.exec(`PRAGMA synchronous = ${synchronous}`);
db.exec(`PRAGMA cache_size = -${cacheSizeKiB}`);
db.exec('PRAGMA secure_delete = ON');
if (autocheckpointPages !== undefined) db.exec(`PRAGMA wal_autocheckpoint = ${autocheckpointPages}`);
let closed = false;

const prepare = (sql: string): StatementSync => {
  const stmt = db.prepare(sql);
  stmt.setReadBigInts(true);
  return stmt;
};
const dataVersion = prepare('PRAGMA data_version');
const versionNow = () => (dataVersion.get() as { data_version: bigint }).data_version;

/**
 * The heads this connection knows, exact while its data_version holds, plus its own commits. Another connection's
 * commit (another process, or the appending process's own connection storing keys) makes them unknown, and the
 * appending process's too: counted in SHARED_FOREIGN, inside the group's transaction, before the group commits.
 */
const versionMovedHere = versionMoved(versionNow);
// a commit between the appending process's look at the log and this connection's first data_version: counted now
// (the review of session 22: unseen, it let that process answer a stream it had read before from memory for good)
if (((prepare('SELECT MAX(position) AS head FROM events').get() as { head: bigint | null }).head ?? -1n) > startPosition) Atomics.add(shared, SHARED_FOREIGN, 1n);
const heads = new KnownHeads(() => {
  if (!versionMovedHere()) return false;
  Atomics.add(shared, SHARED_FOREIGN, 1n);
  return true;
});

/** the message of the group being committed: its written heads first, outcomes as the appends settle */
let reply: Extract<FromCommitThread, { kind: 'group' }> | undefined;
const replyOf = () => (reply ??= { kind: 'group', written: [], outcomes: [] });
let replyScheduled = false;
const postReply = (): void => {
  replyScheduled = false;
  const message = reply;
  reply = undefined;
  if (message) port.postMessage(message);
};
/** the outcomes settle as promise reactions, all queued by one flush: posted together once they have run */
const settled = (outcome: Outcome): void => {
  replyOf().outcomes.push(outcome);
  if (replyScheduled) return;
  replyScheduled = true;
  setImmediate(postReply);
};

const commit = new GroupCommit(
  db,
  prepare,
  new SubjectKeyTable(db, busyTimeoutMs, () => closed),
  (written: WrittenHead[], lastPosition: bigint) => {
    for (const { stream, head } of written) heads.note(stream, head, heads.now);
    // after COMMIT: every position up to here that the appending process did not hear of as foreign is its own
    Atomics.store(shared, SHARED_LAST_OWN, lastPosition);
    replyOf().written.push(...written);
  },
  // in the group's write transaction, which sees every other connection's commit
  () => {
    heads.current();
    return heads.known;
  },
);

const failure = (error: unknown): Extract<Outcome, { ok: false }>['error'] => {
  if (error instanceof WrongExpectedRevisionError) return { kind: 'wrong-revision', stream: error.stream, expected: error.expected, actual: error.actual };
  if (error instanceof DuplicateEventIdError) return { kind: 'duplicate-id', eventId: error.eventId, stream: error.stream, existingStream: error.existingStream };
  if (error instanceof SubjectKeyConflictError) return { kind: 'key-conflict', subjectIds: error.subjectIds, gone: error.gone };
  const e = error as { message?: unknown; code?: unknown; errcode?: unknown } | null;
  return { kind: 'other', message: String(e?.message ?? error), code: e?.code, errcode: e?.errcode };
};

port.on('message', (message: ToCommitThread) => {
  if (message.kind === 'appends') {
    for (const { id, parts, keys } of message.appends)
      commit.enqueueSerialized(parts, keys).then(
        (result: MultiAppendResult) => settled({ id, ok: true, result }),
        (error: unknown) => settled({ id, ok: false, error: failure(error) }),
      );
    return;
  }
  if (message.kind === 'exec') {
    let error: string | undefined;
    try {
      db.exec(message.sql);
    } catch (e) {
      error = String((e as Error).message);
    }
    port.postMessage({ kind: 'executed', ...(error !== undefined && { error }) } satisfies FromCommitThread);
    return;
  }
  // close: what is queued is committed, its outcomes posted, then the connection closed
  commit.flush();
  // (after the outcomes' reactions, which ran before any immediate)
  setImmediate(() => {
    postReply();
    closed = true;
    db.close();
    port.postMessage({ kind: 'closed' } satisfies FromCommitThread);
    port.close();
  });
});
