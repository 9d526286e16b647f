/**
 * The projector's write cost, alone (never asserted by tests): the six projections project a log shaped like
 * bench:http's phase 1 (a third each: invite, accept, change access, over BENCH_PW_WORKSPACES (100) workspaces) into
 * a fresh SQLite read store, as the API's projector does while it keeps up (incremental commits, batches of
 * BENCH_PW_BATCH (300) events: the size measured under bench:http's load). Prints, for the events after the first
 * BENCH_PW_WARM (40,000), the CPU per event (all threads) and the bytes written per event (WAL frames and
 * checkpoints, from /proc/self/io), then one JSON line. The log is generated once (real deciders) and kept in the
 * OS temp dir.
 *
 *   npm run bench:projector-writes
 *
 * BENCH_PW_EVENTS (100,000): the log's length. BENCH_PW_ONLY=a,b: project only these projections (by name).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '@rollcall/event-store';
import { PROJECTIONS } from '../../projections';
import { SimulatedTraffic, prng } from '../../projections/testing/simulated-traffic';
import { EventLog } from '../../projections/testing/event-log';
import { Projector } from '../../projector';
import { SqliteReadStore } from '../sqlite-read-store';

const EVENTS = Number(process.env.BENCH_PW_EVENTS ?? 100_000);
const WORKSPACES = Number(process.env.BENCH_PW_WORKSPACES ?? 100);
const BATCH = Number(process.env.BENCH_PW_BATCH ?? 300);
const WARM = Number(process.env.BENCH_PW_WARM ?? 40_000);
const ONLY = process.env.BENCH_PW_ONLY?.split(',');

/** op numbers of SimulatedTraffic.step: invite, accept, change access (bench:http's mix) */
const OPS = [0, 2, 6];

async function generate(file: string): Promise<void> {
  if (existsSync(file)) return;
  const partial = `${file}.partial`;
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${partial}${suffix}`, { force: true });
  const store = new SqliteEventStore(partial, { durability: 'normal' });
  // a new address per invitation, as bench:http sends
  const activity = new SimulatedTraffic(new EventLog(false), { emailsPerOrg: 1_000_000_000, longPauses: false });
  for (let w = 0; w < WORKSPACES; w++) {
    activity.addOrganization(`org-${w}`);
    activity.addWorkspace(`org-${w}`, `ws-${w}`, 'levels', 'advanced');
  }
  const next = prng(7);
  let pending: Promise<unknown>[] = [];
  while (activity.log.position < BigInt(EVENTS)) {
    activity.step({ op: OPS[next() % OPS.length]!, a: next() % activity.workspaceCount, b: next(), c: next() });
    if (activity.log.appends.length >= 5000) {
      await Promise.all(pending);
      pending = activity.log.takeAppends().map((a) => store.append(a.stream, a.events, 'any'));
    }
  }
  pending.push(...activity.log.takeAppends().map((a) => store.append(a.stream, a.events, 'any')));
  await Promise.all(pending);
  await store.close();
  renameSync(partial, file);
  for (const suffix of ['-wal', '-shm']) rmSync(`${partial}${suffix}`, { force: true });
}

/** bytes this process handed to write(2) so far */
const written = (): number => Number(/wchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))![1]);
const cpuMs = (from: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1000;
};

async function main(): Promise<void> {
  const cacheDir = join(tmpdir(), 'rollcall-bench');
  mkdirSync(cacheDir, { recursive: true });
  const logFile = join(cacheDir, `projector-writes-${EVENTS}-${WORKSPACES}-v1.sqlite`);
  await generate(logFile);
  const eventStore = new SqliteEventStore(logFile);
  const head = await eventStore.headPosition();
  const dir = mkdtempSync(join(tmpdir(), 'rollcall-bench-pw-'));
  const readStore = new SqliteReadStore({ path: join(dir, 'read.sqlite'), synchronous: 'NORMAL' });
  const projections = ONLY ? PROJECTIONS.filter((p) => ONLY.includes(p.name)) : PROJECTIONS;
  const projector = new Projector({ eventStore, readStore, projections, batchSize: BATCH, logger: { info: () => {}, error: console.error } });
  try {
    const t0 = performance.now();
    await projector.start();
    const warm = BigInt(Math.min(WARM, Number(head) - 1));
    if (!(await projector.waitFor(warm, 600_000))) throw new Error('projector did not reach the warm-up position');
    const cpu = process.cpuUsage();
    const bytes = written();
    const t1 = performance.now();
    if (!(await projector.waitFor(head, 600_000))) throw new Error('projector did not reach the head');
    const measured = Number(head - warm);
    const result = {
      bench: 'projector-writes',
      projections: projections.map((p) => p.name).join(','),
      events: measured,
      batch: BATCH,
      cpuUsPerEvent: Math.round((cpuMs(cpu) * 1000) / measured),
      wallUsPerEvent: Math.round(((performance.now() - t1) * 1000) / measured),
      kibWrittenPerEvent: Number(((written() - bytes) / 1024 / measured).toFixed(1)),
      readSqliteMiB: Number((statSync(join(dir, 'read.sqlite')).size / 2 ** 20).toFixed(1)),
      totalS: Number(((performance.now() - t0) / 1000).toFixed(1)),
      load: loadavg().map((l) => Number(l.toFixed(2))),
    };
    console.log(JSON.stringify(result));
  } finally {
    await projector.stop();
    await readStore.close();
    await eventStore.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
