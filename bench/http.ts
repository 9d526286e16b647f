// Command throughput and latency of the real API over HTTP. Run: `npm run bench:http` (no build step).
// Prints human-readable lines (progress on stderr, results on stdout), then, last, one JSON line:
//   {"bench":"http","commandsPerSec":…,"p50Ms":…,"p99Ms":…,"clients":64,"workspaces":100,"errors":…,
//    "changeAccessP50Ms100":…,"changeAccessP50Ms100k":…,"changeAccessRatio":…,"coldLoadMs100k":…,
//    "healthMaxMsDuringColdLoad":…,"coldReplayMs100k":…,"healthMaxMsDuringReplay":…,"bareAppendPerSec":…,"ratio":…,
//    "cpuMsPerCommand":…,"mainThreadCpuMsPerCommand":…,"bareCpuMsPerAppend":…,"loadAverage":{…}}
//  (the CPU figures on Linux only: the server's CPU time over the measured window per 2xx answer, all threads and
//  its main thread; the bare endpoint's per append. A busy machine slows everything but changes them least.)
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
// Options (env): BENCH_HTTP_SECONDS (15), BENCH_HTTP_BIG_MEMBERS (100000), BENCH_HTTP_IDEMPOTENCY=1 (send an
// Idempotency-Key with every command), BENCH_HTTP_SERVER_NODE_ARGS (extra node flags for the server child,
// e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"), BENCH_HTTP_TRACE=1 (the server child times its SQLite calls,
// HTTP requests and event loop per phase and prints one `TRACE {…}` line per phase: lib/http-child-hook.ts),
// BENCH_HTTP_SERVER_ENV="K=V …" (extra server environment, e.g. ROLLCALL_DURABILITY=normal),
// BENCH_HTTP_WHATIF=no-outbox-io (diagnosis: the invitation mailer's file I/O becomes a no-op),
// BENCH_HTTP_ONLY=coldload (phase 2 alone, after the read models caught up with the seeded log: the cold loads and
// the change-access series; phases 1 and 1b are skipped and their figures are absent from the JSON line).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRollcallEventStore } from '@rollcall/event-store';
import { JsonClient, type Reply, tokenOf } from './lib/http-client';
import { type SeededWorkspace, seedWorkspace } from './lib/http-seed';
import { type ServerChild, startServerChild } from './lib/http-server';
import { Samples, fmt, ms2 } from './lib/http-stats';
import { measureBareAppend, storedSample } from './lib/bare-append';
import { snapshotsWritten } from './lib/snapshot-wait';

const CLIENTS = 64;
const WORKSPACES = 100;
const SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 15);
const WARMUP_SECONDS = 3;
const SMALL_MEMBERS = 100;
const BIG_MEMBERS = Number(process.env.BENCH_HTTP_BIG_MEMBERS ?? 100_000);
const SERIES = 200;
const MEMBERS_PER_WORKSPACE = 4;
const PENDING_PER_WORKSPACE = 8;
const IDEMPOTENCY = process.env.BENCH_HTTP_IDEMPOTENCY === '1';
const TRACE = process.env.BENCH_HTTP_TRACE === '1';
const COLD_LOAD_ONLY = process.env.BENCH_HTTP_ONLY === 'coldload';
if (process.env.BENCH_HTTP_ONLY !== undefined && !COLD_LOAD_ONLY) throw new Error(`BENCH_HTTP_ONLY: only "coldload" is known, got "${process.env.BENCH_HTTP_ONLY}"`);
const SYSTEM_KEY = `rk_system_bench-http-${randomUUID()}`;
/** /metrics answers only `Authorization: Bearer <ROLLCALL_METRICS_TOKEN>` (404 when the server has none) */
const METRICS_TOKEN = `bench-metrics-${randomUUID()}`;

const progress = (line: string) => process.stderr.write(`${line}\n`);
const out = (line: string) => process.stdout.write(`${line}\n`);

type Op = 'invite' | 'accept' | 'changeAccess';
const OPS: Op[] = ['invite', 'accept', 'changeAccess'];

interface Member {
  userId: string;
  role: 'agent' | 'manager';
}
interface Workspace {
  key: string;
  admin: string;
  workspaceId: string;
  members: Member[];
}
interface Pending {
  token: string;
  ws: Workspace;
}

class OpStats {
  readonly latency = new Samples();
  ok = 0;
  readonly failures = new Map<string, number>();

  record(reply: Reply | Error): void {
    if (reply instanceof Error) {
      this.fail(`transport ${reply.message}`);
      return;
    }
    this.latency.add(reply.ms);
    if (reply.status >= 200 && reply.status < 300) this.ok++;
    else this.fail(`${reply.status} ${reply.body?.code ?? ''}`.trim());
  }

  fail(what: string): void {
    this.failures.set(what, (this.failures.get(what) ?? 0) + 1);
  }

  get errors(): number {
    let n = 0;
    for (const v of this.failures.values()) n += v;
    return n;
  }
}

const expectStatus = (reply: Reply, status: number, what: string): Reply => {
  if (reply.status !== status) throw new Error(`${what}: HTTP ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply;
};

const idempotency = (): Record<string, string> => (IDEMPOTENCY ? { 'idempotency-key': randomUUID() } : {});

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

let emailSeq = 0;
const newEmail = () => `load-${++emailSeq}-${Math.random().toString(36).slice(2, 8)}@load.bench.test`;

const invite = (client: JsonClient, ws: Workspace) =>
  client.send('POST', `/v1/workspaces/${ws.workspaceId}/invitations`, {
    key: ws.key,
    actor: ws.admin,
    body: { email: newEmail(), roles: ['agent'] },
    headers: idempotency(),
  });
const accept = (client: JsonClient, token: string) =>
  client.send('POST', '/v1/invitations/accept', { body: { token }, headers: idempotency() });
const changeAccess = (
  client: JsonClient,
  ws: { key: string; admin: string; workspaceId: string },
  userId: string,
  role: string,
) =>
  client.send('PATCH', `/v1/workspaces/${ws.workspaceId}/members/${userId}/access`, {
    key: ws.key,
    actor: ws.admin,
    body: { roles: [role] },
    headers: idempotency(),
  });

/** 100 organizations with one workspace each, members and pending invitations, over HTTP. */
async function setUp(client: JsonClient): Promise<{ workspaces: Workspace[]; pending: Pending[] }> {
  const workspaces: Workspace[] = [];
  const pending: Pending[] = [];
  await pool(
    Array.from({ length: WORKSPACES }, (_, i) => i),
    16,
    async (i) => {
      const org = expectStatus(
        await client.send('POST', '/v1/organizations', {
          key: SYSTEM_KEY,
          body: {
            name: `Load ${i}`,
            admin: { email: `admin-${i}@load.bench.test`, displayName: 'Load Admin' },
          },
        }),
        201,
        'create organization',
      ).body;
      const created = expectStatus(
        await client.send('POST', `/v1/organizations/${org.organizationId}/workspaces`, {
          key: org.apiKey,
          actor: org.adminUserId,
          body: { name: `Support ${i}` },
        }),
        201,
        'create workspace',
      ).body;
      const ws: Workspace = {
        key: org.apiKey,
        admin: org.adminUserId,
        workspaceId: created.workspaceId,
        members: [],
      };
      for (let m = 0; m < MEMBERS_PER_WORKSPACE; m++) {
        const inv = expectStatus(await invite(client, ws), 201, 'invite');
        const acc = expectStatus(await accept(client, tokenOf(inv.body.inviteUrl)), 200, 'accept');
        ws.members.push({ userId: acc.body.userId, role: 'agent' });
      }
      for (let p = 0; p < PENDING_PER_WORKSPACE; p++)
        pending.push({
          token: tokenOf(expectStatus(await invite(client, ws), 201, 'invite').body.inviteUrl),
          ws,
        });
      workspaces.push(ws);
    },
  );
  return { workspaces, pending };
}

/** BENCH_HTTP_SERVER_ENV="K=V K2=V2": extra environment for the server child (experiments, e.g. ROLLCALL_DURABILITY=normal). */
const serverEnvOverrides = (): Record<string, string> =>
  Object.fromEntries(
    (process.env.BENCH_HTTP_SERVER_ENV ?? '')
      .split(/\s+/)
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );

const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

/** 64 closed-loop clients for `seconds`; returns per-command stats and the window's wall time. */
async function load(client: JsonClient, workspaces: Workspace[], pending: Pending[], seconds: number) {
  const stats: Record<Op, OpStats> = {
    invite: new OpStats(),
    accept: new OpStats(),
    changeAccess: new OpStats(),
  };
  let acceptFallbacks = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < until) {
        let op = OPS[Math.floor(Math.random() * 3)]!;
        if (op === 'accept' && pending.length === 0) {
          op = 'invite';
          acceptFallbacks++;
        }
        try {
          if (op === 'invite') {
            const ws = pick(workspaces);
            const reply = await invite(client, ws);
            stats.invite.record(reply);
            if (reply.status === 201) pending.push({ token: tokenOf(reply.body.inviteUrl), ws });
          } else if (op === 'accept') {
            const i = Math.floor(Math.random() * pending.length);
            const { token, ws } = pending[i]!;
            pending[i] = pending[pending.length - 1]!;
            pending.pop();
            const reply = await accept(client, token);
            stats.accept.record(reply);
            if (reply.status === 200) ws.members.push({ userId: reply.body.userId, role: 'agent' });
          } else {
            const ws = pick(workspaces);
            const member = pick(ws.members);
            const to = member.role === 'agent' ? 'manager' : 'agent';
            const reply = await changeAccess(client, ws, member.userId, to);
            stats.changeAccess.record(reply);
            if (reply.status === 200) member.role = reply.body.access.roles[0];
          }
        } catch (error) {
          stats[op].record(error instanceof Error ? error : new Error(String(error)));
        }
      }
    }),
  );
  return { stats, seconds: (performance.now() - started) / 1000, acceptFallbacks };
}

/**
 * Cold command, then SERIES change-access commands per workspace, alternating small / big. Each command
 * really changes something: it flips a member between agent and manager (the 100-member workspace's members
 * are each flipped twice over the series).
 */
async function changeAccessBySize(
  first: JsonClient,
  small: SeededWorkspace,
  big: SeededWorkspace,
  mark: (label: string) => void,
  restart: () => Promise<JsonClient>,
) {
  let client = first;
  const series = (ws: SeededWorkspace) => {
    const ids = [...ws.memberIds];
    for (let i = ids.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    }
    const roles = new Map<string, string>();
    let next = 0;
    return async () => {
      const userId = ids[next++ % ids.length]!;
      const to = roles.get(userId) === 'manager' ? 'agent' : 'manager';
      const reply = await changeAccess(
        client,
        { key: ws.apiKey, admin: ws.adminUserId, workspaceId: ws.workspaceId },
        userId,
        to,
      );
      expectStatus(reply, 200, `change access in the ${ws.memberIds.length}-member workspace`);
      if (reply.body.changed?.[0] !== 'AccessLevelChanged')
        throw new Error(`unexpected answer ${JSON.stringify(reply.body)}`);
      roles.set(userId, to);
      return reply.ms;
    };
  };
  const nextSmall = series(small);
  const nextBig = series(big);
  const coldSmall = await nextSmall();
  mark('cold command, small workspace');
  // while the big workspace loads cold, does the server still answer others? (GET /health, one at a time)
  const probed = async (command: () => Promise<number>) => {
    let loading = true;
    const probe = new Samples();
    const prober = (async () => {
      while (loading) probe.add((await client.send('GET', '/health')).ms);
    })();
    const ms = await command().finally(() => (loading = false));
    await prober;
    return { ms, probe };
  };
  // no snapshot yet: the whole streams are replayed (and their snapshots written in the background)
  const replay = await probed(nextBig);
  mark('cold command, big workspace, replayed');
  // a new server process on the same data dir: the cold load reads the snapshots and folds the events after them
  client = await restart();
  const fromSnapshot = await probed(nextBig);
  mark('cold command, big workspace, from snapshot');
  const coldBig = fromSnapshot.ms;
  const probe = fromSnapshot.probe;
  const smallLatency = new Samples();
  const bigLatency = new Samples();
  for (let i = 0; i < SERIES; i++) {
    smallLatency.add(await nextSmall());
    bigLatency.add(await nextBig());
  }
  return { coldSmall, coldBig, smallLatency, bigLatency, probe, replay };
}

/** Phase 2's lines: the change-access series by workspace size, and the cold loads with /health meanwhile. */
function printColdLoad(size: Awaited<ReturnType<typeof changeAccessBySize>>): void {
  const p50Small = size.smallLatency.percentile(50);
  const p50Big = size.bigLatency.percentile(50);
  out(`Change access, ${SERIES} sequential commands per workspace (after one cold command each):`);
  out(
    `  ${String(SMALL_MEMBERS).padStart(6)} members: p50 ${fmt(p50Small)} ms  p99 ${fmt(size.smallLatency.percentile(99))} ms  cold ${fmt(size.coldSmall)} ms`,
  );
  out(
    `  ${String(BIG_MEMBERS).padStart(6)} members: p50 ${fmt(p50Big)} ms  p99 ${fmt(size.bigLatency.percentile(99))} ms  cold ${fmt(size.coldBig)} ms`,
  );
  out(
    `  cold load of the ${BIG_MEMBERS}-member workspace (organization + workspace streams): ${fmt(size.coldBig)} ms from the snapshots after a restart (goal <= 1000), ${fmt(size.replay.ms)} ms replaying the whole streams (no snapshot yet)`,
  );
  out(
    `  meanwhile GET /health answered ${size.probe.count} times, slowest ${fmt(size.probe.max())} ms (goal <= 100); during the replay ${size.replay.probe.count} times, slowest ${fmt(size.replay.probe.max())} ms`,
  );
  out(
    `  ratio p50(${BIG_MEMBERS})/p50(${SMALL_MEMBERS}) = ${(p50Big / p50Small).toFixed(2)} (goal <= 1.5)`,
  );
}

/** Waits until every projection's lag (GET /metrics, rollcall_projection_lag) is 0. */
async function projectionsCaughtUp(client: JsonClient, timeoutMs = 300_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const reply = await client.send('GET', '/metrics', { key: METRICS_TOKEN });
    if (reply.status !== 200) throw new Error(`GET /metrics answered ${reply.status}: ${JSON.stringify(reply.body)}`);
    const metrics = String(reply.body);
    const lags = [...metrics.matchAll(/^rollcall_projection_lag\{[^}]*\} (\d+)/gm)].map((m) => Number(m[1]));
    if (lags.length > 0 && lags.every((lag) => lag === 0)) return;
    if (performance.now() > deadline) throw new Error(`projections still lagging after ${timeoutMs} ms: ${lags.join(', ')}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rollcall-bench-http-'));
  let server: ServerChild | undefined;
  let client: JsonClient | undefined;
  const cleanup = async () => {
    client?.close();
    await server?.stop().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      progress(`${signal}: stopping the server and removing ${dataDir}`);
      void cleanup().finally(() => process.exit(130));
    });

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
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(
        ([k]) => !/^(ROLLCALL_|EVENTSTORE_URL|MONGO_URL|NATS_URL|SMTP_URL|PORT$|LOG_LEVEL$)/.test(k),
      ),
    ) as Record<string, string>;
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
      await projectionsCaughtUp(client);
      progress(`read models caught up with the seeded log in ${((performance.now() - t0) / 1000).toFixed(1)} s; BENCH_HTTP_ONLY=coldload: phase 2 only`);
      const loadBefore = loadavg()[0]!;
      const size = await changeAccessBySize(client, small, big, (label) => server?.mark(label), restart);
      const loadAfter = loadavg()[0]!;
      const serverErrors = server.logLines().filter((l) => /^\{"level":"(?:error|fatal)"/.test(l));
      client.close();
      client = undefined;
      await server.stop();
      server = undefined;
      rmSync(dataDir, { recursive: true, force: true });
      printColdLoad(size);
      out(`  machine: ${availableParallelism()} CPUs, 1-min load average ${loadBefore.toFixed(2)} before / ${loadAfter.toFixed(2)} after phase 2`);
      if (serverErrors.length > 0) out(`Server errors (LOG_LEVEL=error):\n${serverErrors.slice(0, 20).join('\n')}`);
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
    const { workspaces, pending } = await setUp(client);
    server.mark('setup over HTTP');
    progress(
      `set up ${workspaces.length} workspaces over HTTP (${MEMBERS_PER_WORKSPACE} members, ${PENDING_PER_WORKSPACE} pending invitations each) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    // the projector (a worker thread of the server) first catches up with the seeded log: measuring while it
    // projects 300,000 seeded events would measure that catch-up, not the commands
    t0 = performance.now();
    await projectionsCaughtUp(client);
    progress(`read models caught up with the seeded log in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    progress(`warm-up: ${WARMUP_SECONDS} s, ${CLIENTS} clients`);
    await load(client, workspaces, pending, WARMUP_SECONDS);
    server.mark('warm-up');
    progress(
      `measuring: ${SECONDS} s, ${CLIENTS} clients${IDEMPOTENCY ? ', Idempotency-Key on every command' : ''}`,
    );
    const loadBefore = loadavg()[0]!;
    const cpuBefore = server.cpu();
    const run = await load(client, workspaces, pending, SECONDS);
    const cpuAfter = server.cpu();
    const loadAfter = loadavg()[0]!;
    server.mark('measured load');

    // 1b. the floor on this machine, now: a bare NestJS endpoint doing one durable append of the same size per request
    progress(`bare append: ${SECONDS} s, ${CLIENTS} clients, one ${sample.bytes}-byte event per request (the API server idles meanwhile)`);
    const bare = await measureBareAppend({ env: inherited, sample, clients: CLIENTS, streams: WORKSPACES, seconds: SECONDS, warmupSeconds: WARMUP_SECONDS });

    // 2. change access vs workspace size
    progress(
      `change access: cold command, then ${SERIES} sequential commands per workspace (${SMALL_MEMBERS} vs ${BIG_MEMBERS} members)`,
    );
    const size = await changeAccessBySize(client, small, big, (label) => server?.mark(label), restart);
    server.mark('change-access series');
    if (TRACE) await new Promise((r) => setTimeout(r, 500));
    const serverLines = [...earlierLines, ...server.stderr().trim().split('\n').filter(Boolean)];
    const traces = serverLines.filter((l) => l.startsWith('TRACE '));
    // the server logs JSON lines on stdout (pino, LOG_LEVEL=error: errors only); stderr has the trace and crashes
    const serverErrors = [...serverLines.filter((l) => !l.startsWith('TRACE ')), ...server.logLines().filter((l) => /^\{"level":"(?:error|fatal)"/.test(l))].join('\n');

    const staleSocketRetries = client.staleSocketRetries;
    client.close();
    client = undefined;
    await server.stop();
    server = undefined;
    rmSync(dataDir, { recursive: true, force: true });

    // results
    const all = OPS.map((op) => run.stats[op].latency).reduce((a, b) => a.merge(b));
    const ok = OPS.reduce((n, op) => n + run.stats[op].ok, 0);
    const errors = OPS.reduce((n, op) => n + run.stats[op].errors, 0);
    const commandsPerSec = ok / run.seconds;
    const experiments = [
      process.env.BENCH_HTTP_SERVER_ENV,
      process.env.BENCH_HTTP_WHATIF && `what-if ${process.env.BENCH_HTTP_WHATIF}`,
    ].filter(Boolean);
    out(
      `HTTP commands: ${CLIENTS} clients, ${WORKSPACES} workspaces, ${run.seconds.toFixed(1)} s, durability ${serverEnvOverrides().ROLLCALL_DURABILITY ?? 'full (default)'}${IDEMPOTENCY ? ', Idempotency-Key' : ''}${experiments.length ? ` [EXPERIMENT: ${experiments.join('; ')}]` : ''}`,
    );
    out(
      `  all            ${String(all.count).padStart(7)} answers  ${commandsPerSec.toFixed(0).padStart(6)} ok/s  p50 ${fmt(all.percentile(50))} ms  p90 ${fmt(all.percentile(90))} ms  p99 ${fmt(all.percentile(99))} ms  max ${fmt(all.max())} ms`,
    );
    for (const op of OPS) {
      const s = run.stats[op];
      out(
        `  ${op.padEnd(14)} ${String(s.latency.count).padStart(7)} answers  ${(s.ok / run.seconds).toFixed(0).padStart(6)} ok/s  p50 ${fmt(s.latency.percentile(50))} ms  p90 ${fmt(s.latency.percentile(90))} ms  p99 ${fmt(s.latency.percentile(99))} ms  max ${fmt(s.latency.max())} ms`,
      );
    }
    out(
      `  machine: ${availableParallelism()} CPUs, 1-min load average ${loadBefore.toFixed(2)} before / ${loadAfter.toFixed(2)} after the window (bench + server ≈ 2: anything above means other processes competed)`,
    );
    out(`  non-2xx / transport errors: ${errors}${errors > 0 ? '' : ' (none)'}`);
    for (const op of OPS) for (const [what, n] of run.stats[op].failures) out(`    ${op}: ${what} x${n}`);
    if (staleSocketRetries > 0)
      out(
        `  (${staleSocketRetries} requests were re-sent: the server had just closed their idle keep-alive socket)`,
      );
    if (run.acceptFallbacks > 0)
      out(`  (${run.acceptFallbacks} accepts became invites: no pending invitation left)`);
    const p50Small = size.smallLatency.percentile(50);
    const p50Big = size.bigLatency.percentile(50);
    printColdLoad(size);
    const ratio = commandsPerSec / bare.perSec;
    out(
      `Bare NestJS endpoint, one durable append (${sample.bytes} bytes) per request, same clients, same machine, same run: ${bare.perSec.toFixed(0)} ok/s  p50 ${fmt(bare.p50Ms)} ms  p99 ${fmt(bare.p99Ms)} ms  errors ${bare.errors}  (1-min load average ${bare.loadBefore.toFixed(2)} before / ${bare.loadAfter.toFixed(2)} after)`,
    );
    out(`  ratio commands/s ÷ bare appends/s = ${ratio.toFixed(2)} (goal >= 0.5)`);
    // CPU per request: what the machine's load changes least (a busy machine slows both, but each needs the same work)
    const cpu =
      cpuBefore && cpuAfter && ok > 0
        ? { perCommandMs: (cpuAfter.processMs - cpuBefore.processMs) / ok, mainThreadPerCommandMs: (cpuAfter.mainThreadMs - cpuBefore.mainThreadMs) / ok }
        : undefined;
    if (cpu)
      out(
        `CPU per request (Linux /proc): command ${fmt(cpu.perCommandMs)} ms (main thread ${fmt(cpu.mainThreadPerCommandMs)} ms, the rest: projector thread, libuv, GC); bare append ${fmt(bare.cpuMsPerAppend ?? Number.NaN)} ms (main thread ${fmt(bare.mainThreadCpuMsPerAppend ?? Number.NaN)} ms)`,
      );
    out(
      `Goals: >= 2000 commands/s: ${commandsPerSec >= 2000 ? 'met' : 'MISSED'}; p99 <= 50 ms: ${all.percentile(99) <= 50 ? 'met' : 'MISSED'}; ratio >= 0.5: ${ratio >= 0.5 ? 'met' : 'MISSED'}; cold load <= 1 s: ${size.coldBig <= 1000 ? 'met' : 'MISSED'}; /health <= 100 ms meanwhile: ${size.probe.max() <= 100 ? 'met' : 'MISSED'}`,
    );
    for (const t of traces) out(t);
    if (serverErrors)
      out(`Server errors (LOG_LEVEL=error):\n${serverErrors.split('\n').slice(0, 20).join('\n')}`);
    out(
      JSON.stringify({
        bench: 'http',
        commandsPerSec: Math.round(commandsPerSec),
        p50Ms: ms2(all.percentile(50)),
        p99Ms: ms2(all.percentile(99)),
        clients: CLIENTS,
        workspaces: WORKSPACES,
        errors,
        changeAccessP50Ms100: ms2(p50Small),
        changeAccessP50Ms100k: ms2(p50Big),
        changeAccessRatio: Math.round((p50Big / p50Small) * 100) / 100,
        coldLoadMs100k: ms2(size.coldBig),
        healthMaxMsDuringColdLoad: ms2(size.probe.max()),
        coldReplayMs100k: ms2(size.replay.ms),
        healthMaxMsDuringReplay: ms2(size.replay.probe.max()),
        bareAppendPerSec: Math.round(bare.perSec),
        ratio: Math.round(ratio * 100) / 100,
        ...(cpu && {
          cpuMsPerCommand: Math.round(cpu.perCommandMs * 1000) / 1000,
          mainThreadCpuMsPerCommand: Math.round(cpu.mainThreadPerCommandMs * 1000) / 1000,
          ...(bare.cpuMsPerAppend !== undefined && { bareCpuMsPerAppend: Math.round(bare.cpuMsPerAppend * 1000) / 1000 }),
        }),
        loadAverage: { commands: [ms2(loadBefore), ms2(loadAfter)], bareAppend: [ms2(bare.loadBefore), ms2(bare.loadAfter)] },
      }),
    );
  } catch (error) {
    if (server) progress(`server stderr:\n${server.stderr()}\nserver log:\n${server.logLines().join('\n')}`);
    await cleanup();
    throw error;
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
