/**
 * A responder for the WIRE FIXTURE (wire-fixture.ts; not a server) that keeps one collection in memory and evaluates
 * the driver's `update`, `find`, `delete` and `createIndexes` with `mingo` (an in-memory implementation of MongoDB's
 * query and update language), as a server would apply them; no index is used or checked but `_id`'s uniqueness: an
 * upsert whose filter matches nothing inserts a document with the filter's `_id`, and is refused with E11000 when a
 * document with that `_id` exists (what a server does when the rest of the filter did not match it). It shows that
 * the commands mean what an adapter intends; only a server shows what it does under load.
 */
import { Query, find, update } from 'mingo';
import type { Document } from 'mongodb';
import { cursorReply, duplicateKeyError, writeReply } from './replies';
import type { WireCommand } from './wire-fixture';

export function simulatedCollection(namespace: string) {
  const docs: Document[] = [];
  const matching = (q: Document) => docs.filter((d) => new Query(q).test(d));
  const responder = (command: WireCommand): Document | undefined => {
    const b = command.body;
    switch (command.name) {
      case 'createIndexes':
        return { createdCollectionAutomatically: false, numIndexesBefore: 1, numIndexesAfter: 2, ok: 1 };
      case 'update': {
        let n = 0;
        let nModified = 0;
        const upserted: { index: number; _id: unknown }[] = [];
        const writeErrors: Document[] = [];
        for (const [index, { q, u, upsert }] of (b.updates as Document[]).entries()) {
          const { $setOnInsert, ...modifier } = u as Document;
          const found = matching(q)[0];
          if (found) {
            const before = JSON.stringify(found);
            update(found, modifier);
            if (JSON.stringify(found) !== before) nModified++;
            n++;
          } else if (upsert) {
            if (docs.some((d) => d._id === q._id)) {
              writeErrors.push(duplicateKeyError(index, namespace, String(q._id)));
              if (b.ordered !== false) break;
              continue;
            }
            const doc: Document = { _id: q._id, ...$setOnInsert };
            update(doc, modifier);
            docs.push(doc);
            upserted.push({ index, _id: q._id });
            n++;
          }
        }
        return writeReply({ n, nModified, upserted, writeErrors });
      }
      case 'find': {
        let cursor = find(docs, b.filter ?? {});
        if (b.sort) cursor = cursor.sort(b.sort);
        if (b.limit) cursor = cursor.limit(b.limit);
        return cursorReply(namespace, cursor.all() as Document[]);
      }
      case 'delete': {
        let n = 0;
        for (const { q } of b.deletes as Document[]) {
          const found = matching(q)[0];
          if (found) {
            docs.splice(docs.indexOf(found), 1);
            n++;
          }
        }
        return writeReply({ n });
      }
      default:
        return undefined;
    }
  };
  return { docs, responder };
}
