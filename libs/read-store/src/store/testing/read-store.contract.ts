/**
 * The ReadStore contract: behaviour every adapter must have. `factory` returns a new, empty store; the suite
 * initialises and closes it.
 */
import fc from 'fast-check';
import {
  type CollectionSpec,
  type Doc,
  type DocWrite,
  InvalidQueryError,
  type Query,
  type ReadStore,
} from '../../port';
import { compareDocs, expectedResult } from './reference-model';

export const CONTRACT_COLLECTIONS: Record<string, CollectionSpec> = {
  members: {
    indexes: ['orgId', 'name', 'age', 'roles', 'active'],
    search: ['name', 'email'],
    compound: [
      ['orgId', 'name'],
      ['orgId', 'age'],
    ],
  },
  teams: { indexes: ['orgId'] },
};

const upsert = (doc: Doc, position: number, collection = 'members'): DocWrite => ({
  kind: 'upsert',
  collection,
  doc,
  position: BigInt(position),
});
const remove = (id: string, position: number, collection = 'members'): DocWrite => ({
  kind: 'delete',
  collection,
  id,
  position: BigInt(position),
});

async function allPages(store: ReadStore, collection: string, query: Query): Promise<Doc[][]> {
  const pages: Doc[][] = [];
  let cursor = query.cursor;
  do {
    const page = await store.find(collection, { ...query, cursor });
    pages.push(page.items);
    cursor = page.nextCursor;
    if (pages.length > 10_000) throw new Error('pagination does not end');
  } while (cursor !== undefined);
  return pages;
}

const ids = (docs: Doc[]) => docs.map((doc) => doc._id);

export function readStoreContract(name: string, factory: () => Promise<ReadStore>): void {
  describe(`ReadStore contract: ${name}`, () => {
    let store: ReadStore;
    let position = 0;
    /** commits docs at increasing positions */
    const seed = async (docs: Doc[], collection = 'members') => {
      await store.commit(
        'seed',
        docs.map((doc) => upsert(doc, ++position, collection)),
        BigInt(position),
      );
    };

    beforeEach(async () => {
      position = 0;
      store = await factory();
      await store.init(CONTRACT_COLLECTIONS);
    });
    afterEach(async () => {
      await store.close();
    });

    describe('documents', () => {
      it('upserts, gets and getMany with the position guard value', async () => {
        await store.commit(
          'p',
          [upsert({ _id: 'a', name: 'Ada' }, 3), upsert({ _id: 'b', name: 'Bo' }, 4)],
          4n,
        );
        expect(await store.get('members', 'a')).toEqual({ doc: { _id: 'a', name: 'Ada' }, position: 3n });
        expect(await store.get('members', 'zz')).toBeUndefined();
        expect(await store.get('teams', 'a')).toBeUndefined();
        const many = await store.getMany('members', ['b', 'a', 'missing']);
        expect([...many.keys()].sort()).toEqual(['a', 'b']);
        expect(many.get('b')).toEqual({ doc: { _id: 'b', name: 'Bo' }, position: 4n });
        expect((await store.getMany('members', [])).size).toBe(0);
      });

      it('getMany with fields: only _id and those top-level fields, with the position; bad field names refused', async () => {
        await store.commit('p', [upsert({ _id: 'a', name: 'Ada', alias: null, roles: ['x'], nested: { n: 1 } }, 3)], 3n);
        const many = await store.getMany('members', ['a', 'missing'], { fields: ['name', 'alias', 'nested'] });
        expect([...many.keys()]).toEqual(['a']);
        expect(many.get('a')).toEqual({ doc: { _id: 'a', name: 'Ada', alias: null, nested: { n: 1 } }, position: 3n });
        // one field (an array): the same shape
        expect((await store.getMany('members', ['a'], { fields: ['roles'] })).get('a')).toEqual({ doc: { _id: 'a', roles: ['x'] }, position: 3n });
        await expect(store.getMany('members', ['a'], { fields: ["name') --"] })).rejects.toThrow(InvalidQueryError);
        await expect(store.getMany('members', ['a'], { fields: ['nested.n'] })).rejects.toThrow(InvalidQueryError);
      });

      it('replaces the whole document: fields left out of a newer version are gone', async () => {
        await store.commit('p', [upsert({ _id: 'a', name: 'Ada', age: 36 }, 1)], 1n);
        await store.commit('p', [upsert({ _id: 'a', name: 'Ada L.' }, 2)], 2n);
        expect((await store.get('members', 'a'))?.doc).toEqual({ _id: 'a', name: 'Ada L.' });
        expect(await store.count('members', { where: { age: 36 } })).toBe(0);
      });

      it('applies a write only when its position is newer than the stored one', async () => {
        await store.commit('p', [upsert({ _id: 'a', v: 5 }, 5)], 5n);
        await store.commit('p', [upsert({ _id: 'a', v: 4 }, 4)], 6n); // older: ignored
        expect(await store.get('members', 'a')).toEqual({ doc: { _id: 'a', v: 5 }, position: 5n });
        await store.commit('p', [upsert({ _id: 'a', v: 55 }, 5)], 7n); // equal: ignored
        expect(await store.get('members', 'a')).toEqual({ doc: { _id: 'a', v: 5 }, position: 5n });
        await store.commit('p', [upsert({ _id: 'a', v: 6 }, 6)], 8n); // newer: applied
        expect(await store.get('members', 'a')).toEqual({ doc: { _id: 'a', v: 6 }, position: 6n });
      });

      it('inside one batch, the highest position wins whatever the order, the first on a tie', async () => {
        await store.commit(
          'p',
          [
            upsert({ _id: 'a', v: 9 }, 9),
            upsert({ _id: 'a', v: 7 }, 7),
            upsert({ _id: 'b', v: 1 }, 3),
            upsert({ _id: 'b', v: 2 }, 3),
          ],
          9n,
        );
        expect(await store.get('members', 'a')).toEqual({ doc: { _id: 'a', v: 9 }, position: 9n });
        expect(await store.get('members', 'b')).toEqual({ doc: { _id: 'b', v: 1 }, position: 3n });
      });

      it('keeps positions beyond 2^53 exact', async () => {
        const big = 2n ** 62n + 1n;
        await store.commit(
          'p',
          [{ kind: 'upsert', collection: 'members', doc: { _id: 'a' }, position: big }],
          big,
        );
        await store.commit(
          'p',
          [{ kind: 'upsert', collection: 'members', doc: { _id: 'a', v: 1 }, position: big - 1n }],
          big,
        );
        expect(await store.get('members', 'a')).toEqual({ doc: { _id: 'a' }, position: big });
        expect(await store.checkpoint('p')).toBe(big);
      });

      it('deletes under the same guard, and an older upsert replayed later does not resurrect the document', async () => {
        await store.commit('p', [upsert({ _id: 'a', orgId: 'o1', name: 'Ada' }, 2)], 2n);
        await store.commit('p', [remove('a', 1)], 3n); // older delete: ignored
        expect((await store.get('members', 'a'))?.position).toBe(2n);
        await store.commit('p', [remove('a', 5)], 5n);
        expect(await store.get('members', 'a')).toBeUndefined();
        expect((await store.getMany('members', ['a'])).size).toBe(0);
        expect(await store.count('members', {})).toBe(0);
        expect((await store.find('members', { where: { orgId: 'o1' } })).items).toEqual([]);
        expect((await store.find('members', { search: { text: 'ada', fields: ['name'] } })).items).toEqual(
          [],
        );

        // replay of events before the delete (at-least-once delivery, catch-up after a crash)
        await store.commit('p', [upsert({ _id: 'a', orgId: 'o1', name: 'Ada' }, 3)], 5n);
        await store.commit('p', [upsert({ _id: 'a', orgId: 'o1', name: 'Ada' }, 5)], 5n);
        expect(await store.get('members', 'a')).toBeUndefined();
        expect(await store.count('members', { where: { orgId: 'o1' } })).toBe(0);

        // a newer upsert recreates it
        await store.commit('p', [upsert({ _id: 'a', orgId: 'o1', name: 'Ada again' }, 6)], 6n);
        expect(await store.get('members', 'a')).toEqual({
          doc: { _id: 'a', orgId: 'o1', name: 'Ada again' },
          position: 6n,
        });
        expect(
          ids((await store.find('members', { search: { text: 'AGAIN', fields: ['name'] } })).items),
        ).toEqual(['a']);
      });

      it('a delete of a document never seen still guards against its older upserts', async () => {
        await store.commit('p', [remove('ghost', 10)], 10n);
        await store.commit('p', [upsert({ _id: 'ghost' }, 9)], 10n);
        expect(await store.get('members', 'ghost')).toBeUndefined();
        await store.commit('p', [remove('x', 4), upsert({ _id: 'x' }, 3)], 10n); // same batch, any order
        expect(await store.get('members', 'x')).toBeUndefined();
      });

      it('keeps collections apart', async () => {
        await store.commit(
          'p',
          [upsert({ _id: 'a', orgId: 'o' }, 1), upsert({ _id: 'a', orgId: 't' }, 1, 'teams')],
          1n,
        );
        expect((await store.get('members', 'a'))?.doc.orgId).toBe('o');
        expect((await store.get('teams', 'a'))?.doc.orgId).toBe('t');
        expect(await store.count('teams', { where: { orgId: 'o' } })).toBe(0);
      });

      it('stores Unicode ids and values unchanged', async () => {
        const doc = {
          _id: 'ïd-😀-中',
          name: 'Zoë Ångström 李小龍 🧑‍💻',
          note: 'e\u0301 vs é',
          nested: { ü: ['ß', '∑'] },
        };
        await store.commit('p', [upsert(doc, 1)], 1n);
        expect((await store.get('members', doc._id))?.doc).toEqual(doc);
        expect(ids((await store.find('members', { where: { _id: doc._id } })).items)).toEqual([doc._id]);
      });
    });

    describe('checkpoints', () => {
      it('is undefined before the first commit and is written with the documents', async () => {
        expect(await store.checkpoint('p')).toBeUndefined();
        await store.commit('p', [upsert({ _id: 'a' }, 7)], 7n);
        expect(await store.checkpoint('p')).toBe(7n);
        expect(await store.checkpoint('other')).toBeUndefined();
      });

      it('never moves backwards, and moves forward with an empty batch', async () => {
        await store.commit('p', [], 10n);
        await store.commit('p', [upsert({ _id: 'a' }, 11)], 4n);
        expect(await store.checkpoint('p')).toBe(10n);
        expect((await store.get('members', 'a'))?.position).toBe(11n);
        await store.commit('p', [], 12n);
        expect(await store.checkpoint('p')).toBe(12n);
      });

      it('rejects a batch with an invalid write before anything is written', async () => {
        const bad = { kind: 'upsert', collection: 'members', doc: { _id: '' }, position: 3n } as DocWrite;
        await expect(store.commit('p', [upsert({ _id: 'a' }, 2), bad], 3n)).rejects.toThrow(/_id/);
        await expect(store.commit('p', [upsert({ _id: 'b' }, 2, 'nope')], 3n)).rejects.toThrow();
        expect(await store.get('members', 'a')).toBeUndefined();
        expect(await store.checkpoint('p')).toBeUndefined();
      });
    });

    describe('where', () => {
      beforeEach(async () => {
        await seed([
          { _id: 'm1', orgId: 'o1', name: 'Ada', age: 36, active: true, roles: ['owner', 'admin'] },
          { _id: 'm2', orgId: 'o1', name: 'Bob', age: 1, active: false, roles: ['member'] },
          { _id: 'm3', orgId: 'o2', name: 'Cy', age: '36', active: 1, roles: [] },
          { _id: 'm4', orgId: 'o2', name: null, roles: 'owner' },
          { _id: 'm5', orgId: 'o3', name: 'Di', age: 36.5, roles: ['admin', null] },
          { _id: 'm6', name: 'Ed', team: { id: 't1' } },
        ]);
      });
      const where = async (w: Query['where']) =>
        ids((await store.find('members', { where: w })).items).sort();

      it('matches equality and in', async () => {
        expect(await where({ orgId: 'o1' })).toEqual(['m1', 'm2']);
        expect(await where({ orgId: ['o2', 'o3'] })).toEqual(['m3', 'm4', 'm5']);
        expect(await where({ orgId: [] })).toEqual([]);
        expect(await where({ orgId: 'o1', name: 'Bob' })).toEqual(['m2']);
        expect(await where({ _id: ['m2', 'm6', 'nope'] })).toEqual(['m2', 'm6']);
        expect(await where({ 'team.id': 't1' })).toEqual(['m6']);
      });

      it('matches by type: numbers, strings and booleans never equal each other', async () => {
        expect(await where({ age: 36 })).toEqual(['m1']);
        expect(await where({ age: '36' })).toEqual(['m3']);
        expect(await where({ age: [36, 36.5] })).toEqual(['m1', 'm5']);
        expect(await where({ active: true })).toEqual(['m1']);
        expect(await where({ active: false })).toEqual(['m2']);
        expect(await where({ active: 1 })).toEqual(['m3']);
      });

      it('null matches null and missing', async () => {
        expect(await where({ name: null })).toEqual(['m4']);
        expect(await where({ orgId: null })).toEqual(['m6']);
        expect(await where({ orgId: [null, 'o3'] })).toEqual(['m5', 'm6']);
      });

      it('a field holding an array matches when it contains the value', async () => {
        expect(await where({ roles: 'owner' })).toEqual(['m1', 'm4']);
        expect(await where({ roles: ['member', 'admin'] })).toEqual(['m1', 'm2', 'm5']);
        expect(await where({ roles: 'own' })).toEqual([]);
        expect(await where({ roles: null })).toEqual(['m5', 'm6']);
        expect(await store.count('members', { where: { roles: 'admin', orgId: 'o1' } })).toBe(1);
      });

      it('array matching holds for documents written after the field first held arrays', async () => {
        await seed([{ _id: 'm7', orgId: ['o1', 'o9'] }]);
        expect(await where({ orgId: 'o9' })).toEqual(['m7']);
        expect(await where({ orgId: 'o1' })).toEqual(['m1', 'm2', 'm7']);
      });
    });

    describe('search', () => {
      beforeEach(async () => {
        await seed([
          { _id: 's1', name: 'Ada Lovelace', email: 'ADA@example.com' },
          { _id: 's2', name: '100% sure_thing', email: 'pct@example.com' },
          { _id: 's3', name: '1000 sureXthing', email: 'x@example.com' },
          { _id: 's4', name: 'a.b*c+(d)[e]{f}|g^h$i?j\\k/l', email: 'regex@example.com' },
          { _id: 's5', name: 'ÉCOLE Ñandú', email: 'unicode@example.com' },
          { _id: 's6', name: 42, email: ['second@EXAMPLE.org', 'third@example.net'] },
          { _id: 's7', email: 'no-name@example.com' },
        ]);
      });
      const search = async (text: string, fields = ['name', 'email']) =>
        ids((await store.find('members', { search: { text, fields } })).items).sort();

      it('is a case-insensitive substring match over the fields', async () => {
        expect(await search('lovelace')).toEqual(['s1']);
        expect(await search('ada@EXAMPLE')).toEqual(['s1']);
        expect(await search('LOVE', ['email'])).toEqual([]);
        expect(await search('example.org')).toEqual(['s6']);
        expect(await search('@example.')).toEqual(['s1', 's2', 's3', 's4', 's5', 's6', 's7']);
      });

      it('takes %, _ and regex characters literally', async () => {
        expect(await search('100%')).toEqual(['s2']);
        expect(await search('%')).toEqual(['s2']);
        expect(await search('e_t')).toEqual(['s2']);
        expect(await search('_')).toEqual(['s2']);
        expect(await search('a.b*c+(d)[e]{f}|g^h$i?j\\k/l')).toEqual(['s4']);
        expect(await search('.')).toEqual(['s1', 's2', 's3', 's4', 's5', 's6', 's7']);
        expect(await search('.', ['name'])).toEqual(['s4']);
        expect(await search('*')).toEqual(['s4']);
        expect(await search('\\')).toEqual(['s4']);
      });

      it('folds Unicode case', async () => {
        expect(await search('école')).toEqual(['s5']);
        expect(await search('ÑANDÚ')).toEqual(['s5']);
        expect(await search('ecole')).toEqual([]);
      });

      it('a capital sigma ending the text finds the word that goes on past it (not read as a final ς)', async () => {
        await seed([{ _id: 's9', name: 'Οδυσσέας Κωσταντίνου' }]);
        expect(await search('ΟΔΥΣ', ['name'])).toEqual(['s9']);
        expect(await search('ΚΩΣ', ['name'])).toEqual(['s9']);
        expect(await search('οδυσσέας', ['name'])).toEqual(['s9']);
      });

      it('matches strings only, and string elements of arrays', async () => {
        expect(await search('42')).toEqual([]);
        expect(await search('third@')).toEqual(['s6']);
      });

      it('works on fields that were not declared for search', async () => {
        await seed([{ _id: 's8', name: 'x', note: 'Très Bien 50%' }]);
        expect(await search('bien 50%', ['note'])).toEqual(['s8']);
        expect(await search('TRÈS', ['note', 'name'])).toEqual(['s8']);
      });

      it('combines with where, sort and count; empty text matches everything', async () => {
        const page = await store.find('members', {
          search: { text: 'EXAMPLE.COM', fields: ['email'] },
          sort: { field: 'email', direction: 'desc' },
        });
        expect(ids(page.items)).toEqual(['s3', 's5', 's4', 's2', 's7', 's1']);
        expect(await store.count('members', { search: { text: 'example.com', fields: ['email'] } })).toBe(6);
        expect(await store.count('members', { search: { text: '', fields: ['name'] } })).toBe(7);
        expect(
          await store.count('members', {
            where: { _id: ['s1', 's2'] },
            search: { text: 'ada', fields: ['name'] },
          }),
        ).toBe(1);
      });

      it('handles a search that matches thousands of documents', async () => {
        const many = Array.from({ length: 2500 }, (_, i) => ({
          _id: `bulk${String(i).padStart(4, '0')}`,
          name: `Bulk ${i}`,
          email: `b${i}@bulk.test`,
        }));
        await seed(many);
        const page = await store.find('members', {
          search: { text: 'bulk', fields: ['name', 'email'] },
          sort: { field: 'name', direction: 'asc' },
          limit: 3,
        });
        expect(page.items.map((doc) => doc.name)).toEqual(['Bulk 0', 'Bulk 1', 'Bulk 10']);
        expect(await store.count('members', { search: { text: 'BULK', fields: ['name'] } })).toBe(2500);
        expect(await store.count('members', { search: { text: 'bulk 24', fields: ['name'] } })).toBe(111);
      });
    });

    describe('sort and pagination', () => {
      const docs: Doc[] = [
        { _id: 'p01', orgId: 'o1', name: 'Mia', age: 30 },
        { _id: 'p02', orgId: 'o1', name: 'ada', age: 30 },
        { _id: 'p03', orgId: 'o1', name: 'Ada', age: null },
        { _id: 'p04', orgId: 'o1', age: 7 },
        { _id: 'p05', orgId: 'o2', name: null, age: -2.5 },
        { _id: 'p06', orgId: 'o1', name: 'Mia', age: 30 },
        { _id: 'p07', orgId: 'o1', name: 'Zoë', age: 1e6 },
        { _id: 'p08', orgId: 'o1', name: 'Émile', age: 30 },
        { _id: 'p09', orgId: 'o1', name: 'zed' },
        { _id: 'p10', orgId: 'o1', name: '中村' },
        { _id: 'p11', orgId: 'o1', name: '😀 smile' },
        { _id: 'p12', orgId: 'o1', name: 'ｚ fullwidth' },
        { _id: 'p00', orgId: 'o1', name: 'Mia', age: 0 },
      ];
      beforeEach(() => seed(docs));

      it('sorts ascending: nulls and missing first, ties by _id, strings by code point', async () => {
        const page = await store.find('members', { sort: { field: 'name', direction: 'asc' } });
        expect(ids(page.items)).toEqual([
          'p04',
          'p05',
          'p03',
          'p00',
          'p01',
          'p06',
          'p07',
          'p02',
          'p09',
          'p08',
          'p10',
          'p12',
          'p11',
        ]);
        expect(page.nextCursor).toBeUndefined();
      });

      it('sorts descending: nulls and missing last, ties by _id descending', async () => {
        const page = await store.find('members', { sort: { field: 'age', direction: 'desc' } });
        expect(ids(page.items)).toEqual([
          'p07',
          'p08',
          'p06',
          'p02',
          'p01',
          'p04',
          'p00',
          'p05',
          'p12',
          'p11',
          'p10',
          'p09',
          'p03',
        ]);
      });

      it('sorts by _id when no sort is given', async () => {
        const page = await store.find('members', {});
        expect(ids(page.items)).toEqual(docs.map((doc) => doc._id).sort());
      });

      for (const sort of [
        { field: 'name', direction: 'asc' },
        { field: 'name', direction: 'desc' },
        { field: 'age', direction: 'asc' },
        { field: 'age', direction: 'desc' },
        { field: '_id', direction: 'desc' },
      ] as const) {
        it(`pages by ${sort.field} ${sort.direction} cover every document exactly once, in order`, async () => {
          for (const limit of [1, 2, 3, 5, 13, 14]) {
            const pages = await allPages(store, 'members', { sort, limit });
            expect(pages.flat()).toEqual(expectedResult(docs, { sort }));
            expect(pages.slice(0, -1).every((page) => page.length === limit)).toBe(true);
            expect(pages.at(-1)?.length).toBeGreaterThan(0);
          }
        });
      }

      it('pages stay stable when documents are inserted or deleted before the cursor', async () => {
        const sort = { field: 'name', direction: 'asc' } as const;
        const first = await store.find('members', { sort, limit: 5 });
        await store.commit(
          'p',
          [upsert({ _id: 'p13', orgId: 'o1', name: 'Aaron' }, 100), remove('p04', 101)],
          101n,
        );
        const rest = (await allPages(store, 'members', { sort, limit: 4, cursor: first.nextCursor })).flat();
        expect(ids([...first.items, ...rest])).toEqual([
          'p04',
          'p05',
          'p03',
          'p00',
          'p01',
          'p06',
          'p07',
          'p02',
          'p09',
          'p08',
          'p10',
          'p12',
          'p11',
        ]);
      });

      it('pages within one orgId by name and by age (compound indexes), both directions', async () => {
        for (const sort of [
          { field: 'name', direction: 'asc' },
          { field: 'name', direction: 'desc' },
          { field: 'age', direction: 'asc' },
          { field: 'age', direction: 'desc' },
        ] as const) {
          const query: Query = { where: { orgId: 'o1' }, sort, limit: 2 };
          const pages = await allPages(store, 'members', query);
          expect(pages.flat()).toEqual(expectedResult(docs, query));
          expect(pages.flat()).toHaveLength(12);
        }
      });

      it('pages with where and search too', async () => {
        const query: Query = {
          where: { orgId: 'o1' },
          search: { text: 'i', fields: ['name'] },
          sort: { field: 'name', direction: 'desc' },
          limit: 2,
        };
        const pages = await allPages(store, 'members', query);
        expect(ids(pages.flat())).toEqual(['p11', 'p12', 'p08', 'p06', 'p01', 'p00']);
      });

      it('limits pages to 50 by default and 500 at most; rejects invalid limits', async () => {
        await seed(
          Array.from({ length: 600 }, (_, i) => ({ _id: `l${String(i).padStart(3, '0')}`, orgId: 'lim' })),
        );
        expect((await store.find('members', { where: { orgId: 'lim' } })).items).toHaveLength(50);
        const capped = await store.find('members', { where: { orgId: 'lim' }, limit: 10_000 });
        expect(capped.items).toHaveLength(500);
        expect(capped.nextCursor).toBeDefined();
        await expect(store.find('members', { limit: 0 })).rejects.toThrow(InvalidQueryError);
        await expect(store.find('members', { limit: 2.5 })).rejects.toThrow(InvalidQueryError);
      });

      it('rejects malformed cursors and cursors of another sort', async () => {
        const page = await store.find('members', { sort: { field: 'name', direction: 'asc' }, limit: 2 });
        // the other direction, and another sort, each said so (probe 89 F8); another list's cursor says that first
        await expect(
          store.find('members', { sort: { field: 'name', direction: 'desc' }, cursor: page.nextCursor }),
        ).rejects.toThrow('cursor belongs to the ascending order: ask with the direction it was given for, or leave it out');
        await expect(store.find('members', { cursor: page.nextCursor })).rejects.toThrow('cursor belongs to another sort');
        await expect(store.find('members', { where: { orgId: 'other' }, sort: { field: 'name', direction: 'desc' }, cursor: page.nextCursor })).rejects.toThrow(
          'cursor belongs to another list or filter',
        );
        await expect(store.find('members', { cursor: 'not-a-cursor' })).rejects.toThrow(InvalidQueryError);
        await expect(
          store.find('members', {
            cursor: Buffer.from('{"s":"_id:asc","v":{},"id":1}').toString('base64url'),
          }),
        ).rejects.toThrow(InvalidQueryError);
      });

      it('rejects invalid field names', async () => {
        await expect(store.find('members', { where: { "name') OR 1=1 --": 'x' } })).rejects.toThrow(
          InvalidQueryError,
        );
        await expect(store.find('members', { sort: { field: '$where', direction: 'asc' } })).rejects.toThrow(
          InvalidQueryError,
        );
        await expect(store.count('members', { search: { text: 'x', fields: [] } })).rejects.toThrow(
          InvalidQueryError,
        );
      });

      it('pagination equals the sorted full result for random documents and page sizes (property)', async () => {
        const name = fc.option(fc.constantFrom('a', 'B', 'b', 'é', 'zz', '中', '😀'), { nil: undefined });
        const docArb = fc.record({
          name,
          age: fc.option(fc.integer({ min: -3, max: 3 }), { nil: undefined }),
          orgId: fc.constantFrom('x', 'y'),
        });
        await fc.assert(
          fc.asyncProperty(
            fc.uniqueArray(fc.integer({ min: 0, max: 999 }), { minLength: 0, maxLength: 25 }),
            fc.array(docArb, { minLength: 25, maxLength: 25 }),
            fc.constantFrom('name', 'age', '_id'),
            fc.constantFrom('asc', 'desc'),
            fc.integer({ min: 1, max: 7 }),
            fc.boolean(),
            async (keys, shapes, field, direction, limit, filtered) => {
              await store.reset('prop', ['teams']);
              const randomDocs = keys.map((key, i) => {
                const { name: n, age, orgId } = shapes[i];
                return {
                  _id: `r${key}`,
                  orgId,
                  ...(n === undefined ? {} : { name: n }),
                  ...(age === undefined ? {} : { age }),
                };
              });
              await store.commit(
                'prop',
                randomDocs.map((doc, i) => upsert(doc, i + 1, 'teams')),
                1n,
              );
              const query: Query = {
                sort: { field, direction },
                limit,
                ...(filtered ? { where: { orgId: 'x' } } : {}),
              };
              const pages = await allPages(store, 'teams', query);
              expect(pages.flat()).toEqual(expectedResult(randomDocs, query));
              expect(await store.count('teams', { where: query.where })).toBe(
                expectedResult(randomDocs, query).length,
              );
            },
          ),
          { numRuns: 30 },
        );
      });
    });

    describe('stream and count', () => {
      it('streams every match in sort order across internal pages', async () => {
        const many = Array.from({ length: 2345 }, (_, i) => ({
          _id: `d${i}`,
          orgId: i % 3 === 0 ? 'o3' : 'ox',
          age: i % 17,
        }));
        await store.commit(
          'p',
          many.map((doc, i) => upsert(doc, i + 1, 'teams')),
          1n,
        );
        const query = { where: { orgId: 'o3' }, sort: { field: 'age', direction: 'desc' } } as const;
        const streamed: Doc[] = [];
        for await (const doc of store.stream('teams', query)) streamed.push(doc);
        const expected = expectedResult(many, query);
        expect(streamed).toHaveLength(782);
        expect(ids(streamed)).toEqual(ids(expected));
        expect(streamed.every((doc, i) => i === 0 || compareDocs(query.sort)(streamed[i - 1], doc) < 0)).toBe(
          true,
        );
        expect(await store.count('teams', { where: { orgId: 'o3' } })).toBe(782);
        expect(await store.count('teams', {})).toBe(2345);
      });

      it('readTogether: every match of each query in its sort order (across internal pages), an empty result empty', async () => {
        const many = Array.from({ length: 2345 }, (_, i) => ({ _id: `d${i}`, orgId: i % 3 === 0 ? 'o3' : 'ox', age: i % 17 }));
        await store.commit('p', [...many.map((doc, i) => upsert(doc, i + 1, 'teams')), upsert({ _id: 'm1', orgId: 'o3', name: 'Ada' }, 3000)], 3000n);
        const teams = { where: { orgId: 'o3' }, sort: { field: 'age', direction: 'desc' } } as const;
        const [together, members, none] = await store.readTogether([
          { collection: 'teams', query: teams },
          { collection: 'members', query: { where: { orgId: 'o3' } } },
          { collection: 'members', query: { where: { orgId: 'none' } } },
        ]);
        expect(ids(together!)).toEqual(ids(expectedResult(many, teams)));
        expect(together).toHaveLength(782);
        expect(members).toEqual([{ _id: 'm1', orgId: 'o3', name: 'Ada' }]);
        expect(none).toEqual([]);
      });

      it('streams nothing from an empty result', async () => {
        const streamed: Doc[] = [];
        for await (const doc of store.stream('members', { where: { orgId: 'none' } })) streamed.push(doc);
        expect(streamed).toEqual([]);
      });
    });

    describe('reset', () => {
      it('drops the projection documents and checkpoint, keeps the others, and the store keeps working', async () => {
        await store.commit(
          'members-projection',
          [upsert({ _id: 'a', orgId: 'o', name: 'Ada' }, 5), remove('gone', 6)],
          6n,
        );
        await store.commit('teams-projection', [upsert({ _id: 't', orgId: 'o' }, 7, 'teams')], 7n);
        await store.reset('members-projection', ['members']);
        expect(await store.checkpoint('members-projection')).toBeUndefined();
        expect(await store.get('members', 'a')).toBeUndefined();
        expect(await store.checkpoint('teams-projection')).toBe(7n);
        expect((await store.get('teams', 't'))?.position).toBe(7n);

        // rebuild from the start: positions lower than before, tombstones are gone too
        await store.commit(
          'members-projection',
          [
            upsert({ _id: 'a', orgId: 'o', name: 'Ada', roles: ['x'] }, 1),
            upsert({ _id: 'gone', orgId: 'o', name: 'Back' }, 2),
          ],
          2n,
        );
        expect(await store.checkpoint('members-projection')).toBe(2n);
        expect(await store.count('members', {})).toBe(2);
        expect(
          ids(
            (
              await store.find('members', {
                where: { orgId: 'o' },
                sort: { field: 'name', direction: 'asc' },
              })
            ).items,
          ),
        ).toEqual(['a', 'gone']);
        expect(
          ids((await store.find('members', { search: { text: 'bAc', fields: ['name'] } })).items),
        ).toEqual(['gone']);
        expect(ids((await store.find('members', { where: { roles: 'x' } })).items)).toEqual(['a']);
        await store.commit('members-projection', [upsert({ _id: 'c', name: 'Cleo' }, 3)], 3n);
        expect(
          ids((await store.find('members', { search: { text: 'cle', fields: ['name'] } })).items),
        ).toEqual(['c']);
      });
    });

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}
