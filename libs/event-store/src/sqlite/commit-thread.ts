import { Worker } from 'node:worker_threads';
import { AppendOutcomeUnknownError, type MultiAppendResult, type StreamAppend, WrongExpectedRevisionError } from '../port';
import { DuplicateEventIdError, SubjectKeyConflictError } from './append-checks';
import {
  type CommitThreadData,
  type FromCommitThread,
  type Outcome,
  SHARED_FOREIGN,
  SHARED_LAST_OWN,
  type ToCommitThread,
} from './commit-thread-protocol';
import { type SerializedPart, type WrittenHead, serializeParts } from './group-commit';
import { versionMoved } from './known-heads';
import type { SubjectKeyChange } from './subject-keys';
import { workerEntry } from '../worker-entry';


interface Waiting {
  streams: string[];
  /** the caller's epoch of known heads when it was queued (`enqueue`) */
  epoch: number;
  resolve: (result: MultiAppendResult) => void;
  reject: (error: unknown) => void;
}

/**
 * The write side of SqliteEventStore on a thread of its own (SqliteEventStoreOptions.writer 'thread', the API's
 * store): the group commit (group-commit.ts) runs there, on its own connection, so that its INSERTs and its COMMIT's
 * fsync no longer hold this thread's event loop (docs/adr/0010-command-throughput.md, fifth pass). Appends are
 * serialized here (JSON text; the APPEND_AFTER marker taken out and marked checked) and posted together once per
 * turn of the event loop, in call order; the thread commits them in that order, in groups, and answers each group
 * with the heads it moved and every append's outcome. An append's promise settles after its COMMIT returned (with
 * synchronous=FULL, after the WAL was fsynced), as inline.
 *
 * What changes for readers of this process: a commit is visible to them before its append's promise settles (the
 * answer crosses threads), as with EventStoreDB; and this connection's `PRAGMA data_version` moves at each of the
 * thread's commits, so the heads this process remembers are checked another way (`foreignCommits`, `lastOwnPosition`,
 * see SqliteEventStore's heads).
 */
export class CommitThread {
  private readonly worker: Worker;
  private readonly shared: BigInt64Array;
  private queue: ToCommitThread & { kind: 'appends' } = { kind: 'appends', appends: [] };
  private flushScheduled = false;
  private nextId = 0;
  private readonly waiting = new Map<number, Waiting>();
  /** streams with an append posted and not answered yet → how many */
  private readonly streamsInFlight = new Map<string, number>();
  private failed: Error | undefined;
  /** answers awaited by `exec`, in order */
  private readonly executed: ((error: string | undefined) => void)[] = [];
  private readonly closed: Promise<void>;

  private readonly startPosition: bigint;

  constructor(
    options: Omit<CommitThreadData, 'shared'>,
    /** after a group that wrote events, before any of its appends' promises settle */
    private readonly onCommitted: (written: WrittenHead[], epoch: number) => void,
  ) {
    const shared = new SharedArrayBuffer(2 * BigInt64Array.BYTES_PER_ELEMENT);
    this.shared = new BigInt64Array(shared);
    this.shared[SHARED_LAST_OWN] = -1n;
    this.startPosition = options.startPosition;
    const { file, execArgv } = workerEntry(__dirname, 'commit-thread-worker', __filename);
    this.worker = new Worker(file, { execArgv, workerData: { ...options, shared } satisfies CommitThreadData, name: 'commit' });
    this.worker.on('message', (message: FromCommitThread) => {
      if (message.kind === 'group') this.answered(message.written, message.outcomes);
      else if (message.kind === 'executed') this.executed.shift()?.(message.error);
    });
    // held by the event loop only while an append waits for its answer (after the listener: adding one refs the port)
    this.worker.unref();
    this.closed = new Promise((resolve) =>
      this.worker.once('exit', (code) => {
        this.fail(new Error(`the event store's commit thread ended (exit code ${code})`));
        resolve();
      }),
    );
    this.worker.on('error', (error) => this.fail(error));
  }

  /**
   * For the heads this process remembers (known-heads.ts): whether another connection committed since the last
   * call. `dataVersion` and `lastPosition` read, on this process's connection, its `PRAGMA data_version` and the
   * log's last position. Nothing was committed since the last call while the version holds (most calls under load:
   * the thread commits a group while many reads are answered). Else every position up to the last is the thread's
   * own or was looked at by an earlier call, unless the thread saw another connection's commit at the start of a
   * group (it counts that before the group commits, and stores its last position after: both are read after the
   * log's last position). A commit of the thread not yet stored as its last reads as another's: the heads are then
   * let go for nothing, rarely.
   */
  othersCommitted(dataVersion: () => bigint, lastPosition: () => bigint): () => boolean {
    const moved = versionMoved(dataVersion);
    // from the thread's start: what it counts at its start is after the position the process read before starting it
    let foreignSeen = 0n;
    let validThrough = this.startPosition;
    return () => {
      if (!moved()) return false;
      const last = lastPosition();
      // its last own commit before the count: a group counted, committed and stored between the two reads must show
      // in the count (read the other way round, an own position past another's commit would hide it)
      const own = Atomics.load(this.shared, SHARED_LAST_OWN);
      const foreign = Atomics.load(this.shared, SHARED_FOREIGN);
      if (foreign === foreignSeen && last <= (own > validThrough ? own : validThrough)) return false;
      foreignSeen = foreign;
      validThrough = last;
      return true;
    };
  }

  /** throws why the thread stopped, if it did */
  assertRunning(): void {
    if (this.failed) throw this.failed;
  }

  /** whether an append to `stream` was posted and not answered: its events may be committed already */
  inFlight(stream: string): boolean {
    return this.streamsInFlight.has(stream);
  }

  /** Queues an append (arguments already checked); settles after the commit of its group. */
  enqueue(parts: StreamAppend[], keys: readonly SubjectKeyChange[], epoch: number): Promise<MultiAppendResult> {
    if (this.failed) return Promise.reject(this.failed);
    const serialized: SerializedPart[] = serializeParts(parts);
    const id = this.nextId++;
    const streams = serialized.map((p) => p.stream);
    for (const stream of streams) this.streamsInFlight.set(stream, (this.streamsInFlight.get(stream) ?? 0) + 1);
    return new Promise<MultiAppendResult>((resolve, reject) => {
      this.waiting.set(id, { streams, epoch, resolve, reject });
      this.worker.ref();
      this.queue.appends.push({ id, parts: serialized, keys });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Posts what is queued now. */
  flush(): void {
    this.flushScheduled = false;
    if (this.queue.appends.length === 0 || this.failed) return;
    const message = this.queue;
    this.queue = { kind: 'appends', appends: [] };
    this.worker.postMessage(message);
  }

  /** @internal fault injection in tests (test/support/faults.ts): runs `sql` on the thread's connection */
  exec(sql: string): Promise<void> {
    this.flush();
    this.assertRunning();
    return new Promise((resolve, reject) => {
      this.executed.push((error) => {
        this.unrefWhenIdle();
        if (error === undefined) resolve();
        else reject(new Error(error));
      });
      this.worker.ref();
      this.worker.postMessage({ kind: 'exec', sql } satisfies ToCommitThread);
    });
  }

  /** Commits what is queued, then ends the thread (resolves once it is gone). */
  async close(): Promise<void> {
    this.flush();
    if (!this.failed) {
      this.worker.ref();
      this.worker.postMessage({ kind: 'close' } satisfies ToCommitThread);
    }
    await this.closed;
  }

  private answered(written: WrittenHead[], outcomes: Outcome[]): void {
    // the heads it wrote as of the oldest epoch its appends were queued in: a look since may have let the heads go for
    // another writer's commit after this one (KnownHeads.note drops them then)
    if (written.length > 0) this.onCommitted(written, Math.min(...outcomes.map((o) => this.waiting.get(o.id)?.epoch ?? -1)));
    for (const outcome of outcomes) {
      const waiting = this.waiting.get(outcome.id);
      if (!waiting) continue;
      this.settle(outcome.id, waiting);
      if (outcome.ok) waiting.resolve(outcome.result);
      else waiting.reject(errorOf(outcome.error));
    }
  }

  private settle(id: number, { streams }: Waiting): void {
    this.waiting.delete(id);
    this.unrefWhenIdle();
    for (const stream of streams) {
      const left = this.streamsInFlight.get(stream)! - 1;
      if (left === 0) this.streamsInFlight.delete(stream);
      else this.streamsInFlight.set(stream, left);
    }
  }

  /** the thread keeps the process alive only while something waits for it */
  private unrefWhenIdle(): void {
    if (this.waiting.size === 0 && this.executed.length === 0) this.worker.unref();
  }

  /** the thread is gone or failed: nothing waiting will be answered (whether it was committed is unknown) */
  private fail(error: Error): void {
    this.failed ??= error;
    for (const [id, waiting] of this.waiting) {
      this.settle(id, waiting);
      waiting.reject(new AppendOutcomeUnknownError(waiting.streams[0]!, this.failed));
    }
  }
}

function errorOf(error: Extract<Outcome, { ok: false }>['error']): Error {
  switch (error.kind) {
    case 'wrong-revision':
      return new WrongExpectedRevisionError(error.stream, error.expected, error.actual);
    case 'duplicate-id':
      return new DuplicateEventIdError(error.eventId, error.stream, error.existingStream);
    case 'key-conflict':
      return new SubjectKeyConflictError(error.subjectIds, error.gone);
    default:
      return Object.assign(new Error(error.message), { code: error.code, errcode: error.errcode });
  }
}
