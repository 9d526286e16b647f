// An onboarding burst in ONE organization against the same mix spread over 100. Run: `npm run bench:onboarding`.
// Prints human-readable lines (progress on stderr, results on stdout), then, last, one JSON line:
//   {"bench":"onboarding","clients":64,"workspaces":10,"spreadOrganizations":100,"seconds":20,"oneOrgPerSec":…,
//    "spreadPerSec":…,"ratio":…,"conflictShareOneOrg":…,"conflictShareSpread":…,"oneOrg":{<kind>:{…}},"spread":{…},
//    "cpuMsPerCommandOneOrg":…,"cpuMsPerCommandSpread":…,"loadAverage":{"start":[…],"end":[…]}}
//
// Why: since session 27 every invitation is appended with a check of its organization's stream at the revision it
// was decided on, so any write to that stream meanwhile (an acceptance by a new user, a profile change) sends it back
// to be decided again, and after 8 attempts the client gets 409 CONCURRENCY_CONFLICT (command-errors.ts). bench:http
// spreads its load over 100 organizations, where such writes rarely meet; an onboarding wave of one customer puts
// them all on one organization stream.
//
// The server: the real API in a child process over a fresh temp data dir, as bench:http starts it
// (lib/http-server.ts: embedded SQLite event store, default durability, projector in-process, LOG_LEVEL=error).
// Set up over HTTP: ONE organization with BENCH_ONBOARDING_WORKSPACES (10) workspaces, and 100 organizations of one
// workspace each (bench:http's shape); every workspace with 4 members and 8 pending invitations.
// Then BENCH_ONBOARDING_CLIENTS (64) closed-loop clients send, to a random workspace of the mix being measured:
//   invite   ~50 %  POST  /v1/workspaces/{ws}/invitations          (a new address, role agent)
//   accept   ~40 %  POST  /v1/invitations/accept                   (a pending invitation's link token: a new user,
//                                                                    so the organization's stream is written)
//   profile  ~10 %  PATCH /v1/organizations/{org}/users/{userId}   (a member's display name, by the org admin)
// Both mixes run on the same server, BENCH_ONBOARDING_SECONDS (20) each after a warm-up, in halves ordered one org,
// spread, spread, one org: a machine that speeds up or slows down during the run weighs on both alike.
// Latency is the client's, every answer included (a 409 after 8 attempts is what that client waited). perSec counts
// 2xx answers over the measured wall time. conflicts = 409 answers (by code); share = of all answers of that kind. An
// acceptance refused with CONCURRENCY_CONFLICT goes back to the pending pool (its invitee would click again).
// Decisions per invitation are not reported: nothing outside the server sees them (no metric, no log line at
// LOG_LEVEL=error, nothing in the answer); only the 409s of the invitations that ran out of attempts are.
//
// Options (env): BENCH_ONBOARDING_SECONDS (20), BENCH_ONBOARDING_CLIENTS (64), BENCH_ONBOARDING_WORKSPACES (10);
// BENCH_HTTP_SERVER_ENV and BENCH_HTTP_SERVER_NODE_ARGS as in bench:http (lib/http-server.ts).
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { JsonClient, type Reply, tokenOf } from './lib/http-client';
import { projectionsCaughtUp } from './lib/http-cold-load';
import { OpStats, expectStatus } from './lib/http-commands';
import { type CpuTimes, type ServerChild, benchDataDir, inheritedEnv, serverEnvOverrides, startServerChild } from './lib/http-server';
import { fmt, ms2 } from './lib/http-stats';

const CLIENTS = Number(process.env.BENCH_ONBOARDING_CLIENTS ?? 64);
const WORKSPACES = Number(process.env.BENCH_ONBOARDING_WORKSPACES ?? 10);
const SECONDS = Number(process.env.BENCH_ONBOARDING_SECONDS ?? 20);
const SPREAD_ORGANIZATIONS = 100;
const WARMUP_SECONDS = 2;
const MEMBERS_PER_WORKSPACE = 4;
const PENDING_PER_WORKSPACE = 8;
const SYSTEM_KEY = `rk_system_bench-onboarding-${randomUUID()}`;
const METRICS_TOKEN = `bench-metrics-${randomUUID()}`;

const progress = (line: string) => process.stderr.write(`${line}\n`);
const out = (line: string) => process.stdout.write(`${line}\n`);

type Kind = 'invite' | 'accept' | 'profile';
const KINDS: Kind[] = ['invite', 'accept', 'profile'];
type MixName = 'oneOrg' | 'spread';

interface Organization {
  organizationId: string;
  key: string;
  admin: string;
  /** userIds of its members (the admin excluded: their profile is the actor's own) */
  members: string[];
}
interface Workspace {
  org: Organization;
  workspaceId: string;
}
/** what one mix sends its commands to; `pending` shrinks with acceptances and grows with invitations */
interface Mix {
  workspaces: Workspace[];
  pending: { token: string; ws: Workspace }[];
}
interface Measured {
  stats: Record<Kind, OpStats>;
  seconds: number;
  serverCpuMs: number;
}

let emailSeq = 0;
const newEmail = () => `onboard-${++emailSeq}-${Math.random().toString(36).slice(2, 8)}@onboarding.bench.test`;
const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

const invite = (client: JsonClient, ws: Workspace) =>
  client.send('POST', `/v1/workspaces/${ws.workspaceId}/invitations`, { key: ws.org.key, actor: ws.org.admin, body: { email: newEmail(), roles: ['agent'] } });
const accept = (client: JsonClient, token: string) => client.send('POST', '/v1/invitations/accept', { body: { token } });
const updateProfile = (client: JsonClient, org: Organization, userId: string) =>
  client.send('PATCH', `/v1/organizations/${org.organizationId}/users/${userId}`, {
    key: org.key,
    actor: org.admin,
    body: { displayName: `Member ${Math.random().toString(36).slice(2, 8)}` },
  });

/** `organizations` organizations of `workspacesPerOrg` workspaces each, with members and pending invitations, over HTTP */
async function setUp(client: JsonClient, organizations: number, workspacesPerOrg: number, label: string): Promise<Mix> {
  const mix: Mix = { workspaces: [], pending: [] };
  // 16 at a time: the setup is not measured, and one organization's workspaces are set up one after the other
  // (every workspace creation and acceptance writes the organization's stream: the setup should not meet its own 409s)
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(16, organizations) }, async () => {
      while (next < organizations) {
        const i = next++;
        const created = expectStatus(
          await client.send('POST', '/v1/organizations', {
            key: SYSTEM_KEY,
            body: { name: `Onboarding ${label} ${i}`, admin: { email: `admin-${label}-${i}@onboarding.bench.test`, displayName: 'Admin' } },
          }),
          201,
          'create organization',
        ).body;
        const org: Organization = { organizationId: created.organizationId, key: created.apiKey, admin: created.adminUserId, members: [] };
        for (let w = 0; w < workspacesPerOrg; w++) {
          const body = expectStatus(
            await client.send('POST', `/v1/organizations/${org.organizationId}/workspaces`, { key: org.key, actor: org.admin, body: { name: `Support ${w}` } }),
            201,
            'create workspace',
          ).body;
          const ws: Workspace = { org, workspaceId: body.workspaceId };
          for (let m = 0; m < MEMBERS_PER_WORKSPACE; m++) {
            const token = tokenOf(expectStatus(await invite(client, ws), 201, 'invite').body.inviteUrl);
            org.members.push(expectStatus(await accept(client, token), 200, 'accept').body.userId);
          }
          for (let p = 0; p < PENDING_PER_WORKSPACE; p++) mix.pending.push({ token: tokenOf(expectStatus(await invite(client, ws), 201, 'invite').body.inviteUrl), ws });
          mix.workspaces.push(ws);
        }
      }
    }),
  );
  return mix;
}

const newStats = (): Record<Kind, OpStats> => ({ invite: new OpStats(), accept: new OpStats(), profile: new OpStats() });

/** `clients` closed-loop clients on `mix` for `seconds`, their answers added to `stats`; returns the window's wall time */
async function burst(client: JsonClient, mix: Mix, seconds: number, stats: Record<Kind, OpStats>): Promise<number> {
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < until) {
        const r = Math.random();
        // no pending invitation left (not expected: invitations outnumber acceptances 5:4): an invitation instead
        const kind: Kind = r < 0.5 || (r < 0.9 && mix.pending.length === 0) ? 'invite' : r < 0.9 ? 'accept' : 'profile';
        let reply: Reply;
        try {
          if (kind === 'invite') {
            const ws = pick(mix.workspaces);
            reply = await invite(client, ws);
            if (reply.status === 201) mix.pending.push({ token: tokenOf(reply.body.inviteUrl), ws });
          } else if (kind === 'accept') {
            const i = Math.floor(Math.random() * mix.pending.length);
            const taken = mix.pending[i]!;
            mix.pending[i] = mix.pending[mix.pending.length - 1]!;
            mix.pending.pop();
            reply = await accept(client, taken.token);
            if (reply.status === 200) taken.ws.org.members.push(reply.body.userId);
            else if (reply.status === 409 && reply.body?.code === 'CONCURRENCY_CONFLICT') mix.pending.push(taken);
          } else {
            const { org } = pick(mix.workspaces);
            reply = await updateProfile(client, org, pick(org.members));
          }
        } catch (error) {
          stats[kind].record(error instanceof Error ? error : new Error(String(error)));
          continue;
        }
        stats[kind].record(reply);
      }
    }),
  );
  return (performance.now() - started) / 1000;
}

const cpuMs = (before: CpuTimes | undefined, after: CpuTimes | undefined) => (before && after ? after.processMs - before.processMs : Number.NaN);

/** 409 answers of one kind, by code */
function conflictsOf(stats: OpStats): Map<string, number> {
  const byCode = new Map<string, number>();
  for (const [what, n] of stats.failures) if (what.startsWith('409')) byCode.set(what.slice(4) || '(no code)', n);
  return byCode;
}
const sum = (xs: Iterable<number>) => [...xs].reduce((a, b) => a + b, 0);
const answers = (s: OpStats) => s.ok + s.errors;

function summary(m: Measured) {
  const ok = sum(KINDS.map((k) => m.stats[k].ok));
  const all = sum(KINDS.map((k) => answers(m.stats[k])));
  const conflicts = sum(KINDS.map((k) => sum(conflictsOf(m.stats[k]).values())));
  const kinds = Object.fromEntries(
    KINDS.map((k) => {
      const s = m.stats[k];
      const byCode = conflictsOf(s);
      const n = sum(byCode.values());
      return [
        k,
        {
          perSec: Math.round(s.ok / m.seconds),
          p50Ms: ms2(s.latency.percentile(50)),
          p99Ms: ms2(s.latency.percentile(99)),
          answers: answers(s),
          conflicts: n,
          conflictShare: answers(s) === 0 ? 0 : Math.round((n / answers(s)) * 10_000) / 10_000,
          ...(n > 0 && { conflictCodes: Object.fromEntries(byCode) }),
          ...(s.errors > n && { otherErrors: s.errors - n }),
        },
      ];
    }),
  ) as Record<Kind, { perSec: number; p50Ms: number; p99Ms: number; answers: number; conflicts: number; conflictShare: number; conflictCodes?: Record<string, number>; otherErrors?: number }>;
  return {
    perSec: Math.round(ok / m.seconds),
    conflictShare: all === 0 ? 0 : Math.round((conflicts / all) * 10_000) / 10_000,
    cpuMsPerCommand: ms2(m.serverCpuMs / ok),
    kinds,
  };
}

function printMix(name: string, m: Measured, s: ReturnType<typeof summary>, mix: Mix): void {
  out(`${name}: ${s.perSec} commands/s (2xx) over ${m.seconds.toFixed(1)} s, 409 share ${(s.conflictShare * 100).toFixed(2)} %, server CPU ${fmt(s.cpuMsPerCommand)} ms per command`);
  for (const k of KINDS) {
    const r = s.kinds[k];
    const codes = r.conflictCodes ? ` (${Object.entries(r.conflictCodes).map(([c, n]) => `${c} ${n}`).join(', ')})` : '';
    out(`  ${k.padEnd(8)} ${String(r.perSec).padStart(5)}/s  p50 ${fmt(r.p50Ms).padStart(7)} ms  p99 ${fmt(r.p99Ms).padStart(7)} ms  409: ${r.conflicts} of ${r.answers} (${(r.conflictShare * 100).toFixed(2)} %)${codes}`);
    const other = [...m.stats[k].failures].filter(([what]) => !what.startsWith('409'));
    if (other.length > 0) out(`           other failures: ${other.map(([what, n]) => `${what} ×${n}`).join(', ')}`);
  }
  const members = new Set(mix.workspaces.map((w) => w.org));
  out(`  after it: ${sum([...members].map((o) => o.members.length))} members in ${members.size} organization(s), ${mix.pending.length} invitations pending`);
}

async function main(): Promise<void> {
  const loadStart = loadavg().map(ms2);
  let server: ServerChild | undefined;
  let client: JsonClient | undefined;
  const { dataDir, cleanup } = benchDataDir('onboarding', () => ({ server, client }));

  try {
    // the server child as bench:http starts it: only what the bench sets, nothing inherited that would change the setup
    let t0 = performance.now();
    server = await startServerChild({
      ...inheritedEnv(),
      PORT: '0',
      ROLLCALL_TCP_PORT: '0',
      ROLLCALL_DATA_DIR: dataDir,
      ROLLCALL_SYSTEM_API_KEY: SYSTEM_KEY,
      ROLLCALL_METRICS_TOKEN: METRICS_TOKEN,
      LOG_LEVEL: 'error',
      ...serverEnvOverrides(),
    });
    progress(`server (pid ${server.pid}) on ${server.url}, started in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    client = new JsonClient(server.url, CLIENTS);

    t0 = performance.now();
    const mixes: Record<MixName, Mix> = {
      oneOrg: await setUp(client, 1, WORKSPACES, 'one'),
      spread: await setUp(client, SPREAD_ORGANIZATIONS, 1, 'spread'),
    };
    await projectionsCaughtUp(client, METRICS_TOKEN);
    progress(`set up 1 organization of ${WORKSPACES} workspaces and ${SPREAD_ORGANIZATIONS} of 1 in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    progress(`warm-up: ${WARMUP_SECONDS} s per mix, ${CLIENTS} clients`);
    for (const name of ['oneOrg', 'spread'] as const) await burst(client, mixes[name], WARMUP_SECONDS, newStats());

    const measured: Record<MixName, Measured> = {
      oneOrg: { stats: newStats(), seconds: 0, serverCpuMs: 0 },
      spread: { stats: newStats(), seconds: 0, serverCpuMs: 0 },
    };
    const loadDuring: number[] = [];
    for (const name of ['oneOrg', 'spread', 'spread', 'oneOrg'] as const) {
      progress(`measuring ${name}: ${SECONDS / 2} s, ${CLIENTS} clients`);
      const cpuBefore = server.cpu();
      measured[name].seconds += await burst(client, mixes[name], SECONDS / 2, measured[name].stats);
      measured[name].serverCpuMs += cpuMs(cpuBefore, server.cpu());
      loadDuring.push(ms2(loadavg()[0]!));
    }
    const serverErrors = server.logLines().filter((l) => /^\{"level":"(?:error|fatal)"/.test(l));
    const staleSocketRetries = client.staleSocketRetries;
    client.close();
    client = undefined;
    await server.stop();
    server = undefined;
    rmSync(dataDir, { recursive: true, force: true });
    const loadEnd = loadavg().map(ms2);

    const one = summary(measured.oneOrg);
    const spread = summary(measured.spread);
    out(`onboarding mix (invite 50 % / accept 40 % / profile 10 %), ${CLIENTS} clients, ${SECONDS} s per mix in halves (one org, spread, spread, one org)`);
    printMix(`one organization, ${WORKSPACES} workspaces`, measured.oneOrg, one, mixes.oneOrg);
    printMix(`spread: ${SPREAD_ORGANIZATIONS} organizations of 1 workspace`, measured.spread, spread, mixes.spread);
    const ratio = ms2(one.perSec / spread.perSec);
    out(`oneOrgPerSec / spreadPerSec = ${ratio}`);
    out('decisions per invitation: not observable from outside the server (no metric, log line or answer field carries it)');
    out(`machine: ${availableParallelism()} CPUs, load average (1/5/15 min) ${loadStart.join(' / ')} at start, ${loadEnd.join(' / ')} at end; 1-min after each half ${loadDuring.join(', ')}`);
    if (staleSocketRetries > 0) out(`stale keep-alive sockets re-sent: ${staleSocketRetries}`);
    if (serverErrors.length > 0) out(`Server errors (LOG_LEVEL=error):\n${serverErrors.slice(0, 20).join('\n')}`);
    out(
      JSON.stringify({
        bench: 'onboarding',
        clients: CLIENTS,
        workspaces: WORKSPACES,
        spreadOrganizations: SPREAD_ORGANIZATIONS,
        seconds: SECONDS,
        oneOrgPerSec: one.perSec,
        spreadPerSec: spread.perSec,
        ratio,
        conflictShareOneOrg: one.conflictShare,
        conflictShareSpread: spread.conflictShare,
        oneOrg: one.kinds,
        spread: spread.kinds,
        cpuMsPerCommandOneOrg: one.cpuMsPerCommand,
        cpuMsPerCommandSpread: spread.cpuMsPerCommand,
        loadAverage: { start: loadStart, end: loadEnd },
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
