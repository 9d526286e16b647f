import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { BulkWriter, RowMode } from './sqlite-bulk-writer';
import { SqliteReadStore } from './sqlite-read-store';

const dir = mkdtempSync(join(tmpdir(), 'read-store-bulk-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('BulkWriter (the writer thread of a SQLite bulk load)', () => {
  it('writes commits in order, each with its checkpoint, and reports a failed one without stopping', async () => {
    const path = join(dir, 'order.sqlite');
    const store = new SqliteReadStore({ path });
    await store.init({ things: { indexes: [] } });
    const writer = new BulkWriter({ path, busyTimeoutMs: 1000, cacheKib: 1024 });
    try {
      const table = '"rs_doc_things"';
      const first = writer.commit({
        projection: 'p',
        rows: [table, 'a', 1n, '{"_id":"a","v":1}', RowMode.Upsert, table, 'b', 2n, '{"_id":"b"}', RowMode.Upsert],
        arrayFields: [],
        checkpoint: 2n,
      });
      const broken = writer.commit({ projection: 'p', rows: ['"no_such_table"', 'x', 3n, '{}', RowMode.Upsert], arrayFields: [], checkpoint: 3n });
      const second = writer.commit({
        projection: 'p',
        rows: [table, 'a', 4n, '{"_id":"a","v":2}', RowMode.Upsert, table, 'b', 4n, null, RowMode.DeleteIfStored, table, 'c', 4n, null, RowMode.DeleteIfStored],
        arrayFields: [['things', 'tags']],
        checkpoint: 4n,
      });
      expect(await first).toBe(2);
      await expect(broken).rejects.toThrow(/no such table/);
      expect(await second).toBe(2); // 'c' was never stored: no tombstone
      expect(writer.broken).toBe(false);
      expect((await store.get('things', 'a'))?.doc).toEqual({ _id: 'a', v: 2 });
      expect(await store.get('things', 'b')).toBeUndefined();
      expect(await store.checkpoint('p')).toBe(4n);
      const db = new DatabaseSync(path, { readOnly: true });
      try {
        expect(db.prepare('SELECT id FROM rs_doc_things ORDER BY id').all().map((row) => row.id)).toEqual(['a', 'b']);
        expect(db.prepare('SELECT field FROM rs_array_fields').all().map((row) => row.field)).toEqual(['tags']);
      } finally {
        db.close();
      }
    } finally {
      await writer.close();
      await store.close();
    }
  });

  it('is broken when its thread cannot open the file; the store then writes from its own connection', async () => {
    const writer = new BulkWriter({ path: join(dir, 'missing', 'dir', 'x.sqlite'), busyTimeoutMs: 100, cacheKib: 1024 });
    await expect(writer.commit({ projection: 'p', rows: [], arrayFields: [], checkpoint: 1n })).rejects.toThrow();
    expect(writer.broken).toBe(true);
    await writer.close();

    const path = join(dir, 'fallback.sqlite');
    const store = new SqliteReadStore({ path });
    try {
      await store.init({ things: { indexes: ['owner'] } });
      await store.reset('p', ['things']);
      store.startBulkLoad();
      const internals = (store as unknown as { state: { bulkWriter: BulkWriter | undefined } }).state;
      const thread = internals.bulkWriter!;
      expect(thread).toBeInstanceOf(BulkWriter);
      Object.defineProperty(thread, 'broken', { get: () => true }); // as if its thread had died
      await store.commit('p', [{ kind: 'upsert', collection: 'things', doc: { _id: 'x', owner: 'o' }, position: 1n }], 1n);
      expect(internals.bulkWriter).toBeUndefined();
      await thread.close();
      await store.buildIndexes();
      expect((await store.find('things', { where: { owner: 'o' } })).items).toEqual([{ _id: 'x', owner: 'o' }]);
      expect(await store.checkpoint('p')).toBe(1n);
    } finally {
      await store.close();
    }
  });
});
