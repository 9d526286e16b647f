/** Reads by id (`get`, `getMany`) and of checkpoints: primary-key lookups, tombstones never returned. */
import type { Doc, StoredDoc } from '../../port';
import { assertTopLevelField } from '../query-common';
import { jsonPath } from './schema';
import { type StoreState, collectionNamed } from './state';

export function getDocument<T extends Doc>(
  state: StoreState,
  collection: string,
  id: string,
): StoredDoc<T> | undefined {
  const c = collectionNamed(state, collection);
  // prepared once per collection, outside the statement cache: the projector calls it for most events
  if (!c.getById) {
    c.getById = state.conn.db.prepare(
      `SELECT position, json(doc) AS doc FROM ${c.table} WHERE id = ? AND doc IS NOT NULL`,
    );
    c.getById.setReadBigInts(true);
  }
  const row = c.getById.get(id);
  return row ? { doc: JSON.parse(row.doc as string) as T, position: row.position as bigint } : undefined;
}

export function getDocuments<T extends Doc>(
  state: StoreState,
  collection: string,
  ids: string[],
  fields?: string[],
): Map<string, StoredDoc<T>> {
  const c = collectionNamed(state, collection);
  const found = new Map<string, StoredDoc<T>>();
  if (fields) {
    for (const field of fields) assertTopLevelField(field);
    // only the fields asked for, all rows in one JSON array (one parse here, not one per row), each row's fields by
    // one json_extract of several paths (one call over the document, not one per field; with several paths it
    // answers a JSON array, hence `$._id` first, also when one field is asked for). The team invite lookup reads
    // 1,000 rows this way: ~1.8 ms against ~2.8 ms a `->` per field, ~2.9 ms a JSON object per row
    // (docs/adr/0009-teams-and-networked-workspaces.md). The position as text: JSON numbers stop being exact past 2^53.
    // (`$._id` only where one field is asked for: each path is a look-up of its own, ~0.2 µs a row)
    const asked = fields.length > 1 ? fields : ['_id', ...fields];
    const skipped = asked.length - fields.length;
    const paths = asked.map(jsonPath).join(', ');
    const row = state.conn
      .stmt(
        `SELECT json_group_array(json_array(id, CAST(position AS TEXT), json_extract(doc, ${paths}))) AS rows ` +
          `FROM ${c.table} WHERE id IN (SELECT value FROM json_each(?)) AND doc IS NOT NULL`,
      )
      .get(JSON.stringify(ids));
    for (const [id, position, extracted] of JSON.parse(row!.rows as string) as [string, string, unknown[]][]) {
      const doc: Doc = { _id: id };
      for (let i = 0; i < fields.length; i++) doc[fields[i]!] = extracted[i + skipped] ?? null;
      found.set(id, { doc: doc as T, position: BigInt(position) });
    }
    return found;
  }
  const rows = state.conn
    .stmt(`SELECT id, position, json(doc) AS doc FROM ${c.table} WHERE id IN (SELECT value FROM json_each(?)) AND doc IS NOT NULL`, true)
    .all(JSON.stringify(ids));
  for (const row of rows) {
    found.set(row.id as string, {
      doc: JSON.parse(row.doc as string) as T,
      position: row.position as bigint,
    });
  }
  return found;
}

export function readCheckpoint(state: StoreState, projection: string): bigint | undefined {
  const row = state.conn
    .stmt('SELECT position FROM rs_checkpoints WHERE projection = ?', true)
    .get(projection);
  return row ? (row.position as bigint) : undefined;
}
