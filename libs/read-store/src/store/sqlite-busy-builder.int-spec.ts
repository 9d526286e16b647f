// Reads and starts beside another connection building a collection's indexes (a projector completing its reset holds
// the write lock for one collection's build; docs/adr/0012, "Session 18"): a read answers at once from the table as it
// is, with the same answers as a built collection; a start does not fail (review of the branch, session 18).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { CollectionSpec, Doc, DocWrite, Query } from '../port';
import { SqliteReadStore } from './sqlite-read-store';

const dir = mkdtempSync(join(tmpdir(), 'rollcall-busy-builder-'));
let files = 0;
const newFile = () => join(dir, `read-${++files}.sqlite`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SPEC: Record<string, CollectionSpec> = {
  people: { indexes: ['org', 'name'], compound: [['org', 'name']], search: ['name', 'email'] },
};
const person = (i: number): Doc => ({
  _id: `p${String(i).padStart(6, '0')}`,
  org: `o${i % 10}`,
  name: i % 7 === 0 ? null : i % 100 === 0 ? `Zed Person ${i}` : `Person ${i % 50}`,
  email: `p${i}@example.com`,
  ...(i % 3 === 0 ? { tags: [`t${i % 4}`, 'all'] } : { tags: `t${i % 4}` }),
});
const upserts = (from: number, count: number, doc = person): DocWrite[] =>
  Array.from({ length: count }, (_, k) => ({ kind: 'upsert', collection: 'people', doc: doc(from + k), position: BigInt(from + k + 1) }));

const replayed = async (file: string, count: number, spec = SPEC, before?: (file: string) => Promise<void>) => {
  const store = new SqliteReadStore({ path: file });
  await store.init(spec);
  await before?.(file);
  await store.reset('p', ['people']);
  await store.commit('p', upserts(0, count), BigInt(count));
  return store;
};

describe('beside another connection building a collection', () => {
  it('a read of a collection not built yet answers at once (the default 5 s busy timeout is not waited at every read, blocking its thread)', async () => {
    const file = newFile();
    const reader = new SqliteReadStore({ path: file }); // the API's: default busy timeout
    // the API started before the projector's reset (init would otherwise build it)
    const projector = await replayed(file, 200, SPEC, () => reader.init(SPEC));
    const builder = new DatabaseSync(file);
    try {
      builder.exec('BEGIN IMMEDIATE'); // a projector building a big collection
      const times: number[] = [];
      for (let i = 0; i < 2; i++) {
        const t0 = performance.now();
        await reader.find('people', { where: { org: 'o1' }, limit: 5 });
        times.push(Math.round(performance.now() - t0));
      }
      // a read of a ready collection takes < 1 ms; each of these should not wait for a lock it does not need
      expect(Math.max(...times)).toBeLessThan(1000);
    } finally {
      if (builder.isTransaction) builder.exec('ROLLBACK');
      builder.close();
      await reader.close();
      await projector.close();
    }
  }, 60_000);

  it('a start (init) does not fail on the lock: a collection not built yet is left to its builder, a built one up to date needs no write', async () => {
    const file = newFile();
    const spec: Record<string, CollectionSpec> = { ...SPEC, other: { indexes: ['x'] } };
    const projector = await replayed(file, 100, spec);
    const builder = new DatabaseSync(file);
    const reader = new SqliteReadStore({ path: file, busyTimeoutMs: 100 });
    try {
      builder.exec('BEGIN IMMEDIATE');
      await expect(reader.init(spec)).resolves.toBeUndefined();
    } finally {
      if (builder.isTransaction) builder.exec('ROLLBACK');
      builder.close();
      await reader.close();
      await projector.close();
    }
  });

  it('the answers of a collection read as it is (not built, the lock held elsewhere) equal those of a built one, for every query shape', async () => {
    const count = 3000;
    const readyFile = newFile();
    const bareFile = newFile();
    const ready = await replayed(readyFile, count);
    await ready.completeReset(['people']);
    const bare = new SqliteReadStore({ path: bareFile, busyTimeoutMs: 20 });
    const projector = await replayed(bareFile, count, SPEC, () => bare.init(SPEC));
    const builder = new DatabaseSync(bareFile);
    builder.exec('BEGIN IMMEDIATE');
    const queries: Query[] = [
      { where: { org: 'o3' }, sort: { field: 'name', direction: 'asc' }, limit: 7 },
      { where: { org: 'o3' }, sort: { field: 'name', direction: 'desc' }, limit: 7 },
      { sort: { field: 'name', direction: 'asc' }, limit: 13 },
      { sort: { field: 'name', direction: 'desc' }, limit: 13 },
      { where: { tags: 'all' }, sort: { field: 'email', direction: 'asc' }, limit: 9 },
      { where: { tags: ['t1', 't2'] }, limit: 9 },
      { where: { org: ['o1', 'o2'], name: null }, sort: { field: 'name', direction: 'asc' }, limit: 9 },
      { search: { text: 'zed', fields: ['name'] }, sort: { field: 'name', direction: 'asc' }, limit: 9 },
      { search: { text: 'ZE', fields: ['name'] }, limit: 9 },
      { search: { text: 'son 4', fields: ['name', 'email'] }, sort: { field: 'org', direction: 'desc' }, limit: 11 },
      { search: { text: 'p12', fields: ['email'] }, where: { org: 'o2' }, limit: 11 },
      { where: { name: 'Person 3' }, sort: { field: 'org', direction: 'asc' }, limit: 11 },
    ];
    try {
      for (const query of queries) {
        // every page, following cursors
        const pages = async (store: SqliteReadStore) => {
          const out: unknown[] = [];
          let cursor: string | undefined;
          for (let n = 0; n < 400; n++) {
            const page = await store.find('people', { ...query, cursor });
            out.push(page.items.map((d) => d._id));
            if (!page.nextCursor) break;
            cursor = page.nextCursor;
          }
          const { sort: _s, limit: _l, ...counted } = query;
          out.push(await store.count('people', counted));
          return out;
        };
        expect({ query, answers: await pages(bare) }).toEqual({ query, answers: await pages(ready) });
      }
      const readiness = new DatabaseSync(bareFile, { readOnly: true });
      expect(readiness.prepare("SELECT ready FROM rs_collections WHERE name='people'").get()?.ready).toBe(0);
      readiness.close();
    } finally {
      builder.exec('ROLLBACK');
      builder.close();
      await bare.close();
      await projector.close();
      await ready.close();
    }
  }, 120_000);
});

// Probe 30 F3: the user list and the presence report answered 500 ("no such index") while a rebuild ran beside the
// API: another process's reset dropped the collection's indexes between the reader's look at its state and the
// snapshot its query ran in, and the plan named one (`INDEXED BY`). The query is now planned as its snapshot sees
// the collection: the same answers, by a scan.
describe('a read planned while another process resets the collection (a rebuild starting; probe 30 F3)', () => {
  /** `reader`'s next snapshot begins just after another connection reset the collection as a rebuild does */
  const resetBeforeNextSnapshot = (reader: SqliteReadStore, file: string) => {
    const conn = (reader as unknown as { state: { conn: { snapshot: <T>(fn: () => T) => T; holdSnapshot: () => () => void } } }).state.conn;
    const reset = () => {
      const other = new DatabaseSync(file);
      try {
        other.exec('BEGIN IMMEDIATE');
        const indexes = other.prepare(`SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'rs_doc_people' AND sql IS NOT NULL`).all();
        for (const { name } of indexes) other.exec(`DROP INDEX "${String(name)}"`);
        other.exec(`DELETE FROM "rs_search_people"`);
        other.exec(`INSERT INTO "rs_trigram_people:" ("rs_trigram_people:") VALUES ('delete-all')`);
        other.exec(`UPDATE rs_collections SET ready = 0 WHERE name = 'people'`);
        other.exec('COMMIT');
      } finally {
        other.close();
      }
    };
    const snapshot = conn.snapshot.bind(conn);
    conn.snapshot = <T>(fn: () => T): T => {
      conn.snapshot = snapshot;
      reset();
      return snapshot(fn);
    };
  };
  const queries: Record<string, Query> = {
    'a page sorted through a compound index': { where: { org: 'o1' }, sort: { field: 'name', direction: 'asc' }, limit: 20 },
    // (a broad filter: the sort field's own index drives the page)
    'a page sorted through a single-field index': { where: { org: ['o1', 'o2', 'o3', 'o4', 'o5', 'o6', 'o7', 'o8'] }, sort: { field: 'name', direction: 'desc' }, limit: 20 },
    'a search through the trigram index': { search: { text: 'zed person', fields: ['name'] }, limit: 20 },
  };
  it.each(Object.keys(queries))('%s answers as before, not "no such index"', async (name) => {
    const file = newFile();
    const store = await replayed(file, 3000);
    await store.buildIndexes();
    const query = queries[name]!;
    const before = await store.find('people', query);
    expect(before.items.length).toBeGreaterThan(0);
    resetBeforeNextSnapshot(store, file);
    await expect(store.find('people', query)).resolves.toEqual(before);
    await store.close();
  });
});
