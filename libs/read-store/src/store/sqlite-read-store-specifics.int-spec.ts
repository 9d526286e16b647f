/**
 * What the contract does not cover for the SQLite adapter: query plans (indexes are used), the rebuild mode
 * after reset, persistence across reopen, several connections on one file, rollback of a failed batch, and
 * changes of the collection spec between runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { CollectionSpec, Doc, DocWrite } from '../port';
import { encodeCursor } from './query-common';
import { SqliteReadStore } from './sqlite-read-store';

const dir = mkdtempSync(join(tmpdir(), 'read-store-sqlite-'));
let files = 0;
const newFile = () => join(dir, `read-${++files}.sqlite`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SPEC: Record<string, CollectionSpec> = {
  people: {
    indexes: ['orgId', 'name', 'age', 'tags'],
    search: ['name', 'email'],
    compound: [['orgId', 'name']],
  },
};

const upsert = (doc: Doc, position: number): DocWrite => ({
  kind: 'upsert',
  collection: 'people',
  doc,
  position: BigInt(position),
});

/** `count` people: `big` orgId for most, a few in `small`, ages and names spread */
function people(count: number): Doc[] {
  return Array.from({ length: count }, (_, i) => ({
    _id: `p${String(i).padStart(5, '0')}`,
    orgId: i % 100 === 0 ? 'small' : 'big',
    name: `Person ${(i * 7919) % count}`,
    email: `p${i}@example.com`,
    age: i % 90,
    tags: i % 2 === 0 ? ['even'] : ['odd'],
  }));
}

async function openWith(file: string, docs: Doc[]): Promise<SqliteReadStore> {
  const store = new SqliteReadStore({ path: file });
  await store.init(SPEC);
  await store.commit(
    'p',
    docs.map((doc, i) => upsert(doc, i + 1)),
    BigInt(docs.length),
  );
  return store;
}

const indexNames = (file: string) => {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return db
      .prepare(`SELECT name FROM sqlite_schema WHERE type = 'index' AND name LIKE 'rs_idx_%' ORDER BY name`)
      .all()
      .map((row) => row.name);
  } finally {
    db.close();
  }
};

describe('SqliteReadStore specifics', () => {
  describe('query plans', () => {
    let store: SqliteReadStore;
    beforeAll(async () => {
      store = await openWith(newFile(), people(5000));
    });
    afterAll(() => store.close());
    const plan = (query: Parameters<SqliteReadStore['explainFind']>[1]) =>
      store.explainFind('people', query).join(' | ');

    it('uses the field index for where, without reading other documents', () => {
      expect(plan({ where: { orgId: 'small' } })).toMatch(/USING INDEX rs_idx_people__orgId \(<expr>=\?\)/);
      expect(plan({ where: { age: [1, 2] } })).toMatch(/USING INDEX rs_idx_people__age \(<expr>=\?\)/);
    });

    it('reads a sorted page of one orgId straight from the compound index, also after a cursor', async () => {
      const query = { where: { orgId: 'big' }, sort: { field: 'name', direction: 'desc' } } as const;
      expect(plan(query)).toMatch(/rs_idx_people__orgId\+name/);
      expect(plan(query)).not.toMatch(/TEMP B-TREE/);
      const { nextCursor } = await store.find('people', query);
      expect(plan({ ...query, cursor: nextCursor })).toMatch(/rs_idx_people__orgId\+name/);
      expect(plan({ ...query, cursor: nextCursor })).not.toMatch(/TEMP B-TREE/);
    });

    it('of two compounds that fit, reads through the one pinning the most fields (probe 42 F3: the history by user scanned the workspace)', async () => {
      const file = newFile();
      const narrow = new SqliteReadStore({ path: file });
      await narrow.init({ people: { ...SPEC.people!, compound: [['orgId', 'name'], ['orgId', 'email', 'name']] } });
      await narrow.commit('p', people(3000).map((doc, i) => upsert(doc, i + 1)), 3000n);
      try {
        const query = { where: { orgId: 'big', email: 'p7@example.com' }, sort: { field: 'name', direction: 'asc' } } as const;
        expect(narrow.explainFind('people', query).join(' | ')).toMatch(/rs_idx_people__orgId\+email\+name/);
        expect((await narrow.find('people', query)).items.map((doc) => doc._id)).toEqual(['p00007']);
        // pinning the first field only: the two-field compound, as before
        expect(narrow.explainFind('people', { where: { orgId: 'big' }, sort: { field: 'name', direction: 'asc' } }).join(' | ')).toMatch(/rs_idx_people__orgId\+name/);
      } finally {
        await narrow.close();
      }
    });

    it('a few values of a compound\'s middle field: when they match few, seeks that compound for each and sorts them; when many, walks the shorter compound (probe 72 F7: two rare kinds of change read a workspace\'s whole history)', async () => {
      const file = newFile();
      const kinds = new SqliteReadStore({ path: file });
      await kinds.init({ people: { ...SPEC.people!, compound: [['orgId', 'name'], ['orgId', 'age', 'name']] } });
      await kinds.commit('p', people(5000).map((doc, i) => upsert(doc, i + 1)), 5000n);
      try {
        // ages 3 and 4 among `big`: ~110 documents
        const rare = { where: { orgId: 'big', age: [3, 4] }, sort: { field: 'name', direction: 'asc' as const } };
        expect(kinds.explainFind('people', rare).join(' | ')).toMatch(/rs_idx_people__orgId\+age\+name/);
        const page = await kinds.find('people', { ...rare, limit: 500 });
        const expected = people(5000).filter((d) => d.orgId === 'big' && (d.age === 3 || d.age === 4)).map((d) => [d.name, d._id] as [string, string]);
        expected.sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : 1));
        expect(page.items.map((d) => d._id)).toEqual(expected.map(([, id]) => id));
        // pages through cursors give the same
        const first = await kinds.find('people', { ...rare, limit: 40 });
        const second = await kinds.find('people', { ...rare, limit: 40, cursor: first.nextCursor });
        expect([...first.items, ...second.items].map((d) => d._id)).toEqual(expected.slice(0, 80).map(([, id]) => id));
        // most ages: the page fills walking (orgId, name)
        const dense = { where: { orgId: 'big', age: Array.from({ length: 80 }, (_, i) => i) }, sort: { field: 'name', direction: 'asc' as const } };
        expect(kinds.explainFind('people', dense).join(' | ')).toMatch(/rs_idx_people__orgId\+name/);
      } finally {
        await kinds.close();
      }
    });

    it('walks the sort index when the filter is broad, and uses the filter index when it is narrow', () => {
      expect(plan({ where: { orgId: 'big' }, sort: { field: 'age', direction: 'asc' } })).toMatch(
        /SCAN t USING INDEX rs_idx_people__age/,
      );
      expect(plan({ where: { orgId: 'small' }, sort: { field: 'age', direction: 'asc' } })).toMatch(
        /rs_idx_people__orgId \(<expr>=\?\)/,
      );
    });

    it('walks the _id index for broad filters without sort, with correct pages', async () => {
      expect(plan({ where: { orgId: 'big' } })).toMatch(/sqlite_autoindex_rs_doc_people_1/);
      const first = await store.find('people', { where: { orgId: 'big' }, limit: 3 });
      const second = await store.find('people', {
        where: { orgId: 'big' },
        limit: 3,
        cursor: first.nextCursor,
      });
      expect([...first.items, ...second.items].map((doc) => doc._id)).toEqual([
        'p00001',
        'p00002',
        'p00003',
        'p00004',
        'p00005',
        'p00006',
      ]);
    });

    it('looks up few search matches by rid, and checks many as the sort index yields them', () => {
      const sort = { field: 'name', direction: 'asc' } as const;
      expect(plan({ search: { text: 'p1234@', fields: ['email'] }, sort })).toMatch(/json_each/);
      expect(plan({ search: { text: 'example', fields: ['email'] }, sort })).toMatch(
        /SCAN t USING INDEX rs_idx_people__name .*EXISTS/,
      );
    });

    it('seeks to the cursor in either direction, after a null or a value, without sorting (page N costs a page)', async () => {
      const file = newFile();
      // half the names missing: nulls first ascending, last descending
      const docs = people(4000).map((doc, i) => (i % 2 === 0 ? { ...doc, name: null } : doc));
      const nulls = await openWith(file, docs);
      try {
        for (const where of [{}, { orgId: 'big' }] as Record<string, string>[]) {
          for (const direction of ['asc', 'desc'] as const) {
            const sort = { field: 'name', direction };
            for (const value of [null, 'Person 2001']) {
              const cursor = encodeCursor(sort, { value, id: 'p02001' }, { where });
              const plans = nulls.explainFind('people', { where, sort, cursor });
              expect(plans.length).toBeGreaterThan(0);
              for (const step of plans) {
                expect(step).toMatch(/^SEARCH t USING INDEX rs_idx_people__(name|orgId\+name) \(.*<expr>[=<>]/);
                expect(step).not.toMatch(/TEMP B-TREE/);
              }
            }
          }
        }
        // and the pages still hold every document once, in order (the contract checks it on small sets)
        for (const direction of ['asc', 'desc'] as const) {
          const seen: string[] = [];
          let cursor: string | undefined;
          do {
            const page = await nulls.find('people', { where: { orgId: 'big' }, sort: { field: 'name', direction }, limit: 500, cursor });
            seen.push(...page.items.map((doc) => doc._id));
            cursor = page.nextCursor;
          } while (cursor);
          expect(new Set(seen).size).toBe(docs.filter((doc) => doc.orgId === 'big').length);
          expect(seen.length).toBe(new Set(seen).size);
        }
      } finally {
        await nulls.close();
      }
    });

    it('treats a field as an array field once it has held an array', () => {
      // tags holds arrays: compared through json_each, not the index
      expect(plan({ where: { tags: 'even' } })).toMatch(/json_each|VIRTUAL TABLE/);
    });
  });

  describe('rebuild mode', () => {
    it('drops field indexes on reset, bulk-loads without them, and rebuilds them on buildIndexes', async () => {
      const file = newFile();
      const store = await openWith(file, people(50));
      try {
        expect(indexNames(file)).toHaveLength(5);
        await store.reset('p', ['people']);
        expect(indexNames(file)).toEqual([]);
        await store.commit(
          'p',
          people(300).map((doc, i) => upsert(doc, i + 1)),
          300n,
        );
        expect(indexNames(file)).toEqual([]);
        await store.buildIndexes();
        expect(indexNames(file)).toHaveLength(5);
        expect(
          (await store.find('people', { search: { text: 'P299@', fields: ['email'] } })).items,
        ).toHaveLength(1);
        expect(await store.count('people', { where: { orgId: 'small' } })).toBe(3);
      } finally {
        await store.close();
      }
    });

    it('in a bulk load, reads build only the indexes they filter on; buildIndexes builds the rest and restores durability', async () => {
      const file = newFile();
      const store = await openWith(file, people(50));
      const pragma = (name: string) => (store as unknown as { state: { conn: { db: DatabaseSync } } }).state.conn.db.prepare(`PRAGMA ${name}`).get()?.[name];
      try {
        await store.reset('p', ['people']);
        store.startBulkLoad();
        expect(pragma('synchronous')).toBe(0); // OFF
        await store.commit(
          'p',
          people(300).map((doc, i) => upsert(doc, i + 1)),
          300n,
        );
        // the projector's lookups (findBy streams a where on one field)
        expect(await store.count('people', { where: { orgId: 'small' } })).toBe(3);
        expect(indexNames(file)).toEqual(['rs_idx_people__orgId']);
        // correct, if slow, without the search rows
        expect((await store.find('people', { search: { text: 'P299@', fields: ['email'] } })).items).toHaveLength(1);
        // a delete of a document never stored leaves no tombstone in a bulk load (writes come in log order)
        await store.commit('p', [{ kind: 'delete', collection: 'people', id: 'never', position: 301n }], 301n);
        await store.commit('p', [{ kind: 'delete', collection: 'people', id: 'p00007', position: 302n }], 302n);
        await store.buildIndexes();
        expect(pragma('synchronous')).toBe(2); // FULL again
        expect(indexNames(file)).toHaveLength(5);
        expect(await store.get('people', 'p00007')).toBeUndefined();
        expect((await store.find('people', { search: { text: 'P299@', fields: ['email'] } })).items).toHaveLength(1);
        // out of the bulk load, deletes guard again
        await store.commit('p', [{ kind: 'delete', collection: 'people', id: 'ghost', position: 400n }], 400n);
        await store.commit('p', [upsert({ _id: 'ghost' }, 399)], 400n);
        expect(await store.get('people', 'ghost')).toBeUndefined();
      } finally {
        await store.close();
      }
      const db = new DatabaseSync(file, { readOnly: true });
      try {
        const ids = db.prepare('SELECT id FROM rs_doc_people WHERE doc IS NULL ORDER BY id').all();
        expect(ids.map((row) => row.id)).toEqual(['ghost', 'p00007']);
      } finally {
        db.close();
      }
    });

    it('builds them again right at the reset for a collection readyAtReset (a projector replays into it), not in a bulk load', async () => {
      const spec = { people: { ...SPEC.people!, readyAtReset: true } };
      const file = newFile();
      const store = new SqliteReadStore({ path: file });
      try {
        await store.init(spec);
        await store.reset('p', ['people']);
        expect(indexNames(file)).toHaveLength(5);
        await store.commit('p', people(30).map((doc, i) => upsert(doc, i + 1)), 30n);
        // no read built them: the replayed writes kept the indexes and the search rows
        const db = new DatabaseSync(file, { readOnly: true });
        try {
          expect(db.prepare('SELECT count(*) AS n FROM rs_search_people').get()?.n).toBe(30);
        } finally {
          db.close();
        }
        // a rebuild's bulk load still writes bare rows, and builds them at its end
        store.startBulkLoad();
        await store.reset('p', ['people']);
        expect(indexNames(file)).toEqual([]);
        await store.buildIndexes();
        expect(indexNames(file)).toHaveLength(5);
      } finally {
        await store.close();
      }
    });

    it('rebuilds them on the first read after a reset, and on init after a restart', async () => {
      const file = newFile();
      const store = await openWith(file, people(20));
      await store.reset('p', ['people']);
      await store.commit(
        'p',
        people(30).map((doc, i) => upsert(doc, i + 1)),
        30n,
      );
      expect(await store.count('people', { search: { text: 'person', fields: ['name'] } })).toBe(30);
      expect(indexNames(file)).toHaveLength(5);

      await store.reset('p', ['people']);
      await store.commit(
        'p',
        people(40).map((doc, i) => upsert(doc, i + 1)),
        40n,
      );
      await store.close(); // "crash" in the middle of a rebuild

      const reopened = new SqliteReadStore({ path: file });
      try {
        await reopened.init(SPEC);
        expect(indexNames(file)).toHaveLength(5);
        expect(await reopened.checkpoint('p')).toBe(40n);
        expect(await reopened.count('people', { search: { text: 'person', fields: ['name'] } })).toBe(40);
      } finally {
        await reopened.close();
      }
    });
  });

  describe('persistence and connections', () => {
    it('keeps documents, checkpoints, tombstones and array fields across reopen, in a WAL file', async () => {
      const file = newFile();
      const store = await openWith(file, [
        { _id: 'a', orgId: ['o1', 'o2'] },
        { _id: 'b', orgId: 'o1' },
      ]);
      await store.commit('p', [{ kind: 'delete', collection: 'people', id: 'c', position: 10n }], 10n);
      await store.close();

      const reopened = new SqliteReadStore({ path: file });
      try {
        await reopened.init(SPEC);
        expect(await reopened.checkpoint('p')).toBe(10n);
        const found = await reopened.find('people', { where: { orgId: 'o2' } });
        expect(found.items.map((doc) => doc._id)).toEqual(['a']);
        await reopened.commit('p', [upsert({ _id: 'c' }, 9)], 10n);
        expect(await reopened.get('people', 'c')).toBeUndefined();
      } finally {
        await reopened.close();
      }
      const db = new DatabaseSync(file, { readOnly: true });
      try {
        expect(db.prepare('PRAGMA journal_mode').get()?.journal_mode).toBe('wal');
      } finally {
        db.close();
      }
    });

    it('sees what another connection on the same file learned: array fields, rebuilds, search rows', async () => {
      const file = newFile();
      const a = await openWith(file, [{ _id: 'x', orgId: 'o1', name: 'Xena' }]);
      const b = new SqliteReadStore({ path: file });
      try {
        await b.init(SPEC);
        expect((await a.find('people', { where: { orgId: 'o9' } })).items).toEqual([]);
        await b.commit('p', [upsert({ _id: 'y', orgId: ['o9', 'o1'], name: 'Yann' }, 5)], 5n);
        expect((await a.find('people', { where: { orgId: 'o9' } })).items.map((doc) => doc._id)).toEqual([
          'y',
        ]);

        // b rebuilds; a reads in between (building the indexes and search rows); b's later writes stay searchable
        await b.reset('p', ['people']);
        await b.commit('p', [upsert({ _id: 'z', name: 'Zora' }, 1)], 1n);
        expect((await a.find('people', { search: { text: 'zor', fields: ['name'] } })).items).toHaveLength(1);
        await b.commit('p', [upsert({ _id: 'w', name: 'Wanda' }, 2)], 2n);
        expect((await a.find('people', { search: { text: 'wand', fields: ['name'] } })).items).toHaveLength(
          1,
        );
        expect((await b.find('people', { search: { text: 'wand', fields: ['name'] } })).items).toHaveLength(
          1,
        );
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('rolls back the whole batch and the checkpoint when a write fails inside the transaction', async () => {
      const store = await openWith(newFile(), [{ _id: 'a', name: 'Ada' }]);
      try {
        const bad = upsert({ _id: 'bad', big: 1n } as unknown as Doc, 8); // JSON.stringify throws on bigint
        await expect(store.commit('p', [upsert({ _id: 'a', name: 'Changed' }, 7), bad], 8n)).rejects.toThrow(
          /BigInt/,
        );
        expect(await store.get('people', 'a')).toEqual({ doc: { _id: 'a', name: 'Ada' }, position: 1n });
        expect(await store.checkpoint('p')).toBe(1n);
        await store.commit('p', [upsert({ _id: 'a', name: 'Later' }, 9)], 9n);
        expect((await store.get('people', 'a'))?.doc.name).toBe('Later');
      } finally {
        await store.close();
      }
    });

    it('follows spec changes between runs: stale indexes dropped, new search fields filled', async () => {
      const file = newFile();
      const store = await openWith(file, [{ _id: 'a', name: 'Ada', nick: 'Countess' }]);
      await store.close();
      const changed = new SqliteReadStore({ path: file });
      try {
        await changed.init({ people: { indexes: ['nick'], search: ['nick'] } });
        expect(indexNames(file)).toEqual(['rs_idx_people__nick']);
        expect(
          (await changed.find('people', { search: { text: 'COUNT', fields: ['nick'] } })).items,
        ).toHaveLength(1);
        // served by the search table (a list of matching rids), not by a scan of the documents
        expect(changed.explainFind('people', { search: { text: 'x', fields: ['nick'] } }).join()).toMatch(
          /LIST SUBQUERY/,
        );
      } finally {
        await changed.close();
      }
    });

    it('requires init before use', async () => {
      const store = new SqliteReadStore({ path: newFile() });
      try {
        await expect(store.find('people', {})).rejects.toThrow(/not initialised/);
      } finally {
        await store.close();
      }
    });
  });

  describe('trigram search', () => {
    // tricky text: FTS5 quoting, LIKE metacharacters, case folding beyond ASCII, the array separator (not NUL:
    // LIKE, with or without the index, reads a text or a pattern only up to it, unlike the reference)
    const TRICKY = ['ab"c', '100% _x_', 'back\\slash', 'İstanbul', 'Straße', 'ǅemal', 'smile 😀 face'];
    /** 25,000 people: 1 in 12 is "Sparse" (a sparse set of matches for the sort index), the others "Dense" */
    const crowd = (): Doc[] =>
      Array.from({ length: 25_000 }, (_, i) => ({
        _id: `p${String(i).padStart(5, '0')}`,
        orgId: i % 100 === 0 ? 'small' : 'big',
        name: `${i % 12 === 0 ? 'Sparse' : 'Dense'} ${TRICKY[i % TRICKY.length]} ${i}`,
        email: i % 7 === 0 ? [`p${i}@example.com`, 'second\u001fhalf'] : `p${i}@example.com`,
      }));
    const searchable = (value: unknown): string[] =>
      typeof value === 'string' ? [value] : Array.isArray(value) ? value.filter((v) => typeof v === 'string') : [];
    const matches = (doc: Doc, text: string, fields: string[]) =>
      fields.some((field) => searchable(doc[field]).some((value) => value.toLowerCase().includes(text.toLowerCase())));
    /** by name then id, as SQLite compares strings: UTF-8 bytes */
    const byName = (a: Doc, b: Doc) =>
      Buffer.compare(Buffer.from(String(a.name)), Buffer.from(String(b.name))) || (a._id < b._id ? -1 : 1);

    let store: SqliteReadStore;
    /** the crowd in name order, sorted once: a filter keeps that order, so each needle's expected pages are a filter
     * of it (sorting every needle's matches again, a Buffer per comparison, was most of this describe's time) */
    let docs: Doc[];
    beforeAll(async () => {
      const crowded = crowd();
      store = await openWith(newFile(), crowded);
      docs = crowded.sort(byName);
    });
    afterAll(() => store.close());

    it('finds what a scan finds, in each plan (few matches, a sparse set, dense), whatever the needle', async () => {
      const needles = [
        'sparse', 'dense', 'sparse ab"c', '"c 1', 'ab"', '100%', '% _x', '_x_', 'back\\s', '\\', 'İSTANBUL', 'i̇stan',
        'STRASSE', 'straße 1', 'ǆemal', 'ǅEMAL', '😀 fa', 'le 😀', 'd\u001fh', 'second\u001f',
        '@example.com', 'p2400', 'p24001@', 'zzz', 'e 1', 'ab', 's',
      ];
      for (const text of needles) {
        for (const fields of [['name', 'email'], ['name'], ['email']]) {
          const expected = docs.filter((doc) => matches(doc, text, fields));
          const search = { text, fields };
          expect({ text, fields, n: await store.count('people', { search }) }).toEqual({ text, fields, n: expected.length });
          // the first pages in name order, alone and within the broad orgId (walked through the compound index)
          for (const where of [undefined, { orgId: 'big' }]) {
            const wanted = expected.filter((doc) => !where || doc.orgId === where.orgId); // in name order (docs is)
            const got: string[] = [];
            let cursor: string | undefined;
            for (let page = 0; page < 3; page++) {
              const found = await store.find('people', { where, search, sort: { field: 'name', direction: 'asc' }, limit: 40, cursor });
              got.push(...found.items.map((doc) => doc._id));
              if (!(cursor = found.nextCursor)) break;
            }
            expect({ text, fields, where, got }).toEqual({ text, fields, where, got: wanted.slice(0, got.length).map((doc) => doc._id) });
            expect(got.length).toBe(Math.min(wanted.length, 120));
          }
        }
      }
    });

    it('picks the plan by the number and density of the candidates', () => {
      const plan = (text: string) =>
        store.explainFind('people', { search: { text, fields: ['name'] }, sort: { field: 'name', direction: 'asc' } }).join(' | ');
      expect(plan('sparse 1')).toMatch(/json_each/); // few: looked up by rid
      expect(plan('sparse')).toMatch(/SCAN t USING INDEX rs_idx_people__name .*rs_trigram_people:.*BLOOM FILTER/); // a sparse set
      expect(plan('dense')).toMatch(/SCAN t USING INDEX rs_idx_people__name .*EXISTS/); // dense: each row checked
      expect(plan('dense')).not.toMatch(/rs_trigram_people:/);
    });

    it('keeps the trigram index in step with updates, deletes and rebuilds', async () => {
      const file = newFile();
      const small = await openWith(file, [{ _id: 'a', name: 'Alpha', orgId: 'o' }]);
      const names = async (text: string) =>
        (await small.find('people', { search: { text, fields: ['name'] } })).items.map((doc) => doc._id);
      try {
        expect(await names('alph')).toEqual(['a']);
        await small.commit('p', [upsert({ _id: 'a', name: 'Beta', orgId: 'o' }, 2)], 2n);
        expect(await names('alph')).toEqual([]);
        expect(await names('bet')).toEqual(['a']);
        await small.commit('p', [upsert({ _id: 'a', name: 'Beta', orgId: 'p' }, 3)], 3n); // text unchanged
        expect(await names('bet')).toEqual(['a']);
        await small.commit('p', [{ kind: 'delete', collection: 'people', id: 'a', position: 4n }], 4n);
        expect(await names('bet')).toEqual([]);
        await small.commit('p', [upsert({ _id: 'a', name: 'Gamma' }, 5)], 5n);
        expect(await names('gam')).toEqual(['a']);

        await small.reset('p', ['people']);
        small.startBulkLoad();
        await small.commit('p', [upsert({ _id: 'b', name: 'Delta' }, 1)], 1n);
        await small.buildIndexes();
        expect(await names('gam')).toEqual([]);
        expect(await names('elt')).toEqual(['b']);
      } finally {
        await small.close();
      }
    });

    it('adds the trigram index to a file written before it', async () => {
      const file = newFile();
      await (await openWith(file, [{ _id: 'a', name: 'Alpha' }])).close();
      const db = new DatabaseSync(file);
      db.exec('DROP TABLE "rs_trigram_people:"');
      db.close();
      const reopened = new SqliteReadStore({ path: file });
      try {
        await reopened.init(SPEC);
        expect((await reopened.find('people', { search: { text: 'lph', fields: ['name'] } })).items).toHaveLength(1);
        expect(reopened.explainFind('people', { search: { text: 'lph', fields: ['name'] } }).join()).toMatch(/json_each/);
      } finally {
        await reopened.close();
      }
      const check = new DatabaseSync(file, { readOnly: true });
      try {
        expect(check.prepare(`SELECT name FROM sqlite_schema WHERE name = 'rs_trigram_people:'`).get()).toBeDefined();
      } finally {
        check.close();
      }
    });
  });
});
