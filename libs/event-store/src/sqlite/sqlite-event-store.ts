import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { type EventRow, SqliteSubscription, toRecorded } from './sqlite-subscription';
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

/** A data key created for a subject's first personal data, stored in the transaction of the events sealed with it. */
export interface NewSubjectKey {
  subjectId: string;
  /** the key as stored (the key store wraps it: docs/adr/0010-command-throughput.md) */
  stored: Uint8Array;
}

/** An append waiting in the group-commit queue. */
interface PendingAppend {
  /** one part for append(), several for an atomic appendMany() */
  parts: { stream: string; events: SerializedEvent[]; expected: ExpectedRevision }[];
  /** keys to store with the events (appendWithKeys) */
  keys: readonly NewSubjectKey[];
  resolve: (result: MultiAppendResult) => void;
  reject: (error: unknown) => void;
}

interface SerializedEvent {
  id: string;
  type: string;
  data: string;
  metadata: string;
}

type Outcome = { ok: true; result: MultiAppendResult; written: { stream: string; head: bigint }[] } | { ok: false; error: unknown };

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
  CREATE TABLE IF NOT EXISTS subject_keys (subject TEXT PRIMARY KEY, key BLOB NOT NULL) WITHOUT ROWID;
`;

/** streams whose head revision is remembered (see readStream); past this the memory starts over */
const MAX_KNOWN_HEADS = 100_000;

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
 *
 * Data keys of crypto-shredding (table `subject_keys`) live in the same file, so that a subject's first key is
 * committed with the first events sealed with it, under one fsync (appendWithKeys; the wrapping and the race
 * between replicas are the key store's: shredding/embedded-key-store.ts, docs/adr/0010-command-throughput.md).
 *
 * Reads of a stream that has not moved are answered from memory: the connection remembers the head revision of
 * the streams it read to the end or appended to, for as long as no other connection committed (SQLite's
 * `PRAGMA data_version`, one cheap statement instead of the stream's query; this connection's own commits keep
 * the heads exact).
 */
export class SqliteEventStore implements EventStore {
  static readonly DEFAULT_CACHE_SIZE_KIB = 32 * 1024;
  private readonly db: DatabaseSync;
  /** @internal rows per query */
  readonly pageSize: number;
  private readonly busyTimeoutMs: number;
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
    dataVersion: StatementSync;
    insertKey: StatementSync;
    selectKey: StatementSync;
    selectKeys: StatementSync;
    deleteKey: StatementSync;
  };
  /** stream → its head revision (-1n: no events), exact as of `dataVersion` plus this connection's own commits */
  private readonly heads = new Map<string, bigint>();
  /** `PRAGMA data_version` when `heads` was last known to hold: it changes when another connection commits */
  private dataVersion = -1n;
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
    this.busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    this.db = new DatabaseSync(file, { timeout: this.busyTimeoutMs });
    try {
      this.db.exec('PRAGMA journal_mode = WAL');
      this.db.exec(`PRAGMA synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
      this.db.exec(
        `PRAGMA cache_size = -${Math.trunc(options.cacheSizeKiB ?? SqliteEventStore.DEFAULT_CACHE_SIZE_KIB)}`,
      );
      // a forgotten data key's bytes are overwritten, not left in a free page of the file
      this.db.exec('PRAGMA secure_delete = ON');
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
      dataVersion: this.prepare('PRAGMA data_version'),
      insertKey: this.prepare('INSERT INTO subject_keys (subject, key) VALUES (?, ?) ON CONFLICT (subject) DO NOTHING'),
      selectKey: this.prepare('SELECT key FROM subject_keys WHERE subject = ?'),
      selectKeys: this.prepare('SELECT subject, key FROM subject_keys WHERE subject IN (SELECT value FROM json_each(?))'),
      deleteKey: this.prepare('DELETE FROM subject_keys WHERE subject = ?'),
    };
    this.headsEpoch();
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
    return this.appendWithKeys(parts, []);
  }

  /**
   * appendMany, and the subjects' new data keys stored in the same transaction (nothing of it when it fails). A
   * subject that has a stored key already, other than the one given (another process created it first), fails the
   * append with SubjectKeyConflictError: seal again with the stored key.
   */
  appendWithKeys(parts: StreamAppend[], keys: readonly NewSubjectKey[]): Promise<MultiAppendResult> {
    try {
      if (!Array.isArray(parts) || parts.length === 0) throw new RangeError('appendMany: at least one part is required');
      if (new Set(parts.map((p) => p.stream)).size !== parts.length) throw new RangeError('appendMany: a stream appears twice');
      if (parts.every((p) => p.events.length === 0)) throw new RangeError('appendMany: at least one event is required');
      for (const p of parts) if (p.events.length > 0) assertAppendArguments(p.stream, p.events, p.expected);
      assertUniqueIds(parts.flatMap((p) => p.events));
      if (new Set(keys.map((k) => k.subjectId)).size !== keys.length) throw new RangeError('appendWithKeys: a subject appears twice');
    } catch (error) {
      return Promise.reject(error);
    }
    return this.enqueue(parts, keys);
  }

  /** The stored data keys of these subjects (as stored); a subject without one is absent. */
  findSubjectKeys(subjectIds: readonly string[]): Map<string, Uint8Array> {
    if (this.closed) throw new Error('SqliteEventStore is closed');
    // one subject (a command's first-time subject, a live event): the plain lookup, cheaper than json_each
    if (subjectIds.length === 1) {
      const row = this.stmt.selectKey.get(subjectIds[0]!) as { key: Uint8Array } | undefined;
      return new Map(row ? [[subjectIds[0]!, row.key]] : []);
    }
    const rows = this.stmt.selectKeys.all(JSON.stringify(subjectIds)) as { subject: string; key: Uint8Array }[];
    return new Map(rows.map((r) => [r.subject, r.key]));
  }

  /** Stores keys on their own, in one transaction, durably; a subject that has a key keeps it. */
  storeSubjectKeys(keys: readonly NewSubjectKey[]): void {
    if (this.closed) throw new Error('SqliteEventStore is closed');
    this.inTransaction(() => {
      for (const { subjectId, stored } of keys) this.stmt.insertKey.run(subjectId, stored);
    });
  }

  /**
   * Deletes the subjects' data keys (secure_delete: their bytes are overwritten in the file), then copies the WAL
   * back and truncates it, so no earlier page image holding a key stays in it. A checkpoint that other
   * connections' readers keep from finishing is tried again, for up to `busyTimeoutMs` more.
   */
  async forgetSubjectKeys(subjectIds: readonly string[]): Promise<void> {
    if (this.closed) throw new Error('SqliteEventStore is closed');
    this.inTransaction(() => {
      for (const id of subjectIds) this.stmt.deleteKey.run(id);
    });
    await this.truncateWal();
  }

  /** `write` in a transaction of its own (not a group commit: rare writes of keys) */
  private inTransaction(write: () => void): void {
    this.stmt.begin.run();
    try {
      write();
      this.stmt.commit.run();
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  private async truncateWal(): Promise<void> {
    const deadline = Date.now() + this.busyTimeoutMs;
    for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
      if (this.closed) return;
      // tried without the busy handler, which would block the event loop while readers finish: waited here instead
      this.db.exec('PRAGMA busy_timeout = 0');
      let busy: number;
      try {
        busy = Number((this.db.prepare('PRAGMA wal_checkpoint(TRUNCATE)').get() as { busy: number | bigint }).busy);
      } finally {
        this.db.exec(`PRAGMA busy_timeout = ${this.busyTimeoutMs}`);
      }
      if (busy === 0) return;
      if (Date.now() >= deadline) throw new Error('the WAL of the event store could not be truncated after forgetting data keys: readers kept it busy');
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  private enqueue(parts: StreamAppend[], keys: readonly NewSubjectKey[] = []): Promise<MultiAppendResult> {
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
      this.queue.push({ parts: serialized, keys, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  async *readStream(stream: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    const fromRevision = options.fromRevision ?? 0n;
    if (options.toPosition !== undefined || options.until !== undefined) {
      yield* this.readStreamFiltered(stream, fromRevision, options);
      return;
    }
    const epoch = this.headsEpoch();
    const known = this.heads.get(stream);
    if (known !== undefined && fromRevision > known) return;
    const stmt = this.streamStatement('stream = ? AND revision >= ?');
    // from the revision before the one asked for: finding it and nothing after it proves the head (the next read
    // of an unchanged stream is then answered from memory)
    let from = fromRevision > 0n ? fromRevision - 1n : 0n;
    let last: bigint | undefined = fromRevision > 0n ? undefined : -1n;
    for (;;) {
      const rows = stmt.all(stream, from, this.pageSize) as unknown as EventRow[];
      for (const row of rows) {
        last = row.revision;
        if (row.revision >= fromRevision) yield toRecorded(row);
      }
      if (rows.length < this.pageSize) {
        // unknown only when the revision before the one asked for is not there either: that proves no head
        if (last !== undefined) this.noteHead(stream, last, epoch);
        return;
      }
      from = rows[rows.length - 1]!.revision + 1n;
    }
  }

  private async *readStreamFiltered(stream: string, fromRevision: bigint, options: ReadStreamOptions): AsyncIterable<RecordedEvent> {
    const where = ['stream = ?', 'revision >= ?'];
    if (options.toPosition !== undefined) where.push('position <= ?');
    if (options.until !== undefined) where.push('created <= ?');
    const stmt = this.streamStatement(where.join(' AND '));
    const extra: SQLInputValue[] = [];
    if (options.toPosition !== undefined) extra.push(options.toPosition);
    if (options.until !== undefined) extra.push(options.until.getTime());
    for (;;) {
      const rows = stmt.all(stream, fromRevision, ...extra, this.pageSize) as unknown as EventRow[];
      for (const row of rows) yield toRecorded(row);
      if (rows.length < this.pageSize) return;
      fromRevision = rows[rows.length - 1]!.revision + 1n;
    }
  }

  private streamStatement(where: string): StatementSync {
    let stmt = this.readStreamStatements.get(where);
    if (!stmt) {
      stmt = this.prepare(`SELECT ${COLUMNS} FROM events WHERE ${where} ORDER BY revision LIMIT ?`);
      this.readStreamStatements.set(where, stmt);
    }
    return stmt;
  }

  /** The epoch of `heads`: a new one (nothing known) when another connection committed since the last look. */
  private headsEpoch(): bigint {
    const { data_version: version } = this.stmt.dataVersion.get() as { data_version: bigint };
    if (version !== this.dataVersion) {
      this.heads.clear();
      this.dataVersion = version;
    }
    return version;
  }

  /** `stream`'s head was `revision` in `epoch` (a read to its end, or this connection's append). */
  private noteHead(stream: string, revision: bigint, epoch: bigint): void {
    // learned before another connection's commit was seen: may be behind it
    if (epoch !== this.dataVersion) return;
    const known = this.heads.get(stream);
    // heads only grow: a read that ended before this connection's own append must not take its head back
    if (known !== undefined && known >= revision) return;
    if (known === undefined && this.heads.size >= MAX_KNOWN_HEADS) this.heads.clear();
    this.heads.set(stream, revision);
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
          const savepoint = pending.keys.length > 0 || pending.parts.length > 1 || pending.parts[0]!.events.length > 1;
          if (savepoint) this.stmt.savepoint.run();
          try {
            const result = this.applyOne(pending, created);
            if (savepoint) this.stmt.release.run();
            outcomes.push({ ok: true, result: result.result, written: result.written });
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
      // own commits leave data_version as it was: the heads this connection knows stay exact
      for (const outcome of outcomes) if (outcome.ok) for (const w of outcome.written) this.noteHead(w.stream, w.head, this.dataVersion);
      this.commitSeq++;
      this.commits.emit('commit');
    }
    batch.forEach((pending, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) pending.resolve(outcome.result);
      else pending.reject(outcome.error);
    });
  }

  /** Checks and writes one append (all its parts, its keys) inside the open transaction. Throws to roll back its savepoint. */
  private applyOne(
    pending: PendingAppend,
    created: number,
  ): { result: MultiAppendResult; wrote: boolean; written: { stream: string; head: bigint }[] } {
    let wrote = false;
    let position = -1n;
    const streams: MultiAppendResult['streams'] = [];
    const written: { stream: string; head: bigint }[] = [];
    for (const part of pending.parts) {
      const result = this.applyPart(part, created);
      wrote ||= result.wrote;
      if (result.wrote) written.push({ stream: part.stream, head: result.nextRevision });
      if (result.position > position) position = result.position;
      streams.push({ stream: part.stream, nextRevision: result.nextRevision });
    }
    // a replay wrote nothing now: its keys were stored with it the first time
    if (wrote && pending.keys.length > 0) this.storeKeys(pending.keys);
    return { result: { position, streams }, wrote, written };
  }

  /** Inserts the new keys; a subject that has another key already fails the append (see appendWithKeys). */
  private storeKeys(keys: readonly NewSubjectKey[]): void {
    const conflicts: string[] = [];
    for (const { subjectId, stored } of keys) {
      if (Number(this.stmt.insertKey.run(subjectId, stored).changes) === 1) continue;
      const existing = (this.stmt.selectKey.get(subjectId) as { key: Uint8Array }).key;
      // the same key: another append of this process carried it and was written first (in this group or before)
      if (!Buffer.from(existing).equals(Buffer.from(stored))) conflicts.push(subjectId);
    }
    if (conflicts.length > 0) throw new SubjectKeyConflictError(conflicts);
  }

  private applyPart(
    { stream, events, expected }: PendingAppend['parts'][number],
    created: number,
  ): { nextRevision: bigint; position: bigint; wrote: boolean } {
    // A batch already written (a retry) is looked for only where the write cannot go on as it is: a written batch moved
    // the stream past its expected revision, or (expected 'any') its first id is taken. The usual append pays no lookup.
    const headRow = this.stmt.streamHead.get(stream) as { revision: bigint } | undefined;
    const current: bigint | 'no_stream' = headRow ? headRow.revision : 'no_stream';
    if (expected !== 'any' && expected !== current) {
      const replay = events.length > 0 ? this.findIdempotentReplay(stream, events) : undefined;
      if (replay) return { ...replay, wrote: false };
      throw new WrongExpectedRevisionError(stream, expected, current);
    }
    let revision = current === 'no_stream' ? 0n : current + 1n;
    let position = -1n;
    for (const [i, e] of events.entries()) {
      try {
        position = BigInt(
          this.stmt.insert.run(e.id, stream, revision, e.type, e.data, e.metadata, created).lastInsertRowid,
        );
      } catch (error) {
        // the first insert failed alone (nothing of the batch written yet): it may be the batch, written before
        const replay = i === 0 ? this.findIdempotentReplay(stream, events) : undefined;
        if (replay) return { ...replay, wrote: false };
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
 * New data keys given to appendWithKeys for subjects that another writer gave a key first: nothing of the append
 * was written. The events must be sealed again, with the stored keys.
 */
export class SubjectKeyConflictError extends Error {
  readonly code = 'SUBJECT_KEY_CONFLICT';
  constructor(readonly subjectIds: string[]) {
    super(`Another writer stored a data key first for ${subjectIds.join(', ')}`);
    this.name = 'SubjectKeyConflictError';
  }
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
