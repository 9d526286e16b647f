import type { Doc, DocWrite, ReadStore, StoredDoc } from '../port';
import { StoreSource } from './store-source';

/** a store of `things` that counts its reads */
function countingStore(): ReadStore & { reads: string[]; docs: Map<string, StoredDoc> } {
  const docs = new Map<string, StoredDoc>();
  const reads: string[] = [];
  return {
    docs,
    reads,
    get: async (_collection: string, id: string) => {
      reads.push(id);
      return docs.get(id) as StoredDoc<never> | undefined;
    },
  } as unknown as ReadStore & { reads: string[]; docs: Map<string, StoredDoc> };
}

const upsert = (doc: Doc, position: bigint): DocWrite => ({ kind: 'upsert', collection: 'things', doc, position });

describe('StoreSource', () => {
  it('after startFresh, answers reads of keys never committed without the store', async () => {
    const store = countingStore();
    const source = new StoreSource(store, 2);
    source.startFresh();
    expect(await source.get('things', 'nobody')).toBeUndefined();
    expect(store.reads).toEqual([]);

    const writes = [upsert({ _id: 'a', v: 1 }, 1n), upsert({ _id: 'b', v: 1 }, 2n), upsert({ _id: 'c', v: 1 }, 3n)];
    for (const w of writes) if (w.kind === 'upsert') store.docs.set(w.doc._id, { doc: w.doc, position: w.position });
    source.committed(writes);
    // 'a' was evicted (the cache holds 2): committed once, so the store is asked
    expect(await source.get('things', 'a')).toEqual({ _id: 'a', v: 1 });
    expect(store.reads).toEqual(['a']);
    expect(await source.get('things', 'still-nobody')).toBeUndefined();
    expect(store.reads).toEqual(['a']);
  });

  it('asks the store for every key it does not hold otherwise, and after clear()', async () => {
    const store = countingStore();
    const source = new StoreSource(store, 10);
    expect(await source.get('things', 'x')).toBeUndefined();
    expect(store.reads).toEqual(['x']);
    source.startFresh();
    source.clear();
    expect(await source.get('things', 'y')).toBeUndefined();
    expect(store.reads).toEqual(['x', 'y']);
  });
});
