/**
 * The indexes of a MongoDB read-store collection, brought to what this code declares (`MongoReadStore.init`, at every
 * start of a process over the store, a rebuild's included: the moment the store makes sure of a collection's indexes
 * for the projection version it runs). The embedded store does the same (sqlite/schema.ts, dropUnlistedIndexes).
 *
 * What is dropped. The store names every index it creates `rs_<field>` / `rs_<a>+<b>` (buildIndexes), and a field
 * path holds no `+`, so a name stands for one key pattern: an index is identified by its name, and the `rs_` prefix
 * marks it as the store's own. In a collection `init` is given (never another: the checkpoints, or whatever else the
 * database holds, are not this code's to tidy), an index is dropped when
 * - it is the store's (`rs_`) and no declaration has its name: a projection version stopped declaring it (`members` 6
 *   replaced `rs_workspaceId+lastSeenAt` by `rs_workspaceId+seenOrder`), which every write still maintained;
 * - it is the store's and declared, but not as it stands (`sameDefinition`): createIndexes would refuse the declared
 *   one under that name (IndexKeySpecsConflict, 86, for another key or identifying option; IndexOptionsConflict, 85,
 *   for another of the other options), and the store would not start; dropped, it is created again as declared.
 * Never `_id_` (not the store's: no prefix), nor an index someone else made on the collection (no prefix).
 *
 * Rolling upgrades (ADR 0015: not enforced; "upgrade the projector's process first, or all at once"). The first
 * process of the new version to start drops what its version no longer declares, while replicas of the older version
 * may still run. They keep working (no query names an index: no `hint`), but a query of theirs that the dropped index
 * served plans without it (a scan or an in-memory sort: slower), one running on it as it is dropped may fail once
 * (its plan is killed), and their writes maintain one index fewer. An older replica that starts again during the
 * rollout creates its index again, and the next start of a new one drops it again: an index built for nothing each
 * time, never a wrong answer. An index whose definition a version changes under the same name would make the older
 * replicas' start fail instead (their createIndexes refused); so a declaration that changes an index also changes its
 * name (today names follow the key, and no declaration has options).
 */
import type { Collection, Document, IndexDescription, IndexDirection } from 'mongodb';
import { isDeepStrictEqual } from 'node:util';

/** an index as the store declares it: always named (identity), its key a plain object (its order is the key's) */
export type DeclaredIndex = Omit<IndexDescription, 'key' | 'name'> & { name: string; key: Record<string, IndexDirection> };

/** the prefix of the indexes the store creates (buildIndexes), and the only ones it drops */
export const OWNED_INDEX_PREFIX = 'rs_';

const NAMESPACE_NOT_FOUND = 26;
const INDEX_NOT_FOUND = 27;

/**
 * What listIndexes answers that does not make two definitions differ (the server's own list of options "not
 * considered for equality", less those compared on their own below): the index version, the namespace (before 4.4),
 * creation-time options.
 */
const NOT_COMPARED = new Set(['v', 'ns', 'name', 'key', 'background', 'dropDups', 'textIndexVersion', '2dsphereIndexVersion']);
/** the options of an existing index compared with the declaration (besides unique, sparse, collation) */
const COMPARED = new Set(['partialFilterExpression', 'expireAfterSeconds', 'hidden', 'weights', 'default_language', 'language_override', 'wildcardProjection', 'bits', 'min', 'max', 'bucketSize', 'storageEngine', 'clustered', 'prepareUnique']);
/** compared on their own: a missing `unique`/`sparse` is false, as the server reads it */
const BOOLEAN_OPTIONS = ['unique', 'sparse'];

export interface StaleIndex {
  name: string;
  /** why it goes: said in the log */
  reason: string;
}

/** the indexes of `existing` (listIndexes' answer) to drop before the declared ones are created */
export function indexesToDrop(existing: readonly Document[], declared: readonly DeclaredIndex[]): StaleIndex[] {
  const byName = new Map(declared.map((index) => [index.name, index]));
  const stale: StaleIndex[] = [];
  for (const index of existing) {
    const name = index.name as unknown;
    if (typeof name !== 'string' || !name.startsWith(OWNED_INDEX_PREFIX)) continue;
    const wanted = byName.get(name);
    if (!wanted) stale.push({ name, reason: `no longer declared (key ${JSON.stringify(index.key)})` });
    else if (!sameDefinition(index, wanted))
      stale.push({ name, reason: `declared otherwise: ${describe(index)} is now ${describe(wanted)}, created again` });
  }
  return stale;
}

/**
 * Whether an index as listIndexes answers it is the declared one: the same key pattern (fields in order, directions
 * by value: MongoDB compares 1 and 1.0 as equal), and the same options that change what the index holds or does,
 * i.e. those for which the server refuses the declared index under that name: `unique`, `sparse`,
 * `partialFilterExpression` (compared as written: an equivalent filter written otherwise is built once more, never
 * kept wrong), `collation`, and any other option either side has (`expireAfterSeconds`: a TTL would delete the
 * projection's documents; `hidden`: the planner would not use it).
 */
export function sameDefinition(existing: Document, declared: DeclaredIndex): boolean {
  if (!sameKey(existing.key as Document | undefined, declared.key)) return false;
  const wanted: Document = declared;
  for (const option of BOOLEAN_OPTIONS) if (Boolean(existing[option]) !== Boolean(wanted[option])) return false;
  if (!sameCollation(existing.collation as Document | undefined, wanted.collation as Document | undefined)) return false;
  // the options either side has that change what the index holds or does; an option only a server lists and this
  // list does not name (a later server's bookkeeping) is not a difference: else every index would be dropped and built
  // again at every start (review, session 27)
  const others = new Set([...Object.keys(existing).filter((option) => COMPARED.has(option)), ...Object.keys(wanted)]);
  for (const option of others) {
    if (NOT_COMPARED.has(option) || BOOLEAN_OPTIONS.includes(option) || option === 'collation') continue;
    if (!isDeepStrictEqual(existing[option], wanted[option])) return false;
  }
  return true;
}

function sameKey(existing: Document | undefined, declared: Record<string, IndexDirection>): boolean {
  if (!existing) return false;
  const a = Object.entries(existing);
  const b = Object.entries(declared);
  return a.length === b.length && a.every(([field, direction], i) => field === b[i]![0] && sameDirection(direction, b[i]![1]));
}

function sameDirection(a: unknown, b: unknown): boolean {
  return typeof a === 'number' || typeof b === 'number' ? Number(a) === Number(b) : a === b;
}

/**
 * The server lists an index's collation with every field filled in (`{ locale: 'fr', strength: 3, ... }`), so a
 * declared collation is compared by the fields it gives. None declared: the index must have none (or `simple`, the
 * same binary order). A collection created with a default collation lists it on every index: this store never
 * creates one (its collections come from its createIndexes), and its sort keys assume binary order (ADR 0015).
 */
function sameCollation(existing: Document | undefined, declared: Document | undefined): boolean {
  if (!declared) return existing === undefined || existing.locale === 'simple';
  if (!existing) return declared.locale === 'simple';
  return Object.entries(declared).every(([field, value]) => isDeepStrictEqual(existing[field], value));
}

function describe(index: Document): string {
  const { v: _v, ns: _ns, name: _name, ...definition } = index;
  return JSON.stringify(definition);
}

/**
 * Drops the collection's stale indexes (`indexesToDrop`), each said through `log` (the store's `warn`, its only channel:
 * a drop is what an operator watching a rollout looks for), then creates the declared ones.
 * Dropped first: a replaced index must be gone before it is created again under its name, and the collection stays
 * below MongoDB's 64 indexes.
 */
export async function ensureIndexes(
  collection: Collection<Document>,
  declared: readonly DeclaredIndex[],
  log: (message: string) => void = () => undefined,
): Promise<void> {
  for (const { name, reason } of indexesToDrop(await listIndexes(collection), declared)) {
    if (await dropIndex(collection, name)) log(`MongoDB read store: dropped index ${name} of ${collection.collectionName}: ${reason}`);
  }
  if (declared.length > 0) await collection.createIndexes([...declared]);
}

/** the collection's indexes; none for a collection not created yet (the server answers NamespaceNotFound) */
async function listIndexes(collection: Collection<Document>): Promise<Document[]> {
  try {
    return await collection.listIndexes().toArray();
  } catch (error) {
    if (codeOf(error) === NAMESPACE_NOT_FOUND) return [];
    throw error;
  }
}

/**
 * Whether this process dropped it: another process starting at the same time (the API and its projector thread,
 * two replicas) may have dropped it first (IndexNotFound), or the collection with it; either way it is gone.
 */
async function dropIndex(collection: Collection<Document>, name: string): Promise<boolean> {
  try {
    await collection.dropIndex(name);
    return true;
  } catch (error) {
    const code = codeOf(error);
    if (code === INDEX_NOT_FOUND || code === NAMESPACE_NOT_FOUND) return false;
    throw error;
  }
}

function codeOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === undefined ? undefined : Number(code);
}
