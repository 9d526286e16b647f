/**
 * `reset` (a rebuild starts here): drops a projection's checkpoint and its collections' documents, tombstones,
 * field indexes and search rows, and marks the collections not ready, so that the rebuild inserts into bare
 * tables (several times faster). Their indexes are built again, in one pass, by `completeReset` (the projector
 * that reset them, once its replay reached the head), `init`, `buildIndexes()` or the first read (coherence.ts);
 * those of a collection `readyAtReset` right away, outside a bulk load.
 */
import { drainBulkWriter } from './bulk-load';
import { materialise, refreshIfChanged } from './coherence';
import { clearSearch, dropIndexes } from './schema';
import { type StoreState, collectionNamed } from './state';

export async function resetCollections(
  state: StoreState,
  projection: string,
  collections: string[],
): Promise<void> {
  const targets = collections.map((name) => collectionNamed(state, name));
  await drainBulkWriter(state);
  const { conn } = state;
  conn.transaction(() => {
    conn.stmt('DELETE FROM rs_checkpoints WHERE projection = ?').run(projection);
    for (const c of targets) {
      // indexes first: emptying a table without secondary indexes is a truncate
      dropIndexes(conn, c);
      conn.exec(`DELETE FROM ${c.table}`);
      clearSearch(conn, c);
      conn.stmt('DELETE FROM rs_array_fields WHERE collection = ?').run(c.name);
      conn.stmt('UPDATE rs_collections SET ready = 0 WHERE name = ?').run(c.name);
    }
  });
  for (const c of targets) {
    c.ready = false;
    c.arrayFields.clear();
    c.lookups.clear();
    c.indexedEarly = false;
  }
  // a projector replaying into them (not a rebuild, whose bulk load builds them at its end): built now, empty
  if (!state.bulk) for (const c of targets) if (c.readyAtReset) materialise(state, c);
}

/**
 * `completeReset`: the projector that reset these collections has replayed the log into them; their indexes and
 * search rows are built now, on this connection (the projector's: in the API, its thread), each collection in its own
 * transaction — not by the first read of each, on the reader's thread — and the projector's live writes after it
 * maintain them, as in steady state. `materialise` decides in its transaction: a collection another process built
 * meanwhile (a reader, an `init`) is left as it is, one it bulk-loads (a rebuild) too. In a bulk load, nothing:
 * `buildIndexes()` builds them at its end.
 */
export function completeReset(state: StoreState, collections: readonly string[]): void {
  if (state.bulk) return;
  const targets = collections.map((name) => collectionNamed(state, name));
  refreshIfChanged(state);
  for (const c of targets) if (!c.ready) materialise(state, c);
}
