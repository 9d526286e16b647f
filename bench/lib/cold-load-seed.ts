// The data dir of bench:cold-load and bench:as-of: an organization with a workspace of N members, seeded once through the
// app's own event store (personal fields encrypted, bench/lib/http-seed.ts) with its snapshots written by a load as the
// API writes them; kept in $TMPDIR/rollcall-bench/ under a name of the snapshot's version (a change of the format seeds
// again).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRollcallEventStore } from '@rollcall/event-store';
import { snapshotVersion } from '../../apps/api/src/shared/snapshots/snapshots';
import { openProcess } from '../../apps/api/src/shared/testing/snapshot-harness';
import { seedWorkspace } from './http-seed';

export interface Seeded {
  dir: string;
  organizationId: string;
  workspaceId: string;
  /** the last member seeded (absent from a data dir seeded before session 59) */
  lastMemberId?: string;
}

/** the seeded data dir with its snapshots written: found in the cache, or made */
export async function seeded(members: number): Promise<Seeded> {
  const cacheDir = join(tmpdir(), 'rollcall-bench');
  mkdirSync(cacheDir, { recursive: true });
  const name = `cold-load-${members}-${snapshotVersion('workspace').replaceAll('/', '_')}`;
  const manifest = join(cacheDir, `${name}.json`);
  if (existsSync(manifest)) return JSON.parse(readFileSync(manifest, 'utf8')) as Seeded;
  const dir = join(cacheDir, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  console.log(`seeding ${members} members into ${dir}…`);
  const { store } = await createRollcallEventStore({ dataDir: dir, durability: 'normal' });
  const { organizationId, workspaceId, memberIds } = await seedWorkspace(store, members, 'big');
  await store.close();
  // a load writes both snapshots (every: 1), in the background; close waits for them
  const writer = await openProcess(dir, { every: 1 });
  const org = await writer.states.organization(organizationId);
  await writer.states.workspace(org.state, workspaceId);
  await writer.close();
  if (writer.errors.length > 0) throw new Error(`snapshots not written: ${String(writer.errors[0])}`);
  const made = { dir, organizationId, workspaceId, lastMemberId: memberIds.at(-1) };
  writeFileSync(manifest, JSON.stringify(made));
  return made;
}
