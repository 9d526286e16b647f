// The point-in-time answers of rule 17 at a large customer's size (probe 43 F1; docs/adr/0027-replay-checkpoints.md):
// the roster of a 100,000-member workspace and one member's access explained, folded from the streams' start, then
// continued from the states a replay kept. In-process, on bench:cold-load's seeded data dir (bench/lib/cold-load-seed.ts:
// the organization's stream of 100,001 users, the workspace's of 200,003 events). Run: `npm run bench:as-of`.
// Prints a line per figure, then, last, one JSON line:
//   {"bench":"as-of","members":…,"rosterFromStartMs":…,"rosterContinuedMs":…,"memberFromStartMs":…,"memberContinuedMs":…,
//    "keptRows":…,"keptHeapMb":…,"loadAverage":[…]}
// Options (env): BENCH_AS_OF_MEMBERS (100000).
import { loadavg } from 'node:os';
import { AccessAsOfHandler, AccessAsOfQuery, RosterAsOfHandler, RosterAsOfQuery } from '../apps/api/src/members/access-as-of';
import { ReplayCheckpoints } from '../apps/api/src/members/replay-checkpoints';
import { wholeRoster } from '../apps/api/src/members/roster-json';
import { openProcess } from '../apps/api/src/shared/testing/snapshot-harness';
import { seeded } from './lib/cold-load-seed';

const MEMBERS = Number(process.env.BENCH_AS_OF_MEMBERS ?? 100_000);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const load = () => Number(loadavg()[0]!.toFixed(2));

async function timed<T>(label: string, run: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const out = await run();
  const ms = performance.now() - t0;
  console.log(`${label}: ${ms.toFixed(1)} ms`);
  return [ms, out];
}

async function main(): Promise<void> {
  const { dir, organizationId, workspaceId } = await seeded(MEMBERS);
  const loadBefore = load();
  const p = await openProcess(dir, { every: Number.POSITIVE_INFINITY });
  const none = ReplayCheckpoints.none();
  const kept = new ReplayCheckpoints(1_000_000);
  const roster = (checkpoints: ReplayCheckpoints) => () => new RosterAsOfHandler(p.store, checkpoints).execute(new RosterAsOfQuery(organizationId, workspaceId, undefined)).then(wholeRoster);
  const member = (checkpoints: ReplayCheckpoints) => () => new AccessAsOfHandler(p.store, checkpoints).execute(new AccessAsOfQuery(organizationId, workspaceId, 'nobody', undefined, true));
  const [memberFromStart] = await timed('one member, from the start', member(none));
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const [rosterFromStart, first] = await timed('roster, from the start (its states kept)', roster(kept));
  gc();
  const keptHeapMb = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
  const [rosterContinued, again] = await timed('roster, continued from the kept states', roster(kept));
  const [memberContinued] = await timed('one member, continued from the kept states', member(kept));
  // (each answer about now is labelled with its own moment: compared without it)
  const unlabelled = (members: unknown) => JSON.stringify(members, (key, value: unknown) => (key === 'asOf' ? undefined : value));
  if (first.members.length !== MEMBERS + 1 || unlabelled(again.members) !== unlabelled(first.members)) throw new Error('the continued roster differs from the one folded from the start');
  await p.close();
  const ms = (v: number) => Math.round(v * 10) / 10;
  console.log(
    JSON.stringify({
      bench: 'as-of',
      members: MEMBERS,
      rosterFromStartMs: ms(rosterFromStart),
      rosterContinuedMs: ms(rosterContinued),
      memberFromStartMs: ms(memberFromStart),
      memberContinuedMs: ms(memberContinued),
      keptRows: kept.keptRows,
      keptHeapMb: Math.round(keptHeapMb),
      loadAverage: [loadBefore, load()],
    }),
  );
}

void main();
