// The cold load of a 100,000-member workspace from its snapshots, in-process: what `bench:http`'s coldLoadMs100k
// measures over HTTP after a restart (~5 minutes a run), without the server, in about a minute — to compare changes to
// the snapshot's format or its opening quickly (docs/adr/0013, session 17). Run: `npm run bench:cold-load`.
// Prints a line per run, then, last, one JSON line:
//   {"bench":"cold-load","members":…,"firstRunMs":…,"medianMs":…,"minMs":…,"medianBuiltMs":…,"firstRunCpuMs":…,"medianCpuMs":…,"runs":…,
//    "loadAverage":[…]}
//
// The data dir is seeded once (bench/lib/http-seed.ts: an organization with a workspace of N members, through the
// app's own event store, personal fields encrypted) and its snapshots written by a load through StreamStates, as the
// API writes them; it is kept in $TMPDIR/rollcall-bench/ under a name of the snapshot's version, so a change of the
// format seeds again. Each run opens a new process's command side over it (StreamStates, StateSnapshots, the keys:
// apps/api/src/shared/testing/snapshot-harness.ts) and times loading the organization's then the workspace's state and
// reading the rows a change of access reads first (…Ms), then until the rows left to the background are built
// (medianBuiltMs; the CPU figures cover both: docs/adr/0013 "Session 59").
// The npm script runs it with the API's V8 flags (apps/api/src/infrastructure/node-flags.ts): the load is the API's.
// The first run is a fresh process's (its code not optimized yet: nearest to the API's first command after a
// restart); the median is of all runs. Options (env): BENCH_COLD_LOAD_MEMBERS (100000), BENCH_COLD_LOAD_RUNS (5).
import { loadavg } from 'node:os';
import { rowsBuilt } from '../apps/api/src/shared/snapshots/snapshot-codec';
import { openProcess } from '../apps/api/src/shared/testing/snapshot-harness';
import { seeded } from './lib/cold-load-seed';

const MEMBERS = Number(process.env.BENCH_COLD_LOAD_MEMBERS ?? 100_000);
const RUNS = Number(process.env.BENCH_COLD_LOAD_RUNS ?? 5);

async function main(): Promise<void> {
  const { dir, organizationId, workspaceId, lastMemberId } = await seeded(MEMBERS);
  const load = () => Number(loadavg()[0]!.toFixed(2));
  const loadBefore = load();
  const times: number[] = [];
  const builtTimes: number[] = [];
  const cpuTimes: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const p = await openProcess(dir, { every: Number.POSITIVE_INFINITY });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const org = await p.states.organization(organizationId);
    const t1 = performance.now();
    const ws = await p.states.workspace(org.state, workspaceId);
    // what a change of a member's access reads first: the actor (the owner) and the member (the last one seeded: the
    // last row of each kind), in the workspace and the organization
    for (const userId of [ws?.state.info.ownerUserId, lastMemberId])
      if (userId && !(ws?.state.members.get(userId) && org.state.users.get(userId))) throw new Error(`no member ${userId}`);
    const t2 = performance.now();
    // the rows the load left to the background (docs/adr/0013 "Session 59"), built
    await Promise.all([rowsBuilt(org.state), ws ? rowsBuilt(ws.state) : undefined]);
    const t3 = performance.now();
    const cpu = process.cpuUsage(cpu0);
    // both from their snapshots: each stream read from after its snapshot's revision, none from the start
    const fromStart = p.reads.filter((r) => r.fromRevision === 0n);
    if (fromStart.length > 0 || p.errors.length > 0 || ws?.state.members.size !== MEMBERS + 1)
      throw new Error(`not loaded from the snapshots: ${JSON.stringify({ fromStart: fromStart.map((r) => r.stream), errors: p.errors.map(String) })}`);
    times.push(t2 - t0);
    builtTimes.push(t3 - t0);
    cpuTimes.push((cpu.user + cpu.system) / 1000);
    console.log(
      `run ${run}: organization ${(t1 - t0).toFixed(0)} ms, workspace ${(t2 - t1).toFixed(0)} ms, both ${(t2 - t0).toFixed(0)} ms; every row built ${(t3 - t0).toFixed(0)} ms, CPU ${cpuTimes.at(-1)!.toFixed(0)} ms`,
    );
    await p.close();
  }
  const sorted = [...times].sort((a, b) => a - b);
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const ms = (v: number) => Math.round(v);
  console.log(
    JSON.stringify({
      bench: 'cold-load',
      members: MEMBERS,
      firstRunMs: ms(times[0]!),
      medianMs: ms(sorted[Math.floor(sorted.length / 2)]!),
      minMs: ms(sorted[0]!),
      // until every row is built (the background's turns after the load: docs/adr/0013 "Session 59")
      medianBuiltMs: ms(median(builtTimes)),
      // the process's CPU (every thread: V8's GC helpers too) during each load: less moved by the machine's load
      firstRunCpuMs: ms(cpuTimes[0]!),
      medianCpuMs: ms(median(cpuTimes)),
      runs: RUNS,
      loadAverage: [loadBefore, load()],
    }),
  );
}

void main();
