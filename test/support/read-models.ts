// The read models a data dir's processes built, against the same log rebuilt from zero (docs/rules.md#read-models).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRollcallEventStore } from '@rollcall/event-store';
import { type Doc, PROJECTIONS, Projector, SqliteReadStore, checkpointKey, rebuild } from '@rollcall/read-store';
import { dump } from '../../libs/read-store/src/projector/testing/temp-stores';

export interface ReadModelComparison {
  live: Record<string, Doc[]>;
  rebuilt: Record<string, Doc[]>;
  /** checkpoint of every projection in the live read store */
  checkpoints: Record<string, bigint | undefined>;
}

/**
 * Dumps `${dataDir}/read.sqlite` as the API processes left it, and a read store rebuilt from the data dir's log
 * in a temporary file. Run it once no process writes the data dir.
 */
export async function liveAndRebuilt(dataDir: string): Promise<ReadModelComparison> {
  const scratch = mkdtempSync(join(tmpdir(), 'rollcall-rebuilt-'));
  const { store: events } = await createRollcallEventStore({ dataDir, durability: 'normal' });
  const live = new SqliteReadStore({ path: join(dataDir, 'read.sqlite'), synchronous: 'NORMAL' });
  const fresh = new SqliteReadStore({ path: join(scratch, 'read.sqlite'), synchronous: 'NORMAL' });
  const silent = { info: () => undefined, error: () => undefined };
  try {
    await live.init(Projector.collectionsOf(PROJECTIONS));
    const checkpoints: Record<string, bigint | undefined> = {};
    for (const p of PROJECTIONS) checkpoints[p.name] = await live.checkpoint(checkpointKey(p));
    await rebuild(events, fresh, PROJECTIONS, { logger: silent });
    return { live: await dump(live, PROJECTIONS), rebuilt: await dump(fresh, PROJECTIONS), checkpoints };
  } finally {
    await live.close();
    await fresh.close();
    await events.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The documents that differ between two dumps, by collection and id (empty when they are equal). */
export function differences(a: Record<string, Doc[]>, b: Record<string, Doc[]>): string[] {
  const out: string[] = [];
  for (const collection of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const left = new Map((a[collection] ?? []).map((d) => [d._id, canonical(d)]));
    const right = new Map((b[collection] ?? []).map((d) => [d._id, canonical(d)]));
    for (const id of new Set([...left.keys(), ...right.keys()]))
      if (left.get(id) !== right.get(id)) out.push(`${collection}/${id}: ${left.get(id) ?? 'absent'} != ${right.get(id) ?? 'absent'}`);
  }
  return out;
}

/** JSON with keys sorted at every level: two documents with the same content in another key order are equal */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) : v,
  );
