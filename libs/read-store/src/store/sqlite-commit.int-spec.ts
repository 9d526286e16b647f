/**
 * A commit of the SQLite adapter that fails is rolled back whole, and what the connection learned while writing it
 * (which fields hold arrays, recorded in rs_array_fields for the other connections) is forgotten with it: the retry
 * records it again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CollectionSpec, Doc, DocWrite } from '../port';
import { SqliteReadStore } from './sqlite-read-store';

const dir = mkdtempSync(join(tmpdir(), 'read-store-commit-'));
let files = 0;
const newFile = () => join(dir, `read-${++files}.sqlite`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SPEC: Record<string, CollectionSpec> = { people: { indexes: ['orgId', 'tags'], search: ['name'] } };

const upsert = (doc: Doc, position: number): DocWrite => ({ kind: 'upsert', collection: 'people', doc, position: BigInt(position) });
/** a document JSON.stringify refuses: the commit fails after the writes before it */
const unserializable = (position: number): DocWrite => upsert({ _id: `bad${position}`, big: 1n as unknown as number }, position);

async function open(file: string): Promise<SqliteReadStore> {
  const store = new SqliteReadStore({ path: file, synchronous: 'NORMAL' });
  await store.init(SPEC);
  return store;
}

describe('SqliteReadStore.commit that fails', () => {
  it('keeps none of its writes nor its checkpoint; the next commit goes on', async () => {
    const store = await open(newFile());
    try {
      await expect(store.commit('p', [upsert({ _id: 'p1', orgId: 'o1', name: 'Ann' }, 1), unserializable(2)], 2n)).rejects.toThrow(TypeError);
      expect(await store.get('people', 'p1')).toBeUndefined();
      expect(await store.checkpoint('p')).toBeUndefined();
      await store.commit('p', [upsert({ _id: 'p1', orgId: 'o1', name: 'Ann' }, 1)], 2n);
      expect(await store.get('people', 'p1')).toMatchObject({ doc: { name: 'Ann' }, position: 1n });
      expect(await store.checkpoint('p')).toBe(2n);
    } finally {
      await store.close();
    }
  });

  it('forgets the array fields it taught the connection: the retry records them for the other connections', async () => {
    const file = newFile();
    const store = await open(file);
    try {
      const tagged = upsert({ _id: 'p1', orgId: 'o1', tags: ['red'] }, 1);
      await expect(store.commit('p', [tagged, unserializable(2)], 2n)).rejects.toThrow(TypeError);
      await store.commit('p', [tagged], 2n);
      // another connection learns which fields hold arrays only from rs_array_fields
      const other = await open(file);
      try {
        expect((await other.find('people', { where: { tags: 'red' }, limit: 10 })).items.map((d) => d._id)).toEqual(['p1']);
      } finally {
        await other.close();
      }
    } finally {
      await store.close();
    }
  });
});
