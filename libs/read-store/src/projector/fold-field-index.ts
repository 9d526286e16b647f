/** what a fold's field index records in each held document: per index (by slot), the keys it is listed under */
export interface Keyed {
  keys: (string | string[] | undefined)[] | undefined;
}

/** the keys under which `findBy` finds a field's value, as the stores do: the string, or each string of an array */
function keysOf(value: unknown): string | string[] | undefined {
  if (typeof value === 'string') return value;
  if (!Array.isArray(value)) return undefined;
  const keys = value.filter((item): item is string => typeof item === 'string');
  return keys.length > 0 ? keys : undefined;
}

/**
 * one field's index over the held documents: value → the ids holding it (one id as a string, several as a set);
 * each held document records the keys it is listed under in its `keys[slot]` (so that a change needs neither a
 * parse of the previous version nor another map lookup)
 */
export class FieldIndex {
  private readonly ids = new Map<string, string | Set<string>>();

  constructor(private readonly slot: number) {}

  find(value: string): string | Set<string> | undefined {
    return this.ids.get(value);
  }

  set(id: string, held: Keyed, value: unknown): void {
    // most rewrites leave the field as it was
    if (typeof value === 'string' && held.keys?.[this.slot] === value) return;
    this.remove(id, held);
    const keys = keysOf(value);
    if (keys === undefined) return;
    (held.keys ??= [])[this.slot] = keys;
    if (typeof keys === 'string') this.add(keys, id);
    else for (const key of keys) this.add(key, id);
  }

  remove(id: string, held: Keyed): void {
    const keys = held.keys?.[this.slot];
    if (keys === undefined) return;
    held.keys![this.slot] = undefined;
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
