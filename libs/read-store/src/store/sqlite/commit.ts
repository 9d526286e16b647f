/**
 * `commit`: a batch of writes and the projection's checkpoint in one IMMEDIATE transaction. Each write is an
 * `INSERT ... ON CONFLICT(id) DO UPDATE ... WHERE excluded.position > position` (equal or older positions are
 * ignored), then the checkpoint, which only moves forward. A batch is first reduced to one write per document
 * (the highest position), which is equivalent.
 *
 * A delete is the same upsert with `doc = NULL`: the row stays as a tombstone carrying the delete's position,
 * so an older upsert replayed later loses against it and cannot resurrect the document. Tombstones are never
 * returned and are dropped by `reset`. In a bulk load, commits to collections a reset emptied go to the writer
 * thread (bulk-load.ts).
 */
import type { DocWrite } from '../../port';
import { assertWritable, dedupeWrites, getPath } from '../query-common';
import { commitInWriter } from './bulk-load';
import { moveCheckpoint } from './checkpoints';
import { newArrayFields, refreshIfChanged } from './coherence';
import { type Collection, type Writer, quote, searchText } from './schema';
import { type StoreState, collectionNamed } from './state';

/** run `PRAGMA optimize` (refresh planner statistics) after this many applied writes */
const OPTIMIZE_EVERY_WRITES = 100_000;

export async function commitWrites(
  state: StoreState,
  projection: string,
  writes: DocWrite[],
  checkpoint: bigint | undefined,
): Promise<void> {
  for (const write of writes) {
    collectionNamed(state, write.collection);
    assertWritable(write);
  }
  const batch = dedupeWrites(writes);
  if (state.bulkWriter?.broken) state.bulkWriter = undefined; // write here, then
  if (state.bulkWriter) {
    if (batch.every((write) => !state.collections.get(write.collection)!.ready)) {
      await commitInWriter(state, state.bulkWriter, projection, batch, checkpoint);
      return;
    }
    await state.bulkWriter.drain(); // in order after what the thread has yet to write
  }
  const { conn } = state;
  let applied = 0;
  /** fields this connection learned hold arrays, recorded in this transaction: forgotten again if it fails */
  const learned: { c: Collection; field: string }[] = [];
  const writeAll = () => conn.transaction(() => {
    refreshIfChanged(state);
    for (const write of batch) {
      const c = state.collections.get(write.collection)!;
      const w = c.writer ?? prepareWriter(state, c);
      // search rows are kept only once the collection is ready (a bulk load fills them at the end)
      const searched = c.ready && w.searchUpsert !== undefined;
      if (write.kind === 'upsert') {
        const json = JSON.stringify(write.doc);
        if (searched) {
          const row = w.upsertReturning.get(write.doc._id, write.position, json);
          if (!row) continue;
          const texts = c.search.map((field) => searchText(getPath(write.doc, field)));
          // most updates leave the searched text as it was: then the trigram index is not rewritten
          if (w.searchUpsert!.run(row.rid, ...texts).changes !== 0) w.trigramUpsert!.run(row.rid, ...texts);
        } else if (w.upsert.run(write.doc._id, write.position, json).changes === 0) continue;
        applied++;
        for (const field of newArrayFields(c, write.doc)) {
          learned.push({ c, field });
          conn
            .stmt('INSERT OR IGNORE INTO rs_array_fields (collection, field) VALUES (?, ?)')
            .run(c.name, field);
        }
      } else if (searched) {
        const row = w.upsertReturning.get(write.id, write.position, null);
        if (!row) continue;
        applied++;
        w.searchDelete!.run(row.rid);
        w.trigramDelete!.run(row.rid);
      } else if (state.bulk && !c.ready) {
        // bulk load: writes come in log order, so no older upsert can follow: no tombstone for a stranger
        if (w.tombstone.run(write.position, write.id, write.position).changes !== 0) applied++;
      } else if (w.upsert.run(write.id, write.position, null).changes !== 0) applied++;
    }
    moveCheckpoint(conn, projection, checkpoint);
  });
  try {
    writeAll();
  } catch (error) {
    // the rows of rs_array_fields went with the rollback: a retry of these writes must record them again
    for (const { c, field } of learned) c.arrayFields.delete(field);
    throw error;
  }
  state.writesSinceOptimize += applied;
  if (!state.bulk && state.writesSinceOptimize >= OPTIMIZE_EVERY_WRITES) {
    state.writesSinceOptimize = 0;
    conn.exec('PRAGMA optimize');
  }
}

function prepareWriter(state: StoreState, c: Collection): Writer {
  const { db } = state.conn;
  const upsert = `INSERT INTO ${c.table} (id, position, doc) VALUES (?, ?, jsonb(?))
    ON CONFLICT (id) DO UPDATE SET position = excluded.position, doc = excluded.doc
    WHERE excluded.position > ${c.table}.position`;
  const writer: Writer = {
    upsert: db.prepare(upsert),
    upsertReturning: db.prepare(`${upsert} RETURNING rid`),
    tombstone: db.prepare(`UPDATE ${c.table} SET position = ?, doc = NULL WHERE id = ? AND position < ?`),
  };
  if (c.search.length > 0) {
    const columns = c.search.map(quote);
    const values = c.search.map(() => '?').join(', ');
    const changed = columns.map((column) => `${column} IS NOT excluded.${column}`).join(' OR ');
    writer.searchUpsert = db.prepare(
      `INSERT INTO ${c.searchTable} (rid, ${columns.join(', ')}) VALUES (?, ${values})
       ON CONFLICT (rid) DO UPDATE SET ${columns.map((column) => `${column} = excluded.${column}`).join(', ')}
       WHERE ${changed}`,
    );
    writer.searchDelete = db.prepare(`DELETE FROM ${c.searchTable} WHERE rid = ?`);
    // contentless_delete: a row is replaced or deleted by rowid alone
    writer.trigramUpsert = db.prepare(
      `INSERT OR REPLACE INTO ${c.trigramTable} (rowid, ${columns.join(', ')}) VALUES (?, ${values})`,
    );
    writer.trigramDelete = db.prepare(`DELETE FROM ${c.trigramTable} WHERE rowid = ?`);
  }
  c.writer = writer;
  return writer;
}
