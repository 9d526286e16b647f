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
  for (const field of fields ?? []) assertTopLevelField(field);
  // only the fields asked for: SQLite builds the small object, so neither side converts or parses the whole document
  const doc = fields ? `json_object('_id', id${fields.map((f) => `, '${f}', doc -> ${jsonPath(f)}`).join('')})` : 'json(doc)';
  const rows = state.conn
    .stmt(
      `SELECT id, position, ${doc} AS doc FROM ${c.table} WHERE id IN (SELECT value FROM json_each(?)) AND doc IS NOT NULL`,
      true,
    )
    .all(JSON.stringify(ids));
  const found = new Map<string, StoredDoc<T>>();
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
