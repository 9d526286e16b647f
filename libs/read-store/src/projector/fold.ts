import type { Doc, DocWrite, SerializedWrites } from '../port';
import type { ProjectedEvent, Projection, ProjectionReader } from '../projections/projection';
import { assertWritable } from '../store/query-common';
import type { DocSource } from './batch';

/**
 * What a fold holds of a document: its latest version as JSON text (one string instead of a tree of objects: the
 * garbage collector does not walk millions of them, and the store wants the text anyway), null once deleted while
 * the store holds an earlier version; the position of the event that wrote it; whether the store has it.
 */
interface Held {
  json: string | null;
  position: bigint;
  /** changed since last written out (listed in its collection's `dirty`) */
  dirty: boolean;
  /** the store holds a live version of it (written out before) */
  stored: boolean;
}

const parse = (json: string): Doc => JSON.parse(json) as Doc;

/** the keys under which `findBy` finds a field's value, as the stores do: the string, or each string of an array */
function keysOf(value: unknown): string | string[] | undefined {
  if (typeof value === 'string') return value;
  if (!Array.isArray(value)) return undefined;
  const keys = value.filter((item): item is string => typeof item === 'string');
  return keys.length > 0 ? keys : undefined;
}

/** one field's index over the held documents: value → the ids holding it (one id as a string, several as a set) */
class FieldIndex {
  private readonly ids = new Map<string, string | Set<string>>();
  /** id → the keys it is listed under (so that a change needs no parse of the previous version) */
  private readonly keys = new Map<string, string | string[]>();

  find(value: string): string | Set<string> | undefined {
    return this.ids.get(value);
  }

  set(id: string, value: unknown): void {
    // most rewrites leave the field as it was
    if (typeof value === 'string' && this.keys.get(id) === value) return;
    this.remove(id);
    const keys = keysOf(value);
    if (keys === undefined) return;
    this.keys.set(id, keys);
    if (typeof keys === 'string') this.add(keys, id);
    else for (const key of keys) this.add(key, id);
  }

  remove(id: string): void {
    const keys = this.keys.get(id);
    if (keys === undefined) return;
    this.keys.delete(id);
    if (typeof keys === 'string') this.removeFrom(keys, id);
    else for (const key of keys) this.removeFrom(key, id);
  }

  private add(key: string, id: string): void {
    const ids = this.ids.get(key);
    if (ids === undefined) this.ids.set(key, id);
    else if (typeof ids === 'string') {
      if (ids !== id) this.ids.set(key, new Set([ids, id]));
    } else ids.add(id);
  }

  private removeFrom(key: string, id: string): void {
    const ids = this.ids.get(key);
    if (ids === id) this.ids.delete(key);
    else if (typeof ids === 'object') {
      ids.delete(id);
      if (ids.size === 1) this.ids.set(key, ids.values().next().value!);
    }
  }
}

class FoldedCollection {
  readonly held = new Map<string, Held>();
  /** ids changed since last written out (some may have been dropped since) */
  dirty: string[] = [];
  /** field → index of the held documents, built on the first findBy of that field, then kept up to date */
  readonly indexes = new Map<string, FieldIndex>();
  /** top-level fields that have held an array in a document written here (the store records them) */
  readonly arrayFields = new Set<string>();
  /** documents were written out and then let go (memory bound): what the fold does not hold may be in the store */
  evicted = false;

  constructor(readonly name: string) {}

  /** keeps the field indexes in step with a change of `id` to `next` (null: gone) */
  reindex(id: string, next: Doc | null): void {
    for (const [field, index] of this.indexes) {
      if (next) index.set(id, next[field]);
      else index.remove(id);
    }
  }

  index(field: string): FieldIndex {
    let index = this.indexes.get(field);
    if (!index) {
      index = new FieldIndex();
      this.indexes.set(field, index);
      for (const [id, { json }] of this.held) if (json !== null) index.set(id, parse(json)[field]);
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
 * Documents are read back parsed from their JSON, as the store would give them.
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
  ) {
    for (const name of Object.keys(projection.collections)) this.collections.set(name, new FoldedCollection(name));
    this.reader = {
      get: async <T extends Doc>(collection: string, id: string): Promise<T | undefined> => {
        const c = this.collection(collection);
        const held = c.held.get(id);
        if (held !== undefined) return (held.json === null ? undefined : parse(held.json)) as T | undefined;
        return c.evicted ? ((await this.source.get(collection, id)) as T | undefined) : undefined;
      },
      findBy: async <T extends Doc>(collection: string, field: string, value: string): Promise<T[]> => {
        const c = this.collection(collection);
        const found: Doc[] = [];
        // what was let go, unless held in another version (or deleted) since; then the held ones that match
        if (c.evicted) for (const doc of await this.source.findBy(collection, field, value)) if (!c.held.has(doc._id)) found.push(doc);
        const ids = c.index(field).find(value);
        if (typeof ids === 'string') found.push(parse(c.held.get(ids)!.json!));
        else if (ids) for (const id of ids) found.push(parse(c.held.get(id)!.json!));
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
    for (const w of writes) {
      const c = this.collection(w.collection);
      if (w.kind === 'upsert') this.hold(c, w.doc, e.position);
      else this.delete(c, w.id, e.position);
    }
  }

  /**
   * The documents changed since the last call, serialized (a delete where the store holds the document), per
   * collection; from now on they count as written. The caller writes them all to the store.
   */
  writeOut(): SerializedWrites[] {
    const out: SerializedWrites[] = [];
    for (const c of this.collections.values()) {
      if (c.dirty.length === 0) continue;
      const writes: SerializedWrites['writes'] = [];
      for (const id of c.dirty) {
        const held = c.held.get(id);
        if (!held?.dirty) continue;
        held.dirty = false;
        writes.push({ id, position: held.position, json: held.json });
        // (a delete stays held, as absent, until let go: the source must then forget what it read of it before)
        held.stored = held.json !== null;
      }
      c.dirty = [];
      if (writes.length > 0) out.push({ collection: c.name, writes, arrayFields: [...c.arrayFields] });
    }
    this.dirty = 0;
    return out;
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
      c.indexes.clear();
      c.evicted = true;
    }
    this.size = 0;
    return evicted;
  }

  private hold(c: FoldedCollection, doc: Doc, position: bigint): void {
    const id = doc._id;
    if (c.indexes.size > 0) c.reindex(id, doc);
    for (const key in doc) if (Array.isArray(doc[key])) c.arrayFields.add(key);
    const json = JSON.stringify(doc);
    let held = c.held.get(id);
    if (held === undefined) {
      c.held.set(id, (held = { json, position, dirty: false, stored: false }));
      this.size++;
    } else {
      held.json = json;
      held.position = position;
    }
    this.markDirty(c, id, held);
  }

  private delete(c: FoldedCollection, id: string, position: bigint): void {
    const held = c.held.get(id);
    if (held === undefined) {
      // after an eviction the store may hold it: the delete must reach it (the store ignores it otherwise)
      if (!c.evicted) return;
      const tombstone: Held = { json: null, position, dirty: false, stored: true };
      c.held.set(id, tombstone);
      this.size++;
      this.markDirty(c, id, tombstone);
      return;
    }
    if (c.indexes.size > 0) c.reindex(id, null);
    held.json = null;
    held.position = position;
    if (held.stored || c.evicted) this.markDirty(c, id, held);
    else {
      // never written out: the store has nothing to delete
      c.held.delete(id);
      this.size--;
      if (held.dirty) this.dirty--;
      held.dirty = false;
    }
  }

  private markDirty(c: FoldedCollection, id: string, held: Held): void {
    if (held.dirty) return;
    held.dirty = true;
    this.dirty++;
    c.dirty.push(id);
  }

  private collection(name: string): FoldedCollection {
    let c = this.collections.get(name);
    if (!c) this.collections.set(name, (c = new FoldedCollection(name)));
    return c;
  }
}
