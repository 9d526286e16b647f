import type { Doc, DocWrite, ReadStore } from '../port';
import type { DocSource } from './batch';

/** what the store holds under a key; a committed write is kept as it is (a delete has no `doc`) */
interface Cached {
  /** null or undefined: the store holds no document (absent, or deleted) */
  readonly doc?: Doc | null;
  /** position of the stored version; undefined when unknown (absent, or a tombstone of unknown position) */
  readonly position: bigint | undefined;
}

const ABSENT: Cached = { doc: null, position: undefined };

/**
 * The keys written since the store was emptied, as a Bloom filter: `mayHave` false means never written, so the
 * store holds nothing under that key. 2^25 bits (4 MiB), 5 probes: under 1% false positives up to ~4M keys,
 * degrading gently beyond (a false positive only costs the store read it would have done anyway).
 */
class WrittenKeys {
  private static readonly BITS = 2 ** 25;
  private static readonly PROBES = 5;
  private readonly bits = new Int32Array(WrittenKeys.BITS / 32);

  add(collection: string, id: string): void {
    hash(collection, id);
    for (let i = 0; i < WrittenKeys.PROBES; i++) {
      const bit = (h1 + i * h2) & (WrittenKeys.BITS - 1);
      this.bits[bit >>> 5]! |= 1 << (bit & 31);
    }
  }

  mayHave(collection: string, id: string): boolean {
    hash(collection, id);
    for (let i = 0; i < WrittenKeys.PROBES; i++) {
      const bit = (h1 + i * h2) & (WrittenKeys.BITS - 1);
      if ((this.bits[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}

/** the two hashes of the last `hash` call (double hashing; h2 is odd) */
let h1 = 0;
let h2 = 0;
/** two 32-bit FNV-1a style hashes of `${collection}\0${id}`, into h1 and h2 (no string is built) */
function hash(collection: string, id: string): void {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < collection.length; i++) {
    const c = collection.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  a = Math.imul(a, 0x01000193);
  b = Math.imul(b, 0x5bd1e995);
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  b ^= b >>> 15;
  h1 = a >>> 0;
  h2 = (b | 1) >>> 0;
}

type Generation = Map<string, Map<string, Cached>>;

/**
 * Reads a projection's committed documents from the read store, through a bounded cache of what it read and
 * committed. The projector is the only writer of its projections' collections, so after a commit the cache
 * holds what the store holds, with one subtlety: the store ignores a write older than the stored version
 * (re-applied events). So a committed write replaces a cached version only when that version's position is
 * known and older, or when the write is newer than anything the store can hold (`trustAfter`: the head of the
 * log when the projector started, since no document can be ahead of it; -1 after a reset). Otherwise the entry
 * is dropped and the next read asks the store again.
 *
 * The cache is two generations of at most half the size each: entries go to the young one (a read found in the
 * old one is copied back); when the young one is full, it becomes the old one and the old one is dropped. The
 * least recently used documents go, as with an LRU list, without reordering a list on every read.
 */
export class StoreSource implements DocSource {
  private young: Generation = new Map();
  private old: Generation = new Map();
  private youngSize = 0;
  private readonly generationSize: number;

  /** writes at positions above this one are newer than any stored version (undefined: none is known to be) */
  trustAfter: bigint | undefined;
  /** after `startFresh`: every key committed since, so that a read of a key never written needs no store read */
  private written: WrittenKeys | undefined;

  constructor(
    private readonly store: ReadStore,
    private readonly maxCached = 50_000,
  ) {
    this.generationSize = Math.max(1, Math.floor(maxCached / 2));
  }

  /**
   * The store was just emptied (reset, rebuild) and this source sees every commit from now on: every write is
   * newer than anything stored, and a key never committed since is absent without asking the store.
   */
  startFresh(): void {
    this.trustAfter = -1n;
    this.written = new WrittenKeys();
  }

  async get(collection: string, id: string): Promise<Doc | undefined> {
    const young = this.young.get(collection)?.get(id);
    if (young) return young.doc ?? undefined;
    const old = this.old.get(collection)?.get(id);
    if (old) {
      this.remember(collection, id, old);
      return old.doc ?? undefined;
    }
    if (this.written && !this.written.mayHave(collection, id)) return undefined;
    const stored = await this.store.get(collection, id);
    this.remember(collection, id, stored ?? ABSENT);
    return stored?.doc;
  }

  async findBy(collection: string, field: string, value: string): Promise<Doc[]> {
    const docs: Doc[] = [];
    // (no snapshot: the projector is the store's one writer, and a lookup must not open a connection each)
    for await (const doc of this.store.stream(collection, { where: { [field]: value } }, { snapshot: false })) docs.push(doc);
    return docs;
  }

  /** after `writes` were committed */
  committed(writes: readonly DocWrite[]): void {
    if (this.written) for (const w of writes) this.written.add(w.collection, w.kind === 'upsert' ? w.doc._id : w.id);
    if (this.maxCached === 0) return;
    const trustAfter = this.trustAfter;
    for (const w of writes) {
      const id = w.kind === 'upsert' ? w.doc._id : w.id;
      const cached = this.young.get(w.collection)?.get(id) ?? this.old.get(w.collection)?.get(id);
      const applied =
        cached?.position !== undefined ? cached.position < w.position : trustAfter !== undefined && w.position > trustAfter;
      if (applied) this.remember(w.collection, id, w);
      else if (cached && cached.position === undefined) {
        this.young.get(w.collection)?.delete(id);
        this.old.get(w.collection)?.delete(id);
      }
    }
  }

  /**
   * after documents were written to the store by other means than a commit (a rebuild's bulk write): their keys
   * are marked written, and whatever was cached of them is forgotten (the next read asks the store)
   */
  wroteOut(collection: string, ids: readonly string[]): void {
    const young = this.young.get(collection);
    const old = this.old.get(collection);
    for (const id of ids) {
      this.written?.add(collection, id);
      if (young?.delete(id)) this.youngSize--;
      old?.delete(id);
    }
  }

  /** forget everything (after a failure: the store may hold anything) */
  clear(): void {
    this.young = new Map();
    this.old = new Map();
    this.youngSize = 0;
    this.written = undefined;
  }

  private remember(collection: string, id: string, entry: Cached): void {
    if (this.maxCached === 0) return;
    let byId = this.young.get(collection);
    if (byId?.has(id)) {
      byId.set(id, entry);
      return;
    }
    if (this.youngSize >= this.generationSize) {
      this.old = this.young;
      this.young = new Map();
      this.youngSize = 0;
      byId = undefined;
    }
    if (!byId) this.young.set(collection, (byId = new Map()));
    byId.set(id, entry);
    this.youngSize++;
  }
}
