// Command throughput and latency of the real API over HTTP. Run: `npm run bench:http` (no build step).
// Prints human-readable lines (progress on stderr, results on stdout), then, last, one JSON line:
//   {"bench":"http","commandsPerSec":…,"p50Ms":…,"p99Ms":…,"clients":64,"workspaces":100,"errors":…,
//    "changeAccessP50Ms100":…,"changeAccessP50Ms100k":…,"changeAccessRatio":…,"coldLoadMs100k":…,
//    "healthMaxMsDuringColdLoad":…,"coldReplayMs100k":…,"healthMaxMsDuringReplay":…,"bareAppendPerSec":…,"ratio":…,
//    "cpuMsPerCommand":…,"mainThreadCpuMsPerCommand":…,"projectorThreadCpuMsPerCommand":…,"commitThreadCpuMsPerCommand":…,"mainThreadWaitShare":…,"bareCpuMsPerAppend":…,"loadGeneratorCpuMsPerCommand":…,
//    "loadGeneratorCpuMsPerAppend":…,"loadAverage":{…}}
//  (the server CPU figures on Linux only: the server's CPU time over the measured window per 2xx answer, all threads
//  and its main thread; the bare endpoint's per append. A busy machine slows everything but changes them least. The
//  load generator's: this process's CPU per 2xx answer, the share of the same cores the clients take.
//  mainThreadWaitShare: the share of the window the server's main thread was runnable and waited for a core.)
//
// The server is `node -r ./tools/register.cjs apps/api/src/main.ts` in a child process (see
// lib/http-server.ts) over a fresh temp data dir: embedded SQLite event store with the default durability
// (FULL: every group commit fsyncs the WAL), LOG_LEVEL=error, no Idempotency-Key unless asked for.
//
// 0. Seeding (before the server starts, straight into the server's data dir through the app's own event store
//    stack, createRollcallEventStore: personal fields encrypted per subject; see lib/http-seed.ts): an
//    organization with a workspace of 100 members, and another with a workspace of 100,000 members.
// 1. Throughput/latency: 100 organizations with one workspace each are set up over HTTP (4 members and 8
//    pending invitations each). Then 64 closed-loop clients (one keep-alive connection each) send, for
//    BENCH_HTTP_SECONDS (15) after a 3 s warm-up, commands to random workspaces, a third each:
//      invite        POST  /v1/workspaces/{ws}/invitations              (new email, role agent)
//      accept        POST  /v1/invitations/accept                       (token of an earlier invite)
//      changeAccess  PATCH /v1/workspaces/{ws}/members/{userId}/access  (roles agent <-> manager)
//    Latency is the client's: request start to the response's last byte. commandsPerSec = 2xx answers /
//    wall time of the measured window (until the last in-flight answer). errors = every non-2xx answer
//    and transport error (409 CONCURRENCY_CONFLICT included; the breakdown is printed).
// 1b. The floor: a bare NestJS endpoint (lib/bare-append-server.ts, another child, while the API idles) doing one
//    durable append per request (an event as large as a stored UserInvited), same clients, same duration:
//    bareAppendPerSec, and ratio = commandsPerSec / bareAppendPerSec (the machine is shared: the ratio is what compares).
// 2. Change access vs workspace size: one cold command per seeded workspace (the server folds the
//    organization's and the workspace's streams) — for the big one twice: first with no snapshot (the whole streams
//    replayed: coldReplayMs100k; the server writes their snapshots in the background), then, once the snapshots are
//    stored, after a restart of the server on the same data dir (snapshot + the events after it: coldLoadMs100k) —,
//    then N=200 sequential change-access commands per workspace, alternating between the two (each flips a member
//    between agent and manager). changeAccessRatio = p50(100k) / p50(100). While the big workspace loads cold, GET
//    /health is sent one at a time: its slowest answer (healthMaxMsDuringColdLoad, healthMaxMsDuringReplay) shows
//    whether the load stalls the whole server. Phase 2 runs after phase 1, on the same server until the restart (so
//    phase 1 is measured before the 100k-member state is in its heap).
//
// Code: lib/http-commands.ts (phase 1's commands and clients), lib/bare-append.ts (1b), lib/http-cold-load.ts
// (phase 2), lib/http-report.ts (what is printed), lib/http-seed.ts (0), lib/http-server.ts (the server child).
//
// Options (env): BENCH_HTTP_SECONDS (15), BENCH_HTTP_BIG_MEMBERS (100000), BENCH_HTTP_IDEMPOTENCY=1 (send an
// Idempotency-Key with every command), BENCH_HTTP_SERVER_NODE_ARGS (extra node flags for the server child,
// e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"), BENCH_HTTP_TRACE=1 (the server child times its SQLite calls,
// HTTP requests and event loop per phase and prints one `TRACE {…}` line per phase: lib/http-child-hook.ts),
// BENCH_HTTP_SERVER_ENV="K=V …" (extra server environment, e.g. ROLLCALL_DURABILITY=normal),
// BENCH_HTTP_WHATIF=no-outbox-io (diagnosis: the invitation mailer's file I/O becomes a no-op),
// BENCH_HTTP_TIMELINE=1 (diagnosis: after phase 1, where its slowest 1 % of answers fell in time, beside the server's
// main-thread stalls and GC pauses: lib/http-tail.ts),
// BENCH_HTTP_ALLOC_PROF=<path> (diagnosis: where the server's main thread allocates over phase 1's measured window,
// collected objects included: lib/alloc-sampler.ts), BENCH_HTTP_CHILD_STDOUT=<path> (diagnosis: a copy of the server
// child's stdout, e.g. with BENCH_HTTP_SERVER_NODE_ARGS="--trace-gc-nvp"),
// BENCH_HTTP_ONLY=coldload (phase 2 alone, after the read models caught up with the seeded log: the cold loads and
// the change-access series; phases 1 and 1b are skipped and their figures are absent from the JSON line).
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { createRollcallEventStore } from '@rollcall/event-store';
import { JsonClient } from './lib/http-client';
import { changeAccessBySize, printColdLoad, projectionsCaughtUp } from './lib/http-cold-load';
import { IDEMPOTENCY, load, setUp } from './lib/http-commands';
import { printResults } from './lib/http-report';
import { printTail } from './lib/http-tail';
import { seedWorkspace } from './lib/http-seed';
import { type ServerChild, benchDataDir, inheritedEnv, serverEnvOverrides, startServerChild } from './lib/http-server';
import { ms2 } from './lib/http-stats';
import { measureBareAppend, storedSample } from './lib/bare-append';
import { snapshotsWritten } from './lib/snapshot-wait';

const CLIENTS = 64;
const WORKSPACES = 100;
const SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 15);
const WARMUP_SECONDS = 3;
const SMALL_MEMBERS = 100;
const BIG_MEMBERS = Number(process.env.BENCH_HTTP_BIG_MEMBERS ?? 100_000);
const SERIES = 200;
const COLD_SHAPE = { series: SERIES, smallMembers: SMALL_MEMBERS, bigMembers: BIG_MEMBERS };
const MEMBERS_PER_WORKSPACE = 4;
const PENDING_PER_WORKSPACE = 8;
const TRACE = process.env.BENCH_HTTP_TRACE === '1';
const TIMELINE = process.env.BENCH_HTTP_TIMELINE === '1';
const COLD_LOAD_ONLY = process.env.BENCH_HTTP_ONLY === 'coldload';
if (process.env.BENCH_HTTP_ONLY !== undefined && !COLD_LOAD_ONLY) throw new Error(`BENCH_HTTP_ONLY: only "coldload" is known, got "${process.env.BENCH_HTTP_ONLY}"`);
const SYSTEM_KEY = `rk_system_bench-http-${randomUUID()}`;
/** /metrics answers only `Authorization: Bearer <ROLLCALL_METRICS_TOKEN>` (404 when the server has none) */
const METRICS_TOKEN = `bench-metrics-${randomUUID()}`;

const progress = (line: string) => process.stderr.write(`${line}\n`);
const out = (line: string) => process.stdout.write(`${line}\n`);


async function main(): Promise<void> {
  let server: ServerChild | undefined;
  let client: JsonClient | undefined;
  const { dataDir, cleanup } = benchDataDir('http', () => ({ server, client }));

  try {
    // 0. seed the two size-test workspaces straight into the event store
    let t0 = performance.now();
    // the app's own store stack (embedded SQLite + crypto-shredding of personal fields), on the server's data dir
    const { store } = await createRollcallEventStore({ dataDir, durability: 'normal' });
    const small = await seedWorkspace(store, SMALL_MEMBERS, 'small');
    const big = await seedWorkspace(store, BIG_MEMBERS, 'big');
    await store.close();
    progress(
      `seeded ${small.events + big.events} events (workspaces of ${SMALL_MEMBERS} and ${BIG_MEMBERS} members) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );

    // the server child: only what this bench sets, nothing inherited that would change the setup
    t0 = performance.now();
    const inherited = inheritedEnv();
    // the size of the bare-append endpoint's events: an invitation's UserInvited as the app stores it
    const sample = storedSample(join(dataDir, 'events.sqlite'), 'UserInvited');
    const serverEnv = {
      ...inherited,
      PORT: '0',
      ROLLCALL_TCP_PORT: '0',
      ROLLCALL_DATA_DIR: dataDir,
      ROLLCALL_SYSTEM_API_KEY: SYSTEM_KEY,
      ROLLCALL_METRICS_TOKEN: METRICS_TOKEN,
      LOG_LEVEL: 'error',
      // the default (10,000 events) unless the big workspace is smaller: its streams must get snapshots
      ROLLCALL_SNAPSHOT_EVERY: String(Math.min(10_000, BIG_MEMBERS)),
      ...(TIMELINE && { BENCH_HTTP_STALLS: join(dataDir, 'main-thread-stalls') }),
      ...serverEnvOverrides(),
    };
    server = await startServerChild(serverEnv);
    progress(
      `server (pid ${server.pid}) on ${server.url}, started in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    client = new JsonClient(server.url, CLIENTS);
    const bigStreams = [`organization-${big.organizationId}`, `workspace-${big.workspaceId}`];
    // what the first server said (its trace lines: phase 1) before it is replaced
    const earlierLines: string[] = [];
    const restart = async () => {
      const waitStarted = performance.now();
      const written = await snapshotsWritten(dataDir, bigStreams);
      progress(`snapshots written at revisions ${[...written.values()].join(', ')} (waited ${((performance.now() - waitStarted) / 1000).toFixed(1)} s); restarting the server`);
      await server!.stop();
      earlierLines.push(...server!.stderr().trim().split('\n').filter(Boolean), ...server!.logLines().filter((l) => /^\{"level":"(?:error|fatal)"/.test(l)));
      server = await startServerChild(serverEnv);
      client!.close();
      client = new JsonClient(server.url, CLIENTS);
      return client;
    };

    if (COLD_LOAD_ONLY) {
      t0 = performance.now();
      await projectionsCaughtUp(client, METRICS_TOKEN);
      progress(`read models caught up with the seeded log in ${((performance.now() - t0) / 1000).toFixed(1)} s; BENCH_HTTP_ONLY=coldload: phase 2 only`);
      const loadBefore = loadavg()[0]!;
      const size = await changeAccessBySize(SERIES, client, small, big, (label) => server?.mark(label), restart);
      const loadAfter = loadavg()[0]!;
      const { traces, serverErrors } = await serverReport(server, earlierLines);
      client.close();
      client = undefined;
      await server.stop();
      server = undefined;
      rmSync(dataDir, { recursive: true, force: true });
      printColdLoad(size, COLD_SHAPE, out);
      out(`  machine: ${availableParallelism()} CPUs, 1-min load average ${loadBefore.toFixed(2)} before / ${loadAfter.toFixed(2)} after phase 2`);
      for (const t of traces) out(t);
      if (serverErrors) out(`Server errors (LOG_LEVEL=error):\n${serverErrors.split('\n').slice(0, 20).join('\n')}`);
      out(
        JSON.stringify({
          bench: 'http',
          only: 'coldload',
          changeAccessP50Ms100: ms2(size.smallLatency.percentile(50)),
          changeAccessP50Ms100k: ms2(size.bigLatency.percentile(50)),
          coldLoadMs100k: ms2(size.coldBig),
          healthMaxMsDuringColdLoad: ms2(size.probe.max()),
          coldReplayMs100k: ms2(size.replay.ms),
          healthMaxMsDuringReplay: ms2(size.replay.probe.max()),
          loadAverage: { coldLoad: [ms2(loadBefore), ms2(loadAfter)] },
        }),
      );
      return;
    }

    // 1. throughput / latency
    t0 = performance.now();
    server.mark('start');
    const { workspaces, pending } = await setUp(client, { systemKey: SYSTEM_KEY, workspaces: WORKSPACES, membersPerWorkspace: MEMBERS_PER_WORKSPACE, pendingPerWorkspace: PENDING_PER_WORKSPACE });
    server.mark('setup over HTTP');
    progress(
      `set up ${workspaces.length} workspaces over HTTP (${MEMBERS_PER_WORKSPACE} members, ${PENDING_PER_WORKSPACE} pending invitations each) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    // the projector (a worker thread of the server) first catches up with the seeded log: measuring while it
    // projects 300,000 seeded events would measure that catch-up, not the commands
    t0 = performance.now();
    await projectionsCaughtUp(client, METRICS_TOKEN);
    progress(`read models caught up with the seeded log in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    progress(`warm-up: ${WARMUP_SECONDS} s, ${CLIENTS} clients`);
    await load(client, workspaces, pending, WARMUP_SECONDS, CLIENTS);
    server.mark('warm-up');
    progress(
      `measuring: ${SECONDS} s, ${CLIENTS} clients${IDEMPOTENCY ? ', Idempotency-Key on every command' : ''}`,
    );
    const loadBefore = loadavg()[0]!;
    const cpuBefore = server.cpu();
    const clientCpuBefore = process.cpuUsage();
    const timeline: number[] | undefined = TIMELINE ? [] : undefined;
    const run = await load(client, workspaces, pending, SECONDS, CLIENTS, timeline);
    const clientCpu = process.cpuUsage(clientCpuBefore);
    const cpuAfter = server.cpu();
    const loadAfter = loadavg()[0]!;
    server.mark('measured load');
    if (timeline) {
      await new Promise((r) => setTimeout(r, 1_100)); // the child writes its record every second
      printTail(timeline, join(dataDir, `main-thread-stalls.${server.pid}`), out);
    }

    // 1b. the floor on this machine, now: a bare NestJS endpoint doing one durable append of the same size per request
    progress(`bare append: ${SECONDS} s, ${CLIENTS} clients, one ${sample.bytes}-byte event per request (the API server idles meanwhile)`);
    const bare = await measureBareAppend({ env: inherited, sample, clients: CLIENTS, streams: WORKSPACES, seconds: SECONDS, warmupSeconds: WARMUP_SECONDS });

    // 2. change access vs workspace size
    progress(
      `change access: cold command, then ${SERIES} sequential commands per workspace (${SMALL_MEMBERS} vs ${BIG_MEMBERS} members)`,
    );
    const size = await changeAccessBySize(SERIES, client, small, big, (label) => server?.mark(label), restart);
    server.mark('change-access series');
    const { traces, serverErrors } = await serverReport(server, earlierLines);

    const staleSocketRetries = client.staleSocketRetries;
    client.close();
    client = undefined;
    await server.stop();
    server = undefined;
    rmSync(dataDir, { recursive: true, force: true });

    printResults(
      {
        run,
        clients: CLIENTS,
        workspaces: WORKSPACES,
        serverEnv: serverEnvOverrides(),
        loadBefore,
        loadAfter,
        cpuBefore,
        cpuAfter,
        clientCpuMs: (clientCpu.user + clientCpu.system) / 1000,
        staleSocketRetries,
        bare,
        sampleBytes: sample.bytes,
        size,
        coldShape: COLD_SHAPE,
        traces,
        serverErrors,
      },
      out,
    );
  } catch (error) {
    if (server) progress(`server stderr:\n${server.stderr()}\nserver log:\n${server.logLines().join('\n')}`);
    await cleanup();
    throw error;
  }
}

/**
 * What the server said: its `TRACE` lines (BENCH_HTTP_TRACE=1; `earlier` holds those of a server the cold load
 * replaced) and its errors (the server logs JSON lines on stdout, LOG_LEVEL=error: errors only; stderr has the trace
 * and crashes).
 */
async function serverReport(server: ServerChild, earlier: string[]): Promise<{ traces: string[]; serverErrors: string }> {
  if (TRACE) await new Promise((r) => setTimeout(r, 500)); // the last mark's line is written asynchronously
  const lines = [...earlier, ...server.stderr().trim().split('\n').filter(Boolean)];
  return {
    traces: lines.filter((l) => l.startsWith('TRACE ')),
    serverErrors: [
      ...lines.filter((l) => !l.startsWith('TRACE ')),
      ...server.logLines().filter((l) => /^\{"level":"(?:error|fatal)"/.test(l)),
    ].join('\n'),
  };
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
