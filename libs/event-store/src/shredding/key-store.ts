import { openDatabase } from '../sqlite/open-database';
import { attachKeyScratch, rewriteKeyTable } from '../sqlite/key-buckets';
import { randomBytes } from 'node:crypto';
import { DatabaseSync } from 'node:sqlite';
import type { Binary, Collection, Long, MongoClient } from 'mongodb';
import { mongoDriver } from '../drivers/lazy-drivers';
import { DataDirProblem } from '../data-dir-problem';

/**
 * Per-subject data keys for crypto-shredding. Forgetting a subject deletes its key: everything encrypted with
 * it is unreadable from then on, wherever it was copied.
 */
export interface KeyStore {
  /** the subjects' keys, created (durably, before this resolves) where missing */
  ensure(subjectIds: readonly string[]): Promise<Map<string, Buffer>>;
  /** the subjects' keys; a forgotten or unknown subject is absent */
  find(subjectIds: readonly string[]): Promise<Map<string, Buffer>>;
  /**
   * Deletes the subjects' keys. `tombstone`: where a store that keeps tombstones but cannot write them in the
   * deletion's transaction stamps them (keys.sqlite, MongoDB; the embedded store stamps its own and ignores it).
   * Without it nothing is stamped (a snapshot's key shredded: no check asks for those subjects).
   */
  forget(subjectIds: readonly string[], tombstone?: TombstoneAt): Promise<void>;
  /**
   * The log position of the latest deletion that forgot each subject's key (a tombstone): the embedded store records
   * it in the deletion's own transaction; keys.sqlite and MongoDB when `forget` is given a TombstoneAt
   * (docs/adr/0003, "Erasure and sealing race", point 11). Absent: this store keeps none.
   */
  forgottenAt?(subjectIds: readonly string[]): Promise<Map<string, bigint>>;
  /** a secret created once per store, to derive pseudonymous subject ids (e.g. of email addresses) */
  pepper(): Promise<Buffer>;
  close(): Promise<void>;
}

/**
 * The tombstones of a forget outside the deletion's transaction (docs/adr/0003, point 11): at the deletion's
 * `position` before the keys go (a reader finding one takes the key as forgotten: the safe side), then at the log's
 * head read after they went: an event appended between the deletion and the forget was sealed under a key that is
 * gone now, erased with it, and must count as after no tombstone it precedes.
 */
export interface TombstoneAt {
  position: bigint;
  headAfter: () => Promise<bigint>;
}

export const PEPPER = '__pepper__';

/**
 * Embedded: a table in its own SQLite file (WAL, synchronous=FULL). Key creations arriving in the same turn
 * of the event loop are written in one transaction (one fsync), so many first-time subjects do not queue.
 */
export class SqliteKeyStore implements KeyStore {
  private readonly db: DatabaseSync;
  private readonly select;
  private readonly selectMany;
  private readonly insert;
  private readonly remove;
  private readonly tombstone;
  private readonly tombstones;
  private pending: { ids: string[]; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;

  constructor(file: string) {
    // another process opening the same data dir at once may hold the lock that WAL mode needs: openDatabase waits
    // secure_delete: a forgotten key's bytes are overwritten, not left in a free page of the file
    this.db = openDatabase(file, {
      setUp: `PRAGMA synchronous=FULL; PRAGMA secure_delete=ON;
      CREATE TABLE IF NOT EXISTS subject_keys (subject TEXT PRIMARY KEY, key BLOB NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS subject_tombstones (subject TEXT PRIMARY KEY, position INTEGER NOT NULL) WITHOUT ROWID`,
    });
    this.select = this.db.prepare('SELECT key FROM subject_keys WHERE subject = ?');
    this.selectMany = this.db.prepare('SELECT subject, key FROM subject_keys WHERE subject IN (SELECT value FROM json_each(?))');
    this.insert = this.db.prepare('INSERT OR IGNORE INTO subject_keys (subject, key) VALUES (?, ?)');
    this.remove = this.db.prepare('DELETE FROM subject_keys WHERE subject = ?');
    this.tombstone = this.db.prepare(
      'INSERT INTO subject_tombstones (subject, position) VALUES (?, ?) ON CONFLICT (subject) DO UPDATE SET position = max(position, excluded.position)',
    );
    this.tombstones = this.db.prepare('SELECT subject, position FROM subject_tombstones WHERE subject IN (SELECT value FROM json_each(?))');
    this.tombstones.setReadBigInts(true);
  }

  async ensure(subjectIds: readonly string[]): Promise<Map<string, Buffer>> {
    const missing = subjectIds.filter((id) => !this.select.get(id));
    if (missing.length > 0)
      await new Promise<void>((resolve, reject) => {
        this.pending.push({ ids: missing, resolve, reject });
        if (!this.scheduled) {
          this.scheduled = true;
          setImmediate(() => this.flush());
        }
      });
    return this.find(subjectIds);
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    this.scheduled = false;
    try {
      this.db.exec('BEGIN IMMEDIATE');
      for (const { ids } of batch) for (const id of ids) this.insert.run(id, randomBytes(32));
      this.db.exec('COMMIT');
      for (const p of batch) p.resolve();
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      for (const p of batch) p.reject(error);
    }
  }

  async find(subjectIds: readonly string[]): Promise<Map<string, Buffer>> {
    const rows = this.selectMany.all(JSON.stringify(subjectIds)) as { subject: string; key: Uint8Array }[];
    return new Map(rows.map((r) => [r.subject, Buffer.from(r.key)]));
  }

  async forget(subjectIds: readonly string[], tombstone?: TombstoneAt): Promise<void> {
    attachKeyScratch(this.db);
    this.inTransaction(() => {
      for (const id of subjectIds) {
        this.remove.run(id);
        if (tombstone) this.tombstone.run(id, tombstone.position);
      }
      // a copy of a key SQLite left in a page's unused space (a page rebuilt by a split or merge) goes too
      rewriteKeyTable(this.db, 'subject_keys');
    });
    // the WAL still holds the pages as they were before the delete: copy them back (zeroed) and empty the WAL file
    this.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    if (!tombstone) return;
    const head = await tombstone.headAfter();
    this.inTransaction(() => {
      for (const id of subjectIds) this.tombstone.run(id, head);
    });
  }

  private inTransaction(work: () => void): void {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      work();
      this.db.exec('COMMIT');
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  async forgottenAt(subjectIds: readonly string[]): Promise<Map<string, bigint>> {
    if (subjectIds.length === 0) return new Map();
    const rows = this.tombstones.all(JSON.stringify(subjectIds)) as { subject: string; position: bigint }[];
    return new Map(rows.map((r) => [r.subject, r.position]));
  }

  async pepper(): Promise<Buffer> {
    return (await this.ensure([PEPPER])).get(PEPPER)!;
  }

  /**
   * Refuses a keys.sqlite without the pepper beside a log that holds events (`logHead` ≥ 0): it was lost, or the log
   * comes from another data dir. A pepper made anew opens none of the personal data sealed so far, and the address
   * subjects are HMACs under it: the decision state would hold no address, and one in use could be taken again (probe
   * 33 F5). A new data dir (an empty log) gets its pepper.
   */
  async assertBelongsTo(logHead: bigint, file: string): Promise<void> {
    if (logHead < 0n || (await this.find([PEPPER])).has(PEPPER)) return;
    throw new DataDirProblem(
      `${file} holds no key secrets while the event log reaches position ${logHead}: the personal data in the log opens only with the keys.sqlite written with it. ` +
        'Restore keys.sqlite from the same backup as the event log (started with new keys, every personal field would be unreadable for good, and an address in use could be taken again)',
    );
  }

  /** whether the file holds keys of subjects other than these (EmbeddedKeyStore: a data dir written before ADR 0010) */
  async holdsSubjectsBesides(subjectIds: readonly string[]): Promise<boolean> {
    return this.db.prepare('SELECT 1 FROM subject_keys WHERE subject NOT IN (SELECT value FROM json_each(?)) LIMIT 1').get(JSON.stringify(subjectIds)) !== undefined;
  }

  async close(): Promise<void> {
    if (this.db.isOpen) this.db.close();
  }
}

/** the length of a subject's key (AES-256) */
export const KEY_BYTES = 32;

/** a stored key that cannot be read back as one: an error, never taken for a forgotten subject */
export class KeyDecodingError extends Error {
  override readonly name = 'KeyDecodingError';
}

/**
 * A stored key as a Buffer of its own (a copy). The driver returns BinData as a `Binary` (whose `buffer` may be
 * longer than its content: `value()` is the content), or, with `promoteBuffers=true`, as a Buffer viewing the
 * reply, whose `.buffer` is the whole pooled slab, not the key. Anything else, another subtype or a length
 * other than 32 bytes is a KeyDecodingError.
 */
export function decodeSubjectKey(subjectId: string, stored: unknown): Buffer {
  let bytes: Uint8Array;
  if (isBinary(stored)) {
    if (stored.sub_type !== mongoDriver().Binary.SUBTYPE_DEFAULT) {
      throw new KeyDecodingError(`key of subject ${subjectId}: BinData subtype ${stored.sub_type}, expected 0`);
    }
    bytes = stored.value();
  } else if (stored instanceof Uint8Array) {
    bytes = stored;
  } else {
    const kind = stored === null ? 'null' : typeof stored === 'object' ? (stored.constructor?.name ?? 'object') : typeof stored;
    throw new KeyDecodingError(`key of subject ${subjectId}: stored as ${kind}, not BinData`);
  }
  if (bytes.byteLength !== KEY_BYTES) {
    throw new KeyDecodingError(`key of subject ${subjectId}: ${bytes.byteLength} bytes, expected ${KEY_BYTES}`);
  }
  return Buffer.from(bytes);
}

/** a bson Binary, also from another copy of the bson package */
const isBinary = (value: unknown): value is Binary =>
  value instanceof mongoDriver().Binary || (typeof value === 'object' && value !== null && (value as { _bsontype?: unknown })._bsontype === 'Binary');

/**
 * Production: a MongoDB collection `subject_keys` (insert-if-absent, so replicas agree on one key), and
 * `subject_tombstones` (`{ _id: subject, position: Int64 }`, the latest deletion that forgot it).
 */
export class MongoKeyStore implements KeyStore {
  private readonly client: MongoClient;
  private readonly keys: Collection<{ _id: string; key: Binary | Buffer }>;
  private readonly tombstones: Collection<{ _id: string; position: Long }>;

  constructor(mongoUrl: string) {
    this.client = new (mongoDriver().MongoClient)(mongoUrl);
    this.keys = this.client.db().collection('subject_keys');
    this.tombstones = this.client.db().collection('subject_tombstones');
  }

  async ensure(subjectIds: readonly string[]): Promise<Map<string, Buffer>> {
    if (subjectIds.length > 0)
      await this.keys.bulkWrite(
        subjectIds.map((id) => ({ updateOne: { filter: { _id: id }, update: { $setOnInsert: { key: randomBytes(32) } }, upsert: true } })),
        { ordered: false, writeConcern: { w: 'majority', j: true } },
      );
    return this.find(subjectIds);
  }

  async find(subjectIds: readonly string[]): Promise<Map<string, Buffer>> {
    const docs = await this.keys.find({ _id: { $in: [...subjectIds] } }).toArray();
    return new Map(docs.map((d) => [d._id, decodeSubjectKey(d._id, d.key)]));
  }

  /**
   * TombstoneAt: the tombstones at the deletion's position first, then the keys go, then the tombstones at the head
   * read after. A crash in between leaves the deletion unrecorded, and the pass at start forgets again
   * (apps/api/src/infrastructure/erasure.ts).
   */
  async forget(subjectIds: readonly string[], tombstone?: TombstoneAt): Promise<void> {
    if (tombstone) await this.stamp(subjectIds, tombstone.position);
    await this.keys.deleteMany({ _id: { $in: [...subjectIds] } }, { writeConcern: { w: 'majority', j: true } });
    if (tombstone) await this.stamp(subjectIds, await tombstone.headAfter());
  }

  /** each subject's tombstone raised to `position` (Int64: exact past 2^53) */
  private async stamp(subjectIds: readonly string[], position: bigint): Promise<void> {
    if (subjectIds.length === 0) return;
    const at = mongoDriver().Long.fromBigInt(position);
    await this.tombstones.bulkWrite(
      subjectIds.map((id) => ({ updateOne: { filter: { _id: id }, update: { $max: { position: at } }, upsert: true } })),
      { ordered: false, writeConcern: { w: 'majority', j: true } },
    );
  }

  async forgottenAt(subjectIds: readonly string[]): Promise<Map<string, bigint>> {
    if (subjectIds.length === 0) return new Map();
    // an Int64 past 2^53 comes back as a Long, one within as a number: both read exactly through their decimal text
    const docs = await this.tombstones.find({ _id: { $in: [...subjectIds] } }).toArray();
    return new Map(docs.map((d) => [d._id, BigInt(String(d.position))]));
  }

  async pepper(): Promise<Buffer> {
    return (await this.ensure([PEPPER])).get(PEPPER)!;
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
