import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalJson } from '@rollcall/audit';
import { createRollcallEventStore } from '@rollcall/event-store';
import { claimDataDir, releaseDataDir } from '../../api/src/infrastructure/data-format';
import { type Doc, PROJECTIONS, Projector, type ReadStore, SqliteReadStore, checkpointKey, createReadStore, rebuild } from '@rollcall/read-store';
import type { Output } from './output';
import { UsageError } from './verify';

/**
 * `verify --read-models`: what the API answers an auditor (the permission history, the user list, teams: the read
 * models) is derived data, kept in read.sqlite (or MongoDB) where nothing signs it; `verify` alone vouches for the log
 * only (probe 33 F1: history entries edited in read.sqlite were served while `verify` passed). This derives every read
 * model again from the log, in a scratch store (the rebuild's own code: a pure function of the log), and compares them
 * document by document with the stored ones. Run it after `verify` passed, on a data dir at rest (or a copy of one):
 * the stored read models must stand at the log's head, else it says how far behind they are and compares nothing.
 */
export interface ReadModelsOptions {
  dataDir: string;
  eventstoreUrl?: string;
  mongoUrl?: string;
}

export type ReadModelDifference = { collection: string; id: string } & ({ kind: 'missing' | 'extra' | 'duplicate' } | { kind: 'differs'; fields: string[] });

export interface ReadModelsResult {
  ok: boolean;
  /** documents compared (the log's derivation) */
  documents: number;
  /** every difference found; the first LISTED of them in `listed` */
  differences: number;
  listed: ReadModelDifference[];
  problems: { code: 'READ_MODELS_BEHIND' | 'READ_MODEL_DIFFERS'; message: string }[];
}

/** how many differences are listed (all are counted) */
const LISTED = 50;

export async function verifyReadModels(options: ReadModelsOptions, out: Output): Promise<ReadModelsResult> {
  if (!options.mongoUrl && !existsSync(join(options.dataDir, 'read.sqlite'))) throw new UsageError(`${options.dataDir} has no read.sqlite (the read models live in MongoDB: set MONGO_URL)`);
  // it opens the data dir's event store as the API does (which may upgrade its files: ADR 0026): claimed first, so a
  // dir an API of another version serves, or a later version wrote, is refused, and an earlier one refuses it after
  // (probe 42b F1: an upgrade behind the format's back, an older API then reading every key as forgotten)
  if (!options.eventstoreUrl) claimDataDir(options.dataDir, 'audit');
  const scratch = mkdtempSync(join(tmpdir(), 'rollcall-audit-read-models-'));
  const { store: events } = await createRollcallEventStore({ dataDir: options.dataDir, eventstoreUrl: options.eventstoreUrl, mongoUrl: options.mongoUrl, durability: 'normal' });
  const live = await createReadStore({ dataDir: options.dataDir, mongoUrl: options.mongoUrl });
  const derived = new SqliteReadStore({ path: join(scratch, 'read.sqlite'), synchronous: 'NORMAL' });
  try {
    await live.init(Projector.collectionsOf(PROJECTIONS));
    const progress = out.progress('deriving the read models from the log');
    await rebuild(events, derived, PROJECTIONS, { logger: { info: () => undefined, error: (message) => out.error(message) }, onProgress: (p) => progress.update(p.events) });
    progress.stop();
    const behind: string[] = [];
    for (const p of PROJECTIONS) {
      const [stored, head] = [await live.checkpoint(checkpointKey(p)), await derived.checkpoint(checkpointKey(p))];
      // none: never built by this version's projections (another version of the API projected them, or a rebuild was
      // killed), not a projector behind (probe 57 F3 was told to let it catch up)
      if (stored !== head) behind.push(`${p.name} at ${stored ?? `none (not built by ${checkpointKey(p)}: another version projected it, or a rebuild was stopped)`} (the log: ${head ?? 'empty'})`);
    }
    if (behind.length > 0)
      return {
        ok: false,
        documents: 0,
        differences: 0,
        listed: [],
        problems: [{ code: 'READ_MODELS_BEHIND', message: `the stored read models do not stand at the log's head: ${behind.join('; ')}. Let the projector catch up with writes stopped (or verify a copy of the data dir taken at rest), then run again` }],
      };
    return await compareStores(live, derived);
  } finally {
    await Promise.allSettled([live.close(), derived.close(), events.close()]);
    rmSync(scratch, { recursive: true, force: true });
    // forgotten once done: a registration left is a process that did not stop (the API's start says so)
    if (!options.eventstoreUrl) releaseDataDir(options.dataDir);
  }
}

/** the audit log's canonical JSON (keys sorted at every level): the same document with its fields in another order is the same */
const canonical = (value: unknown): string => (value === undefined ? 'absent' : canonicalJson(value));
const digest = (doc: Doc) => createHash('sha256').update(canonical(doc)).digest('base64');

/**
 * Every collection of every projection, document by document: the stored ones by id and digest in memory (~100 bytes
 * a document), the derived ones streamed past them. Lists ids and field names only: no value (personal data) is printed.
 */
async function compareStores(live: ReadStore, derived: ReadStore): Promise<ReadModelsResult> {
  let documents = 0;
  let count = 0;
  const listed: ReadModelDifference[] = [];
  const note = (d: ReadModelDifference) => {
    count++;
    if (listed.length < LISTED) listed.push(d);
  };
  for (const collection of Object.keys(Projector.collectionsOf(PROJECTIONS))) {
    const stored = new Map<string, string>();
    for await (const doc of live.stream(collection, {})) {
      // a second row holding a document of the same id (a row added under another key) is served too
      if (stored.has(doc._id)) note({ collection, id: doc._id, kind: 'duplicate' });
      stored.set(doc._id, digest(doc));
    }
    for await (const doc of derived.stream(collection, {})) {
      documents++;
      const at = stored.get(doc._id);
      stored.delete(doc._id);
      if (at === undefined) note({ collection, id: doc._id, kind: 'missing' });
      else if (at !== digest(doc)) note({ collection, id: doc._id, kind: 'differs', fields: differingFields((await live.get(collection, doc._id))?.doc, doc) });
    }
    for (const id of stored.keys()) note({ collection, id, kind: 'extra' });
  }
  const problems: ReadModelsResult['problems'] =
    count === 0 ? [] : [{ code: 'READ_MODEL_DIFFERS', message: `${count} stored read-model document(s) differ from what the log derives (first: ${describe(listed[0]!)})` }];
  return { ok: count === 0, documents, differences: count, listed, problems };
}

const differingFields = (stored: Doc | undefined, derived: Doc): string[] =>
  [...new Set([...Object.keys(stored ?? {}), ...Object.keys(derived)])].filter((f) => canonical(stored?.[f]) !== canonical(derived[f])).sort();

export const describe = (d: ReadModelDifference): string =>
  d.kind === 'differs'
    ? `${d.collection}/${d.id}: ${d.fields.join(', ')} differ`
    : d.kind === 'missing'
      ? `${d.collection}/${d.id}: missing from the stored read model`
      : d.kind === 'duplicate'
        ? `${d.collection}/${d.id}: stored twice`
        : `${d.collection}/${d.id}: stored, but the log derives no such document`;

/** the text report (with --json, main prints the result within verify's) */
export function reportReadModels(result: ReadModelsResult, out: Output): number {
  if (result.ok) out.line(`read models: ${result.documents} documents, each as the log derives it`);
  else {
    out.line(`read models FAILED: ${result.problems[0]!.message}`);
    for (const d of result.listed.slice(1)) out.line(`  also: ${describe(d)}`);
    if (result.differences > result.listed.length) out.line(`  … and ${result.differences - result.listed.length} more`);
  }
  return result.ok ? 0 : 1;
}
