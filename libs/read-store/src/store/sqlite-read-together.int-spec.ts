/**
 * `readTogether` on the SQLite adapter, beyond the contract: one snapshot across pages while the event loop runs
 * between them (a connection of its own), and the `:memory:` store, which has no second connection.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Doc, DocWrite } from '../port';
import { STREAM_PAGE_SIZE } from './query-common';
import { SqliteReadStore } from './sqlite-read-store';
import { SqliteConnection } from './sqlite/connection';

const dir = mkdtempSync(join(tmpdir(), 'read-store-together-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const upsert = (collection: string, doc: Doc, position: number): DocWrite => ({ kind: 'upsert', collection, doc, position: BigInt(position) });
const spec = { days: { indexes: ['ws'] }, open: { indexes: ['ws'] } };
const days = (n: number) => Array.from({ length: n }, (_, i) => upsert('days', { _id: `d${String(i).padStart(6, '0')}`, ws: 'w' }, i + 1));

describe('SqliteReadStore.readTogether', () => {
  it('lets the event loop run between pages, and still reads one snapshot: what a commit changes meanwhile is not seen', async () => {
    const store = new SqliteReadStore({ path: join(dir, 'paged.sqlite') });
    try {
      await store.init(spec);
      const n = 3 * STREAM_PAGE_SIZE + 10;
      await store.commit('p', [...days(n), upsert('open', { _id: 'o1', ws: 'w' }, n + 1)], BigInt(n + 1));
      // turns of the event loop while the read runs (a synchronous read of every page would let none in)
      let turns = 0;
      let turnsWhileReading: number | undefined;
      const turn = () => {
        turns++;
        if (turnsWhileReading === undefined) setImmediate(turn);
      };
      setImmediate(turn);
      const reading = store.readTogether([
        { collection: 'days', query: { where: { ws: 'w' } } },
        { collection: 'open', query: { where: { ws: 'w' } } },
      ]);
      void reading.then(() => (turnsWhileReading = turns));
      // while the days are read page by page: the open interval closes into a new day (one commit)
      await new Promise((resolve) => setImmediate(resolve));
      await store.commit('p', [{ kind: 'delete', collection: 'open', id: 'o1', position: BigInt(n + 2) }, upsert('days', { _id: 'z-closed', ws: 'w' }, n + 2)], BigInt(n + 2));
      const [read, open] = await reading;
      expect(turnsWhileReading).toBeGreaterThanOrEqual(3);
      expect([read!.length, read!.some((d) => d._id === 'z-closed'), open]).toEqual([n, false, [{ _id: 'o1', ws: 'w' }]]);
      // read again: the commit's state
      const [after, none] = await store.readTogether([
        { collection: 'days', query: { where: { ws: 'w' } } },
        { collection: 'open', query: { where: { ws: 'w' } } },
      ]);
      expect([after!.length, none]).toEqual([n + 1, []]);
    } finally {
      await store.close();
    }
  });

  it('reads every page of a :memory: store in one snapshot of its connection', async () => {
    const store = new SqliteReadStore({ path: ':memory:' });
    try {
      await store.init(spec);
      const n = 2 * STREAM_PAGE_SIZE + 1;
      await store.commit('p', days(n), BigInt(n));
      const [read, open] = await store.readTogether([
        { collection: 'days', query: { where: { ws: 'w' }, sort: { field: '_id', direction: 'desc' } } },
        { collection: 'open', query: {} },
      ]);
      expect([read!.length, read![0]!._id, read!.at(-1)!._id, open]).toEqual([n, `d${String(n - 1).padStart(6, '0')}`, 'd000000', []]);
    } finally {
      await store.close();
    }
  });
});

describe('SqliteReadStore.stream: one snapshot across its pages (probe 39 F2)', () => {
  // members sorted by name; while the stream is read, names move from the end of the order to the start and back
  const named = (i: number, name: string, position: number) => upsert('people', { _id: `p${String(i).padStart(6, '0')}`, ws: 'w', name }, position);
  const streamSpec = { people: { indexes: ['ws'], compound: [['ws', 'name']] } };

  it.each([['a file', 'stream.sqlite'], [':memory:', ':memory:']])('over %s: each document once, as it was when the stream began, whatever commits meanwhile', async (_what, file) => {
    const store = new SqliteReadStore({ path: file === ':memory:' ? file : join(dir, file) });
    try {
      await store.init(streamSpec);
      const n = 3 * STREAM_PAGE_SIZE + 7;
      await store.commit('p', Array.from({ length: n }, (_, i) => named(i, `m${String(i).padStart(6, '0')}`, i + 1)), BigInt(n));
      const seen: string[] = [];
      let position = n;
      for await (const doc of store.stream<Doc & { name: string }>('people', { where: { ws: 'w' }, sort: { field: 'name', direction: 'asc' } })) {
        seen.push(doc._id);
        // after each page: the last 50 move to the front ("a…"), the first 50 not yet read move to the end ("z…")
        if (seen.length % STREAM_PAGE_SIZE === 0) {
          const writes = [];
          for (let k = 0; k < 50; k++) writes.push(named(n - 1 - k, `a${k}`, ++position), named(seen.length + k, `z${k}`, ++position));
          await store.commit('p', writes, BigInt(position));
        }
      }
      expect(seen.length).toBe(n);
      expect(new Set(seen).size).toBe(n);
      // in the order of the names the stream began with
      expect(seen).toEqual(Array.from({ length: n }, (_, i) => `p${String(i).padStart(6, '0')}`));
    } finally {
      await store.close();
    }
  });

  it('snapshot: false (the projector\'s lookups) reads page by page and opens no connection', async () => {
    const store = new SqliteReadStore({ path: join(dir, 'lookups.sqlite') });
    try {
      await store.init(streamSpec);
      const n = STREAM_PAGE_SIZE + 5;
      await store.commit('p', Array.from({ length: n }, (_, i) => named(i, `m${i}`, i + 1)), BigInt(n));
      const opened = jest.spyOn(SqliteConnection.prototype, 'holdSnapshot');
      let read = 0;
      for await (const _doc of store.stream('people', { where: { ws: 'w' } }, { snapshot: false })) read++;
      expect(read).toBe(n);
      expect(opened).not.toHaveBeenCalled();
      opened.mockRestore();
    } finally {
      await store.close();
    }
  });

  it('a stream of one page opens no connection of its own', async () => {
    const store = new SqliteReadStore({ path: join(dir, 'small.sqlite') });
    try {
      await store.init(streamSpec);
      await store.commit('p', [named(1, 'b', 1), named(2, 'a', 2)], 2n);
      const opened = jest.spyOn(SqliteConnection.prototype, 'holdSnapshot');
      const docs: Doc[] = [];
      for await (const doc of store.stream('people', { where: { ws: 'w' }, sort: { field: 'name', direction: 'asc' } })) docs.push(doc);
      expect(docs.map((d) => d._id)).toEqual(['p000002', 'p000001']);
      expect(opened).not.toHaveBeenCalled();
      opened.mockRestore();
    } finally {
      await store.close();
    }
  });
});
