import { openDatabase } from '@rollcall/event-store';
import { existsSync, statSync } from 'node:fs';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { NewNode } from './merkle';
import type { StoredNodes } from './verify-log';

/** One leaf of the notary's tree: the log position of its event and the leaf hash. */
export interface StoredLeaf {
  index: number;
  position: bigint;
  hash: Buffer;
}

export interface StoredCheckpoint {
  size: number;
  root: Buffer;
  /** the signed note, as served */
  note: string;
  signedAt: Date;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS leaves (
    idx      INTEGER PRIMARY KEY,
    position INTEGER NOT NULL,
    hash     BLOB    NOT NULL
  );
  CREATE UNIQUE INDEX IF NOT EXISTS leaves_by_position ON leaves (position);
  CREATE TABLE IF NOT EXISTS nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB    NOT NULL,
    PRIMARY KEY (level, idx)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS checkpoints (
    size      INTEGER PRIMARY KEY,
    root      BLOB    NOT NULL,
    note      TEXT    NOT NULL,
    signed_at INTEGER NOT NULL
  );
`;

/**
 * The notary's tree in `audit.sqlite` (docs/adr/0007-verifiable-history.md): every leaf (position, hash), every
 * completed perfect subtree above the leaves (level >= 1), and every checkpoint signed. One writer (the notary);
 * readers (the API's proof endpoints, the audit CLI) open it read-only in WAL mode.
 */
/**
 * Whether a notary's file may hold a tree, to be opened read-only: absent or empty (0 bytes: a crash as it was
 * created), it holds none, and the notary makes one (probe 61 F6: an empty file stopped the start with "no such table:
 * leaves" and a stack); nor does one whose tables never reached the main file (its `-wal` left out of a copy: probe 62
 * F8, the same stack). A file SQLite cannot read at all is left to the opening to report.
 */
export function holdsTree(file: string): boolean {
  if (!existsSync(file) || statSync(file).size === 0) return false;
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(file, { readOnly: true });
    return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'leaves'").get() !== undefined;
  } catch {
    return true;
  } finally {
    db?.close();
  }
}

export class SqliteTreeStore {
  private readonly db: DatabaseSync;
  private readonly stmt: Record<'last' | 'leaf' | 'node' | 'byPosition' | 'insertLeaf' | 'insertNode' | 'insertCheckpoint' | 'latest' | 'checkpoint' | 'page' | 'hex' | 'nodesHex' | 'nodeFrom' | 'checkpoints' | 'thin', StatementSync>;

  constructor(
    readonly file: string,
    options: { readOnly?: boolean } = {},
  ) {
    this.db = options.readOnly
      ? new DatabaseSync(file, { readOnly: true, timeout: 5000 })
      : openDatabase(file, { setUp: `PRAGMA synchronous = NORMAL; ${SCHEMA}` });
    const prepare = (sql: string) => {
      const s = this.db.prepare(sql);
      s.setReadBigInts(true);
      return s;
    };
    const arrays = (sql: string) => {
      const s = prepare(sql);
      s.setReturnArrays(true);
      return s;
    };
    this.stmt = {
      last: prepare('SELECT idx, position, hash FROM leaves ORDER BY idx DESC LIMIT 1'),
      leaf: prepare('SELECT idx, position, hash FROM leaves WHERE idx = ?'),
      node: prepare('SELECT hash FROM nodes WHERE level = ? AND idx = ?'),
      byPosition: prepare('SELECT idx, position, hash FROM leaves WHERE position = ?'),
      insertLeaf: prepare('INSERT INTO leaves (idx, position, hash) VALUES (?, ?, ?)'),
      insertNode: prepare('INSERT OR REPLACE INTO nodes (level, idx, hash) VALUES (?, ?, ?)'),
      insertCheckpoint: prepare('INSERT OR IGNORE INTO checkpoints (size, root, note, signed_at) VALUES (?, ?, ?, ?)'),
      latest: prepare('SELECT size, root, note, signed_at FROM checkpoints ORDER BY size DESC LIMIT 1'),
      checkpoint: prepare('SELECT size, root, note, signed_at FROM checkpoints WHERE size = ?'),
      page: arrays('SELECT idx, position, hash FROM leaves WHERE idx >= ? ORDER BY idx LIMIT ?'),
      hex: this.db.prepare(
        // the inner ORDER BY is the rowid scan's own order (no sort); hex() is upper-case, lowered in one go in JS
        "SELECT count(*) AS n, coalesce(sum(ok), 0) AS ok, group_concat(h, '') AS hex FROM (SELECT hex(hash) AS h, typeof(hash) = 'blob' AND length(hash) = 32 AS ok FROM leaves WHERE idx >= ? AND idx < ? ORDER BY idx)",
      ),
      nodesHex: this.db.prepare(
        "SELECT count(*) AS n, coalesce(sum(ok), 0) AS ok, group_concat(h, '') AS hex FROM (SELECT hex(hash) AS h, typeof(hash) = 'blob' AND length(hash) = 32 AS ok FROM nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx)",
      ),
      nodeFrom: prepare('SELECT idx FROM nodes WHERE level = ? AND idx >= ? ORDER BY idx LIMIT 1'),
      checkpoints: prepare('SELECT size, root, note, signed_at FROM checkpoints ORDER BY size'),
      // (the latest is never read: it stays)
      thin: prepare('SELECT size, signed_at FROM checkpoints WHERE size > ? AND signed_at < ? AND size < (SELECT max(size) FROM checkpoints) ORDER BY size LIMIT ?'),
    };
  }

  /** The number of leaves. Leaves are dense from 0, so the size is the last index + 1. */
  size(): number {
    const row = this.stmt.last.get() as { idx: bigint } | undefined;
    return row ? Number(row.idx) + 1 : 0;
  }

  lastLeaf(): StoredLeaf | undefined {
    const row = this.stmt.last.get() as LeafRow | undefined;
    return row && toLeaf(row);
  }

  leaf(index: number): StoredLeaf | undefined {
    const row = this.stmt.leaf.get(index) as LeafRow | undefined;
    return row && toLeaf(row);
  }

  leafAtPosition(position: bigint): StoredLeaf | undefined {
    const row = this.stmt.byPosition.get(position) as LeafRow | undefined;
    return row && toLeaf(row);
  }

  /** A perfect subtree's hash; throws if the tree has not completed it (a proof asked beyond the tree). */
  node = (level: number, index: number): Buffer => {
    if (level === 0) {
      const leaf = this.leaf(index);
      if (!leaf) throw new RangeError(`no leaf ${index}`);
      return leaf.hash;
    }
    const row = this.stmt.node.get(level, index) as { hash: Uint8Array } | undefined;
    if (!row) throw new RangeError(`no subtree (${level}, ${index})`);
    return Buffer.from(row.hash);
  };

  /**
   * Appends leaves (dense, from index `from`) and the subtrees they completed, in one transaction. False, and nothing
   * written, when the tree no longer has `from` leaves: another notary (another replica's, over the same data dir)
   * added them first.
   */
  append(leaves: { position: bigint; hash: Buffer }[], nodes: NewNode[], from: number): boolean {
    if (leaves.length === 0) return true;
    this.db.exec('BEGIN IMMEDIATE');
    try {
      let index = this.size();
      if (index !== from) {
        this.db.exec('ROLLBACK');
        return false;
      }
      for (const l of leaves) this.stmt.insertLeaf.run(index++, l.position, l.hash);
      for (const n of nodes) this.stmt.insertNode.run(n.level, n.index, n.hash);
      this.db.exec('COMMIT');
      return true;
    } catch (error) {
      // SQLite has rolled back itself on some errors (SQLITE_FULL): a ROLLBACK then fails and hid the cause (probe 54 F2)
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  saveCheckpoint(c: StoredCheckpoint): void {
    this.stmt.insertCheckpoint.run(c.size, c.root, c.note, c.signedAt.getTime());
  }

  /**
   * One step of thinning the checkpoints (Notary.thinCheckpoints): of those after size `after` signed before `before`
   * (epoch ms), at most `batch` read in size order, each not the first of its `bucketMs` (by the epoch: an hour) is
   * deleted — `kept` names the first seen of each bucket, and learns those it finds — never the latest. Returns how many
   * went, and the size read up to (undefined: none left before `before`). In steps, each its own transaction: a data dir
   * with a year of checkpoints (one per second of growth, kept for good before session 65: ~8.6 GB) is thinned without
   * one transaction as large as the table (its WAL would have grown as much) nor a long stop of the notary.
   */
  thinCheckpoints(after: number, before: number, bucketMs: number, kept: Map<number, number>, batch = 10_000): { deleted: number; readUpTo: number | undefined } {
    const rows = this.stmt.thin.all(after, before, batch) as { size: number; signed_at: number }[];
    const going: number[] = [];
    for (const { size, signed_at } of rows) {
      const bucket = Math.floor(Number(signed_at) / bucketMs);
      const first = kept.get(bucket);
      if (first === undefined || first === Number(size)) kept.set(bucket, Number(size));
      else going.push(Number(size));
    }
    if (going.length > 0) this.db.exec(`DELETE FROM checkpoints WHERE size IN (${going.join(',')})`);
    return { deleted: going.length, readUpTo: rows.length === 0 ? undefined : Number(rows[rows.length - 1]!.size) };
  }

  latestCheckpoint(): StoredCheckpoint | undefined {
    const row = this.stmt.latest.get() as CheckpointRow | undefined;
    return row && toCheckpoint(row);
  }

  checkpoint(size: number): StoredCheckpoint | undefined {
    const row = this.stmt.checkpoint.get(size) as CheckpointRow | undefined;
    return row && toCheckpoint(row);
  }

  checkpoints(): StoredCheckpoint[] {
    return (this.stmt.checkpoints.all() as unknown as CheckpointRow[]).map(toCheckpoint);
  }

  /** Leaves in index order, a page at a time (rows as arrays, hashes not copied: the verifier reads them all). */
  *leaves(fromIndex = 0, pageSize = 16_384): Generator<StoredLeaf> {
    let next = fromIndex;
    for (;;) {
      const rows = this.stmt.page.all(next, pageSize) as unknown as [idx: bigint, position: bigint, hash: Uint8Array | string][];
      for (const [idx, position, hash] of rows)
        yield { index: Number(idx), position, hash: hash instanceof Uint8Array ? Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength) : Buffer.from(hash) };
      if (rows.length < pageSize) return;
      next = Number(rows[rows.length - 1]![0]) + 1;
    }
  }

  /** Whether the leaves are exactly the indexes 0..size-1, as the notary writes them (not so in an edited file). */
  leavesAreDense(): boolean {
    const n = (this.db.prepare('SELECT count(*) AS n FROM leaves').get() as { n: number }).n;
    const ends = this.db.prepare('SELECT min(idx) AS lo, max(idx) AS hi FROM leaves');
    ends.setReadBigInts(true);
    const { lo, hi } = ends.get() as { lo: bigint | null; hi: bigint | null };
    return n === 0 || (lo === 0n && hi === BigInt(n - 1));
  }

  /**
   * The recorded hashes of the leaves with index in [from, to), in order, as one lower-case hex string (a verifier
   * thread's range: no object per leaf); `wellFormed` unless one of them is not a 32-byte blob (an edited file).
   */
  recordedHex(from: number, to: number): HexRange {
    return hexRange(this.stmt.hex.get(from, to));
  }

  /** The stored subtrees above the leaves, as the verification checks them against the log (verify-log.ts). */
  storedNodes(): StoredNodes {
    const size = this.size();
    // the verification asks each level's subtrees in index order (the order a tree completes them): read a page at a
    // time per level (a point read per subtree made the one-thread verification half as fast)
    const levels: StoredLevel[] = [];
    return {
      size,
      node: (level, index) => (levels[level] ??= new StoredLevel(this.db, level)).at(index, () => this.stmt.node.get(level, index) as { hash: unknown } | undefined),
      beyond: () => {
        const top = Number((this.db.prepare('SELECT coalesce(max(level), 0) AS top FROM nodes').get() as { top: number }).top);
        for (let level = 1; level <= top; level++) {
          const extra = this.stmt.nodeFrom.get(level, Math.floor(size / 2 ** level)) as { idx: bigint } | undefined;
          if (extra) return { level, index: Number(extra.idx) };
        }
        return undefined;
      },
    };
  }

  /** The stored subtrees of `level` with index in [from, to), as `recordedHex` gives the leaves (a verifier thread's range). */
  nodesHex(level: number, from: number, to: number): HexRange {
    return hexRange(this.stmt.nodesHex.get(level, from, to));
  }

  /** The first subtree of `level` in [from, to) missing or not a 32-byte hash (after `nodesHex` counted fewer, or one malformed). */
  firstMissingOrMalformed(level: number, from: number, to: number): { level: number; index: number; reason: string } {
    const rows = this.db.prepare('SELECT idx, typeof(hash) = \'blob\' AND length(hash) = 32 AS ok FROM nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx').all(level, from, to) as { idx: number; ok: number }[];
    for (let i = 0; i < rows.length; i++) {
      if (Number(rows[i]!.idx) !== from + i) return { level, index: from + i, reason: 'is missing' };
      if (!rows[i]!.ok) return { level, index: from + i, reason: 'is not a 32-byte hash' };
    }
    return { level, index: from + rows.length, reason: 'is missing' };
  }

  /**
   * Reads the tree as it is now until `close`: one read transaction, so that a notary appending meanwhile (the API
   * running) changes nothing this store answers. A verification reads the leaves, the subtrees and the checkpoints in
   * many statements; each saw the tree as of its own moment, and subtrees stored after the size was read looked like
   * subtrees over no recorded leaf: an edited file (probe 29, 9 runs in 10 under writes).
   */
  pin(): void {
    if (this.db.isTransaction) return;
    this.db.exec('BEGIN');
    this.size(); // a deferred transaction takes its snapshot at its first read
  }

  close(): void {
    if (this.db.isTransaction) this.db.exec('COMMIT');
    if (this.db.isOpen) this.db.close();
  }
}

interface LeafRow {
  idx: bigint;
  position: bigint;
  hash: Uint8Array;
}
interface CheckpointRow {
  size: bigint;
  root: Uint8Array;
  note: string;
  signed_at: bigint;
}

const toLeaf = (row: LeafRow): StoredLeaf => ({ index: Number(row.idx), position: row.position, hash: Buffer.from(row.hash) });
const toCheckpoint = (row: CheckpointRow): StoredCheckpoint => ({
  size: Number(row.size),
  root: Buffer.from(row.root),
  note: row.note,
  signedAt: new Date(Number(row.signed_at)),
});

/** Hashes of a range as one lower-case hex string, their count, and whether each is a 32-byte blob. */
export interface HexRange {
  count: number;
  hex: string;
  wellFormed: boolean;
}

/** a `hex`/`nodesHex` row: hex() is upper-case, lowered in one go */
const hexRange = (row: unknown): HexRange => {
  const { n, ok, hex } = row as { n: number; ok: number; hex: string | null };
  return { count: n, hex: (hex ?? '').toLowerCase(), wellFormed: ok === n };
};

/** an edited file may hold anything as a hash: handed on as bytes, to be found not a 32-byte hash */
const hashBytes = (hash: unknown): Buffer => (hash instanceof Uint8Array ? Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength) : Buffer.from(String(hash)));

/** One level's stored subtrees, read in index order a page at a time. */
class StoredLevel {
  private readonly page: StatementSync;
  private rows: [idx: number, hash: unknown][] = [];
  private i = 0;
  private last = -1;
  private done = false;

  constructor(
    db: DatabaseSync,
    private readonly level: number,
    private readonly pageSize = 16_384,
  ) {
    this.page = db.prepare('SELECT idx, hash FROM nodes WHERE level = ? AND idx >= ? ORDER BY idx LIMIT ?');
    this.page.setReturnArrays(true);
  }

  /** the stored hash at `index`, undefined if none; asked out of order (an index below the last), `pointRead` answers */
  at(index: number, pointRead: () => { hash: unknown } | undefined): Buffer | undefined {
    if (index < this.last) {
      const row = pointRead();
      return row && hashBytes(row.hash);
    }
    this.last = index;
    for (;;) {
      while (this.i < this.rows.length && Number(this.rows[this.i]![0]) < index) this.i++;
      if (this.i < this.rows.length) {
        const [idx, hash] = this.rows[this.i]!;
        return Number(idx) === index ? hashBytes(hash) : undefined;
      }
      if (this.done) return undefined;
      // every row read so far is below `index`: the next page starts there
      this.rows = this.page.all(this.level, index, this.pageSize) as unknown as [number, unknown][];
      this.i = 0;
      this.done = this.rows.length < this.pageSize;
    }
  }
}
