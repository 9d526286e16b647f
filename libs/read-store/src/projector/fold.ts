import type { Doc, DocWrite, SerializedWrites } from '../port';
import type { ProjectedEvent, Projection, ProjectionReader } from '../projections/projection';
import { assertWritable } from '../store/query-common';
import type { DocSource } from './batch';
import { FieldIndex } from './fold-field-index';
import { TextArena } from './text-arena';

/**
 * What a fold holds of a document: its latest version, null once deleted while the store holds an earlier version;
 * the position of the event that wrote it; whether the store has it. The version is JSON text (not a tree of
 * objects: the garbage collector does not walk millions of them, and the store wants the text anyway): in a
 * collection mostly written once, kept in its `TextArena` and named by a number (not a string of its own either: the
 * scavenges do not copy it); in the others, written out, a string (it dies soon: the document is likely to change
 * again). Or, until it is written out, the document as the projection wrote it, in a collection whose documents are
 * mostly read or written again soon (no serialization per write, no parse per read: the text is made once).
 */
interface Held {
  readonly id: string;
  version: number | string | Doc | null;
  /** a number, exact below 2^53: a bigint kept for each of millions of documents is one more object for the collector */
  position: number;
  /** changed since last written out (then in its collection's list of those, through `next`) */
  dirty: boolean;
  next: Held | undefined;
  /** the store holds a live version of it (written out before) */
  stored: boolean;
  /** per field index of its collection (by slot): the keys it is listed under there */
  keys: (string | string[] | undefined)[] | undefined;
}

/** writes to a collection before it holds documents as objects (if they are touched again enough) */
const OBJECTS_AFTER = 1000;

/** what several folds hold and have changed since last written out */
export interface FoldTotals {
  held: number;
  dirty: number;
}

class FoldedCollection {
  readonly held = new Map<string, Held>();
  /**
   * the key of the last lookup in `held` and what it found (undefined: absent): a projection mostly writes the
   * document it just read, and a lookup with a key built anew costs a hash of it and a few cache misses in a map of
   * 100,000s of entries (~0.3-1.5 us here). Kept in step by every change of `held`.
   */
  lastId: string | undefined;
  lastHeld: Held | undefined;

  /** the held entry of `id` (the last one looked up again without asking the map) */
  lookup(id: string): Held | undefined {
    if (id === this.lastId) return this.lastHeld;
    return this.remember(id, this.held.get(id));
  }

  /** `held` as the entry of its id (undefined: `id` is no longer held) */
  remember(id: string, held: Held | undefined): Held | undefined {
    this.lastId = id;
    return (this.lastHeld = held);
  }
  /**
   * the documents changed since last written out, last changed first, linked through `next` (a list that needs no
   * array to grow; some may have been written or dropped since: they are no longer `dirty`)
   */
  dirty: Held | undefined;
  /** field → index of the held documents, built on the first findBy of that field, then kept up to date */
  readonly indexes = new Map<string, FieldIndex>();
  private readonly indexList: [field: string, index: FieldIndex][] = [];
  /** top-level fields that have held an array in a document written here (the store records them) */
  readonly arrayFields = new Set<string>();

  /**
   * the texts of the versions held as text while the collection is mostly written once (a text replaced stays in
   * it: at most half of them, since those documents are read or rewritten after less than half the writes)
   */
  arena = new TextArena();

  /** a held version as a document (a projection must not change what it reads: it may be the object it wrote) */
  docOf(version: number | string | Doc): Doc {
    if (typeof version === 'object') return version;
    return JSON.parse(typeof version === 'number' ? this.arena.text(version) : version) as Doc;
  }

  /** a held version as text, to write it: a document held as an object is looked at for array fields then */
  textOf(version: number | string | Doc | null): string | null {
    if (version === null || typeof version === 'string') return version;
    if (typeof version === 'number') return this.arena.text(version);
    this.noteArrays(version);
    return JSON.stringify(version);
  }

  noteArrays(doc: Doc): void {
    for (const key in doc) if (Array.isArray(doc[key])) this.arrayFields.add(key);
  }
  /** documents were written out and then let go (memory bound): what the fold does not hold may be in the store */
  evicted = false;
  /** upserts, and reads or upserts of a document held already */
  upserts = 0;
  touches = 0;

  constructor(readonly name: string) {}

  /**
   * hold new versions as objects: when documents are read or rewritten after half the writes or more (a member's
   * document, a presence interval) rather than written once (a history entry), which an object costs the garbage
   * collector more than a string does
   */
  holdsObjects(): boolean {
    return this.upserts >= OBJECTS_AFTER && this.touchedOften();
  }

  touchedOften(): boolean { return this.touches * 2 >= this.upserts; }

  /** mostly written once: written to, and its documents not read or rewritten after half the writes */
  writtenOnce(): boolean {
    return this.upserts > 0 && !this.touchedOften();
  }

  /** keeps the field indexes in step with a change of `id` (held as `held`) to `next` (null: gone) */
  reindex(id: string, held: Held, next: Doc | null): void {
    for (let i = 0; i < this.indexList.length; i++) {
      const [field, index] = this.indexList[i]!;
      if (next) index.set(id, held, next[field]);
      else index.remove(id, held);
    }
  }

  dropIndexes(): void {
    this.indexes.clear();
    this.indexList.length = 0;
  }

  index(field: string): FieldIndex {
    let index = this.indexes.get(field);
    if (!index) {
      index = new FieldIndex(this.indexes.size);
      this.indexes.set(field, index);
      this.indexList.push([field, index]);
      for (const [id, held] of this.held) if (held.version !== null) index.set(id, held, this.docOf(held.version)[field]);
    }
    return index;
  }
}

/**
 * One projection's read model folded in memory during a rebuild: every event's writes are applied to the documents
 * held here and the projection reads them back from here. `writeOut` hands out the documents changed since it
 * last ran, serialized, each once in its last version, for the caller to write to the store; they stay held.
 * `evict` lets them go (memory bound): what the fold does not hold is then read from `source` (the store behind
 * its cache). A rebuild starts from emptied collections: a document never written out nor held is absent.
 * Documents are read back parsed from their JSON, as the store would give them, or as they were written (see
 * `Held`), as a live batch gives its own writes back.
 */
export class ProjectionFold {
  private readonly collections = new Map<string, FoldedCollection>();
  /** documents held */
  size = 0;
  /** documents changed since last written out */
  dirty = 0;
  readonly reader: ProjectionReader;

  constructor(
    readonly projection: Projection,
    private readonly source: DocSource,
    /** documents held and changed, summed with other folds (a rebuild's), kept up to date by each */
    private readonly totals: FoldTotals = { held: 0, dirty: 0 },
  ) {
    for (const name of Object.keys(projection.collections)) this.collections.set(name, new FoldedCollection(name));
    this.reader = {
      get: async <T extends Doc>(collection: string, id: string): Promise<T | undefined> => {
        const c = this.collection(collection);
        const held = c.lookup(id);
        if (held !== undefined) {
          c.touches++;
          return (held.version === null ? undefined : c.docOf(held.version)) as T | undefined;
        }
        return c.evicted ? ((await this.source.get(collection, id)) as T | undefined) : undefined;
      },
      findBy: async <T extends Doc>(collection: string, field: string, value: string): Promise<T[]> => {
        const c = this.collection(collection);
        const found: Doc[] = [];
        // what was let go, unless held in another version (or deleted) since; then the held ones that match
        if (c.evicted) for (const doc of await this.source.findBy(collection, field, value)) if (!c.held.has(doc._id)) found.push(doc);
        const ids = c.index(field).find(value);
        if (typeof ids === 'string') found.push(c.docOf(c.held.get(ids)!.version!));
        else if (ids) for (const id of ids) found.push(c.docOf(c.held.get(id)!.version!));
        return found as T[];
      },
    };
  }

  /** applies one event's writes; throws what the projection throws, or on a write the store would refuse (then nothing of that event is kept) */
  async apply(e: ProjectedEvent): Promise<void> {
    const writes = await this.projection.apply(e, this.reader);
    const owned = this.projection.collections;
    for (const w of writes) {
      if (!(w.collection in owned)) throw new Error(`projection ${this.projection.name} wrote to ${w.collection}, which it does not own`);
      assertWritable(w as DocWrite); // (its position is not looked at)
    }
    const position = Number(e.position);
    for (const w of writes) {
      const c = this.collection(w.collection);
      if (w.kind === 'upsert') this.hold(c, w.doc, position);
      else this.delete(c, w.id, position);
    }
  }

  /**
   * The documents changed since they were last written out, serialized (a delete where the store holds the
   * document), per collection; from now on they count as written. The caller writes them all to the store.
   * With `upTo`, in collections whose documents are read or rewritten often, only those last changed at or before
   * that position: the others, changed since, are likely to change again soon and stay for a later call.
   * With `writtenOnceOnly`, only those of the collections mostly written once (`writtenOnce`: held as text, they
   * cost nothing to serialize).
   */
  writeOut(upTo?: bigint, writtenOnceOnly = false): SerializedWrites[] {
    const out: SerializedWrites[] = [];
    const limit = upTo === undefined ? Number.POSITIVE_INFINITY : Number(upTo);
    for (const c of this.collections.values()) {
      if (writtenOnceOnly && !c.writtenOnce()) continue;
      const keep = upTo !== undefined && c.touchedOften();
      const writes: SerializedWrites['writes'] = [];
      // the ones left for later, in the same order
      let later: Held | undefined;
      let lastLater: Held | undefined;
      for (let held = c.dirty; held !== undefined; ) {
        const next = held.next;
        held.next = undefined;
        if (held.dirty) {
          if (keep && held.position > limit) {
            if (lastLater) lastLater.next = held;
            else later = held;
            lastLater = held;
          } else {
            held.dirty = false;
            // held as text from now on: until changed again, the document costs the garbage collector one string
            const json = c.textOf(held.version);
            if (typeof held.version === 'object') held.version = json;
            writes.push({ id: held.id, position: BigInt(held.position), json });
            // (a delete stays held, as absent, until let go: the source must then forget what it read of it before)
            held.stored = json !== null;
          }
        }
        held = next;
      }
      c.dirty = later;
      this.dirty -= writes.length;
      this.totals.dirty -= writes.length;
      // in the order they were first changed (the list is last changed first)
      if (writes.length > 0) out.push({ collection: c.name, writes: writes.reverse(), arrayFields: [...c.arrayFields] });
    }
    return out;
  }

  /** its collections whose documents are mostly written once (not read or rewritten after half the writes) */
  writtenOnce(): string[] {
    return [...this.collections.values()].filter((c) => c.writtenOnce()).map((c) => c.name);
  }

  /**
   * Lets every document go (all written out first): what the projection reads next comes from the source.
   * Returns the ids let go, per collection (the source must forget what it knew of them).
   */
  evict(): Map<string, string[]> {
    if (this.dirty > 0) throw new Error('ProjectionFold.evict: documents not written out yet');
    const evicted = new Map<string, string[]>();
    for (const c of this.collections.values()) {
      evicted.set(c.name, [...c.held.keys()]);
      c.held.clear();
      c.arena = new TextArena();
      c.lastId = c.lastHeld = undefined;
      c.dropIndexes();
      c.evicted = true;
    }
    this.totals.held -= this.size;
    this.size = 0;
    return evicted;
  }

  private hold(c: FoldedCollection, doc: Doc, position: number): void {
    const id = doc._id;
    // (the array fields of a document held as an object are noted when it is written out, in its last version)
    let version: number | Doc = doc;
    if (!c.holdsObjects()) {
      c.noteArrays(doc);
      version = c.arena.add(JSON.stringify(doc));
    }
    c.upserts++;
    let held = c.lookup(id);
    if (held === undefined) {
      c.held.set(id, (held = { id, version, position, dirty: false, next: undefined, stored: false, keys: undefined }));
      c.remember(id, held);
      this.size++;
      this.totals.held++;
    } else {
      c.touches++;
      held.version = version;
      held.position = position;
    }
    if (c.indexes.size > 0) c.reindex(id, held, doc);
    this.markDirty(c, held);
  }

  private delete(c: FoldedCollection, id: string, position: number): void {
    const held = c.lookup(id);
    if (held === undefined) {
      // after an eviction the store may hold it: the delete must reach it (the store ignores it otherwise)
      if (!c.evicted) return;
      const tombstone: Held = { id, version: null, position, dirty: false, next: undefined, stored: true, keys: undefined };
      c.held.set(id, tombstone);
      c.remember(id, tombstone);
      this.size++;
      this.totals.held++;
      this.markDirty(c, tombstone);
      return;
    }
    if (c.indexes.size > 0) c.reindex(id, held, null);
    held.version = null;
    held.position = position;
    if (held.stored || c.evicted) this.markDirty(c, held);
    else {
      // never written out: the store has nothing to delete
      c.held.delete(id);
      c.remember(id, undefined);
      this.size--;
      this.totals.held--;
      if (held.dirty) {
        this.dirty--;
        this.totals.dirty--;
      }
      held.dirty = false;
    }
  }

  private markDirty(c: FoldedCollection, held: Held): void {
    if (held.dirty) return;
    held.dirty = true;
    this.dirty++;
    this.totals.dirty++;
    // (a document that is not dirty is in no list: written out, it was taken out of it)
    held.next = c.dirty;
    c.dirty = held;
  }

  private collection(name: string): FoldedCollection {
    let c = this.collections.get(name);
    if (!c) this.collections.set(name, (c = new FoldedCollection(name)));
    return c;
  }
}
