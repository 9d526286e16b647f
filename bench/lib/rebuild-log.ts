import { existsSync, renameSync, rmSync } from 'node:fs';
import { SqliteEventStore } from '@rollcall/event-store';
import { SimulatedTraffic, OP_COUNT, prng } from '../../libs/read-store/src/projections/testing/simulated-traffic';
import { EventLog } from '../../libs/read-store/src/projections/testing/event-log';

/**
 * A realistic event log for the rebuild benchmark, written by the real deciders: `orgs` organizations with
 * `workspacesPerOrg` workspaces each (all three access models); activity spread uniformly over them. The `console`
 * mix: mostly invitations and acceptances, then access changes, with resends, cancellations, expirations, revokes,
 * profile changes and deletions. The `all` mix adds what reaches the other projections: teams (created, members
 * added and removed, renamed, deleted, shared with partner workspaces, networked workspaces choosing partner
 * teams) and presence transitions, the most frequent events of a live system (every active member goes online,
 * away and offline several times a day). Appended through the embedded event store in large groups.
 */
export interface LogShape {
  events: number;
  orgs: number;
  workspacesPerOrg: number;
  seed: number;
  /** which activity (default `console`, the log bench:audit reads) */
  mix?: 'console' | 'all';
}

/** op numbers of SimulatedTraffic.step, weighted: invite 6, accept 5, change access 4, resend 1, cancel 1, revoke 1, profile 1, delete 1, time 1 */
const CONSOLE_OPS = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 6, 6, 7, 7, 4, 5, 8, 9, 10, 11];
/** the ops of `weights` (op number → weight), each repeated as often as it weighs */
const weighted = (weights: Record<number, number>): number[] => Object.entries(weights).flatMap(([op, n]) => Array<number>(n).fill(Number(op)));
/**
 * the console's (twice), plus teams: create 2, add a member 6, rename / delete / remove a member 2, share 2, choose
 * a partner's team 2, network two workspaces 1 (two events); and presence 60 steps (heartbeats, lapses, forced
 * offline, leaving), of which about two thirds change a status (a repeated heartbeat decides nothing)
 */
const ALL_OPS = [...CONSOLE_OPS, ...CONSOLE_OPS, ...weighted({ 12: 2, 13: 3, 14: 3, 15: 2, 16: 2, 17: 1, 18: 2, 19: 60 })];

export async function generateLog(file: string, shape: LogShape, onProgress?: (events: number) => void): Promise<void> {
  if (existsSync(file)) return;
  const partial = `${file}.partial`;
  rmSync(partial, { force: true });
  rmSync(`${partial}-wal`, { force: true });
  rmSync(`${partial}-shm`, { force: true });
  const store = new SqliteEventStore(partial, { durability: 'normal' });
  const activity = new SimulatedTraffic(new EventLog(false), { emailsPerOrg: 4000, longPauses: false });
  const models = ['levels', 'levels', 'studio', 'permissions'] as const;
  for (let o = 0; o < shape.orgs; o++) {
    activity.addOrganization(`org-${o}`);
    for (let w = 0; w < shape.workspacesPerOrg; w++) activity.addWorkspace(`org-${o}`, `ws-${o}-${w}`, models[(o + w) % models.length]!);
  }
  const ops = shape.mix === 'all' ? ALL_OPS : CONSOLE_OPS;
  const next = prng(shape.seed);
  const target = BigInt(shape.events);
  let pending: Promise<unknown>[] = [];
  while (activity.log.position < target) {
    activity.step({ op: ops[next() % ops.length]! % OP_COUNT, a: next() % activity.workspaceCount, b: next(), c: next() });
    if (activity.log.appends.length >= 5000) {
      await Promise.all(pending);
      pending = activity.log.takeAppends().map((a) => store.append(a.stream, a.events, 'any'));
      onProgress?.(Number(activity.log.position));
    }
  }
  pending.push(...activity.log.takeAppends().map((a) => store.append(a.stream, a.events, 'any')));
  await Promise.all(pending);
  await store.close();
  renameSync(partial, file);
  rmSync(`${partial}-wal`, { force: true });
  rmSync(`${partial}-shm`, { force: true });
}
