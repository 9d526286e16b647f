/**
 * The audit entry: one stored event record, serialized canonically, as the notary's Merkle tree hashes it
 * (docs/rules.md#verifiable-history, docs/adr/0007-verifiable-history.md).
 *
 * An entry is the UTF-8 bytes of the RFC 8785 (JSON Canonicalization Scheme) serialization of
 *
 *   { "created": ISO-8601 UTC with milliseconds, "data": <data as stored>, "id": <event id>,
 *     "metadata": <metadata as stored>, "position": "<decimal>", "revision": "<decimal>",
 *     "stream": <stream name>, "type": <event type> }
 *
 * "As stored" means as the event store hands the record out, under the crypto-shredding wrapper: personal fields
 * are the `enc:v1:…` strings, so forgetting a key changes no entry. `position` and `revision` are decimal strings
 * (they are 64-bit integers; RFC 8785 numbers are IEEE doubles). `created` is part of the entry because
 * point-in-time answers (access as of T) select events by it. Binary data (never written by Rollcall) would be
 * `{"$binary": base64}`.
 */
import type { RecordedEvent } from '@rollcall/event-store';

/** The fields of a stored record that the entry covers. */
export type EntryRecord = Pick<RecordedEvent, 'id' | 'stream' | 'revision' | 'position' | 'type' | 'data' | 'metadata' | 'created'>;

export class CanonicalizationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CanonicalizationError';
  }
}

/**
 * RFC 8785 for JSON values as JSON.parse produces them: object keys sorted by UTF-16 code units (JavaScript's
 * default sort), strings and numbers as ECMAScript's JSON.stringify writes them (what RFC 8785 §3.2.2 prescribes),
 * no whitespace. One extension, since a stored event cannot be refused after the fact: a lone surrogate (outside
 * I-JSON) is written as JSON.stringify writes it, a lower-case `\udxxx` escape. Checked against the
 * `canonicalize` package (by one of the RFC's authors) in entry.spec.ts. Written here rather than calling that
 * package because it is the verifier's hot path: objects whose keys are already in order are kept as they are and
 * the whole value goes through one native JSON.stringify call.
 */
export function canonicalJson(value: unknown): string {
  handWritten = false;
  const fast = ordered(value);
  return handWritten ? written(value) : JSON.stringify(fast);
}

/** set by `ordered` when an object cannot be rebuilt in key order (see there) */
let handWritten = false;

/** The same serialization, written member by member (slower; for the rare objects `ordered` cannot rebuild). */
function written(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(ordered(value));
  if (value instanceof Uint8Array) return JSON.stringify(ordered(value));
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : written(v))).join(',')}]`;
  const object = value as Record<string, unknown>;
  const members = Object.keys(object)
    .sort()
    .filter((k) => object[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${written(object[k])}`);
  return `{${members.join(',')}}`;
}

/** The value with every object's keys in canonical order; subtrees already in order are shared, not copied. */
function ordered(value: unknown): unknown {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new CanonicalizationError(`${value} is not a JSON number`);
    if (typeof value === 'bigint' || typeof value === 'function' || typeof value === 'symbol')
      throw new CanonicalizationError(`A ${typeof value} has no JSON form`);
    return value;
  }
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = value[i] as unknown;
      const child = item === undefined ? null : ordered(item);
      if (child !== item) (copy ??= value.slice())[i] = child;
    }
    return copy ?? value;
  }
  if (value instanceof Uint8Array) return { $binary: Buffer.from(value).toString('base64') };
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object);
  let sorted = true;
  for (let i = 1; i < keys.length; i++)
    if (!(keys[i - 1]! < keys[i]!)) {
      sorted = false;
      break;
    }
  if (sorted) {
    let copy: Record<string, unknown> | undefined;
    for (const key of keys) {
      const raw = object[key];
      // primitives (and undefined, which JSON.stringify leaves out as RFC 8785 has no undefined) stay as they are
      if (raw === null || (typeof raw !== 'object' && typeof raw !== 'number')) continue;
      const child = ordered(raw);
      if (child !== raw) set((copy ??= { ...object }), key, child);
    }
    return copy ?? object;
  }
  keys.sort();
  // the engine lists integer-like keys first, in numeric order, whatever the insertion order: a copy would not
  // be in key order, so the whole value is written out by hand instead
  if (keys.some(isArrayIndex)) {
    handWritten = true;
    return object;
  }
  const copy: Record<string, unknown> = {};
  for (const key of keys) if (object[key] !== undefined) set(copy, key, ordered(object[key]));
  return copy;
}

/**
 * Plain objects (fast for V8 and JSON.stringify); a member named `__proto__` (JSON.parse makes it an own property) is
 * defined, not assigned, so it stays a member instead of setting the prototype.
 */
const set = (target: Record<string, unknown>, key: string, value: unknown): void => {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
};

const isArrayIndex = (key: string): boolean => /^(?:0|[1-9]\d*)$/.test(key) && Number(key) < 2 ** 32 - 1;

/** The entry's canonical JSON text. */
export function entryText(record: EntryRecord): string {
  if (!(record.created instanceof Date) || Number.isNaN(record.created.getTime()))
    throw new CanonicalizationError(`Event ${record.id} has no valid recording time`);
  // keys written in canonical order: the object needs no reordering
  return canonicalJson({
    created: record.created.toISOString(),
    data: record.data === undefined ? null : record.data,
    id: record.id,
    metadata: record.metadata ?? {},
    position: record.position.toString(),
    revision: record.revision.toString(),
    stream: record.stream,
    type: record.type,
  });
}

/** The entry's bytes (what a leaf hash covers). */
export function entryBytes(record: EntryRecord): Buffer {
  return Buffer.from(entryText(record), 'utf8');
}

/** The record an entry describes, back from its bytes (for display: `prove`, `check-proof`). */
export function parseEntry(bytes: Uint8Array): { id: string; stream: string; type: string; position: string; revision: string; created: string; data: unknown; metadata: Record<string, unknown> } {
  return JSON.parse(Buffer.from(bytes).toString('utf8')) as ReturnType<typeof parseEntry>;
}
