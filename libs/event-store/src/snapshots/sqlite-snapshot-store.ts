import { openDatabase } from '../sqlite/open-database';
import { randomInt } from 'node:crypto';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { type SnapshotStore, type SnapshotToWrite, SnapshotUnreadableError, type StoredSnapshot } from './snapshot-store';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS snapshots (
    stream     TEXT    PRIMARY KEY,
    generation INTEGER NOT NULL,
    revision   INTEGER NOT NULL,
    version    TEXT    NOT NULL,
    head       TEXT    NOT NULL,
    chunks     INTEGER NOT NULL,
    written    INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS snapshot_chunks (
    stream     TEXT    NOT NULL,
    generation INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    body       BLOB    NOT NULL,
    PRIMARY KEY (stream, generation, seq)
  );
`;

/**
 * Embedded snapshot store: its own SQLite file beside the events (`${dataDir}/snapshots.sqlite`), WAL with
 * synchronous=NORMAL: a snapshot is a cache, losing the latest one on a power loss only means a longer replay, so
 * its writes never wait for an fsync.
 *
 * A snapshot is written as a new generation of chunks, each chunk in its own short transaction (node:sqlite is
 * synchronous: one big transaction would stall the event loop), then a last transaction points the stream at the
 * new generation when every chunk is there and it is not older than the current one. The previous generation is kept
 * (a reader may still be reading it); older and abandoned ones are deleted then. The chunks are sealed bytes
 * (BLOBs; a file written before them held text, of a snapshot version no reader takes any more).
 */
export class SqliteSnapshotStore implements SnapshotStore {
  /** 1,000 entries (~0.3 MB): opening and parsing one chunk is a short turn of the event loop */
  readonly chunkEntries = 1_000;
  readonly chunkBytes = 1 << 20;
  private readonly db: DatabaseSync;
  private readonly stmt: Record<'head' | 'chunk' | 'insertChunk' | 'countChunks' | 'upsert' | 'prune' | 'drop' | 'begin' | 'commit' | 'rollback', StatementSync>;

  constructor(readonly file: string) {
    this.db = openDatabase(file, { setUp: `PRAGMA synchronous = NORMAL; ${SCHEMA}` });
    this.stmt = {
      head: this.db.prepare('SELECT generation, revision, version, head, chunks FROM snapshots WHERE stream = ?'),
      chunk: this.db.prepare('SELECT body FROM snapshot_chunks WHERE stream = ? AND generation = ? AND seq = ?'),
      insertChunk: this.db.prepare('INSERT INTO snapshot_chunks (stream, generation, seq, body) VALUES (?, ?, ?, ?)'),
      countChunks: this.db.prepare('SELECT count(*) AS n FROM snapshot_chunks WHERE stream = ? AND generation = ?'),
      upsert: this.db.prepare(
        `INSERT INTO snapshots (stream, generation, revision, version, head, chunks, written) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (stream) DO UPDATE SET generation = excluded.generation, revision = excluded.revision, version = excluded.version,
           head = excluded.head, chunks = excluded.chunks, written = excluded.written`,
      ),
      prune: this.db.prepare('DELETE FROM snapshot_chunks WHERE stream = ? AND generation NOT IN (?, ?)'),
      drop: this.db.prepare('DELETE FROM snapshot_chunks WHERE stream = ? AND generation = ?'),
      begin: this.db.prepare('BEGIN IMMEDIATE'),
      commit: this.db.prepare('COMMIT'),
      rollback: this.db.prepare('ROLLBACK'),
    };
  }

  async read(stream: string): Promise<StoredSnapshot | undefined> {
    const row = this.stmt.head.get(stream) as { generation: number; revision: number; version: string; head: string; chunks: number } | undefined;
    if (!row) return undefined;
    const chunk = this.stmt.chunk;
    return {
      stream,
      revision: BigInt(row.revision),
      version: row.version,
      head: row.head,
      chunkCount: row.chunks,
      async *chunks() {
        for (let seq = 0; seq < row.chunks; seq++) {
          const found = chunk.get(stream, row.generation, seq) as { body: Uint8Array | string } | undefined;
          if (!found) throw new SnapshotUnreadableError(stream, `chunk ${seq} of ${row.chunks} is gone`);
          if (typeof found.body === 'string') throw new SnapshotUnreadableError(stream, `chunk ${seq} is text, not sealed bytes`);
          yield found.body;
        }
      },
    };
  }

  async write(snapshot: SnapshotToWrite): Promise<void> {
    const { stream } = snapshot;
    const current = this.stmt.head.get(stream) as { generation: number; revision: number } | undefined;
    if (current && BigInt(current.revision) > snapshot.revision) return;
    const generation = randomInt(2 ** 47);
    for (const [seq, body] of snapshot.chunks.entries()) {
      this.stmt.insertChunk.run(stream, generation, seq, body);
      // one chunk per turn of the event loop: the chunks of a 100,000-member state take a few ms each
      await new Promise((r) => setImmediate(r));
    }
    this.stmt.begin.run();
    try {
      const latest = this.stmt.head.get(stream) as { generation: number; revision: number } | undefined;
      const complete = (this.stmt.countChunks.get(stream, generation) as { n: number }).n === snapshot.chunks.length;
      if (complete && (!latest || BigInt(latest.revision) <= snapshot.revision)) {
        this.stmt.upsert.run(stream, generation, snapshot.revision, snapshot.version, snapshot.head, snapshot.chunks.length, Date.now());
        this.stmt.prune.run(stream, generation, latest?.generation ?? generation);
      } else this.stmt.drop.run(stream, generation); // a newer snapshot won meanwhile, or ours lost chunks: ours goes
      this.stmt.commit.run();
    } catch (error) {
      if (this.db.isTransaction) this.stmt.rollback.run();
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.db.isOpen) this.db.close();
  }
}
