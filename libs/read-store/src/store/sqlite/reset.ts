/**
 * `reset` (a rebuild starts here): drops a projection's checkpoint and its collections' documents, tombstones,
 * field indexes and search rows, and marks the collections not ready, so that the rebuild inserts into bare
 * tables (several times faster). Their indexes are built again, in one pass, by `init`, `buildIndexes()` or the
 * first read (coherence.ts); those of a collection `readyAtReset` right away, outside a bulk load.
 */
import { drainBulkWriter } from './bulk-load';
import { materialise } from './coherence';
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
