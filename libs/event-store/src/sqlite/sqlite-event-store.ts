import { openDatabase } from './open-database';
import { EventEmitter } from 'node:events';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { type EventRow, SqliteSubscription, toRecorded } from './sqlite-subscription';
import type { AppendResult, EventStore, ExpectedRevision, MultiAppendResult, NewEvent, ReadAllOptions } from '../port';
import type { ReadStreamOptions, RecordedEvent, StreamAppend, SubscribeOptions, Subscription } from '../port';
import { assertAppendArguments, assertAppendManyArguments } from './append-checks';
import { CommitThread } from './commit-thread';
import { GroupCommit } from './group-commit';
import { KnownHeads, versionMoved } from './known-heads';
import type { SqliteEventStoreOptions } from './sqlite-event-store-options';
import { WalCheckpointer } from './wal-checkpointer';
import { setUpKeyTables } from './key-buckets';
import { OF_ORGANIZATION, createOrganizationIndexes, indexedAfter } from './organization-index';
import { SUBJECT_KEYS_SCHEMA, type NewSubjectKey, type SubjectKeyChange, SubjectKeyTable } from './subject-keys';

export { DuplicateEventIdError, SubjectKeyConflictError } from './append-checks';
export type { NewSubjectKey, SubjectKeyChange } from './subject-keys';
export type { Durability, SqliteEventStoreOptions } from './sqlite-event-store-options';

/** how often the checkpoint thread copies the WAL back ('thread'), and the WAL's size at which the commits do it anyway */
const CHECKPOINT_EVERY_MS = 100;
const FALLBACK_AUTOCHECKPOINT_PAGES = 10_000;

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
  ${SUBJECT_KEYS_SCHEMA}
`;

const COLUMNS = 'position, id, stream, revision, type, data, metadata, created';
const LIMIT_BOUND = 'LIMIT ?';

/**
 * Embedded EventStore on node:sqlite (one file, WAL mode).
 *
 * Writes: one connection; appends are queued and committed together (group commit, ./group-commit.ts). An
 * append's promise settles only after COMMIT returned (with durability 'full', after the WAL was fsynced).
 *
 * Global position: the table's INTEGER PRIMARY KEY AUTOINCREMENT (first event: 1). Positions are assigned while
 * holding SQLite's write lock and committed in that order, so a reader never sees position N+1 without N.
 *
 * node:sqlite is synchronous: a commit blocks the event loop while it runs (an fsync, typically well under a few ms);
 * the appends that arrive meanwhile form the next group.
 *
 * Data keys of crypto-shredding (./subject-keys.ts) live in the same file, so that a subject's first key is
 * committed with the first events sealed with it, under one fsync (appendWithKeys; the wrapping and the race
 * between replicas are the key store's: shredding/embedded-key-store.ts, docs/adr/0010-command-throughput.md).
 *
 * Reads of a stream that has not moved are answered from memory: the heads of the streams read to the end or appended
 * to, kept while no other writer committed (known-heads.ts). Inline, `PRAGMA data_version` tells; with the commit
 * thread (whose commits move it too) the log's last position and the thread's count of others' commits also
 * (commit-thread.ts); a stream with an append in flight is read. Looked at once per turn of the event loop, or at
 * once when a read of the file finds a later commit (KnownHeads.saw: reads never go back in the log).
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
  private closed = false;
  private checkpointer: WalCheckpointer | undefined;
  private readonly writes: GroupCommit | CommitThread;
  private readonly keys: SubjectKeyTable;
  private readonly stmt: { head: StatementSync; dataVersion: StatementSync };
  private readonly heads: KnownHeads;
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
    // written into the SQL of the page reads (see pageLimit)
    if (!Number.isSafeInteger(this.pageSize) || this.pageSize < 1) throw new RangeError(`pageSize must be a positive integer, got ${String(this.pageSize)}`);
    this.busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    this.db = openDatabase(file, { busyTimeoutMs: this.busyTimeoutMs });
    try {
      this.db.exec(`PRAGMA synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
      this.db.exec(
        `PRAGMA cache_size = -${Math.trunc(options.cacheSizeKiB ?? SqliteEventStore.DEFAULT_CACHE_SIZE_KIB)}`,
      );
      // a forgotten data key's bytes are overwritten, not left in a free page of the file
      this.db.exec(`PRAGMA secure_delete = ON; ${SCHEMA}`);
      createOrganizationIndexes(this.db, options.onOrganizationIndexBuilt);
      setUpKeyTables(this.db, options.onKeysMoved);
      if (options.checkpoints === 'thread' && file !== ':memory:') {
        this.db.exec(`PRAGMA wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`);
        this.checkpointer = new WalCheckpointer(file, {
          everyMs: CHECKPOINT_EVERY_MS,
          synchronous: durability === 'full' ? 'FULL' : 'NORMAL',
          busyTimeoutMs: this.busyTimeoutMs,
        });
      }
    } catch (error) {
      this.db.close();
      throw error;
    }
    this.commits.setMaxListeners(0);
    this.keys = new SubjectKeyTable(this.db, this.busyTimeoutMs, () => this.closed);
    this.stmt = {
      head: this.prepare('SELECT MAX(position) AS head FROM events'),
      dataVersion: this.prepare('PRAGMA data_version'),
    };
    // own commits move no other head, unless a look since the append was queued let the heads go (the commit thread
    // answers after its commit: noted then, a head stays behind another's commit after it; replicas e2e seed 49)
    const committed = (written: { stream: string; head: bigint }[], epoch = this.heads.now) => {
      for (const w of written) this.heads.note(w.stream, w.head, epoch);
      this.commitSeq++;
      this.commits.emit('commit');
    };
    if (options.writer === 'thread' && file !== ':memory:') {
      const thread = new CommitThread(
        {
          file,
          synchronous: durability === 'full' ? 'FULL' : 'NORMAL',
          cacheSizeKiB: Math.trunc(options.cacheSizeKiB ?? SqliteEventStore.DEFAULT_CACHE_SIZE_KIB),
          busyTimeoutMs: this.busyTimeoutMs,
          ...(this.checkpointer && { autocheckpointPages: FALLBACK_AUTOCHECKPOINT_PAGES }),
          startPosition: this.lastPosition(),
        },
        (written, epoch) => committed(written, epoch),
      );
      this.writes = thread;
      this.heads = new KnownHeads(thread.othersCommitted(() => this.dataVersionNow(), () => this.lastPosition()));
    } else {
      this.heads = new KnownHeads(versionMoved(() => this.dataVersionNow(), -1n));
      this.writes = new GroupCommit(
        this.db,
        (sql) => this.prepare(sql),
        this.keys,
        (written) => committed(written),
        // in the group's write transaction (which sees every other commit): what is known of the heads is exact now
        () => {
          this.heads.current();
          return this.heads.known;
        },
      );
    }
    this.heads.current();
    this.heads.saw(this.lastPosition());
  }

  private dataVersionNow(): bigint {
    return (this.stmt.dataVersion.get() as { data_version: bigint }).data_version;
  }

  private lastPosition(): bigint {
    return (this.stmt.head.get() as { head: bigint | null }).head ?? -1n;
  }

  append(stream: string, events: NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    try {
      assertAppendArguments(stream, events, expected);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.enqueue([{ stream, events, expected }]).then((r) => ({ nextRevision: r.streams[0]!.nextRevision, position: r.position, ...(r.replayed && { replayed: true }) }));
  }

  appendMany(parts: StreamAppend[]): Promise<MultiAppendResult> {
    return this.appendWithKeys(parts, []);
  }

  /**
   * appendMany, and its data key changes in the same transaction (nothing of it when it fails: SubjectKeyChange): new
   * keys stored, keys forgotten, and the keys its events were sealed with checked to be the subjects' still. A subject
   * that has a stored key already, other than the one given (another process created it first), or whose key the
   * events were sealed with is gone, fails the append with SubjectKeyConflictError: seal again with the stored key.
   */
  appendWithKeys(parts: StreamAppend[], keys: readonly SubjectKeyChange[]): Promise<MultiAppendResult> {
    try {
      assertAppendManyArguments(parts, keys.map((k) => k.subjectId));
    } catch (error) {
      return Promise.reject(error);
    }
    return this.enqueue(parts, keys);
  }

  /** whether the file holds any subject's key (EmbeddedKeyStore.open: keys.sqlite must be the one written with it) */
  holdsSubjectKeys(): boolean {
    return this.keys.holdsAny();
  }

  /** The stored data keys of these subjects (as stored); a subject without one is absent. */
  findSubjectKeys(subjectIds: readonly string[]): Map<string, Uint8Array> {
    return this.keys.find(subjectIds);
  }

  /** The log position of the latest deletion that forgot each subject's key (SubjectKeyTable.forgottenAt). */
  subjectKeysForgottenAt(subjectIds: readonly string[]): Map<string, bigint> {
    const at = this.keys.forgottenAt(subjectIds);
    // a tombstone's position is a log position another process's deletion reached (KnownHeads.saw)
    for (const position of at.values()) this.heads.saw(position);
    return at;
  }

  /** Stores keys on their own, in one transaction, durably; a subject that has a key keeps it. */
  storeSubjectKeys(keys: readonly NewSubjectKey[]): void {
    this.keys.store(keys);
  }

  /** Deletes the subjects' data keys and every trace of them (and of those an append deleted): SubjectKeyTable.forget */
  forgetSubjectKeys(subjectIds: readonly string[], forgottenInAppend: readonly string[] = []): Promise<void> {
    return this.keys.forget(subjectIds, forgottenInAppend);
  }

  private enqueue(parts: StreamAppend[], keys: readonly SubjectKeyChange[] = []): Promise<MultiAppendResult> {
    if (this.closed) return Promise.reject(new Error('SqliteEventStore is closed'));
    return this.writes instanceof CommitThread ? this.writes.enqueue(parts, keys, this.heads.now) : this.writes.enqueue(parts, keys);
  }

  async *readStream(stream: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    const fromRevision = options.fromRevision ?? 0n;
    if (options.toPosition !== undefined || options.until !== undefined || options.maxCount !== undefined) {
      yield* this.readStreamFiltered(stream, fromRevision, options);
      return;
    }
    this.heads.currentThisTurn();
    // (an append in flight on the commit thread may be committed already: its answer has not moved the head yet)
    const known = this.writes instanceof CommitThread && this.writes.inFlight(stream) ? undefined : this.heads.headFor(stream, fromRevision);
    const epoch = this.heads.now;
    if (known !== undefined && fromRevision > known) return;
    const stmt = this.streamStatement('stream = ? AND revision >= ?');
    // from the revision before the one asked for: finding it and nothing after it proves the head (the next read
    // of an unchanged stream is then answered from memory)
    let from = fromRevision > 0n ? fromRevision - 1n : 0n;
    let last: bigint | undefined = fromRevision > 0n ? undefined : -1n;
    for (;;) {
      const rows = stmt.all(stream, from) as unknown as EventRow[];
      this.sawLast(rows);
      for (const row of rows) {
        last = row.revision;
        if (row.revision >= fromRevision) yield toRecorded(row);
      }
      if (rows.length < this.pageSize) {
        // unknown only when the revision before the one asked for is not there either: that proves no head
        if (last !== undefined) this.heads.note(stream, last, epoch);
        return;
      }
      from = rows[rows.length - 1]!.revision + 1n;
    }
  }

  private async *readStreamFiltered(stream: string, fromRevision: bigint, options: ReadStreamOptions): AsyncIterable<RecordedEvent> {
    const where = ['stream = ?', 'revision >= ?'];
    if (options.toPosition !== undefined) where.push('position <= ?');
    if (options.until !== undefined) where.push('created <= ?');
    let left = options.maxCount ?? Number.POSITIVE_INFINITY;
    // a short read (a command's span) asks for about the rows it takes, a power of two (probe 49 F1: 1,000 read for 1)
    const stmt = this.streamStatement(where.join(' AND '), Math.min(this.pageSize, 2 ** Math.ceil(Math.log2(Math.max(1, left)))));
    const extra: SQLInputValue[] = [...(options.toPosition === undefined ? [] : [options.toPosition]), ...(options.until === undefined ? [] : [options.until.getTime()])];
    while (left > 0) {
      const rows = stmt.all(stream, fromRevision, ...extra) as unknown as EventRow[];
      this.sawLast(rows);
      for (const row of rows) {
        yield toRecorded(row);
        if (--left === 0) return;
      }
      if (rows.length < this.pageSize) return;
      fromRevision = rows[rows.length - 1]!.revision + 1n;
    }
  }

  private streamStatement(where: string, limit = this.pageSize): StatementSync {
    const key = `${where} ${limit}`;
    return this.readStreamStatements.get(key) ?? this.readStreamStatements.set(key, this.prepare(`SELECT ${COLUMNS} FROM events WHERE ${where} ORDER BY revision LIMIT ${limit}`)).get(key)!;
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

  requestBegins = (): void => this.heads.lookAtNextRead();
  othersEpoch = (): number => this.heads.currentThisTurn();
  indexesOrganizations = (): boolean => true; // (organization-index.ts)
  othersMayWrite = (may: boolean): void => this.heads.setOthersMayWrite(may);
  headPosition = async (): Promise<bigint> => this.heads.saw(this.lastPosition());

  /** rows read from the file, in revision or position order: the last is the latest (KnownHeads.saw) */
  private sawLast = (rows: EventRow[]): void => void (rows.length > 0 && this.heads.saw(rows[rows.length - 1]!.position));

  async ping(): Promise<void> {
    if (this.closed) throw new Error('SqliteEventStore is closed');
    if (this.writes instanceof CommitThread) this.writes.assertRunning();
    this.db.prepare('SELECT 1').get();
  }

  /** Commits what is queued, ends live subscriptions, closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.writes instanceof GroupCommit) this.writes.flush();
    this.closed = true;
    // what was queued before is committed first
    if (this.writes instanceof CommitThread) await this.writes.close();
    this.commits.emit('close');
    await this.checkpointer?.stop();
    this.db.close();
  }

  // ---- internals shared with SqliteSubscription ----

  /** @internal rows strictly after `after`, in position order, matching the filter */
  readAfter(after: bigint, filter: ReadAllOptions['filter'], limit: number): EventRow[] {
    const eventTypes = filter?.eventTypes ?? [];
    const prefixes = filter?.streamPrefixes ?? [];
    const limitClause = this.pageLimit(limit);
    // one organization's events by its index, where every later event names its organization (organization-index.ts)
    const organization = filter?.organizationId !== undefined && indexedAfter(this.db, after) ? [filter.organizationId] : [];
    const key = `${eventTypes.length}:${prefixes.length}:${organization.length}:${limitClause}`;
    let stmt = this.readAllStatements.get(key);
    if (!stmt) {
      const where = ['position > ?'];
      if (eventTypes.length > 0) where.push(`type IN (${eventTypes.map(() => '?').join(', ')})`);
      // instr(...) = 1 is a case-sensitive, wildcard-free "starts with" (LIKE is case-insensitive).
      if (prefixes.length > 0) where.push(`(${prefixes.map(() => 'instr(stream, ?) = 1').join(' OR ')})`);
      if (organization.length > 0) where.push(OF_ORGANIZATION);
      stmt = this.prepare(
        `SELECT ${COLUMNS} FROM events WHERE ${where.join(' AND ')} ORDER BY position ${limitClause}`,
      );
      this.readAllStatements.set(key, stmt);
    }
    const bound = [after, ...eventTypes, ...prefixes, ...organization];
    const rows = (limitClause === LIMIT_BOUND ? stmt.all(...bound, limit) : stmt.all(...bound)) as unknown as EventRow[];
    this.sawLast(rows);
    return rows;
  }

  /**
   * The LIMIT of a page read: a full page's as a literal. SQLite (3.47+) lets the value bound to a LIMIT parameter choose
   * the plan, so it prepares such a statement again at every run once a value is bound: ~15 us more per read (ADR 0010,
   * fourth pass). Another limit (the last page of a maxCount) stays a parameter here; a stream's reads (streamStatement)
   * write theirs, a page's or a span's power of two, as a literal. */
  private pageLimit(limit: number): string {
    return limit === this.pageSize ? `LIMIT ${this.pageSize}` : LIMIT_BOUND;
  }

  /** @internal fault injection in tests (test/support/faults.ts): runs `sql` on every connection that appends */
  async execOnWriters(sql: string): Promise<void> {
    this.db.exec(sql);
    if (this.writes instanceof CommitThread) await this.writes.exec(sql);
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

  private prepare(sql: string): StatementSync {
    const stmt = this.db.prepare(sql);
    stmt.setReadBigInts(true);
    return stmt;
  }
}
