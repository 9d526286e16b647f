import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { SubjectKeyConflictError } from './append-checks';
import { KeyBuckets, attachKeyScratch } from './key-buckets';

/** A data key created for a subject's first personal data, stored in the transaction of the events sealed with it. */
export interface NewSubjectKey {
  subjectId: string;
  /** the key as stored (the key store wraps it: docs/adr/0010-command-throughput.md) */
  stored: Uint8Array;
}

/**
 * What an append does with data keys in its transaction (appendWithKeys; docs/adr/0003, "Erasure and sealing race"):
 * - a new key (no `kind`, or 'new'): stored; another key stored first for the subject fails the append;
 * - 'sealed-with': its events were sealed with this stored key, which must still be the subject's: a key forgotten
 *   (or forgotten and made again) since fails the append, which is sealed again — so no event after a deletion in the
 *   log is sealed under a key the deletion forgot;
 * - 'forget': deleted in the append's transaction (a user's deletion), so that no append after it in the log passes
 *   the check above with the forgotten key.
 * A failed check is SubjectKeyConflictError, naming the subjects: nothing of the append was written.
 */
export type SubjectKeyChange = (NewSubjectKey & { kind?: 'new' | 'sealed-with' }) | { kind: 'forget'; subjectId: string };

/** the keys' tables are made by setUpKeyTables (./key-buckets.ts) */
export const SUBJECT_KEYS_SCHEMA = `CREATE TABLE IF NOT EXISTS subject_tombstones (subject TEXT PRIMARY KEY, position INTEGER NOT NULL) WITHOUT ROWID;`;

/**
 * The data keys of crypto-shredding (tables `subject_keys_00` … `subject_keys_ff`: ./key-buckets.ts), in the event
 * store's file: a subject's first key is committed with the first events sealed with it, under one fsync (the group
 * commit calls `applyInOpenTransaction`). Forgetting a key overwrites its bytes (the connection runs with
 * secure_delete), writes its table anew (no copy of it left in a page's unused space: KeyBuckets.rewrite) and
 * truncates the WAL, so that no earlier page image holding it survives.
 *
 * Each forgotten subject leaves a tombstone (table `subject_tombstones`): the log position of the latest deletion that
 * forgot its key (its append's first event, or the log's head when forgotten on its own). A snapshot writer asks it
 * whether a subject's key of the moment may be one made after a deletion its process has not heard of yet
 * (docs/adr/0003, "Erasure and sealing race", point 7). Subject ids are pseudonymous (the deletion's metadata names
 * them in the log too): a tombstone holds nothing personal.
 */
export class SubjectKeyTable {
  private readonly keys: KeyBuckets;
  private readonly stmt: {
    begin: StatementSync;
    commit: StatementSync;
    tombstone: StatementSync;
    tombstones: StatementSync;
    head: StatementSync;
  };

  constructor(
    private readonly db: DatabaseSync,
    private readonly busyTimeoutMs: number,
    private readonly isClosed: () => boolean,
  ) {
    this.keys = new KeyBuckets(db);
    this.stmt = {
      begin: db.prepare('BEGIN IMMEDIATE'),
      commit: db.prepare('COMMIT'),
      tombstone: db.prepare(
        'INSERT INTO subject_tombstones (subject, position) VALUES (?, ?) ON CONFLICT (subject) DO UPDATE SET position = max(position, excluded.position)',
      ),
      tombstones: db.prepare('SELECT subject, position FROM subject_tombstones WHERE subject IN (SELECT value FROM json_each(?))'),
      head: db.prepare('SELECT coalesce(max(position), 0) AS head FROM events'),
    };
  }

  /** The stored data keys of these subjects (as stored); a subject without one is absent. */
  find(subjectIds: readonly string[]): Map<string, Uint8Array> {
    this.assertOpen();
    return this.keys.getMany(subjectIds);
  }

  /** whether any subject's key is stored */
  holdsAny(): boolean {
    this.assertOpen();
    return this.keys.any();
  }

  /** The log position of the latest deletion that forgot each subject's key; a subject never forgotten is absent. */
  forgottenAt(subjectIds: readonly string[]): Map<string, bigint> {
    this.assertOpen();
    if (subjectIds.length === 0) return new Map();
    this.stmt.tombstones.setReadBigInts(true);
    const rows = this.stmt.tombstones.all(JSON.stringify(subjectIds)) as { subject: string; position: bigint }[];
    return new Map(rows.map((r) => [r.subject, r.position]));
  }

  /** Stores keys on their own, in one transaction, durably; a subject that has a key keeps it. */
  store(keys: readonly NewSubjectKey[]): void {
    this.assertOpen();
    this.inTransaction(() => {
      for (const { subjectId, stored } of keys) this.keys.insert(subjectId, stored);
    });
  }

  /**
   * Inside the group commit's open transaction, an append's key changes (SubjectKeyChange): forgets first, then the
   * checks of the keys its events were sealed with, and the new keys. A failed check or a subject that has another key
   * already fails the append (SubjectKeyConflictError, see SqliteEventStore.appendWithKeys). A forgotten key leaves its
   * tombstone at `position`, the append's first event's: a log reader that has passed it has read the first of the
   * deletion's events it follows (every event of a deletion names the subjects it erased: PresenceFeed).
   */
  applyInOpenTransaction(changes: readonly SubjectKeyChange[], position: bigint): void {
    for (const change of changes)
      if (change.kind === 'forget') {
        this.keys.delete(change.subjectId);
        this.stmt.tombstone.run(change.subjectId, position);
      }
    const conflicts: string[] = [];
    const gone: string[] = [];
    for (const change of changes) {
      if (change.kind === 'forget') continue;
      const { subjectId, stored } = change;
      if (change.kind !== 'sealed-with' && this.keys.insert(subjectId, stored)) continue;
      const existing = this.keys.get(subjectId);
      // the same key: still the subject's (or, new, the same salt carried by a retry written first)
      if (existing === undefined || !Buffer.from(existing).equals(Buffer.from(stored))) (change.kind === 'sealed-with' ? gone : conflicts).push(subjectId);
    }
    if (conflicts.length > 0 || gone.length > 0) throw new SubjectKeyConflictError([...conflicts, ...gone], gone);
  }

  /**
   * Deletes the subjects' data keys (secure_delete: their bytes are overwritten in the file) and writes their tables
   * anew, with those of `forgottenInAppend` (keys an append's transaction deleted: FORGET_KEYS_WITH_EVENT), so that no
   * copy of them stays in a page's unused space (KeyBuckets.rewrite); then copies the WAL back and truncates it, so no
   * earlier page image holding a key stays in it. A checkpoint that other connections' readers keep from finishing is
   * tried again, for up to `busyTimeoutMs` more. Their tombstones are at the log's head: the deletion that asked for
   * this (appended before) is at or before it.
   */
  async forget(subjectIds: readonly string[], forgottenInAppend: readonly string[] = []): Promise<void> {
    this.assertOpen();
    attachKeyScratch(this.db);
    this.inTransaction(() => {
      if (subjectIds.length > 0) {
        const head = (this.stmt.head.get() as { head: number | bigint }).head;
        for (const id of subjectIds) {
          this.keys.delete(id);
          this.stmt.tombstone.run(id, head);
        }
      }
      this.keys.rewrite([...subjectIds, ...forgottenInAppend]);
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
    const deadline = performance.now() + this.busyTimeoutMs; // a clock that never steps: a timeout, not a time
    for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
      if (this.isClosed()) return;
      // tried without the busy handler, which would block the event loop while readers finish: waited here instead
      this.db.exec('PRAGMA busy_timeout = 0');
      let busy: number;
      try {
        busy = Number((this.db.prepare('PRAGMA wal_checkpoint(TRUNCATE)').get() as { busy: number | bigint }).busy);
      } finally {
        this.db.exec(`PRAGMA busy_timeout = ${this.busyTimeoutMs}`);
      }
      if (busy === 0) return;
      if (performance.now() >= deadline) throw new Error('the WAL of the event store could not be truncated after forgetting data keys: readers kept it busy');
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  private assertOpen(): void {
    if (this.isClosed()) throw new Error('SqliteEventStore is closed');
  }
}
