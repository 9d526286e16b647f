/**
 * `commitEach` of the SQLite adapter: several projections' commits in one transaction, a savepoint each. What each
 * part writes is what `commit` would write; a part that fails is rolled back alone; a failure of the transaction
 * itself fails every part and keeps nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import type { CollectionSpec, Doc, DocWrite, ProjectionCommit } from '../port';
import { SqliteReadStore } from './sqlite-read-store';

const dir = mkdtempSync(join(tmpdir(), 'read-store-commit-each-'));
let files = 0;
const newFile = () => join(dir, `read-${++files}.sqlite`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SPEC: Record<string, CollectionSpec> = {
  people: { indexes: ['orgId', 'tags'], search: ['name'] },
  teams: { indexes: ['orgId'] },
};

const upsert = (collection: string, doc: Doc, position: number): DocWrite => ({ kind: 'upsert', collection, doc, position: BigInt(position) });
const remove = (collection: string, id: string, position: number): DocWrite => ({ kind: 'delete', collection, id, position: BigInt(position) });

async function open(file = newFile()): Promise<SqliteReadStore> {
  const store = new SqliteReadStore({ path: file, synchronous: 'NORMAL' });
  await store.init(SPEC);
  return store;
}

const everything = async (store: SqliteReadStore) => ({
  people: (await store.find('people', { sort: { field: '_id', direction: 'asc' }, limit: 500 })).items,
  teams: (await store.find('teams', { sort: { field: '_id', direction: 'asc' }, limit: 500 })).items,
  searched: (await store.find('people', { search: { text: 'ann', fields: ['name'] }, limit: 500 })).items.map((d) => d._id),
  checkpoints: { people: await store.checkpoint('people-projection'), teams: await store.checkpoint('teams-projection') },
});

/** two rounds of two projections' commits: inserts, then updates, deletes and writes older than what is stored */
const rounds: ProjectionCommit[][] = [
  [
    { projection: 'people-projection', writes: [upsert('people', { _id: 'p1', orgId: 'o1', name: 'Ann', tags: ['a'] }, 1), upsert('people', { _id: 'p2', orgId: 'o1', name: 'Bob', tags: [] }, 2)], checkpoint: 3n },
    { projection: 'teams-projection', writes: [upsert('teams', { _id: 't1', orgId: 'o1', name: 'Red' }, 3)], checkpoint: 3n },
  ],
  [
    { projection: 'people-projection', writes: [upsert('people', { _id: 'p1', orgId: 'o1', name: 'Annie', tags: ['a', 'b'] }, 5), remove('people', 'p2', 6), upsert('people', { _id: 'p3', orgId: 'o2', name: 'Joanne' }, 4)], checkpoint: 6n },
    { projection: 'teams-projection', writes: [upsert('teams', { _id: 't1', orgId: 'o1', name: 'stale' }, 2), upsert('teams', { _id: 't2', orgId: 'o2', name: 'Blue' }, 6)], checkpoint: 6n },
  ],
];

describe('SqliteReadStore.commitEach', () => {
  it('writes what one commit per projection writes: documents, search rows, checkpoints', async () => {
    const together = await open();
    const oneByOne = await open();
    try {
      for (const round of rounds) {
        expect(await together.commitEach(round)).toEqual(round.map(() => ({ status: 'fulfilled', value: undefined })));
        for (const c of round) await oneByOne.commit(c.projection, c.writes, c.checkpoint);
      }
      const expected = await everything(oneByOne);
      expect(expected.people.map((d) => d._id)).toEqual(['p1', 'p3']);
      expect(expected.searched.sort()).toEqual(['p1', 'p3']);
      expect(await everything(together)).toEqual(expected);
    } finally {
      await together.close();
      await oneByOne.close();
    }
  });

  it('rolls back a part that fails while writing, alone: its earlier writes and its checkpoint are not kept', async () => {
    const store = await open();
    try {
      const failing: ProjectionCommit = {
        projection: 'people-projection',
        // the second document cannot be serialized: the part fails after its first write
        writes: [upsert('people', { _id: 'p1', orgId: 'o1', name: 'Ann' }, 1), upsert('people', { _id: 'p2', orgId: 'o1', big: 1n as unknown as number }, 2)],
        checkpoint: 2n,
      };
      const results = await store.commitEach([failing, rounds[0]![1]!]);
      expect(results[0]).toMatchObject({ status: 'rejected', reason: expect.any(TypeError) });
      expect(results[1]).toEqual({ status: 'fulfilled', value: undefined });
      expect(await store.get('people', 'p1')).toBeUndefined();
      expect(await store.checkpoint('people-projection')).toBeUndefined();
      expect(await store.get('teams', 't1')).toMatchObject({ doc: { name: 'Red' }, position: 3n });
      expect(await store.checkpoint('teams-projection')).toBe(3n);
      // the transaction ended cleanly: the next commits go on
      expect((await store.commitEach(rounds[0]!)).map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
      expect(await store.get('people', 'p1')).toMatchObject({ doc: { name: 'Ann' } });
    } finally {
      await store.close();
    }
  });

  it('rejects a part refused before writing (unknown collection, reserved field) and commits the others', async () => {
    const store = await open();
    try {
      const results = await store.commitEach([
        { projection: 'x', writes: [upsert('nowhere', { _id: 'n' }, 1)], checkpoint: 1n },
        rounds[0]![0]!,
        { projection: 'y', writes: [upsert('teams', { _id: 't9', _position: 1 } as unknown as Doc, 1)], checkpoint: 1n },
      ]);
      expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'rejected']);
      expect(await store.checkpoint('x')).toBeUndefined();
      expect(await store.checkpoint('y')).toBeUndefined();
      expect(await store.checkpoint('people-projection')).toBe(3n);
    } finally {
      await store.close();
    }
  });

  it('forgets the array fields a rolled-back part taught the connection: the next write holding one records it for the others', async () => {
    const file = newFile();
    const store = await open(file);
    try {
      const failing: ProjectionCommit = {
        projection: 'people-projection',
        writes: [upsert('people', { _id: 'p1', orgId: 'o1', tags: ['red'] }, 1), upsert('people', { _id: 'p2', big: 1n as unknown as number }, 2)],
        checkpoint: 2n,
      };
      expect((await store.commitEach([failing]))[0]!.status).toBe('rejected');
      await store.commitEach([{ projection: 'people-projection', writes: [upsert('people', { _id: 'p3', orgId: 'o1', tags: ['red'] }, 3)], checkpoint: 3n }]);
      // another connection knows `tags` holds arrays only from what was committed
      const other = await open(file);
      try {
        expect((await other.find('people', { where: { tags: 'red' }, limit: 10 })).items.map((d) => d._id)).toEqual(['p3']);
      } finally {
        await other.close();
      }
    } finally {
      await store.close();
    }
  });

  it('fails every part with the cause when SQLite ends the transaction (disk full), keeps nothing, and goes on after', async () => {
    const store = await open();
    try {
      // the adapter's own connection, limited to a few more pages than it holds: the big part fills them
      const { db } = (store as unknown as { state: { conn: { db: DatabaseSync } } }).state.conn;
      const pages = Number((db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count);
      db.exec(`PRAGMA max_page_count = ${pages + 3}`);
      const big = (i: number) => upsert('teams', { _id: `big${i}`, orgId: 'o', name: 'x'.repeat(20_000) }, i);
      const results = await store.commitEach([rounds[0]![1]!, { projection: 'big', writes: Array.from({ length: 20 }, (_, i) => big(10 + i)), checkpoint: 40n }]);
      expect(results).toEqual([
        { status: 'rejected', reason: expect.objectContaining({ message: 'database or disk is full' }) },
        { status: 'rejected', reason: expect.objectContaining({ message: 'database or disk is full' }) },
      ]);
      expect(await store.get('teams', 't1')).toBeUndefined();
      expect(await store.checkpoint('teams-projection')).toBeUndefined();
      db.exec('PRAGMA max_page_count = 1073741823');
      expect((await store.commitEach(rounds[0]!)).map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
      expect(await store.checkpoint('teams-projection')).toBe(3n);
    } finally {
      await store.close();
    }
  });
});
