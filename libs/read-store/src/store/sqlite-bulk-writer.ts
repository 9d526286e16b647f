/**
 * The writer thread of a SQLite bulk load: a second connection to the same file, in a worker thread, that runs
 * the commits of a rebuild while the main thread goes on projecting the next batch. The main thread prepares
 * each commit (validation, one write per document, JSON) and posts it as flat rows; the thread writes them and
 * the checkpoint in one IMMEDIATE transaction, as `SqliteReadStore.commit` does, and answers when committed.
 * A rebuild's write-outs come packed (`commitPacked`: documents serialized by the caller, a few long strings
 * instead of millions of short ones), and its index builds as statements (`exec`). Messages are handled one after
 * the other, in the order posted.
 *
 * The thread's code is a string run with `eval` (no module loading, so it runs the same from sources, tests and
 * the build).
 */
import { Worker } from 'node:worker_threads';
import { ARRAY_SEPARATOR } from './sqlite/schema';

/** how a row is written: an upsert of `json`, a delete (tombstone), or a delete that leaves no tombstone */
export const RowMode = { Upsert: 0, Delete: 1, DeleteIfStored: 2 } as const;

/** one commit: rows as `table, id, position, json | null, mode` flattened, newly seen array fields, checkpoint */
export interface BulkCommit {
  projection: string;
  rows: (string | bigint | number | null)[];
  arrayFields: [collection: string, field: string][];
  /** undefined: the documents only (a rebuild's write-outs before its last) */
  checkpoint: bigint | undefined;
}

/**
 * One part of a commit of serialized documents (a rebuild's write-out), packed: per table (in order) how many of
 * the writes are its; their ids concatenated into one string and their documents into one buffer of UTF-8, cut by
 * lengths (a document's length -1: a delete, which leaves nothing where nothing is stored); their positions. Posting
 * a string and typed arrays (transferred) costs little, where an array of millions of short strings costs a walk of
 * it on both sides. A commit of more than a part's bytes (bulk-load.ts PART_BYTES) comes in several parts, written in one transaction: `more` until its
 * last, which writes the array fields and the checkpoint and commits.
 */
export interface PackedCommit {
  projection: string;
  tables: string[];
  counts: number[];
  /**
   * per table, an order (an SQL expression over `doc`) to insert its upserts in, through a staging table, or null:
   * into a table that has its indexes already, inserts in the order of their leading field touch few pages
   */
  orders: (string | null)[];
  ids: string;
  idLengths: Uint32Array<ArrayBuffer>;
  /** the documents' JSON as UTF-8, one after the other (transferred to the thread, not copied) */
  docs: Uint8Array<ArrayBuffer>;
  /** per write, its document's length in bytes; -1: a delete */
  docLengths: Int32Array<ArrayBuffer>;
  positions: BigInt64Array<ArrayBuffer>;
  arrayFields: [collection: string, field: string][];
  /** undefined: the documents only (a rebuild's write-outs before its last) */
  checkpoint: bigint | undefined;
  more: boolean;
}

interface Pending {
  resolve: (applied: number) => void;
  reject: (error: Error) => void;
}

export class BulkWriter {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private last: Promise<unknown> = Promise.resolve();
  private failure: Error | undefined;

  constructor(options: { path: string; busyTimeoutMs: number; cacheKib: number }) {
    this.worker = new Worker(WRITER_THREAD, { eval: true, workerData: options });
    // the thread keeps the process alive only while it has commits to answer
    this.worker.unref();
    this.worker.on('message', (message: { id: number; applied?: number; error?: string }) => {
      const pending = this.pending.get(message.id);
      if (!pending) return;
      this.pending.delete(message.id);
      if (this.pending.size === 0) this.worker.unref();
      if (message.error !== undefined) pending.reject(new Error(message.error));
      else pending.resolve(message.applied ?? 0);
    });
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`the bulk writer thread exited (${code})`)));
    this.worker.on('messageerror', (error) => this.fail(error));
  }

  /** the thread is gone (it failed to start, or died): use another way to write */
  get broken(): boolean {
    return this.failure !== undefined;
  }

  /** posts a commit; resolves with the number of writes applied once it is committed */
  commit(commit: BulkCommit): Promise<number> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const done = new Promise<number>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.worker.ref();
    this.worker.postMessage({ id, ...commit });
    this.last = done.catch(() => undefined);
    return done;
  }

  /** posts a part of a commit of serialized documents; resolves with the number of writes applied once written */
  commitPacked(part: PackedCommit): Promise<number> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const done = new Promise<number>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.worker.ref();
    this.worker.postMessage({ id, packed: part }, [part.idLengths.buffer, part.docs.buffer, part.docLengths.buffer, part.positions.buffer]);
    this.last = done.catch(() => undefined);
    return done;
  }

  /**
   * posts statements to run in one IMMEDIATE transaction after the commits posted before (index builds of the
   * collections complete), then `after`, each on its own (ANALYZE, a WAL checkpoint); resolves once run
   */
  exec(statements: readonly string[], after: readonly string[] = []): Promise<number> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const done = new Promise<number>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.worker.ref();
    this.worker.postMessage({ id, exec: statements, after });
    this.last = done.catch(() => undefined);
    return done;
  }

  /** resolves when every commit posted so far has been answered */
  async drain(): Promise<void> {
    await this.last;
  }

  /** drains, then stops the thread (its connection closed) */
  async close(): Promise<void> {
    await this.drain();
    if (this.failure) return;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.ref();
    this.worker.postMessage({ close: true });
    await exited;
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
    this.worker.unref();
    void this.worker.terminate();
  }
}

/**
 * The thread: plain JavaScript in a string (not a function's source, which a build or coverage tool could
 * rewrite with references to the enclosing module).
 */
const WRITER_THREAD = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(workerData.path, { timeout: workerData.busyTimeoutMs });
// secure_delete as on the store's own connection (sqlite/connection.ts), rule 12 at rest: without it, the bytes of cells
// this thread frees or moves stay where they were; so a b-tree's root that outgrows one page keeps the rows it held as a
// leaf in its free space once it becomes an interior page (SQLite's zeroPage clears a page only in secure-delete mode),
// where no later delete of those rows reaches them (probe 30 F6: addresses of deleted users in index roots)
db.exec('PRAGMA secure_delete = ON; PRAGMA synchronous = OFF; PRAGMA temp_store = MEMORY; PRAGMA analysis_limit = 1000;' +
  ' PRAGMA cache_size = -' + workerData.cacheKib);
const tables = new Map();
function statements(table) {
  let s = tables.get(table);
  if (!s) {
    s = {
      upsert: db.prepare('INSERT INTO ' + table + ' (id, position, doc) VALUES (?, ?, jsonb(?))' +
        ' ON CONFLICT (id) DO UPDATE SET position = excluded.position, doc = excluded.doc' +
        ' WHERE excluded.position > ' + table + '.position'),
      tombstone: db.prepare('UPDATE ' + table + ' SET position = ?, doc = NULL WHERE id = ? AND position < ?'),
      get stage() {
        db.exec('CREATE TEMP TABLE IF NOT EXISTS rs_staging (id TEXT NOT NULL, position INTEGER NOT NULL, doc BLOB NOT NULL)');
        // (a packed commit's documents come as UTF-8 bytes: a blob, read as text)
        const stage = db.prepare('INSERT INTO temp.rs_staging (id, position, doc) VALUES (?, ?, jsonb(CAST(? AS TEXT)))');
        Object.defineProperty(this, 'stage', { value: stage });
        return stage;
      },
      unstaged: new Map(),
      /** the staged upserts, in this order (WHERE true: an INSERT ... SELECT with an upsert clause needs one) */
      unstage(order) {
        let move = this.unstaged.get(order);
        if (!move) {
          move = db.prepare('INSERT INTO ' + table + ' (id, position, doc) SELECT id, position, doc FROM temp.rs_staging' +
            ' WHERE true ORDER BY ' + order + ', position ON CONFLICT (id) DO UPDATE SET position = excluded.position,' +
            ' doc = excluded.doc WHERE excluded.position > ' + table + '.position');
          this.unstaged.set(order, move);
        }
        return move;
      },
    };
    // a packed commit's documents come as UTF-8 bytes (a blob, read as text)
    s.upsertBytes = db.prepare('INSERT INTO ' + table + ' (id, position, doc) VALUES (?, ?, jsonb(CAST(? AS TEXT)))' +
      ' ON CONFLICT (id) DO UPDATE SET position = excluded.position, doc = excluded.doc' +
      ' WHERE excluded.position > ' + table + '.position');
    tables.set(table, s);
  }
  return s;
}
const checkpoint = db.prepare('INSERT INTO rs_checkpoints (projection, position) VALUES (?, ?)' +
  ' ON CONFLICT (projection) DO UPDATE SET position = excluded.position WHERE excluded.position > rs_checkpoints.position');
const arrayField = db.prepare('INSERT OR IGNORE INTO rs_array_fields (collection, field) VALUES (?, ?)');
// the search text as the store's connection computes it (schema.ts searchText: JavaScript's lower-casing)
const lower = (value) => {
  if (typeof value === 'string') return value.toLowerCase();
  if (!Array.isArray(value)) return null;
  const strings = value.filter((item) => typeof item === 'string');
  return strings.length === 0 ? null : strings.map((item) => item.toLowerCase()).join(${JSON.stringify(ARRAY_SEPARATOR)});
};
db.function('rs_search_text', { deterministic: true }, (type, value) =>
  type === 'text' ? lower(value) : type === 'array' ? lower(JSON.parse(value)) : null);
/** the projection whose commit failed in a part that was not its last (the parts after it fail too) */
let broken;
parentPort.on('message', (m) => {
  if (m.close) {
    db.close();
    parentPort.close();
    return;
  }
  if (m.packed) {
    const p = m.packed;
    try {
      // a part of a commit whose earlier part failed: the transaction was rolled back
      if (broken === p.projection) throw new Error('an earlier part of this commit failed');
      if (!db.isTransaction) db.exec('BEGIN IMMEDIATE');
      let applied = 0;
      let write = 0;
      let idAt = 0;
      let docAt = 0;
      for (let t = 0; t < p.tables.length; t++) {
        const s = statements(p.tables[t]);
        const order = p.orders[t];
        let staged = 0;
        for (const end = write + p.counts[t]; write < end; write++) {
          const id = p.ids.slice(idAt, (idAt += p.idLengths[write]));
          const length = p.docLengths[write];
          const position = p.positions[write];
          if (length >= 0 && order) {
            s.stage.run(id, position, p.docs.subarray(docAt, (docAt += length)));
            staged++;
            continue;
          }
          const result = length < 0
            ? s.tombstone.run(position, id, position)
            : s.upsertBytes.run(id, position, p.docs.subarray(docAt, (docAt += length)));
          if (result.changes !== 0) applied++;
        }
        // (deletes only: nothing staged, and the staging table may not exist yet)
        if (staged > 0) {
          applied += Number(s.unstage(order).run().changes);
          db.exec('DELETE FROM temp.rs_staging');
        }
      }
      if (!p.more) {
        for (const [collection, field] of p.arrayFields) arrayField.run(collection, field);
        if (p.checkpoint !== undefined) checkpoint.run(p.projection, p.checkpoint);
        db.exec('COMMIT');
      }
      parentPort.postMessage({ id: m.id, applied });
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      broken = p.more ? p.projection : undefined;
      parentPort.postMessage({ id: m.id, error: error instanceof Error ? error.message : String(error) });
    }
    return;
  }
  // (any other message ends what is left of a failed commit's parts)
  broken = undefined;
  if (m.exec) {
    try {
      db.exec('BEGIN IMMEDIATE');
      for (const sql of m.exec) db.exec(sql);
      db.exec('COMMIT');
      for (const sql of m.after) db.exec(sql);
      parentPort.postMessage({ id: m.id, applied: m.exec.length });
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      parentPort.postMessage({ id: m.id, error: error instanceof Error ? error.message : String(error) });
    }
    return;
  }
  try {
    db.exec('BEGIN IMMEDIATE');
    let applied = 0;
    const rows = m.rows;
    for (let i = 0; i < rows.length; i += 5) {
      const s = statements(rows[i]);
      const result = rows[i + 4] === ${RowMode.DeleteIfStored}
        ? s.tombstone.run(rows[i + 2], rows[i + 1], rows[i + 2])
        : s.upsert.run(rows[i + 1], rows[i + 2], rows[i + 3]);
      if (result.changes !== 0) applied++;
    }
    for (const [collection, field] of m.arrayFields) arrayField.run(collection, field);
    if (m.checkpoint !== undefined) checkpoint.run(m.projection, m.checkpoint);
    db.exec('COMMIT');
    parentPort.postMessage({ id: m.id, applied });
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    parentPort.postMessage({ id: m.id, error: error instanceof Error ? error.message : String(error) });
  }
});
`;
