import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { DataDirProblem } from '../data-dir-problem';

/**
 * The data keys of events.sqlite spread over KEY_BUCKETS tables, `subject_keys_00` … `subject_keys_ff`, by a hash of
 * the subject id (keyBucket), so that forgetting a key writes only its own table anew (KeyBuckets.rewrite).
 *
 * Why: no page of the file may keep a copy of a forgotten key, and the only sure way SQLite leaves (a page rebuilt by a
 * split keeps copies of cells in its unused space: rewriteKeyTable) is to clear the whole b-tree and insert what is left.
 * In one table that cost grew with every key ever made: ~0.6–0.9 s of the main thread per deletion at ~200,000 keys
 * (probe 42 F2: a key per user and per invitation), with every other write waiting. In 256 tables, ~800 keys each at
 * that size: a few ms (docs/adr/0026-data-keys-in-buckets.md).
 *
 * The count and the hash are part of the data format (DATA_FORMAT 3): changed, a key would be looked for in another
 * table and read as forgotten.
 */
export const KEY_BUCKETS = 256;

/** FNV-1a (32 bits) over the id's UTF-16 code units, low 8 bits: stable, cheap (a cold load looks up 200,000 ids) */
export function keyBucket(subjectId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < subjectId.length; i++) hash = Math.imul(hash ^ subjectId.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % KEY_BUCKETS;
}

/** the table holding a subject's key */
export const keyTableOf = (subjectId: string): string => bucketTable(keyBucket(subjectId));
const bucketTable = (bucket: number): string => `subject_keys_${bucket.toString(16).padStart(2, '0')}`;
/** every table of keys, by bucket */
export const BUCKET_TABLES: readonly string[] = Array.from({ length: KEY_BUCKETS }, (_, b) => bucketTable(b));

/** the layout before session 42: every key in one table (moved by moveKeysIntoBuckets) */
const SINGLE_TABLE = 'subject_keys';

/**
 * Creates the tables where missing, in one transaction (256 statements on their own would be 256 fsyncs: ~100 ms for a
 * new file), then moves the keys of a file written before into them (moveKeysIntoBuckets).
 */
export function setUpKeyTables(db: DatabaseSync, onMoved?: (count: number, ms: number) => void): void {
  const present = (db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table' AND name GLOB 'subject_keys_[0-9a-f][0-9a-f]'").get() as { n: number }).n;
  if (present < KEY_BUCKETS) {
    db.exec('BEGIN IMMEDIATE');
    try {
      for (const t of BUCKET_TABLES) db.exec(`CREATE TABLE IF NOT EXISTS ${t} (subject TEXT PRIMARY KEY, key BLOB NOT NULL) WITHOUT ROWID`);
      db.exec('COMMIT');
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw error;
    }
  }
  const started = performance.now();
  const moved = moveKeysIntoBuckets(db);
  if (moved > 0) onMoved?.(moved, performance.now() - started);
}

/** the in-memory database of a connection that rewrite copies a table's keys through (attached once) */
const SCRATCH = 'subject_keys_scratch';
const withScratch = new WeakSet<DatabaseSync>();

/** one statement per table, prepared when first used */
class PerTable {
  private readonly statements: (StatementSync | undefined)[] = Array.from({ length: KEY_BUCKETS }, () => undefined);
  constructor(
    private readonly db: DatabaseSync,
    private readonly sql: (table: string) => string,
  ) {}
  of(bucket: number): StatementSync {
    return (this.statements[bucket] ??= this.db.prepare(this.sql(BUCKET_TABLES[bucket]!)));
  }
}

/** The stored data keys of one connection, across the tables (see KEY_BUCKETS). */
export class KeyBuckets {
  private readonly select: PerTable;
  private readonly selectMany: PerTable;
  private readonly insertIfAbsent: PerTable;
  private readonly remove: PerTable;

  constructor(private readonly db: DatabaseSync) {
    this.select = new PerTable(db, (t) => `SELECT key FROM ${t} WHERE subject = ?`);
    this.selectMany = new PerTable(db, (t) => `SELECT subject, key FROM ${t} WHERE subject IN (SELECT value FROM json_each(?))`);
    this.insertIfAbsent = new PerTable(db, (t) => `INSERT INTO ${t} (subject, key) VALUES (?, ?) ON CONFLICT (subject) DO NOTHING`);
    this.remove = new PerTable(db, (t) => `DELETE FROM ${t} WHERE subject = ?`);
  }

  /** a subject's stored key, if it has one */
  get(subjectId: string): Uint8Array | undefined {
    return (this.select.of(keyBucket(subjectId)).get(subjectId) as { key: Uint8Array } | undefined)?.key;
  }

  /** the stored keys of these subjects; a subject without one is absent */
  getMany(subjectIds: readonly string[]): Map<string, Uint8Array> {
    const found = new Map<string, Uint8Array>();
    for (const [bucket, ids] of byBucket(subjectIds)) {
      if (ids.length === 1) {
        const key = this.get(ids[0]!);
        if (key) found.set(ids[0]!, key);
        continue;
      }
      for (const r of this.selectMany.of(bucket).all(JSON.stringify(ids)) as { subject: string; key: Uint8Array }[]) found.set(r.subject, r.key);
    }
    return found;
  }

  /** stores a key unless the subject has one; whether it was stored */
  insert(subjectId: string, stored: Uint8Array): boolean {
    return Number(this.insertIfAbsent.of(keyBucket(subjectId)).run(subjectId, stored).changes) === 1;
  }

  /** deletes a subject's key (secure_delete on the connection overwrites the cell; rewrite clears the copies) */
  delete(subjectId: string): void {
    this.remove.of(keyBucket(subjectId)).run(subjectId);
  }

  /** whether any table holds a key */
  any(): boolean {
    return BUCKET_TABLES.some((t) => this.db.prepare(`SELECT 1 FROM ${t} LIMIT 1`).get() !== undefined);
  }

  /**
   * Writes anew, in the caller's write transaction, the tables of these subjects, so that no page of them keeps a copy
   * of a key deleted before (rewriteKeyTable). Attach the scratch database first (attachKeyScratch: outside a transaction).
   */
  rewrite(subjectIds: readonly string[]): void {
    for (const bucket of new Set(subjectIds.map(keyBucket))) rewriteKeyTable(this.db, BUCKET_TABLES[bucket]!);
  }
}

const byBucket = (subjectIds: readonly string[]): Map<number, string[]> => {
  const groups = new Map<number, string[]>();
  for (const id of subjectIds) {
    const bucket = keyBucket(id);
    const group = groups.get(bucket);
    if (group) group.push(id);
    else groups.set(bucket, [id]);
  }
  return groups;
};

/**
 * Attaches the in-memory database rewrite copies the keys through, once per connection: outside a transaction
 * (SQLite refuses ATTACH in one). In memory, never a temporary file: no copy of a key on disk.
 */
export function attachKeyScratch(db: DatabaseSync): void {
  if (withScratch.has(db)) return;
  db.exec(`ATTACH DATABASE ':memory:' AS ${SCRATCH};
    CREATE TABLE IF NOT EXISTS ${SCRATCH}.subject_keys_copy (subject TEXT PRIMARY KEY, key BLOB NOT NULL) WITHOUT ROWID`);
  withScratch.add(db);
}

/**
 * Writes `table` of `db` anew, in the caller's write transaction (secure_delete on), so that no page of it keeps a
 * copy of a key deleted before. secure_delete zeroes a deleted cell where it is, but not the copies SQLite leaves in a
 * page's unused space when a split or a merge rebuilds the page (btree.c rebuildPage, when editing the page in place
 * fails: the bytes between the new cell pointers and the new cells stay as they were, copies of cells that were on the
 * page), and no later delete reaches them: the copy of a key forgotten since stays in the file until inserts into that
 * page happen to overwrite it. A stress of these statements (session 32) found whole ones, now and then. `DELETE`
 * without `WHERE` clears the b-tree (OP_Clear, not row by row): every page of it but the root is freed and the root
 * emptied, both zeroed whole by secure_delete; the rows, copied first, are inserted again in key order, onto zeroed
 * pages. A page those inserts rebuild may keep copies of keys live now, which the next rewrite removes once forgotten.
 * Cost: the table written whole (~90 bytes a key; ~4 µs a key), other connections' writes waiting meanwhile.
 */
export function rewriteKeyTable(db: DatabaseSync, table: string): void {
  if (!withScratch.has(db)) throw new Error('rewriteKeyTable: attachKeyScratch first (outside a transaction)');
  db.exec(`INSERT INTO ${SCRATCH}.subject_keys_copy SELECT subject, key FROM main.${table};
    DELETE FROM main.${table};
    INSERT INTO main.${table} SELECT subject, key FROM ${SCRATCH}.subject_keys_copy;
    DELETE FROM ${SCRATCH}.subject_keys_copy`);
}

/**
 * Moves the keys of a file written before session 42 (one table, `subject_keys`) into their tables, in one write
 * transaction (a crash leaves them where they were), then clears the old table (its pages freed and zeroed by
 * secure_delete, copies in page gaps with them) and drops it. Several processes opening the file at once: the first
 * moves them, the others find no old table. A subject with another key in its table already is refused
 * (DataDirProblem), nothing moved: only an earlier version writing after a later one had moved the keys makes one,
 * and which key opens the subject's data cannot be told (probe 42b F2: one was dropped silently). Returns how many
 * keys moved.
 */
function moveKeysIntoBuckets(db: DatabaseSync): number {
  const hasSingleTable = () => db.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = '${SINGLE_TABLE}'`).get() !== undefined;
  if (!hasSingleTable()) return 0;
  const buckets = new KeyBuckets(db);
  db.exec('BEGIN IMMEDIATE');
  let moved = 0;
  try {
    if (hasSingleTable()) {
      const differing: string[] = [];
      for (const row of db.prepare(`SELECT subject, key FROM ${SINGLE_TABLE}`).iterate() as Iterable<{ subject: string; key: Uint8Array }>) {
        if (!buckets.insert(row.subject, row.key) && !Buffer.from(buckets.get(row.subject)!).equals(Buffer.from(row.key))) differing.push(row.subject);
        moved++;
      }
      if (differing.length > 0)
        throw new DataDirProblem(
          `events.sqlite holds two different data keys for ${differing.length} subject(s) (${differing.slice(0, 3).join(', ')}${differing.length > 3 ? ', …' : ''}): an earlier version of Rollcall wrote to this data dir after a later one had moved its keys (docs/adr/0026). Nothing was changed; restore the data dir from a backup taken before the earlier version ran on it`,
        );
      db.exec(`DELETE FROM ${SINGLE_TABLE}; DROP TABLE ${SINGLE_TABLE}`);
    }
    db.exec('COMMIT');
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
  // the WAL holds the old table's pages as they were: copied back (zeroed) and emptied, as after a forget
  db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  return moved;
}
