/**
 * THIS IS NOT A MONGODB SERVER TEST. No MongoDB server runs here. These tests take the filter, sort and write
 * documents that mongo-queries.ts builds for the MongoDB adapter and evaluate them with `mingo`, an in-memory
 * implementation of MongoDB's query language, then compare the results with the SQLite adapter and with the
 * reference model. They show that the documents express the intended semantics; they cannot show what only a
 * server does: index use, the retry of two upserts racing to insert one document, BSON Int64 comparisons (positions are handed to mingo as numbers), or string order by UTF-8 bytes (mingo
 * compares UTF-16 units, so sort fixtures avoid characters where the two orders differ).
 * The real thing: `MONGO_URL=mongodb://localhost:27017 npm run test:mongo` runs the contract against a server.
 */
import fc from 'fast-check';
import { aggregate, find, Query as MingoQuery, update } from 'mingo';
import { Long, type Document } from 'mongodb';
import { type Doc, type DocWrite, InvalidQueryError, type Query } from '../port';
import {
  CHECKPOINTS_COLLECTION,
  MAX_REGEX_BYTES,
  buildCheckpointUpdate,
  buildFilter,
  buildFindPlan,
  buildIndexes,
  buildSort,
  buildWrites,
  toPage,
  toStoredDoc,
} from './mongo-queries';
import { SqliteReadStore } from './sqlite-read-store';
import { expectedResult } from './testing/reference-model';

/** BSON values as mingo can compare them: Int64 as a number (exact below 2^53, all the positions used here) */
function plain(value: unknown): unknown {
  if (Long.isLong(value)) return value.toNumber();
  if (Array.isArray(value)) return value.map(plain);
  if (value instanceof RegExp) return value;
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, plain(item)]));
  }
  return value;
}

/** a collection in memory that applies the adapter's documents the way the server does */
class SimulatedCollection {
  docs: Document[] = [];
  /** statements that matched a document and left it as it was (a stale write) */
  unchanged = 0;

  /** bulk of the adapter's guarded pipeline upserts (`updateOne` on `_id`), the pipeline run by mingo's `aggregate` */
  bulkWrite(operations: Document[]): void {
    for (const operation of operations) {
      const { filter, update: pipeline, upsert } = operation.updateOne as { filter: Document; update: Document[]; upsert: boolean };
      const index = this.docs.findIndex((doc) => doc._id === filter._id);
      // an upsert that matches nothing runs the pipeline over a document holding the filter's equality (the server's way)
      const current = index >= 0 ? this.docs[index]! : { _id: filter._id };
      const [next] = aggregate([current], plain(pipeline) as Document[]) as Document[];
      if (index >= 0) {
        if (JSON.stringify(next) === JSON.stringify(current)) this.unchanged++;
        this.docs[index] = next!;
      } else if (upsert) this.docs.push(next!);
    }
  }

  find(filter: Document, sort: Document, limit: number): Document[] {
    return find(this.docs, plain(filter) as Document)
      .sort(sort)
      .limit(limit)
      .all() as Document[];
  }
}

/** the MongoDB adapter's commit and find, over simulated collections */
class SimulatedMongo {
  readonly collections = new Map<string, SimulatedCollection>();
  readonly checkpoints: Document[] = [];

  collection(name: string): SimulatedCollection {
    let collection = this.collections.get(name);
    if (!collection) this.collections.set(name, (collection = new SimulatedCollection()));
    return collection;
  }

  commit(projection: string, writes: DocWrite[], checkpoint: bigint): void {
    for (const [name, operations] of buildWrites(writes)) this.collection(name).bulkWrite(operations);
    const { filter, update: modifier } = buildCheckpointUpdate(projection, checkpoint);
    let stored = this.checkpoints.find((doc) => new MingoQuery(plain(filter) as Document).test(doc));
    if (!stored) this.checkpoints.push((stored = { _id: filter._id }));
    update(stored, plain(modifier) as Document);
  }

  checkpoint(projection: string): bigint | undefined {
    const stored = this.checkpoints.find((doc) => doc._id === projection);
    return stored ? BigInt(stored.position as number) : undefined;
  }

  get(collection: string, id: string) {
    return toStoredDoc(this.collection(collection).docs.find((doc) => doc._id === id));
  }

  findPage(collection: string, query: Query) {
    const plan = buildFindPlan(query);
    return toPage(this.collection(collection).find(plan.filter, plan.sort, plan.fetch), plan);
  }

  findAll(collection: string, query: Query): Doc[][] {
    const pages: Doc[][] = [];
    let cursor = query.cursor;
    do {
      const page = this.findPage(collection, { ...query, cursor });
      pages.push(page.items);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return pages;
  }
}

async function sqlitePages(store: SqliteReadStore, collection: string, query: Query): Promise<Doc[][]> {
  const pages: Doc[][] = [];
  let cursor = query.cursor;
  do {
    const page = await store.find(collection, { ...query, cursor });
    pages.push(page.items);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return pages;
}

const ids = (docs: Doc[]) => docs.map((doc) => doc._id);
const upsert = (doc: Doc, position: number): DocWrite => ({
  kind: 'upsert',
  collection: 'members',
  doc,
  position: BigInt(position),
});
const remove = (id: string, position: number): DocWrite => ({
  kind: 'delete',
  collection: 'members',
  id,
  position: BigInt(position),
});

const DOCS: Doc[] = [
  {
    _id: 'm01',
    orgId: 'o1',
    name: 'Ada Lovelace',
    email: 'ADA@example.com',
    age: 36,
    active: true,
    roles: ['owner', 'admin'],
  },
  {
    _id: 'm02',
    orgId: 'o1',
    name: 'bob',
    email: 'bob@example.com',
    age: 1,
    active: false,
    roles: ['member'],
  },
  { _id: 'm03', orgId: 'o2', name: 'Cy 100%', email: 'cy@example.org', age: '36', active: 1, roles: [] },
  { _id: 'm04', orgId: 'o2', name: null, email: 'x_y@example.com', roles: 'owner' },
  { _id: 'm05', orgId: 'o3', name: 'a.b*c+(d)[e]{f}|g^h$i?j\\k', age: 36.5, roles: ['admin', null] },
  { _id: 'm06', name: 'Émile Zola', email: 'emile@EXAMPLE.com', team: { id: 't1' } },
  { _id: 'm07', orgId: 'o1', name: 'Ada Lovelace', age: 36 },
  { _id: 'm08', orgId: 'o1', name: 'ÉCOLE Ñandú 中村 😀', age: -4 },
  { _id: 'm09', orgId: ['o1', 'o4'], name: 'zed', age: null },
];

const QUERIES: Query[] = [
  {},
  { where: { orgId: 'o1' } },
  { where: { orgId: ['o2', 'o4'] } },
  { where: { orgId: null } },
  { where: { roles: 'owner' } },
  { where: { roles: ['member', 'admin'] } },
  { where: { roles: null } },
  { where: { age: 36 } },
  { where: { age: '36' } },
  { where: { active: true } },
  { where: { active: 1 } },
  { where: { 'team.id': 't1' } },
  { where: { _id: ['m02', 'm09', 'nope'] } },
  { where: { orgId: 'o1', age: 36 } },
  { search: { text: 'ada', fields: ['name'] } },
  { search: { text: 'EXAMPLE.COM', fields: ['email'] } },
  { search: { text: '100%', fields: ['name', 'email'] } },
  { search: { text: 'x_y', fields: ['email'] } },
  { search: { text: '_', fields: ['name', 'email'] } },
  { search: { text: 'a.b*c+(d)[e]{f}|g^h$i?j\\k', fields: ['name'] } },
  { search: { text: '.', fields: ['name'] } },
  { search: { text: 'école ñandú', fields: ['name'] } },
  { search: { text: '😀', fields: ['name'] } },
  { search: { text: '36', fields: ['age'] } },
  {
    where: { orgId: 'o1' },
    search: { text: 'LOVE', fields: ['name', 'email'] },
    sort: { field: 'age', direction: 'desc' },
  },
  { sort: { field: 'name', direction: 'asc' } },
  { sort: { field: 'name', direction: 'desc' } },
  { sort: { field: 'email', direction: 'asc' } },
  { sort: { field: '_id', direction: 'desc' } },
];
// sort by age only where it holds numbers or null: mixed types order differently in SQLite and MongoDB
const AGE_SORTS: Query[] = [
  { where: { orgId: 'o1' }, sort: { field: 'age', direction: 'asc' } },
  { where: { orgId: 'o1' }, sort: { field: 'age', direction: 'desc' } },
];

describe('MongoDB query documents, evaluated with mingo (not a server test)', () => {
  let sqlite: SqliteReadStore;
  let mongo: SimulatedMongo;

  beforeEach(async () => {
    sqlite = new SqliteReadStore({ path: ':memory:' });
    await sqlite.init({ members: { indexes: ['orgId', 'name', 'age', 'roles'], search: ['name', 'email'] } });
    mongo = new SimulatedMongo();
    const writes = DOCS.map((doc, i) => upsert(doc, i + 1));
    await sqlite.commit('p', writes, 9n);
    mongo.commit('p', writes, 9n);
  });
  afterEach(() => sqlite.close());

  describe('find', () => {
    for (const query of [...QUERIES, ...AGE_SORTS]) {
      it(`${JSON.stringify(query)}: same pages as SQLite and the reference model`, async () => {
        for (const limit of [1, 2, 4, 50]) {
          const expected = ids(expectedResult(DOCS, query));
          const mongoPages = mongo.findAll('members', { ...query, limit });
          const sqlitePagesFound = await sqlitePages(sqlite, 'members', { ...query, limit });
          expect(ids(mongoPages.flat())).toEqual(expected);
          expect(mongoPages.map(ids)).toEqual(sqlitePagesFound.map(ids));
        }
      });
    }

    it('matches the same random queries as SQLite, page by page (property)', async () => {
      const value = fc.constantFrom<string | number | null>('a', 'A', 'b', 'x.y', '50%', 'é', 1, 2, null);
      const field = fc.option(fc.oneof(value, fc.array(value, { maxLength: 3 })), { nil: undefined });
      const docArb = fc.record({
        tag: field,
        name: fc.option(fc.constantFrom('Ann', 'ann', 'Bo%b', 'c_d', 'x.y*', 'Édith'), { nil: undefined }),
        n: fc.option(fc.integer({ min: -2, max: 2 }), { nil: undefined }),
      });
      const queryArb = fc.record({
        where: fc.option(fc.record({ tag: fc.oneof(value, fc.array(value, { maxLength: 3 })) }), {
          nil: undefined,
        }),
        search: fc.option(
          fc.record({
            text: fc.constantFrom('a', 'N', '%', '_', '.', 'x.y*', 'é', 'ÉD', 'b%b'),
            fields: fc.constantFrom(['name'], ['name', 'tag']),
          }),
          { nil: undefined },
        ),
        sort: fc.option(
          fc.record({
            field: fc.constantFrom('name', 'n', '_id'),
            direction: fc.constantFrom<'asc' | 'desc'>('asc', 'desc'),
          }),
          { nil: undefined },
        ),
        limit: fc.integer({ min: 1, max: 6 }),
      });
      await fc.assert(
        fc.asyncProperty(fc.array(docArb, { maxLength: 20 }), queryArb, async (shapes, rawQuery) => {
          const docs: Doc[] = shapes.map((shape, i) => ({
            _id: `d${String(i).padStart(2, '0')}`,
            ...Object.fromEntries(Object.entries(shape).filter(([, v]) => v !== undefined)),
          }));
          const query = Object.fromEntries(
            Object.entries(rawQuery).filter(([, v]) => v !== undefined),
          ) as Query;
          const store = new SqliteReadStore({ path: ':memory:' });
          try {
            await store.init({ random: { indexes: ['tag', 'n'], search: ['name'] } });
            const writes = docs.map((doc, i): DocWrite => ({
              kind: 'upsert',
              collection: 'random',
              doc,
              position: BigInt(i + 1),
            }));
            await store.commit('p', writes, 1n);
            const simulated = new SimulatedMongo();
            simulated.commit('p', writes, 1n);
            const fromMongo = simulated.findAll('random', query);
            const fromSqlite = await sqlitePages(store, 'random', query);
            expect(fromMongo.map(ids)).toEqual(fromSqlite.map(ids));
            expect(ids(fromMongo.flat())).toEqual(ids(expectedResult(docs, query)));
          } finally {
            await store.close();
          }
        }),
        { numRuns: 150 },
      );
    });
  });

  describe('writes', () => {
    it('guards upserts by position: older and equal leave the stored document as it is, newer applied', async () => {
      const members = mongo.collection('members');
      mongo.commit('p', [upsert({ _id: 'm01', v: 'older' }, 0)], 9n);
      mongo.commit('p', [upsert({ _id: 'm01', v: 'equal' }, 1)], 9n);
      expect(members.unchanged).toBe(2);
      expect(mongo.get('members', 'm01')?.doc).toEqual(DOCS[0]);
      mongo.commit('p', [upsert({ _id: 'm01', v: 'newer' }, 10)], 10n);
      expect(mongo.get('members', 'm01')).toEqual({ doc: { _id: 'm01', v: 'newer' }, position: 10n });
      expect(members.unchanged).toBe(2);
    });

    it('keeps a tombstone so that a replayed older upsert does not resurrect the document', () => {
      mongo.commit('p', [remove('m02', 20)], 20n);
      expect(mongo.get('members', 'm02')).toBeUndefined();
      expect(mongo.collection('members').docs.find((doc) => doc._id === 'm02')).toEqual({
        _id: 'm02',
        _position: 20,
        _deleted: true,
      });
      mongo.commit('p', [upsert({ _id: 'm02', name: 'bob' }, 2)], 20n);
      expect(mongo.get('members', 'm02')).toBeUndefined();
      expect(ids(mongo.findAll('members', { where: { orgId: 'o1' } }).flat())).toEqual([
        'm01',
        'm07',
        'm08',
        'm09',
      ]);
      mongo.commit('p', [upsert({ _id: 'm02', name: 'bob again' }, 21)], 21n);
      expect(mongo.get('members', 'm02')).toEqual({ doc: { _id: 'm02', name: 'bob again' }, position: 21n });
    });

    it('never moves the checkpoint backwards', () => {
      expect(mongo.checkpoint('p')).toBe(9n);
      mongo.commit('p', [], 5n);
      expect(mongo.checkpoint('p')).toBe(9n);
      mongo.commit('p', [], 12n);
      expect(mongo.checkpoint('p')).toBe(12n);
      expect(mongo.checkpoint('other')).toBeUndefined();
      expect(buildCheckpointUpdate('p', 2n ** 63n - 1n).update).toEqual({
        $max: { position: Long.fromBigInt(2n ** 63n - 1n) },
      });
      expect(CHECKPOINTS_COLLECTION).toBe('read_store_checkpoints');
    });

    it('ends in the same documents as SQLite for random write sequences (property)', async () => {
      const write = fc.record({
        id: fc.constantFrom('a', 'b', 'c'),
        kind: fc.constantFrom<'upsert' | 'delete'>('upsert', 'upsert', 'delete'),
        position: fc.integer({ min: 1, max: 12 }),
        v: fc.integer({ min: 0, max: 99 }),
      });
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.array(write, { minLength: 0, maxLength: 5 }), { maxLength: 6 }),
          async (batches) => {
            const store = new SqliteReadStore({ path: ':memory:' });
            try {
              await store.init({ members: { indexes: [] } });
              const simulated = new SimulatedMongo();
              for (const [i, batch] of batches.entries()) {
                const writes = batch.map(({ id, kind, position, v }) =>
                  kind === 'upsert' ? upsert({ _id: id, v }, position) : remove(id, position),
                );
                await store.commit('p', writes, BigInt(i));
                simulated.commit('p', writes, BigInt(i));
              }
              for (const id of ['a', 'b', 'c'])
                expect(simulated.get('members', id)).toEqual(await store.get('members', id));
              expect(simulated.checkpoint('p')).toEqual(await store.checkpoint('p'));
            } finally {
              await store.close();
            }
          },
        ),
        { numRuns: 200 },
      );
    });

    it('builds guarded pipeline upserts and tombstones on the _id alone, one per document (the last of a document wins)', () => {
      const batches = buildWrites([
        upsert({ _id: 'a', x: 1 }, 5),
        upsert({ _id: 'a', x: 2 }, 7),
        remove('b', 6),
      ]);
      expect([...batches.keys()]).toEqual(['members']);
      const newer = (position: bigint, doc: Document) => [
        { $replaceWith: { $cond: [{ $lt: [{ $ifNull: ['$_position', Long.fromNumber(-1)] }, Long.fromBigInt(position)] }, { $literal: doc }, '$$ROOT'] } },
      ];
      expect(batches.get('members')).toEqual([
        { updateOne: { filter: { _id: 'a' }, update: newer(7n, { _id: 'a', x: 2, _position: Long.fromBigInt(7n) }), upsert: true } },
        { updateOne: { filter: { _id: 'b' }, update: newer(6n, { _id: 'b', _position: Long.fromBigInt(6n), _deleted: true }), upsert: true } },
      ]);
      expect(() => buildWrites([upsert({ _id: 'a', _position: 3 }, 1)])).toThrow(/reserved/);
    });
  });

  describe('search patterns and indexes', () => {
    it('searches a text holding NUL as `\\x00` (the server refuses a NUL byte in a pattern); too long: 400', () => {
      const filter = buildFilter({ search: { text: 'a\u0000b.', fields: ['name'] } });
      expect(filter).toEqual({
        $and: [{ _deleted: { $ne: true } }, { $or: [{ name: { $regex: 'a\\x00b\\.', $options: 'i' } }] }],
      });
      expect(JSON.stringify(filter)).not.toContain('\\u0000');
      const docs = ['a\u0000b.', 'A\u0000B.', 'ab.', 'a b.', 'a\u0000bc', 'xa\u0000b.y'].map((name, i) => ({
        _id: `n${i}`,
        name,
      }));
      expect(ids(find(docs, plain(filter) as Document).all() as Doc[])).toEqual(['n0', 'n1', 'n5']);
      const search = (text: string) => () => buildFilter({ search: { text, fields: ['name'] } });
      expect(search('\u0000'.repeat(MAX_REGEX_BYTES / 4))).not.toThrow();
      expect(search('.'.repeat(MAX_REGEX_BYTES / 2))).not.toThrow();
      expect(search('.'.repeat(MAX_REGEX_BYTES / 2 + 1))).toThrow(InvalidQueryError);
      expect(search('é'.repeat(MAX_REGEX_BYTES / 2 + 1))).toThrow(/too long: 32766 bytes/);
    });

    it('indexes each field with _id, for equality and keyset sorts', () => {
      const indexes = buildIndexes(['orgId', 'name', '_id', 'orgId'], [['orgId', 'name']]);
      expect(indexes).toEqual([
        { key: { orgId: 1, _id: 1 }, name: 'rs_orgId' },
        { key: { name: 1, _id: 1 }, name: 'rs_name' },
        { key: { orgId: 1, name: 1, _id: 1 }, name: 'rs_orgId+name' },
      ]);
      expect(Object.keys(indexes[2].key)).toEqual(['orgId', 'name', '_id']);
      expect(buildSort({ field: 'name', direction: 'desc' })).toEqual({ name: -1, _id: -1 });
      expect(buildSort(undefined)).toEqual({ _id: 1 });
      expect(buildFilter({})).toEqual({ _deleted: { $ne: true } });
    });
  });
});
