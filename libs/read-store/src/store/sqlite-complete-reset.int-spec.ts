/**
 * `completeReset` (sqlite/reset.ts): a projector whose replay reached the head builds what its reset deferred, on its
 * own connection; and beside it, other builders (a reader of another process, an `init`) neither fail nor undo it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DatabaseSync } from 'node:sqlite';
import type { DocWrite } from '../port';
import { SqliteReadStore } from './sqlite-read-store';
import { COMPLETE_RESET_INDEXES, COMPLETE_RESET_SPEC as SPEC, person } from './testing/complete-reset-fixture';

const dir = mkdtempSync(join(tmpdir(), 'read-store-complete-reset-'));
let files = 0;
const newFile = () => join(dir, `read-${++files}.sqlite`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const upserts = (from: number, count: number): DocWrite[] =>
  Array.from({ length: count }, (_, k) => ({ kind: 'upsert', collection: 'people', doc: person(from + k), position: BigInt(from + k + 1) }));

/** what the file holds of `people`'s state, read by a connection of its own */
const readiness = (file: string) => {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return {
      ready: db.prepare("SELECT ready FROM rs_collections WHERE name = 'people'").get()?.ready,
      indexes: db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'rs_doc_people' AND name GLOB 'rs_idx_*' ORDER BY name").all().map((row) => row.name),
      searchRows: db.prepare('SELECT count(*) AS n FROM rs_search_people').get()?.n,
    };
  } finally {
    db.close();
  }
};
const built = (searchRows: number) => ({ ready: 1, indexes: COMPLETE_RESET_INDEXES, searchRows });
const bare = { ready: 0, indexes: [], searchRows: 0 };

/** a store whose `people` a reset emptied, then `count` documents replayed into the bare table */
const replayed = async (file: string, count: number): Promise<SqliteReadStore> => {
  const store = new SqliteReadStore({ path: file });
  await store.init(SPEC);
  await store.commit('p', upserts(0, 5), 5n);
  await store.reset('p', ['people']);
  await store.commit('p', upserts(0, count), BigInt(count));
  return store;
};

/** the first names of org o0 in name order, among `count` people */
const firstNames = (count: number) =>
  Array.from({ length: count }, (_, i) => person(i))
    .filter((doc) => doc.org === 'o0')
    .map((doc) => doc.name as string)
    .sort()
    .slice(0, 3);

/** the answers every reader must get, built or not: a filter with a sort, a search, a count */
const expectAnswers = async (reader: SqliteReadStore, count: number, names = firstNames(count)) => {
  const page = await reader.find('people', { where: { org: 'o0' }, sort: { field: 'name', direction: 'asc' }, limit: 3 });
  expect(page.items.map((d) => d.name)).toEqual(names);
  expect(await reader.count('people', { search: { text: 'ZED', fields: ['name'] } })).toBe(Math.ceil(count / 100));
  expect(await reader.count('people', { where: { org: 'o3' } })).toBe(Math.floor((count + 6) / 10));
};

describe('SqliteReadStore completeReset', () => {
  it('builds the indexes and search rows a reset deferred, on this connection, without a read; the writes after maintain them', async () => {
    const file = newFile();
    const store = await replayed(file, 2000);
    try {
      expect(readiness(file)).toEqual(bare);
      await store.completeReset(['people']);
      expect(readiness(file)).toEqual(built(2000));
      await store.commit('p', upserts(2000, 100), 2100n);
      expect(readiness(file)).toEqual(built(2100));
      await expectAnswers(store, 2100);
      // again, or for a collection ready all along: nothing to do
      await store.completeReset(['people']);
      expect(readiness(file)).toEqual(built(2100));
    } finally {
      await store.close();
    }
  });

  it('builds nothing in a bulk load (buildIndexes does, at its end), nor while another live process bulk-loads the file', async () => {
    const file = newFile();
    const store = new SqliteReadStore({ path: file });
    const other = new SqliteReadStore({ path: file });
    try {
      await store.init(SPEC);
      store.startBulkLoad();
      await store.reset('p', ['people']);
      await store.commit('p', upserts(0, 50), 50n);
      await store.completeReset(['people']);
      expect(readiness(file)).toEqual(bare);
      // the load as another process's (alive: jest's parent), seen from a second store
      const db = new DatabaseSync(file);
      db.prepare('UPDATE rs_bulk_load SET holder = ?').run(`${hostname()}|${process.ppid}`);
      db.close();
      await other.init(SPEC);
      await other.completeReset(['people']);
      expect(readiness(file)).toEqual(bare);
      await store.buildIndexes();
      expect(readiness(file)).toEqual(built(50));
    } finally {
      await other.close();
      await store.close();
    }
  });

  it('a reader another builder keeps waiting past its busy timeout answers from the bare table, then builds at a later read', async () => {
    const file = newFile();
    const projector = await replayed(file, 1000);
    const reader = new SqliteReadStore({ path: file, busyTimeoutMs: 100 });
    // another process's transaction (a projector completing its reset) holds the write lock throughout
    const builder = new DatabaseSync(file);
    try {
      builder.exec('BEGIN IMMEDIATE');
      // at its start too: init leaves a collection not ready to its builder (it needs the lock to build it)
      await reader.init(SPEC);
      await expectAnswers(reader, 1000);
      expect(readiness(file)).toEqual(bare);
      builder.exec('ROLLBACK');
      await expectAnswers(reader, 1000);
      expect(readiness(file)).toEqual(built(1000));
      // the projector's connection finds it built, and builds nothing again
      await projector.completeReset(['people']);
      await projector.commit('p', upserts(1000, 1), 1001n);
      expect(readiness(file)).toEqual(built(1001));
    } finally {
      if (builder.isTransaction) builder.exec('ROLLBACK');
      builder.close();
      await reader.close();
      await projector.close();
    }
  });

  it('a builder in another process and reads here, at the same time: none fails, every answer is right, it ends built once', async () => {
    const file = newFile();
    const count = 40_000;
    const reader = new SqliteReadStore({ path: file, busyTimeoutMs: 50 });
    await reader.init(SPEC);
    const child = spawn(
      process.execPath,
      ['--no-experimental-strip-types', '-r', join(__dirname, '..', '..', '..', '..', 'tools', 'register.cjs'), join(__dirname, 'testing', 'sqlite-complete-reset-child.ts'), file, String(count)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let done = false;
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    void exited.then(() => (done = true));
    const lines = createInterface({ input: child.stdout });
    const filled = new Promise<void>((resolve, reject) => {
      lines.on('line', (line) => {
        if (line === 'filled') resolve();
        if (line === 'built') done = true;
      });
      void exited.then(() => reject(new Error(`the builder ended before filling: ${stderr}`)));
    });
    try {
      await filled;
      const names = firstNames(count);
      // reads from the moment the documents are in until the child has built them (and a few after)
      for (let after = 0; after < 3; ) {
        await expectAnswers(reader, count, names);
        if (done) after++;
        await new Promise((resolve) => setImmediate(resolve));
      }
      if ((await exited) !== 0) throw new Error(`the builder failed: ${stderr}`);
      expect(readiness(file)).toEqual(built(count));
    } finally {
      child.kill();
      await reader.close();
    }
  });
});
