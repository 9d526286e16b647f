// Presence (docs/rules.md#rule-13) under load, over real HTTP. Run: `npm run bench:presence` (no build step).
// Prints human-readable lines (progress on stderr, results on stdout), then, last, one JSON line:
//   {"bench":"presence","users":10000,"heartbeatsPerSec":…,"heartbeatP99Ms":…,"subscribers":1000,"deliveryP99Ms":…,
//    "eventsPerHeartbeat":…,"rssMb":…}
//
// The server is apps/api/src/main.ts in a child process (lib/http-server.ts) over a fresh data dir: embedded SQLite
// stores with the default durability (FULL: every group commit fsyncs), the default 60 s presence timeout.
//
// 0. Seeding (before the server starts, straight into its data dir with the app's own store stack, lib/http-seed.ts):
//    one workspace of 10,000 members (BENCH_PRESENCE_USERS).
// 1. Warm-up: every user's first heartbeat (`online`: 10,000 transitions, 64 at a time), then 1,000 SSE subscribers
//    (BENCH_PRESENCE_SUBSCRIBERS) connect to the workspace's presence stream (API key + X-Actor-Id of the owner), from
//    a worker thread (lib/presence-subscribers.ts), so that reading them never delays the load generator's schedule;
//    each is a raw socket that only scans for the messages' `at` (cheap: the thread shares the 2 cores with the
//    server; its CPU time is printed).
// 2. Open loop for BENCH_PRESENCE_SECONDS (40), with the subscribers (and, before they connect, the same for
//    BENCH_PRESENCE_QUIET_SECONDS (20) without them, printed for comparison within one run): each user heartbeats every 20 s at its own phase (10,000 / 20 s =
//    500 heartbeats/s offered, sent on schedule whether or not earlier ones were answered); 2% of heartbeats flip the
//    user between online and away (a transition); every 10 s a burst of 1,000 extra heartbeats within one second
//    (a wave of reconnects, no change: 1,500/s offered meanwhile). heartbeatP99Ms: the scheduled heartbeats, bursts
//    included in their window, from their scheduled time to the answer's last byte (queueing included); the burst
//    heartbeats themselves are reported apart. deliveryP99Ms: for every transition and every
//    subscriber, receipt time minus the transition's `at` (the server's clock when it decided; same machine).
//    eventsPerHeartbeat: PresenceChanged events the log gained during the phase / heartbeats sent, printed beside the
//    share of heartbeats answered `changed: true` (they must be equal: only transitions are events).
// 3. Saturation: 128 closed-loop clients send heartbeats that change nothing for BENCH_PRESENCE_SATURATION_SECONDS
//    (10): heartbeatsPerSec = answers / wall time. The subscribers stay connected.
// rssMb: the server's resident set after phase 3 (VmRSS; the peak VmHWM is printed too).
// Also printed: the server's CPU time per second in each phase (all threads / main thread, from /proc) and its main
// thread's CPU per heartbeat at saturation. BENCH_HTTP_TRACE=1 (diagnosis) prints the child's event-loop delay,
// SQLite calls and request times per phase (lib/http-child-hook.ts). BENCH_HTTP_SERVER_ENV="K=V …" adds to the
// server's environment (e.g. ROLLCALL_COMMIT_THREAD=off), as for bench:http.
//
// The load generator, the 1,000 subscribers and the server share the machine (the bench reports /proc/loadavg):
// figures from a busy machine are pessimistic.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';
import { createRollcallEventStore } from '@rollcall/event-store';
import { JsonClient, type Reply } from './lib/http-client';
import { seedWorkspace } from './lib/http-seed';
import { type CpuTimes, type ServerChild, benchDataDir, cpuTimesOf, inheritedEnv, serverEnvOverrides, startServerChild } from './lib/http-server';
import { Samples, fmt, ms2 } from './lib/http-stats';

const USERS = Number(process.env.BENCH_PRESENCE_USERS ?? 10_000);
const SUBSCRIBERS = Number(process.env.BENCH_PRESENCE_SUBSCRIBERS ?? 1000);
const SECONDS = Number(process.env.BENCH_PRESENCE_SECONDS ?? 40);
const SATURATION_SECONDS = Number(process.env.BENCH_PRESENCE_SATURATION_SECONDS ?? 10);
const QUIET_SECONDS = Number(process.env.BENCH_PRESENCE_QUIET_SECONDS ?? 20);
const PERIOD_MS = 20_000;
const FLIP_SHARE = Number(process.env.BENCH_PRESENCE_FLIPS ?? 0.02);
const BURST_EVERY_MS = 10_000;
const BURST_SIZE = 1000;
const BURST_SPREAD_MS = 1000;
const SATURATION_CLIENTS = 128;
const SYSTEM_KEY = `rk_system_bench-presence-${randomUUID()}`;

const progress = (line: string) => process.stderr.write(`${line}\n`);
const out = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Workspace {
  key: string;
  admin: string;
  workspaceId: string;
}

/** the subscribers run on a worker thread (lib/presence-subscribers.ts): see there */
function startSubscribers(setup: { url: string; key: string; admin: string; workspaceId: string; count: number }) {
  const worker = new Worker(join(__dirname, 'lib', 'presence-subscribers.ts'), {
    workerData: setup,
    execArgv: ['--no-experimental-strip-types', '-r', join(__dirname, '..', 'tools', 'register.cjs')],
  });
  const next = (type: string) =>
    new Promise<any>((resolve, reject) => {
      const on = (m: { type: string; message?: string }) => {
        if (m.type === 'error') reject(new Error(m.message));
        else if (m.type === type) {
          worker.off('message', on);
          resolve(m);
        }
      };
      worker.on('message', on);
      worker.once('error', reject);
    });
  const ready = next('ready');
  return {
    ready,
    /** cpuMs: the subscriber thread's CPU time since they connected; ended: streams the server closed meanwhile */
    async report(): Promise<{ latencies: Float64Array; messages: number; cpuMs: number; ended: number }> {
      const answer = next('report');
      worker.postMessage({ type: 'report' });
      const r = await answer;
      await worker.terminate();
      return r;
    },
  };
}

const heartbeat = (client: JsonClient, ws: Workspace, userId: string, status: 'online' | 'away', startedAt?: number) =>
  client.send('POST', `/v1/workspaces/${ws.workspaceId}/presence/heartbeat`, { key: ws.key, actor: userId, body: { status } }, 1, startedAt);

/** PresenceChanged events in the log (the server's own file, read-only, WAL) */
function presenceEvents(dataDir: string): number {
  const db = new DatabaseSync(join(dataDir, 'events.sqlite'), { readOnly: true });
  try {
    return Number((db.prepare("SELECT COUNT(*) AS n FROM events WHERE type = 'PresenceChanged'").get() as { n: number | bigint }).n);
  } finally {
    db.close();
  }
}

function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssMb: Math.round(kb('VmRSS') / 1024), peakMb: Math.round(kb('VmHWM') / 1024) };
}

/** the server's CPU time since `from` over `seconds`: ms per second, all threads / main thread */
function cpuSince(server: ServerChild, from: CpuTimes | undefined, seconds: number): { perSecond: string; mainMs: number } {
  const to = server.cpu();
  if (!from || !to) return { perSecond: 'n/a', mainMs: Number.NaN };
  const mainMs = to.mainThreadMs - from.mainThreadMs;
  return { perSecond: `${Math.round((to.processMs - from.processMs) / seconds)} / ${Math.round(mainMs / seconds)}`, mainMs };
}

class Outcomes {
  readonly latency = new Samples();
  ok = 0;
  changed = 0;
  readonly failures = new Map<string, number>();
  record(reply: Reply | Error): void {
    if (reply instanceof Error) return this.fail(`transport ${reply.message}`);
    this.latency.add(reply.ms);
    if (reply.status !== 200) return this.fail(`${reply.status} ${reply.body?.code ?? ''}`);
    this.ok++;
    if (reply.body.changed) this.changed++;
  }
  fail(what: string): void {
    this.failures.set(what, (this.failures.get(what) ?? 0) + 1);
  }
  get errors(): number {
    return [...this.failures.values()].reduce((a, b) => a + b, 0);
  }
}

/** Phase 2: every user on its 20 s schedule, plus bursts; open loop (a late answer never delays the next send). */
async function openLoop(client: JsonClient, ws: Workspace, users: string[], status: Map<string, 'online' | 'away'>, seconds: number) {
  const steady = new Outcomes();
  const bursts = new Outcomes();
  const inflight: Promise<void>[] = [];
  const start = performance.now() + 100;
  const end = start + seconds * 1000;
  const schedule: { at: number; user: string; burst: boolean }[] = [];
  for (let t = 0; t < seconds * 1000; t += PERIOD_MS)
    users.forEach((user, i) => {
      const at = t + (i / users.length) * PERIOD_MS;
      if (at < seconds * 1000) schedule.push({ at: start + at, user, burst: false });
    });
  for (let t = BURST_EVERY_MS; t < seconds * 1000; t += BURST_EVERY_MS)
    for (let k = 0; k < BURST_SIZE; k++) schedule.push({ at: start + t + (k / BURST_SIZE) * BURST_SPREAD_MS, user: users[(k * 7919 + t) % users.length]!, burst: true });
  schedule.sort((a, b) => a.at - b.at);
  let next = 0;
  while (next < schedule.length) {
    const now = performance.now();
    if (schedule[next]!.at > now) {
      await sleep(Math.min(5, schedule[next]!.at - now));
      continue;
    }
    while (next < schedule.length && schedule[next]!.at <= performance.now()) {
      const { at, user, burst } = schedule[next++]!;
      const current = status.get(user)!;
      const flip = !burst && Math.random() < FLIP_SHARE;
      const wanted = flip ? (current === 'online' ? 'away' : 'online') : current;
      if (flip) status.set(user, wanted);
      const outcomes = burst ? bursts : steady;
      inflight.push(heartbeat(client, ws, user, wanted, at).then((r) => outcomes.record(r), (e: Error) => outcomes.record(e)));
    }
  }
  await Promise.all(inflight);
  return { steady, bursts, seconds: (Math.max(performance.now(), end) - start) / 1000 };
}

/** Phase 3: closed loop, heartbeats that change nothing, as fast as the server answers. */
async function saturate(client: JsonClient, ws: Workspace, users: string[], status: Map<string, 'online' | 'away'>) {
  const outcomes = new Outcomes();
  const started = performance.now();
  const until = started + SATURATION_SECONDS * 1000;
  let i = 0;
  await Promise.all(
    Array.from({ length: SATURATION_CLIENTS }, async () => {
      while (performance.now() < until) {
        const user = users[i++ % users.length]!;
        outcomes.record(await heartbeat(client, ws, user, status.get(user)!).catch((e: Error) => e));
      }
    }),
  );
  return { outcomes, seconds: (performance.now() - started) / 1000 };
}

async function main(): Promise<void> {
  let server: ServerChild | undefined;
  let client: JsonClient | undefined;
  const { dataDir, cleanup } = benchDataDir('presence', () => ({ server, client }));
  try {
    let t0 = performance.now();
    const { store } = await createRollcallEventStore({ dataDir, durability: 'normal' });
    const seeded = await seedWorkspace(store, USERS, 'presence');
    await store.close();
    progress(`seeded a workspace of ${USERS} members (${seeded.events} events) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    server = await startServerChild({ ...inheritedEnv(), PORT: '0', ROLLCALL_TCP_PORT: '0', ROLLCALL_DATA_DIR: dataDir, ROLLCALL_SYSTEM_API_KEY: SYSTEM_KEY, LOG_LEVEL: 'error', ...serverEnvOverrides() });
    progress(`server (pid ${server.pid}) on ${server.url}, rss ${memoryOf(server.pid).rssMb} MB`);
    client = new JsonClient(server.url, 256);
    const ws: Workspace = { key: seeded.apiKey, admin: seeded.adminUserId, workspaceId: seeded.workspaceId };
    const users = seeded.memberIds;
    const status = new Map(users.map((u) => [u, 'online' as const] as [string, 'online' | 'away']));

    // 1. warm-up: everyone online (one transition each), then the subscribers
    t0 = performance.now();
    const warm = new Outcomes();
    let w = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (w < users.length) warm.record(await heartbeat(client!, ws, users[w++]!, 'online').catch((e: Error) => e));
      }),
    );
    const warmSeconds = (performance.now() - t0) / 1000;
    server.mark('warm-up');
    progress(`warm-up: ${warm.ok} first heartbeats (transitions: ${warm.changed}) in ${warmSeconds.toFixed(1)} s, p99 ${fmt(warm.latency.percentile(99))} ms, errors ${warm.errors}; server rss ${memoryOf(server.pid).rssMb} MB`);

    // 2a. the same open loop without subscribers, for comparison within this run (same machine load, more or less)
    const quietLoad = loadavg()[0]!;
    progress(`open loop without subscribers: ${QUIET_SECONDS} s`);
    const cpuQuiet = server.cpu();
    const quiet = await openLoop(client, ws, users, status, QUIET_SECONDS);
    const quietCpu = cpuSince(server, cpuQuiet, quiet.seconds);
    server.mark('open loop without subscribers');
    t0 = performance.now();
    const subscribers = startSubscribers({ url: server.url, key: ws.key, admin: ws.admin, workspaceId: ws.workspaceId, count: SUBSCRIBERS });
    await subscribers.ready;
    progress(`${SUBSCRIBERS} subscribers connected (on a worker thread) in ${((performance.now() - t0) / 1000).toFixed(1)} s; server rss ${memoryOf(server.pid).rssMb} MB`);
    await sleep(500);

    // 2. open loop
    const eventsBefore = presenceEvents(dataDir);
    const loadBefore = loadavg()[0]!;
    progress(`open loop: ${SECONDS} s, ${USERS} users every ${PERIOD_MS / 1000} s (${(USERS / (PERIOD_MS / 1000)).toFixed(0)}/s offered), ${FLIP_SHARE * 100}% flips, bursts of ${BURST_SIZE} within ${BURST_SPREAD_MS / 1000} s every ${BURST_EVERY_MS / 1000} s`);
    const cpuOpen = server.cpu();
    const generatorCpu = cpuTimesOf(process.pid);
    const open = await openLoop(client, ws, users, status, SECONDS);
    const openCpu = cpuSince(server, cpuOpen, open.seconds);
    const generatorMsPerSec = ((cpuTimesOf(process.pid)?.mainThreadMs ?? Number.NaN) - (generatorCpu?.mainThreadMs ?? Number.NaN)) / open.seconds;
    server.mark('open loop');
    await sleep(1000); // the last transitions reach the subscribers
    const eventsDuring = presenceEvents(dataDir) - eventsBefore;
    const sent = open.steady.ok + open.steady.errors + open.bursts.ok + open.bursts.errors;
    const changed = open.steady.changed + open.bursts.changed;

    // 3. saturation
    progress(`saturation: ${SATURATION_CLIENTS} closed-loop clients, ${SATURATION_SECONDS} s, heartbeats that change nothing`);
    const cpuSat = server.cpu();
    const sat = await saturate(client, ws, users, status);
    const satCpu = cpuSince(server, cpuSat, sat.seconds);
    server.mark('saturation');
    const loadAfter = loadavg()[0]!;
    const memory = memoryOf(server.pid);
    const { latencies, messages: deliveries, cpuMs: subscriberCpuMs, ended } = await subscribers.report();
    const delivery = new Samples();
    for (const ms of latencies) delivery.add(ms);

    const heartbeatsPerSec = Math.round(sat.outcomes.ok / sat.seconds);
    const heartbeatP99Ms = ms2(open.steady.latency.percentile(99));
    const deliveryP99Ms = ms2(delivery.percentile(99));
    const eventsPerHeartbeat = Math.round((eventsDuring / sent) * 10_000) / 10_000;
    out(`open loop without subscribers (load ${quietLoad.toFixed(2)}): ${quiet.steady.ok} scheduled heartbeats in ${quiet.seconds.toFixed(1)} s: p50 ${fmt(quiet.steady.latency.percentile(50))} ms, p99 ${fmt(quiet.steady.latency.percentile(99))} ms; bursts p99 ${fmt(quiet.bursts.latency.percentile(99))} ms`);
    out(`open loop: ${open.steady.ok} scheduled heartbeats in ${open.seconds.toFixed(1)} s (${(open.steady.ok / open.seconds).toFixed(0)}/s): p50 ${fmt(open.steady.latency.percentile(50))} ms, p99 ${fmt(open.steady.latency.percentile(99))} ms, max ${fmt(open.steady.latency.max())} ms, errors ${open.steady.errors} ${JSON.stringify([...open.steady.failures])}`);
    out(`bursts: ${open.bursts.ok} heartbeats: p50 ${fmt(open.bursts.latency.percentile(50))} ms, p99 ${fmt(open.bursts.latency.percentile(99))} ms, errors ${open.bursts.errors}`);
    out(`transitions: ${changed} of ${sent} heartbeats answered changed (${(changed / sent).toFixed(4)}); the log gained ${eventsDuring} PresenceChanged (${eventsPerHeartbeat} per heartbeat)`);
    out(`delivery: ${deliveries} messages to ${SUBSCRIBERS} subscribers (${eventsDuring} transitions x ${SUBSCRIBERS} = ${eventsDuring * SUBSCRIBERS}): p50 ${fmt(delivery.percentile(50))} ms, p99 ${fmt(delivery.percentile(99))} ms, max ${fmt(delivery.max())} ms; streams the server ended: ${ended}; the subscriber thread used ${Math.round(subscriberCpuMs)} ms of CPU (${fmt((subscriberCpuMs / Math.max(1, deliveries)) * 1000)} us per message)`);
    out(`server CPU, ms per second (all threads / main thread): open loop without subscribers ${quietCpu.perSecond}, with ${SUBSCRIBERS} subscribers ${openCpu.perSecond}; saturation ${satCpu.perSecond}, ${fmt((satCpu.mainMs / Math.max(1, sat.outcomes.ok)) * 1000)} us of main thread per heartbeat; the bench's load generator (its main thread) ${Math.round(generatorMsPerSec)} ms per second of the open loop with subscribers`);
    out(`saturation: ${sat.outcomes.ok} heartbeats in ${sat.seconds.toFixed(1)} s = ${heartbeatsPerSec}/s, p50 ${fmt(sat.outcomes.latency.percentile(50))} ms, p99 ${fmt(sat.outcomes.latency.percentile(99))} ms, errors ${sat.outcomes.errors}`);
    out(`server memory: rss ${memory.rssMb} MB, peak ${memory.peakMb} MB; machine load ${loadBefore.toFixed(2)} -> ${loadAfter.toFixed(2)} (${readFileSync('/proc/loadavg', 'utf8').trim()})`);
    if (process.env.BENCH_HTTP_TRACE === '1') {
      await sleep(200);
      for (const line of server.stderr().split('\n')) if (line.startsWith('TRACE ')) progress(line);
    }
    out(
      JSON.stringify({
        bench: 'presence',
        users: USERS,
        heartbeatsPerSec,
        heartbeatP99Ms,
        subscribers: SUBSCRIBERS,
        deliveryP99Ms,
        eventsPerHeartbeat,
        rssMb: memory.rssMb,
      }),
    );
  } finally {
    await cleanup();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
