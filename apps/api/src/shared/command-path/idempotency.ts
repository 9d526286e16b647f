import { Logger } from '@nestjs/common';
import { sameRequest } from './command-context';
import { openDatabase } from '@rollcall/event-store';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { KeyedMutex } from './keyed-mutex';

/** Where a command's events are in the log: `count` events of `stream` from `fromRevision` (a bigint as text). */
export interface EventSpan {
  stream: string;
  fromRevision: string;
  count: number;
}

/** The first answer to a write, kept under its Idempotency-Key. */
export interface StoredAnswer {
  requestHash: string;
  status: number;
  body: unknown;
  /**
   * what the write was about, to tell whether an erasure reached it since (erased-requests.ts): where its events are,
   * and the users its request named (a write that appended nothing). Absent for answers kept before session 44.
   */
  about?: RequestAbout;
}

/** What a write's request was about: its events, and the users it named. */
export interface RequestAbout {
  spans: EventSpan[];
  users: string[];
}

export interface IdempotencyStore {
  /** the answer kept under `key`, else under `orUnder` (a form of it an earlier version kept answers under) */
  get(key: string, orUnder?: string): Promise<StoredAnswer | undefined>;
  /** Stores the first answer; returns the answer stored under the key (another replica's, when it won the race). */
  put(key: string, answer: StoredAnswer): Promise<StoredAnswer>;
  /** drops the answers kept under these keys (one the log does not hold: Idempotency) */
  forget(keys: readonly string[]): Promise<void>;
  close(): Promise<void>;
}
export const IDEMPOTENCY_STORE = Symbol('IdempotencyStore');

/** how long an answer is kept under its key (both stores): 7 days; a retry after that is decided again */
export const DEFAULT_IDEMPOTENCY_RETENTION_SECONDS = 7 * 24 * 60 * 60;
/** how often the embedded store drops the answers past their retention (and once as it opens) */
const PRUNE_EVERY_MS = 60 * 60 * 1000;
/**
 * answers dropped per turn of the event loop: an hour of a busy API's keyed writes is hundreds of thousands of rows,
 * and one DELETE of them all held every request for over a second (probe 43b F1: 360,000 rows, 1.2 s)
 */
const PRUNE_BATCH = 2_000;

/**
 * Embedded: a table in `${dataDir}/api.sqlite` (WAL, synchronous=FULL). Answers stored in the same turn of the
 * event loop are written in one transaction (one fsync). Answers older than the retention are deleted as it opens and
 * hourly after (probe 43 F4: the table only grew; MongoDB's store drops them with a TTL index).
 */
export class SqliteIdempotencyStore implements IdempotencyStore {
  private readonly db: DatabaseSync;
  private readonly select;
  private readonly insert;
  private readonly prune;
  private readonly delete;
  private prunedAt = 0;

  constructor(
    dataDir: string,
    private readonly retentionSeconds = DEFAULT_IDEMPOTENCY_RETENTION_SECONDS,
    private readonly now: () => number = Date.now,
  ) {
    // another API process on the same data dir may hold the write lock for a moment: openDatabase waits for it
    this.db = openDatabase(join(dataDir, 'api.sqlite'), {
      setUp: `PRAGMA synchronous=FULL;
      CREATE TABLE IF NOT EXISTS idempotency (key TEXT PRIMARY KEY, request_hash TEXT NOT NULL, status INTEGER NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS idempotency_created_at ON idempotency (created_at)`,
    });
    // answers kept before session 44 say nothing of what they were about (a column added to the table as it was; by
    // whichever of two processes starting together on the data dir comes first: replicas e2e, CI27)
    const columns = this.db.prepare('SELECT name FROM pragma_table_info(?)').all('idempotency') as { name: string }[];
    if (!columns.some((c) => c.name === 'about'))
      try {
        this.db.exec('ALTER TABLE idempotency ADD COLUMN about TEXT');
      } catch (error) {
        if (!/duplicate column name/.test((error as Error).message)) throw error;
      }
    this.select = this.db.prepare('SELECT request_hash, status, body, about FROM idempotency WHERE key = ?');
    this.delete = this.db.prepare('DELETE FROM idempotency WHERE key = ?');
    this.insert = this.db.prepare('INSERT OR IGNORE INTO idempotency (key, request_hash, status, body, created_at, about) VALUES (?, ?, ?, ?, ?, ?)');
    // (created_at is an ISO time: its text orders as its time)
    this.prune = this.db.prepare(`DELETE FROM idempotency WHERE rowid IN (SELECT rowid FROM idempotency WHERE created_at < ? LIMIT ${PRUNE_BATCH})`);
    this.pruneWhenDue();
  }

  /** drops the answers past their retention, at most once an hour, a batch per turn of the event loop */
  private pruneWhenDue(): void {
    const now = this.now();
    if (now - this.prunedAt < PRUNE_EVERY_MS) return;
    this.prunedAt = now;
    const before = new Date(now - this.retentionSeconds * 1000).toISOString();
    const batch = () => {
      if (!this.db.isOpen) return;
      try {
        if (Number(this.prune.run(before).changes) === PRUNE_BATCH) setImmediate(batch).unref();
      } catch {
        // (another process on the data dir held the write lock past the busy timeout): the next write tries again
        this.prunedAt = 0;
      }
    };
    setImmediate(batch).unref();
  }

  /** resolves once the answers past their retention are dropped (tests) */
  async pruned(): Promise<void> {
    while (this.db.isOpen && this.db.prepare('SELECT 1 FROM idempotency WHERE created_at < ? LIMIT 1').get(new Date(this.prunedAt - this.retentionSeconds * 1000).toISOString()))
      await new Promise((resolve) => setImmediate(resolve));
  }

  async get(key: string, orUnder?: string): Promise<StoredAnswer | undefined> {
    type Row = { request_hash: string; status: number; body: string; about: string | null };
    const row = (this.select.get(key) as Row | undefined) ?? (orUnder === undefined ? undefined : (this.select.get(orUnder) as Row | undefined));
    if (!row) return undefined;
    return { requestHash: row.request_hash, status: Number(row.status), body: JSON.parse(row.body), ...(row.about !== null && { about: JSON.parse(row.about) as RequestAbout }) };
  }

  async forget(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.delete.run(key);
  }

  private queue: { row: [string, string, number, string, string, string | null]; done: (error?: unknown) => void }[] = [];

  put(key: string, answer: StoredAnswer): Promise<StoredAnswer> {
    return new Promise<void>((resolve, reject) => {
      if (this.queue.length === 0) setImmediate(() => this.flush());
      this.queue.push({
        row: [key, answer.requestHash, answer.status, JSON.stringify(answer.body ?? null), new Date(this.now()).toISOString(), answer.about ? JSON.stringify(answer.about) : null],
        done: (error) => (error ? reject(error) : resolve()),
      });
      // INSERT OR IGNORE: another process on the same data dir may have stored its answer first
    }).then(async () => (this.db.isOpen ? await this.get(key) : undefined) ?? answer);
  }

  private flush(): void {
    const batch = this.queue;
    if (batch.length === 0) return; // flushed by close() before its turn came
    this.queue = [];
    try {
      this.db.exec('BEGIN IMMEDIATE');
      for (const { row } of batch) this.insert.run(...row);
      this.db.exec('COMMIT');
      for (const { done } of batch) done();
      this.pruneWhenDue();
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      for (const { done } of batch) done(error);
    }
  }

  /** answers still queued are stored first */
  async close(): Promise<void> {
    if (!this.db.isOpen) return;
    this.flush();
    this.db.close();
  }
}

export type IdempotentOutcome<T> = { replayed: false; body: T } | { replayed: true; body: unknown };

export class IdempotencyKeyReusedError extends Error {
  readonly code = 'IDEMPOTENCY_KEY_REUSED';
  constructor() {
    super('This Idempotency-Key was already used with a different request; use a new key for a new request.');
  }
}

/**
 * The request under this key was about a user since deleted or an address since erased (erased-requests.ts): its
 * answer is neither replayed nor compared with the request sent now, so that no guess of an erased address or name
 * can be confirmed by a replay against a refusal (probe 40 F4; docs/rules.md#rule-12).
 */
export class IdempotencyKeyErasedError extends Error {
  readonly code = 'IDEMPOTENCY_KEY_ERASED';
  constructor() {
    super('The request sent under this Idempotency-Key was about a user since deleted or an address since erased: it is no longer replayed nor compared; use a new key.');
  }
}

/**
 * What the log says of a stored answer (erased-requests.ts `answerInLog`): `kept` (replayed), `erased` (an erasure
 * reached what its request was about since), or `lost` — its events are not in the log, or other events stand where
 * they were: a data dir restored from a backup, or a log that lost its last events, with the answers kept after them
 * (probe 62 F1: a deletion answered "done" again that the restored log did not hold). `keys`: the forms of the request's
 * key its events may carry.
 */
export type AnswerInLog = (about: RequestAbout, keys: readonly string[]) => Promise<'kept' | 'erased' | 'lost'>;

/**
 * Runs a write at most once per key: the same key and request returns the first answer (and appends nothing); the
 * same key with another request is refused. Retries in flight wait for the first one. Only successful answers are
 * kept: a refused request appended nothing, and its retry is decided again. `stored` is what is kept of the answer
 * (secrets left out) and `about` what its request was about. If the process dies between the append and storing the
 * answer, the retry finds its events in the log instead (StreamHandler) — this store is the fast path, the log is the
 * truth. A stored answer whose events an erasure reached since answers IdempotencyKeyErasedError, whatever the request.
 */
export class Idempotency {
  private readonly mutex = new KeyedMutex();
  private readonly logger = new Logger('Idempotency');
  constructor(
    private readonly store: IdempotencyStore,
    private readonly inLog: AnswerInLog = async () => 'kept',
  ) {}

  /**
   * `keyed`: the request's key and fingerprint, and the key as versions before session 33 kept answers under (in
   * clear), looked up when the key is not found; none: the write runs as it is (nothing to recognise a retry by)
   */
  run<T>(
    keyed: { key: string; clearKey?: string; requestHash: string; earlierRequestHashes?: readonly string[] } | undefined,
    write: () => Promise<{ status: number; body: T; stored: unknown; about?: RequestAbout }>,
  ): Promise<IdempotentOutcome<T>> {
    if (!keyed) return write().then((r) => ({ replayed: false, body: r.body }));
    const { key, requestHash } = keyed;
    return this.mutex.run(key, async () => {
      const keys = keyed.clearKey === undefined ? [key] : [key, keyed.clearKey];
      const first = await this.store.get(key, keyed.clearKey);
      // an answer the log does not hold is no answer: dropped, and the request decided again (its write was lost)
      const verdict = first?.about ? await this.inLog(first.about, keys) : 'kept';
      if (first && verdict === 'lost') await this.store.forget(keys);
      else if (first) return this.replayed(first, keyed, verdict === 'erased');
      const answer = await write();
      const mine: StoredAnswer = { requestHash, status: answer.status, body: answer.stored, ...(answer.about && { about: answer.about }) };
      let stored: StoredAnswer;
      try {
        stored = await this.store.put(key, mine);
      } catch (error) {
        // the write is done (its events are in the log, under this key): a store that cannot keep its answer now (a
        // full disk) must not turn it into a refusal the client takes for "not done" (probe 95 F1: 18 invitations in
        // the log were answered 503). The retry, if any, finds its events in the log (StreamHandler) and answers them.
        this.logger.warn(`the answer of a keyed write could not be kept (${(error as Error).message}): answered all the same; a retry is answered from the log`);
        return { replayed: false, body: answer.body };
      }
      // another replica ran the same key at the same time and stored first: every caller gets that first answer
      if (stored !== mine && JSON.stringify(stored.body) !== JSON.stringify(mine.body)) return this.replayed(stored, keyed);
      return { replayed: false, body: answer.body };
    });
  }

  /** the stored answer, for the same request; the erasure is asked first, so that it answers alike for any request */
  private async replayed(first: StoredAnswer, request: { requestHash: string; earlierRequestHashes?: readonly string[] }, erased?: boolean): Promise<IdempotentOutcome<never>> {
    if (erased ?? (first.about && (await this.inLog(first.about, [])) === 'erased')) throw new IdempotencyKeyErasedError();
    if (!sameRequest(request, first.requestHash)) throw new IdempotencyKeyReusedError();
    return { replayed: true, body: first.body };
  }
}
