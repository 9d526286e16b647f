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
