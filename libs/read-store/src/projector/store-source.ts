import type { Doc, DocWrite, ReadStore } from '../port';
import type { DocSource } from './batch';

interface Cached {
  /** null: the store holds no document (absent, or deleted) */
  doc: Doc | null;
  /** position of the stored version; undefined when unknown (absent, or a tombstone of unknown position) */
  position: bigint | undefined;
}

const keyOf = (collection: string, id: string) => `${collection}\u0000${id}`;

/**
 * Reads a projection's committed documents from the read store, through a bounded cache of what it read and
 * committed. The projector is the only writer of its projections' collections, so after a commit the cache
 * holds what the store holds, with one subtlety: the store ignores a write older than the stored version
 * (re-applied events). So a committed write replaces a cached version only when that version's position is
 * known and older, or when the write is newer than anything the store can hold (`trustAfter`: the head of the
 * log when the projector started, since no document can be ahead of it; -1 after a reset). Otherwise the entry
 * is dropped and the next read asks the store again.
 */
export class StoreSource implements DocSource {
  private readonly cache = new Map<string, Cached>();

  /** writes at positions above this one are newer than any stored version (undefined: none is known to be) */
  trustAfter: bigint | undefined;

  constructor(
    private readonly store: ReadStore,
    private readonly maxCached = 50_000,
  ) {}

  async get(collection: string, id: string): Promise<Doc | undefined> {
    const key = keyOf(collection, id);
    const cached = this.cache.get(key);
    if (cached) {
      // refresh its place in the eviction order
      this.cache.delete(key);
      this.cache.set(key, cached);
      return cached.doc ?? undefined;
    }
    const stored = await this.store.get(collection, id);
    this.remember(key, stored ? { doc: stored.doc, position: stored.position } : { doc: null, position: undefined });
    return stored?.doc;
  }

  async findBy(collection: string, field: string, value: string): Promise<Doc[]> {
    const docs: Doc[] = [];
    for await (const doc of this.store.stream(collection, { where: { [field]: value } })) docs.push(doc);
    return docs;
  }

  /** after `writes` were committed */
  committed(writes: readonly DocWrite[]): void {
    if (this.maxCached === 0) return;
    for (const w of writes) {
      const key = keyOf(w.collection, w.kind === 'upsert' ? w.doc._id : w.id);
      const cached = this.cache.get(key);
      const applied =
        cached?.position !== undefined ? cached.position < w.position : this.trustAfter !== undefined && w.position > this.trustAfter;
      if (applied) this.remember(key, { doc: w.kind === 'upsert' ? w.doc : null, position: w.position });
      else if (cached?.position === undefined) this.cache.delete(key);
    }
  }

  /** forget everything (after a failure: the store may hold anything) */
  clear(): void {
    this.cache.clear();
  }

  private remember(key: string, entry: Cached): void {
    if (this.maxCached === 0) return;
    this.cache.delete(key);
    this.cache.set(key, entry);
    if (this.cache.size > this.maxCached) {
      // evict the least recently used tenth (a Map iterates in insertion order)
      let drop = Math.ceil(this.maxCached / 10);
      for (const k of this.cache.keys()) {
        this.cache.delete(k);
        if (--drop === 0) break;
      }
    }
  }
}
