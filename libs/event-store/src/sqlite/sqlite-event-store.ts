import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import {
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type MultiAppendResult,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type StreamAppend,
  type SubscribeOptions,
  type Subscription,
  WrongExpectedRevisionError,
} from '../port';

export type Durability = 'full' | 'normal';

export interface SqliteEventStoreOptions {
  /**
   * 'full' (default): SQLite `synchronous=FULL`, the WAL is fsynced at every commit, so an
   * acknowledged append survives a power loss. 'normal': fsync only at checkpoints; an acknowledged
   * append survives a process crash but the last commits may be lost on a power loss.
   */
  durability?: Durability;
  /** rows fetched per query by readStream / readAll / subscriptions (default 1000) */
  pageSize?: number;
  /** how long a write waits for another process's write lock before failing, in ms (default 5000) */
  busyTimeoutMs?: number;
  /** SQLite page cache of the connection, in KiB (default 32 MiB: keeps the id and stream indexes hot) */
  cacheSizeKiB?: number;
}

/** SQLite rows as read back (with setReadBigInts: every INTEGER is a bigint). */
interface EventRow {
  position: bigint;
  id: string;
  stream: string;
  revision: bigint;
  type: string;
  data: string;
  metadata: string;
  created: bigint;
}

/** An append waiting in the group-commit queue. */
interface PendingAppend {
  /** one part for append(), several for an atomic appendMany() */
  parts: { stream: string; events: SerializedEvent[]; expected: ExpectedRevision }[];
  resolve: (result: MultiAppendResult) => void;
  reject: (error: unknown) => void;
}

interface SerializedEvent {
  id: string;
  type: string;
  data: string;
  metadata: string;
}

type Outcome = { ok: true; result: MultiAppendResult } | { ok: false; error: unknown };

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS events (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    id       TEXT    NOT NULL UNIQUE,
    stream   TEXT    NOT NULL,
    revision INTEGER NOT NULL,
    type     TEXT    NOT NULL,
    data     TEXT    NOT NULL,
    metadata TEXT    NOT NULL,
    created  INTEGER NOT NULL,
    UNIQUE (stream, revision)
  );
  CREATE INDEX IF NOT EXISTS events_by_type ON events (type, position);
`;

const COLUMNS = 'position, id, stream, revision, type, data, metadata, created';

/**
 * Embedded EventStore on node:sqlite (one file, WAL mode).
 *
 * Writes: one connection; appends are queued and flushed together on the next turn of the event loop
 * (group commit): one `BEGIN IMMEDIATE … COMMIT` for all the appends queued meanwhile. Each append is
 * checked against its own expected revision and written alone (a multi-event append inside a savepoint),
 * so a conflicting or failing append rejects alone while the others commit. An append's promise
 * settles only after COMMIT returned (with durability 'full', after the WAL was fsynced).
 *
 * Global position: the table's INTEGER PRIMARY KEY AUTOINCREMENT (first event: 1). Positions are
 * assigned while holding SQLite's write lock and committed in that order, so a reader never sees
 * position N+1 without N.
 *
 * node:sqlite is synchronous: a commit blocks the event loop while it runs (an fsync, typically
 * well under a few ms); the appends that arrive meanwhile form the next group.
 */
export class SqliteEventStore implements EventStore {
  static readonly DEFAULT_CACHE_SIZE_KIB = 32 * 1024;
  private readonly db: DatabaseSync;
  /** @internal rows per query */
  readonly pageSize: number;
  private readonly commits = new EventEmitter();
  /** incremented after every commit that wrote something; lets subscriptions detect missed commits */
  private commitSeq = 0;
  private queue: PendingAppend[] = [];
  private flushScheduled = false;
  private closed = false;

  private readonly stmt: {
    streamHead: StatementSync;
    findById: StatementSync;
    batchAt: StatementSync;
    insert: StatementSync;
    head: StatementSync;
    begin: StatementSync;
    commit: StatementSync;
    savepoint: StatementSync;
    release: StatementSync;
    rollbackTo: StatementSync;
  };
  private readonly readAllStatements = new Map<string, StatementSync>();
  private readonly readStreamStatements = new Map<string, StatementSync>();

  constructor(
    readonly file: string,
    options: SqliteEventStoreOptions = {},
  ) {
    const durability = options.durability ?? 'full';
    if (durability !== 'full' && durability !== 'normal') {
      throw new RangeError(`durability must be 'full' or 'normal', got ${String(durability)}`);
    }
    this.pageSize = options.pageSize ?? 1000;
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new DatabaseSync(file, { timeout: options.busyTimeoutMs ?? 5000 });
    try {
      this.db.exec('PRAGMA journal_mode = WAL');
      this.db.exec(`PRAGMA synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
      this.db.exec(
        `PRAGMA cache_size = -${Math.trunc(options.cacheSizeKiB ?? SqliteEventStore.DEFAULT_CACHE_SIZE_KIB)}`,
      );
      this.db.exec(SCHEMA);
    } catch (error) {
      this.db.close();
      throw error;
    }
    this.commits.setMaxListeners(0);
    this.stmt = {
      streamHead: this.prepare('SELECT revision FROM events WHERE stream = ? ORDER BY revision DESC LIMIT 1'),
      findById: this.prepare('SELECT stream, revision FROM events WHERE id = ?'),
      batchAt: this.prepare(
        'SELECT id, position FROM events WHERE stream = ? AND revision >= ? ORDER BY revision LIMIT ?',
      ),
      insert: this.prepare(
        'INSERT INTO events (id, stream, revision, type, data, metadata, created) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      head: this.prepare('SELECT MAX(position) AS head FROM events'),
      begin: this.prepare('BEGIN IMMEDIATE'),
      commit: this.prepare('COMMIT'),
      savepoint: this.prepare('SAVEPOINT append'),
      release: this.prepare('RELEASE append'),
      rollbackTo: this.prepare('ROLLBACK TO append'),
    };
  }

  append(stream: string, events: NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    try {
      assertAppendArguments(stream, events, expected);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.enqueue([{ stream, events, expected }]).then((r) => ({ nextRevision: r.streams[0]!.nextRevision, position: r.position }));
  }

  appendMany(parts: StreamAppend[]): Promise<MultiAppendResult> {
    try {
      if (!Array.isArray(parts) || parts.length === 0) throw new RangeError('appendMany: at least one part is required');
      if (new Set(parts.map((p) => p.stream)).size !== parts.length) throw new RangeError('appendMany: a stream appears twice');
      if (parts.every((p) => p.events.length === 0)) throw new RangeError('appendMany: at least one event is required');
      for (const p of parts) if (p.events.length > 0) assertAppendArguments(p.stream, p.events, p.expected);
      assertUniqueIds(parts.flatMap((p) => p.events));
    } catch (error) {
      return Promise.reject(error);
    }
    return this.enqueue(parts);
  }

  private enqueue(parts: StreamAppend[]): Promise<MultiAppendResult> {
    if (this.closed) return Promise.reject(new Error('SqliteEventStore is closed'));
    const serialized = parts.map((p) => ({
      stream: p.stream,
      expected: p.expected,
      events: p.events.map((e) => ({
        id: e.id,
        type: e.type,
        data: JSON.stringify(e.data ?? null),
        metadata: JSON.stringify(e.metadata ?? {}),
      })),
    }));
    return new Promise<MultiAppendResult>((resolve, reject) => {
      this.queue.push({ parts: serialized, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  async *readStream(stream: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    const where = ['stream = ?', 'revision >= ?'];
    const params: SQLInputValue[] = [stream];
    if (options.toPosition !== undefined) where.push('position <= ?');
    if (options.until !== undefined) where.push('created <= ?');
    const key = where.join(' AND ');
    let stmt = this.readStreamStatements.get(key);
    if (!stmt) {
      stmt = this.prepare(`SELECT ${COLUMNS} FROM events WHERE ${key} ORDER BY revision LIMIT ?`);
      this.readStreamStatements.set(key, stmt);
    }
    let fromRevision = options.fromRevision ?? 0n;
    const extra: SQLInputValue[] = [];
    if (options.toPosition !== undefined) extra.push(options.toPosition);
    if (options.until !== undefined) extra.push(options.until.getTime());
    for (;;) {
      const rows = stmt.all(...params, fromRevision, ...extra, this.pageSize) as unknown as EventRow[];
      for (const row of rows) yield toRecorded(row);
      if (rows.length < this.pageSize) return;
      fromRevision = rows[rows.length - 1]!.revision + 1n;
    }
  }

  async *readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    let after = options.fromPosition ?? -1n;
    let remaining = options.maxCount ?? Number.POSITIVE_INFINITY;
    while (remaining > 0) {
      const rows = this.readAfter(after, options.filter, Math.min(this.pageSize, remaining));
      for (const row of rows) yield toRecorded(row);
      if (rows.length < Math.min(this.pageSize, remaining)) return;
      remaining -= rows.length;
      after = rows[rows.length - 1]!.position;
    }
  }

  subscribe(options: SubscribeOptions = {}): Subscription {
    return new SqliteSubscription(this, options);
  }

  async headPosition(): Promise<bigint> {
    const row = this.stmt.head.get() as { head: bigint | null };
    return row.head ?? -1n;
  }

  async ping(): Promise<void> {
    if (this.closed) throw new Error('SqliteEventStore is closed');
    this.db.prepare('SELECT 1').get();
  }

  /** Commits what is queued, ends live subscriptions, closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.commits.emit('close');
    this.db.close();
  }

  // ---- internals shared with SqliteSubscription ----

  /** @internal rows strictly after `after`, in position order, matching the filter */
  readAfter(after: bigint, filter: ReadAllOptions['filter'], limit: number): EventRow[] {
    const eventTypes = filter?.eventTypes ?? [];
    const prefixes = filter?.streamPrefixes ?? [];
    const key = `${eventTypes.length}:${prefixes.length}`;
    let stmt = this.readAllStatements.get(key);
    if (!stmt) {
      const where = ['position > ?'];
      if (eventTypes.length > 0) where.push(`type IN (${eventTypes.map(() => '?').join(', ')})`);
      // instr(...) = 1 is a case-sensitive, wildcard-free "starts with" (LIKE is case-insensitive).
      if (prefixes.length > 0) where.push(`(${prefixes.map(() => 'instr(stream, ?) = 1').join(' OR ')})`);
      stmt = this.prepare(
        `SELECT ${COLUMNS} FROM events WHERE ${where.join(' AND ')} ORDER BY position LIMIT ?`,
      );
      this.readAllStatements.set(key, stmt);
    }
    return stmt.all(after, ...eventTypes, ...prefixes, limit) as unknown as EventRow[];
  }

  /** @internal */
  get isClosed(): boolean {
    return this.closed;
  }

  /** @internal number of commits that wrote events so far */
  get commitSequence(): number {
    return this.commitSeq;
  }

  /** @internal resolves after the next commit that wrote events, or when the store closes */
  onNextCommit(listener: () => void): () => void {
    this.commits.on('commit', listener);
    this.commits.on('close', listener);
    return () => {
      this.commits.off('commit', listener);
      this.commits.off('close', listener);
    };
  }

  // ---- group commit ----

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const created = Date.now();
    const outcomes: Outcome[] = [];
    let wrote = false;
    try {
      this.stmt.begin.run();
      try {
        for (const pending of batch) {
          // A single-row append needs no savepoint: a failing INSERT writes nothing by itself.
          const savepoint = pending.parts.length > 1 || pending.parts[0]!.events.length > 1;
          if (savepoint) this.stmt.savepoint.run();
          try {
            const result = this.applyOne(pending, created);
            if (savepoint) this.stmt.release.run();
            outcomes.push({ ok: true, result: result.result });
            wrote ||= result.wrote;
          } catch (error) {
            // SQLite rolled the whole transaction back (disk full, I/O error): the group fails with the real cause,
            // not with the savepoint that is gone, and nothing after it runs outside a transaction
            if (!this.db.isTransaction) throw error;
            if (savepoint) {
              this.stmt.rollbackTo.run();
              this.stmt.release.run();
            }
            outcomes.push({ ok: false, error });
          }
        }
        this.stmt.commit.run();
      } catch (error) {
        if (this.db.isTransaction) this.db.exec('ROLLBACK');
        throw error;
      }
    } catch (error) {
      // BEGIN or COMMIT failed (disk full, I/O error, lock timeout): nothing of this group is stored.
      for (const pending of batch) pending.reject(error);
      return;
    }
    if (wrote) {
      this.commitSeq++;
      this.commits.emit('commit');
    }
    batch.forEach((pending, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) pending.resolve(outcome.result);
      else pending.reject(outcome.error);
    });
  }

  /** Checks and writes one append (all its parts) inside the open transaction. Throws to roll back its savepoint. */
  private applyOne(pending: PendingAppend, created: number): { result: MultiAppendResult; wrote: boolean } {
    let wrote = false;
    let position = -1n;
    const streams: MultiAppendResult['streams'] = [];
    for (const part of pending.parts) {
      const written = this.applyPart(part, created);
      wrote ||= written.wrote;
      if (written.position > position) position = written.position;
      streams.push({ stream: part.stream, nextRevision: written.nextRevision });
    }
    return { result: { position, streams }, wrote };
  }

  private applyPart(
    { stream, events, expected }: PendingAppend['parts'][number],
    created: number,
  ): { nextRevision: bigint; position: bigint; wrote: boolean } {
    const replay = events.length > 0 ? this.findIdempotentReplay(stream, events) : undefined;
    if (replay) return { ...replay, wrote: false };

    const headRow = this.stmt.streamHead.get(stream) as { revision: bigint } | undefined;
    const current: bigint | 'no_stream' = headRow ? headRow.revision : 'no_stream';
    if (expected !== 'any' && expected !== current) {
      throw new WrongExpectedRevisionError(stream, expected, current);
    }
    let revision = current === 'no_stream' ? 0n : current + 1n;
    let position = -1n;
    for (const e of events) {
      try {
        position = BigInt(
          this.stmt.insert.run(e.id, stream, revision, e.type, e.data, e.metadata, created).lastInsertRowid,
        );
      } catch (error) {
        const existing = this.stmt.findById.get(e.id) as { stream: string } | undefined;
        if (existing) throw new DuplicateEventIdError(e.id, stream, existing.stream);
        throw error;
      }
      revision++;
    }
    return { nextRevision: revision - 1n, position, wrote: events.length > 0 };
  }

  /**
   * EventStoreDB's idempotency rule: when the batch's first event id is already in this stream and the
   * events from there on carry the batch's ids in order, the append was already done: return its
   * original result. The first id anywhere else (another stream, or a different batch) is an error.
   */
  private findIdempotentReplay(stream: string, events: SerializedEvent[]): AppendResult | undefined {
    const first = this.stmt.findById.get(events[0]!.id) as { stream: string; revision: bigint } | undefined;
    if (!first) return undefined;
    if (first.stream !== stream) {
      throw new DuplicateEventIdError(events[0]!.id, stream, first.stream);
    }
    const stored = this.stmt.batchAt.all(stream, first.revision, events.length) as {
      id: string;
      position: bigint;
    }[];
    const sameBatch = stored.length === events.length && stored.every((row, i) => row.id === events[i]!.id);
    if (!sameBatch) throw new DuplicateEventIdError(events[0]!.id, stream, stream);
    return {
      nextRevision: first.revision + BigInt(events.length) - 1n,
      position: stored[stored.length - 1]!.position,
    };
  }

  private prepare(sql: string): StatementSync {
    const stmt = this.db.prepare(sql);
    stmt.setReadBigInts(true);
    return stmt;
  }
}

/**
 * An event id that is already stored, but not as the same batch in the same stream (so the append is
 * not a retry of an earlier one): the ids of two different decisions collided.
 */
export class DuplicateEventIdError extends Error {
  readonly code = 'DUPLICATE_EVENT_ID';
  constructor(
    readonly eventId: string,
    readonly stream: string,
    readonly existingStream: string,
  ) {
    super(
      `Event id ${eventId} appended to ${stream} already exists in stream ${existingStream} in another batch`,
    );
    this.name = 'DuplicateEventIdError';
  }
}

/**
 * Catch-up subscription: reads `position > last delivered` from the file, page after page; once a read
 * comes back short it waits for the store's next commit, then reads `position > last delivered` again.
 * The commit sequence number taken before each read closes the window between "read came back short"
 * and "started waiting": a commit in between is seen and the read is redone instead of waiting.
 */
class SqliteSubscription implements Subscription {
  private stopped = false;
  private stopWaiting: (() => void) | undefined;
  /** a subscription is consumed once: every for-await over it shares this iterator */
  private iterator: AsyncGenerator<RecordedEvent> | undefined;

  constructor(
    private readonly store: SqliteEventStore,
    private readonly options: SubscribeOptions,
  ) {}

  async unsubscribe(): Promise<void> {
    this.stopped = true;
    this.stopWaiting?.();
  }

  [Symbol.asyncIterator](): AsyncIterator<RecordedEvent> {
    this.iterator ??= this.run();
    return this.iterator;
  }

  private async *run(): AsyncGenerator<RecordedEvent> {
    let last = this.options.fromPosition ?? -1n;
    let remaining = this.options.maxCount ?? Number.POSITIVE_INFINITY;
    try {
      while (!this.stopped && !this.store.isClosed && remaining > 0) {
        const seq = this.store.commitSequence;
        const limit = Math.min(this.store.pageSize, remaining);
        const rows = this.store.readAfter(last, this.options.filter, limit);
        for (const row of rows) {
          if (this.stopped) return;
          const event = toRecorded(row);
          last = event.position;
          remaining--;
          yield event;
        }
        // a full page: more may be there already; a commit since the read: read again before waiting
        if (rows.length === limit || this.store.commitSequence !== seq) continue;
        await this.waitForCommit();
      }
    } finally {
      // the consumer broke out of its loop (return()) or we ended: either way the subscription is over
      this.stopped = true;
    }
  }

  private waitForCommit(): Promise<void> {
    if (this.stopped || this.store.isClosed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        off();
        this.stopWaiting = undefined;
        resolve();
      };
      const off = this.store.onNextCommit(done);
      this.stopWaiting = done;
    });
  }
}

function toRecorded(row: EventRow): RecordedEvent {
  return {
    id: row.id,
    stream: row.stream,
    type: row.type,
    revision: row.revision,
    position: row.position,
    data: JSON.parse(row.data),
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    created: new Date(Number(row.created)),
  };
}

function assertAppendArguments(stream: string, events: NewEvent[], expected: ExpectedRevision): void {
  if (typeof stream !== 'string' || stream.length === 0)
    throw new RangeError('append: stream must be a non-empty string');
  if (!Array.isArray(events) || events.length === 0)
    throw new RangeError('append: at least one event is required');
  if (expected !== 'any' && expected !== 'no_stream' && (typeof expected !== 'bigint' || expected < 0n)) {
    throw new RangeError(`append: invalid expected revision ${String(expected)}`);
  }
  for (const e of events) {
    if (typeof e.id !== 'string' || e.id.length === 0)
      throw new RangeError('append: every event needs an id');
    if (typeof e.type !== 'string' || e.type.length === 0)
      throw new RangeError('append: every event needs a type');
  }
  assertUniqueIds(events);
}

function assertUniqueIds(events: NewEvent[]): void {
  const ids = new Set<string>();
  for (const e of events) {
    if (ids.has(e.id)) throw new RangeError(`append: event id ${e.id} appears twice in the batch`);
    ids.add(e.id);
  }
}
