/**
 * A responder for the WIRE FIXTURE (wire-fixture.ts; not a server) that keeps the index catalog of one collection in
 * memory and answers `listIndexes`, `createIndexes` and `dropIndexes` as MongoDB documents them (replies written from
 * the documented formats and error codes, not produced by a server):
 * - `listIndexes`: a cursor of the index specifications `{ v: 2, key, name, ...options }`; NamespaceNotFound (26) while
 *   the collection does not exist;
 * - `createIndexes`: creates the collection (with `_id_`) if it does not exist; an index identical to one of the same
 *   name is left as it is (`note: 'all indexes already exist'` when nothing was built); the same name with another key
 *   or another identifying option (`unique`, `sparse`, `partialFilterExpression`, `collation`) is IndexKeySpecsConflict
 *   (86), with only other options differing IndexOptionsConflict (85), and the same key and identifying options under
 *   another name IndexOptionsConflict (85) too;
 * - `dropIndexes` of one name: `{ nIndexesWas, ok: 1 }`; IndexNotFound (27) for a name it does not hold,
 *   InvalidOptions (72) for `_id_`, NamespaceNotFound (26) without the collection.
 * Comparisons are syntactic (the server normalises filters and collations first); what it shows is what an adapter
 * sends and how it reads these answers, not how a server builds an index.
 */
import { type Document, Long } from 'mongodb';
import { commandError, cursorReply } from './replies';
import type { WireCommand } from './wire-fixture';

const ID_INDEX: Document = { v: 2, key: { _id: 1 }, name: '_id_' };
const IDENTIFYING = ['unique', 'sparse', 'partialFilterExpression', 'collation'];

/** `existing`: the collection's indexes besides `_id_` (the collection then exists); undefined: no collection yet */
export function simulatedIndexes(namespace: string, existing?: Document[]) {
  const catalog: { indexes: Document[] | undefined } = { indexes: existing && [ID_INDEX, ...existing.map((index) => ({ v: 2, ...index }))] };
  const notFound = () => commandError(26, 'NamespaceNotFound', `ns does not exist: ${namespace}`);
  const responder = (command: WireCommand): Document | undefined => {
    const b = command.body;
    switch (command.name) {
      case 'listIndexes':
        return catalog.indexes ? cursorReply(namespace, catalog.indexes) : notFound();
      case 'createIndexes': {
        const createdCollectionAutomatically = catalog.indexes === undefined;
        const indexes = (catalog.indexes ??= [ID_INDEX]);
        const before = indexes.length;
        for (const wanted of b.indexes as Document[]) {
          const named = indexes.find((index) => index.name === wanted.name);
          if (named) {
            if (same(named, wanted, Object.keys({ ...named, ...wanted }))) continue;
            if (same(named, wanted, IDENTIFYING))
              return commandError(85, 'IndexOptionsConflict', `An equivalent index already exists with the same name but different options. Requested index: ${JSON.stringify(wanted)}, existing index: ${JSON.stringify(named)}`);
            return commandError(86, 'IndexKeySpecsConflict', `An existing index has the same name as the requested index but different key/options. Requested index: ${JSON.stringify(wanted)}, existing index: ${JSON.stringify(named)}`);
          }
          const equivalent = indexes.find((index) => same(index, wanted, IDENTIFYING));
          if (equivalent) return commandError(85, 'IndexOptionsConflict', `Index already exists with a different name: ${equivalent.name}`);
          indexes.push({ v: 2, ...wanted });
        }
        return {
          numIndexesBefore: before,
          numIndexesAfter: indexes.length,
          ...(indexes.length === before && { note: 'all indexes already exist' }),
          createdCollectionAutomatically,
          ok: 1,
        };
      }
      case 'dropIndexes': {
        if (!catalog.indexes) return notFound();
        if (b.index === '_id_') return commandError(72, 'InvalidOptions', 'cannot drop _id index');
        const at = catalog.indexes.findIndex((index) => index.name === b.index);
        if (at < 0) return commandError(27, 'IndexNotFound', `index not found with name [${String(b.index)}]`);
        const nIndexesWas = catalog.indexes.length;
        catalog.indexes.splice(at, 1);
        return { nIndexesWas, ok: 1 };
      }
      default:
        return undefined;
    }
  };
  return { catalog, responder };
}

/** whether two index specifications agree on the key (in order) and on `options` (`v` and `name` set aside) */
function same(a: Document, b: Document, options: string[]): boolean {
  const comparable = (value: unknown) => JSON.stringify(value, (_key, item: unknown) => (Long.isLong(item) ? item.toNumber() : item));
  if (comparable(a.key) !== comparable(b.key)) return false;
  return options.filter((option) => option !== 'v' && option !== 'name').every((option) => comparable(a[option]) === comparable(b[option]));
}
