/**
 * Bulk loading (a rebuild), on this connection, from `startBulkLoad` until `buildIndexes()` or `endBulkLoad()`:
 * commits skip the disk syncs (`synchronous = OFF`: a power loss in the meantime may corrupt the file; a crash
 * of the process does not) and use a larger page cache; a read of a collection that `reset` emptied builds only
 * the single-field indexes its `where` uses (the projector's lookups), not all of them and the search rows,
 * which `buildIndexes()` builds once at the end. And in those collections a delete of a document that has no
 * row leaves none: the caller promises to write in log order (each commit after the last, as a projector does),
 * so no older upsert can come after it. The commits to those collections are written by a second connection
 * in a worker thread (`bulkWriterThread`, sqlite-bulk-writer.ts): `commit` resolves once they are committed,
 * and the caller may prepare its next batch meanwhile. Ending it restores the durability setting and
 * checkpoints the WAL, syncing what was written meanwhile.
 *
 * A rebuild (projector/rebuild.ts) hands the thread more: documents it serialized (`write`, packed into a few
 * strings), the index builds of collections mostly written once while it reads on (`index`: the writes after go
 * in the order of the indexes' leading field), and those of each projection's collections right after their
 * last write (`complete`: indexes, search rows, statistics, ready), so that they are built while the main thread
 * hands over the next projection's documents.
 */
import type { DocWrite, SerializedWrite, SerializedWrites } from '../../port';
import { BulkWriter, type PackedCommit, RowMode } from '../sqlite-bulk-writer';
import { MARK_RENEW_MS, clearBulkLoad, markBulkLoad, renewBulkLoad } from './bulk-load-marker';
import { materialise, newArrayFields, refreshIfChanged } from './coherence';
import { moveCheckpoint } from './checkpoints';
import { BULK_CACHE_KIB, CACHE_KIB } from './connection';
import { type Collection, createIndexSql, fillSearchSql, jsonPath } from './schema';
import { sqlText } from './sql';
import { type StoreState, collectionNamed } from './state';

export function startBulkLoad(state: StoreState): void {
  if (state.bulk) return;
  state.bulk = true;
  // before any reset of this load: other processes leave the collections it resets to it (bulk-load-marker.ts); the
  // mark is renewed by a timer while the event loop is free, and by the rebuild's progress while it folds
  markBulkLoad(state.conn);
  state.bulkMarkRenewal = setInterval(() => renewMark(state), MARK_RENEW_MS);
  state.bulkMarkRenewal.unref();
  const { path, bulkWriterThread, busyTimeoutMs } = state.options;
  if (
    bulkWriterThread !== false &&
    path !== '' &&
    !path.startsWith(':memory:') &&
    !path.includes('mode=memory')
  ) {
    state.bulkWriter = new BulkWriter({
      path,
      busyTimeoutMs: busyTimeoutMs ?? 5000,
      cacheKib: BULK_CACHE_KIB,
    });
  }
  // this connection only reads until the indexes are built (every commit of the thread empties its cache)
  state.conn.exec(
    `PRAGMA synchronous = OFF; PRAGMA cache_size = -${state.bulkWriter ? CACHE_KIB : BULK_CACHE_KIB}`,
  );
}

/**
 * Builds the field indexes and search rows that `reset` dropped (also done by `init` and the first read), then
 * ends a bulk load.
 */
export async function buildIndexes(state: StoreState): Promise<void> {
  await stopBulkWriter(state);
  // the usual page cache: index builds over a million rows ran 10-15% slower with the bulk load's 512 MiB
  state.conn.exec(`PRAGMA cache_size = -${CACHE_KIB}`);
  refreshIfChanged(state);
  for (const c of state.collections.values()) if (!c.ready) materialise(state, c);
  await endBulkLoad(state);
}

/**
 * `bulkLoad.complete`: the collections get no more writes in this load, so their field indexes, search rows and
 * statistics are built now, by the writer thread after the writes posted before (while the caller prepares the next
 * ones); without the thread, by `buildIndexes` at the end. A collection is marked ready in the same transaction.
 */
export async function completeCollections(state: StoreState, names: readonly string[]): Promise<void> {
  if (state.bulkWriter?.broken) state.bulkWriter = undefined;
  const writer = state.bulkWriter;
  if (!writer) return;
  const targets = names.map((name) => collectionNamed(state, name)).filter((c) => !c.ready);
  if (targets.length === 0) return;
  const statements = targets.flatMap((c) => [
    ...c.indexSpecs.map((index) => createIndexSql(c, index)),
    ...fillSearchSql(c),
    `UPDATE rs_collections SET ready = 1 WHERE name = ${sqlText(c.name)}`,
  ]);
  // the usual page cache for the builds (the sorter works within it): the bulk load's 512 MiB made the index
  // builds of a million documents ~20 % slower
  await writer.exec(
    [`PRAGMA cache_size = -${CACHE_KIB}`, ...statements],
    [...targets.map((c) => `ANALYZE ${c.table}`), `PRAGMA cache_size = -${BULK_CACHE_KIB}`],
  );
}

/**
 * `bulkLoad.index`: the field indexes of the collections are built now, by the writer thread after the writes
 * posted before; the writes after it maintain them, each write-out's in the order of the indexes' leading field.
 * Without the thread, nothing (`buildIndexes` builds them at the end).
 */
export async function indexCollections(state: StoreState, names: readonly string[]): Promise<void> {
  if (state.bulkWriter?.broken) state.bulkWriter = undefined;
  const writer = state.bulkWriter;
  if (!writer) return;
  const targets = names.map((name) => collectionNamed(state, name)).filter((c) => !c.ready && !c.indexedEarly);
  const statements = targets.flatMap((c) => c.indexSpecs.map((index) => createIndexSql(c, index)));
  for (const c of targets) c.indexedEarly = true;
  if (statements.length > 0) await writer.exec([`PRAGMA cache_size = -${CACHE_KIB}`, ...statements], [`PRAGMA cache_size = -${BULK_CACHE_KIB}`]);
}

/** the order to write a collection's documents in: of its indexes' leading field, once they are built */
const orderOf = (c: Collection): string | null => {
  const lead = c.indexSpecs[0]?.fields[0];
  return c.indexedEarly && lead !== undefined ? `json_extract(doc, ${jsonPath(lead)})` : null;
};

/** renews the load's mark: through its writer thread when it has one (queued behind its work), else here */
export function renewMark(state: StoreState): void {
  renewBulkLoad((sql) => {
    if (state.bulkWriter && !state.bulkWriter.broken) state.bulkWriter.exec([sql]).catch(() => undefined);
    else state.conn.exec(sql);
  });
}

/** ends a bulk load; the indexes not built yet are built by the first read */
export async function endBulkLoad(state: StoreState): Promise<void> {
  await stopBulkWriter(state);
  if (!state.bulk) return;
  state.bulk = false;
  clearInterval(state.bulkMarkRenewal);
  clearBulkLoad(state.conn);
  state.conn.exec(`PRAGMA synchronous = ${state.synchronous}; PRAGMA cache_size = -${CACHE_KIB};`);
  state.conn.db.prepare('PRAGMA wal_checkpoint(PASSIVE)').get();
  state.writesSinceOptimize = 0;
  state.conn.exec('PRAGMA optimize');
}

/** waits for the commits the writer thread has yet to write (a reset must come after them) */
export async function drainBulkWriter(state: StoreState): Promise<void> {
  await state.bulkWriter?.drain();
}

async function stopBulkWriter(state: StoreState): Promise<void> {
  const writer = state.bulkWriter;
  if (!writer) return;
  state.bulkWriter = undefined;
  await writer.close();
}

/** a commit of a bulk load, written by the writer thread (collections not ready: no search rows to keep) */
export async function commitInWriter(
  state: StoreState,
  writer: BulkWriter,
  projection: string,
  batch: DocWrite[],
  checkpoint: bigint | undefined,
): Promise<void> {
  const rows: (string | bigint | null | number)[] = [];
  const arrayFields: [string, string][] = [];
  for (const write of batch) {
    const c = state.collections.get(write.collection)!;
    if (write.kind === 'upsert') {
      rows.push(c.table, write.doc._id, write.position, JSON.stringify(write.doc), RowMode.Upsert);
      for (const field of newArrayFields(c, write.doc)) arrayFields.push([c.name, field]);
    } else rows.push(c.table, write.id, write.position, null, RowMode.DeleteIfStored);
  }
  await writer.commit({ projection, rows, arrayFields, checkpoint });
}

/**
 * `bulkLoad.write`: documents serialized by the caller, into collections a reset emptied during this load (no
 * search rows to keep, no tombstone for a document never stored), and the projection's checkpoint, in one
 * transaction: by the writer thread when there is one (one message: the caller bounds its size), else on this
 * connection.
 */
export async function writeSerialized(
  state: StoreState,
  projection: string,
  collections: readonly SerializedWrites[],
  checkpoint: bigint | undefined,
): Promise<void> {
  refreshIfChanged(state);
  const targets = collections.map(({ collection, arrayFields }) => {
    const c = collectionNamed(state, collection);
    if (!state.bulk || c.ready)
      throw new Error(`bulk write to ${collection}: only into a collection reset during a bulk load`);
    const fields = arrayFields.filter((field) => !c.arrayFields.has(field));
    for (const field of fields) c.arrayFields.add(field);
    return { c, fields };
  });
  if (state.bulkWriter?.broken) state.bulkWriter = undefined;
  if (state.bulkWriter) {
    const arrayFields = targets.flatMap(({ c, fields }) =>
      fields.map((field): [string, string] => [c.name, field]),
    );
    const parts = packed(
      targets.map(({ c }, i) => [c.table, orderOf(c), collections[i]!.writes] as const),
      (part, more) => ({ projection, ...part, arrayFields, checkpoint, more }),
    );
    const writer = state.bulkWriter;
    await Promise.all(parts.map((part) => writer.commitPacked(part)));
    return;
  }
  const { conn } = state;
  conn.transaction(() => {
    for (const [i, { c, fields }] of targets.entries()) {
      // the writer thread's statements, on this connection (a store without the thread: `:memory:`)
      const upsert = conn.stmt(`INSERT INTO ${c.table} (id, position, doc) VALUES (?, ?, jsonb(?))
        ON CONFLICT (id) DO UPDATE SET position = excluded.position, doc = excluded.doc
        WHERE excluded.position > ${c.table}.position`);
      const tombstone = conn.stmt(
        `UPDATE ${c.table} SET position = ?, doc = NULL WHERE id = ? AND position < ?`,
      );
      for (const w of collections[i]!.writes) {
        if (w.json === null) tombstone.run(w.position, w.id, w.position);
        else upsert.run(w.id, w.position, w.json);
      }
      for (const field of fields)
        conn
          .stmt('INSERT OR IGNORE INTO rs_array_fields (collection, field) VALUES (?, ?)')
          .run(c.name, field);
    }
    moveCheckpoint(conn, projection, checkpoint);
  });
}

/** bytes of documents per part of a packed commit */
const PART_BYTES = 1 << 25;

/**
 * the writes of a commit packed for the writer thread (sqlite-bulk-writer.ts `PackedCommit`), in parts of about
 * `partBytes` bytes of documents (UTF-8)
 */
export function packed(
  tables: readonly (readonly [table: string, order: string | null, writes: readonly SerializedWrite[]])[],
  make: (part: Omit<PackedCommit, 'projection' | 'arrayFields' | 'checkpoint' | 'more'>, more: boolean) => PackedCommit,
  partBytes = PART_BYTES,
): PackedCommit[] {
  const total = tables.reduce((n, [, , writes]) => n + writes.length, 0);
  const parts: PackedCommit[] = [];
  let names: string[] = [];
  let orders: (string | null)[] = [];
  let counts: number[] = [];
  let ids: string[] = [];
  let docs: string[] = [];
  const idLengths = new Uint32Array(total);
  const docLengths = new Int32Array(total);
  const positions = new BigInt64Array(total);
  let n = 0;
  /** bytes of documents (UTF-8) in the part */
  let docBytes = 0;
  const cut = (more: boolean) => {
    // the documents as UTF-8 bytes in a buffer of their own, handed over (transferred), not copied: joined into one
    // string, then cloned by postMessage, they held a copy on each side (session 62, four alternated 1M-event runs:
    // peak RSS 2,042–2,129 MiB against 2,641–2,686; the main thread's time about the same — the join and the clone,
    // 2.2 + 1.6 s, became ~2.7 s of writes into the buffer); the thread binds each as a blob that SQLite reads as text
    const bytes = Buffer.allocUnsafeSlow(docBytes);
    let at = 0;
    for (const doc of docs) at += bytes.write(doc, at);
    parts.push(
      make(
        {
          tables: names,
          orders,
          counts,
          ids: ids.join(''),
          idLengths: idLengths.slice(0, n),
          docs: new Uint8Array(bytes.buffer as ArrayBuffer, 0, docBytes),
          docLengths: docLengths.slice(0, n),
          positions: positions.slice(0, n),
        },
        more,
      ),
    );
    [names, orders, counts, ids, docs, n, docBytes] = [[], [], [], [], [], 0, 0];
  };
  for (const [table, order, writes] of tables) {
    for (const w of writes) {
      if (docBytes >= partBytes) cut(true);
      if (names.at(-1) !== table) {
        names.push(table);
        orders.push(order);
        counts.push(0);
      }
      counts[counts.length - 1]!++;
      ids.push(w.id);
      idLengths[n] = w.id.length;
      const length = w.json === null ? -1 : Buffer.byteLength(w.json);
      docLengths[n] = length;
      if (w.json !== null) docs.push(w.json);
      positions[n++] = w.position;
      docBytes += Math.max(length, 0);
    }
  }
  cut(false);
  return parts;
}
