import { getMetadataStorage } from 'class-validator';

/**
 * class-validator looks up a class's validation metadata on every validate() call (and Nest's ValidationPipe once more
 * per nested object): `getTargetValidationMetadatas` filters the class's own entries and then walks the entries of
 * EVERY validated class in the process with `instanceof`, to find inherited ones. With the API's ~100 DTO classes that
 * was 1.7% of the main thread's CPU under bench:http (perf, docs/adr/0010-command-throughput.md fourth pass), for an
 * answer that changes only when a decorator registers new metadata (at class definition, i.e. module load).
 *
 * This remembers the answers per (class, schema, options) and forgets them all whenever metadata is added, so a class
 * defined later (or a schema registered later) is seen as before. The arrays handed out are the ones class-validator
 * computed; neither class-validator nor Nest writes to them.
 */
type Storage = ReturnType<typeof getMetadataStorage>;
type Metadatas = ReturnType<Storage['getTargetValidationMetadatas']>;
type Grouped = ReturnType<Storage['groupByPropertyName']>;

const INSTALLED = Symbol.for('rollcall.validation-metadata.memo');

export function rememberValidationMetadata(storage: Storage = getMetadataStorage()): void {
  const marked = storage as Storage & { [INSTALLED]?: true };
  if (marked[INSTALLED]) return;
  marked[INSTALLED] = true;
  const lookUp = storage.getTargetValidationMetadatas.bind(storage);
  const group = storage.groupByPropertyName.bind(storage);
  const add = storage.addValidationMetadata.bind(storage);
  // per class: the answer without schema, groups or `always` (what every validate() of the API asks), and the others by key
  let plain = new WeakMap<object, Metadatas>();
  let other = new WeakMap<object, Map<string, Metadatas>>();
  let grouped = new WeakMap<Metadatas, Grouped>();

  storage.addValidationMetadata = (metadata) => {
    add(metadata);
    plain = new WeakMap();
    other = new WeakMap();
    grouped = new WeakMap();
  };
  storage.getTargetValidationMetadatas = (target, schema, always, strictGroups, groups) => {
    if (typeof target !== 'function') return lookUp(target, schema, always, strictGroups, groups);
    if (!schema && !always && !strictGroups && !groups?.length) {
      let found = plain.get(target);
      if (!found) plain.set(target, (found = lookUp(target, schema, always, strictGroups, groups)));
      return found;
    }
    const key = JSON.stringify([schema ?? null, !!always, !!strictGroups, groups ?? null]);
    const byKey = other.get(target) ?? other.set(target, new Map()).get(target)!;
    let found = byKey.get(key);
    if (!found) byKey.set(key, (found = lookUp(target, schema, always, strictGroups, groups)));
    return found;
  };
  storage.groupByPropertyName = (metadatas) => {
    let found = grouped.get(metadatas);
    if (!found) grouped.set(metadatas, (found = group(metadatas)));
    return found;
  };
}

// installed when the DTOs are loaded (shared/http/dtos.ts imports this module), before any request is validated
rememberValidationMetadata();
