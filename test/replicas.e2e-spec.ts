// Two API processes over one embedded data dir (docs/rules.md#running-and-scale-out), 64 clients spread over both,
// commands that conflict on purpose. Afterwards the log is the judge: nothing acknowledged is missing, the decided
// state keeps every rule at every event, and the read models both processes built equal a rebuild from the log.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SYSTEM_KEY, tokenOf } from './support/api';
import { checkDecidedState, readLog, revokedInTeams } from './support/invariants';
import { differences, liveAndRebuilt } from './support/read-models';
import { type ServerProcess, auditCheckpoint, startServers } from './support/server-process';
import { Random } from './support/random';
import { clientKeyOf } from './support/recorded-keys';

// three runs in CI: seeds 13, and 5, which found the same request decided on both replicas and events in flight mixed
// with another writer's (docs/adr/0011 points 7 and 8), and seed 7 with users' deletions (session 28: on after 40 seed
// runs with deletions passed, sessions 27–28); ROLLCALL_REPLICAS_SEED=3,7 runs others, with deletions when
// ROLLCALL_REPLICAS_DELETIONS=1
const RUNS: [seed: number, deletions: boolean][] =
  process.env.ROLLCALL_REPLICAS_SEED === undefined
    ? [
        [13, false],
        [5, false],
        [7, true],
      ]
    : process.env.ROLLCALL_REPLICAS_SEED.split(',').map((seed) => [Number(seed), process.env.ROLLCALL_REPLICAS_DELETIONS === '1']);
const CLIENTS = 64;
const COMMANDS = 1000;
/** share of commands also sent, with the same Idempotency-Key, to the other replica at the same time */
const DUPLICATED = 0.08;

type Op = 'access' | 'revoke' | 'invite' | 'accept' | 'cancel' | 'resend' | 'team-add' | 'team-remove' | 'heartbeat' | 'offline' | 'delete';
interface Outcome {
  op: Op;
  key: string;
  status: number;
  code?: string;
  body: any;
  replayed: boolean;
}

describe('replicas: two API processes over one data dir', () => {
  let dataDir: string;
  let servers: ServerProcess[] = [];
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'rollcall-replicas-'));
  });
  afterEach(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    // ROLLCALL_REPLICAS_KEEP=1 keeps the data dir of a run to read its log afterwards (events.sqlite)
    if (process.env.ROLLCALL_REPLICAS_KEEP) console.log(`replicas: data dir kept at ${dataDir}`);
    else rmSync(dataDir, { recursive: true, force: true });
  });

  it.each(RUNS)('seed %i (users deleted: %s): 1,000 conflicting commands from 64 clients: 0 lost acknowledged writes, every invariant holds (rule 4: never a workspace without an owner), read models equal a rebuild', async (SEED, DELETIONS) => {
    const started = Date.now();
    // both start at once on a fresh data dir, as an orchestrator starts replicas
    const [a, b] = (servers = await startServers(2, { dataDir, env: { ROLLCALL_DURABILITY: 'normal', ROLLCALL_CHECK_CACHED_STATES: '1' } })) as [ServerProcess, ServerProcess];
    const random = new Random(SEED);
    const pick = <T>(list: readonly T[]): T => random.pick(list);
    const run = `r${SEED}`;

    // one organization, a `levels` and a `studio` workspace, people in both
    const org = await a.api.request('POST', '/v1/organizations', { key: SYSTEM_KEY, body: { name: 'Acme', admin: { email: 'admin@acme.test', displayName: 'Ada' } } });
    expect(org.status).toBe(201);
    const { apiKey: key, adminUserId: admin, organizationId } = org.body as { apiKey: string; adminUserId: string; organizationId: string };
    const workspace = async (accessModel: string) =>
      (await b.api.request('POST', `/v1/organizations/${organizationId}/workspaces`, { key, actor: admin, body: { name: accessModel, accessModel } })).body.workspaceId as string;
    const workspaces = { levels: await workspace('levels'), studio: await workspace('studio') };
    // invitations may bring owners; access changes mostly take ownership away, so the last owner is fought over
    const ROLES = {
      levels: (invite = false) => [pick(invite ? ['owner', 'manager', 'agent', 'agent'] : ['owner', 'manager', 'manager', 'agent', 'agent', 'agent'])],
      studio: (invite = false) => [...new Set([pick(invite ? ['environment_manager', 'operator'] : ['environment_manager', 'operator', 'operator', 'analyst']), pick(['operator', 'analyst', 'developer'])])],
    };
    const people = Array.from({ length: 16 }, (_, i) => `p${i}@acme.test`);
    const strangers = Array.from({ length: 16 }, (_, i) => `n${i}@acme.test`);
    const users = new Map<string, string>(); // email → userId
    for (const [i, email] of people.entries())
      for (const [preset, ws] of Object.entries(workspaces) as ['levels' | 'studio', string][]) {
        const roles = preset === 'levels' ? [i < 2 ? 'owner' : i < 6 ? 'manager' : 'agent'] : [i < 2 ? 'environment_manager' : 'operator'];
        // invited on one replica, accepted on the other: both sign and check links with the same secret
        const [inviter, acceptor] = i % 2 ? [a, b] : [b, a];
        const invited = await inviter.api.request('POST', `/v1/workspaces/${ws}/invitations`, { key, actor: admin, body: { email, roles } });
        expect(invited.status).toBe(201);
        const accepted = await acceptor.api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(invited.body.inviteUrl) } });
        expect({ email, status: accepted.status, code: accepted.body.code }).toEqual({ email, status: 200, code: undefined });
        users.set(email, accepted.body.userId);
      }

    // the creator (the org admin) steps down, so that the two owners of each workspace are the last ones (rule 4);
    // as an org admin they keep an owner's authority (rule 5)
    for (const [preset, ws] of Object.entries(workspaces) as ['levels' | 'studio', string][]) {
      const demoted = await a.api.request('PATCH', `/v1/workspaces/${ws}/members/${admin}/access`, { key, actor: users.get('p0@acme.test'), body: { roles: [preset === 'levels' ? 'agent' : 'operator'] } });
      expect(demoted.status).toBe(200);
    }

    // a third workspace where two owners are demoted at once on the two replicas: one of them must stay (rule 4)
    const contested = await workspace('levels');
    const contenders: string[] = [];
    for (const [i, email] of people.slice(0, 2).entries()) {
      const invited = await a.api.request('POST', `/v1/workspaces/${contested}/invitations`, { key, actor: admin, body: { email, roles: ['owner'] } });
      const accepted = await (i ? a : b).api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(invited.body.inviteUrl) } });
      expect(accepted.status).toBe(200);
      contenders.push(accepted.body.userId);
    }
    expect((await b.api.request('PATCH', `/v1/workspaces/${contested}/members/${admin}/access`, { key, actor: contenders[0], body: { roles: ['agent'] } })).status).toBe(200);

    // two teams in each workspace, for team changes racing with revokes (rules 11 and 14)
    const teams: Record<string, string[]> = {};
    for (const ws of Object.values(workspaces))
      for (const name of ['Tier 1', 'Tier 2']) {
        const team = await a.api.request('POST', `/v1/workspaces/${ws}/teams`, { key, actor: admin, body: { name } });
        expect(team.status).toBe(201);
        (teams[ws] ??= []).push(team.body.teamId);
      }

    // what clients learn from answers: the latest link of each address in each workspace
    const links = new Map<string, { invitationId: string; token: string }>();
    const outcomes: Outcome[] = [];
    const send = async (server: ServerProcess, op: Op, method: string, path: string, k: string, body: unknown, actor?: string) => {
      const reply = await server.api.request(method, path, { key: op === 'accept' ? undefined : key, actor, body, headers: { 'idempotency-key': k } });
      const outcome: Outcome = { op, key: k, status: reply.status, code: reply.body?.code, body: reply.body, replayed: reply.headers.get('idempotency-replayed') === 'true' };
      outcomes.push(outcome);
      return outcome;
    };

    let issued = 0;
    const client = async (c: number) => {
      const home = c % 2 === 0 ? a : b;
      const other = home === a ? b : a;
      while (issued < COMMANDS) {
        if (random.chance(0.05)) {
          // both owners demoted at once, one on each replica; then whoever lost ownership gets it back
          const [x, y] = [issued++, issued++];
          const demote = (server: ServerProcess, n: number, who: string) =>
            send(server, 'access', 'PATCH', `/v1/workspaces/${contested}/members/${who}/access`, `${run}-${n}`, { roles: ['manager'] }, admin);
          const done = await Promise.all([demote(home, x, contenders[0]!), demote(other, y, contenders[1]!)]);
          for (const [i, d] of done.entries())
            if (d.status === 200 && d.body.changed.length > 0)
              await send(home, 'access', 'PATCH', `/v1/workspaces/${contested}/members/${contenders[i]}/access`, `${run}-${issued++}`, { roles: ['owner'] }, admin);
          continue;
        }
        const n = issued++;
        const k = `${run}-${n}`;
        const preset = pick(['levels', 'studio'] as const);
        const ws = workspaces[preset];
        const actor = random.chance(0.8) ? admin : users.get(pick(people))!;
        const address = pick([...people, ...strangers]);
        const link = links.get(`${ws}:${address}`);
        // half of the access changes aim at the two first owners: their demotions race for the last owner
        const ownerTargeted = random.chance(0.5);
        const target = users.get(ownerTargeted ? pick(people.slice(0, 2)) : pick(people))!;
        const team = pick(teams[ws]!);
        let op = pick<Op>(['access', 'access', 'access', 'revoke', 'invite', 'invite', 'invite', 'accept', 'accept', 'cancel', 'resend', 'team-add', 'team-add', 'team-remove', 'heartbeat', 'offline']);
        if (!link && (op === 'accept' || op === 'cancel' || op === 'resend')) op = 'invite';
        if (ownerTargeted && op === 'revoke') op = 'access';
        // with deletions: now and then a user's deletion, decided over every workspace and sent back by a write to any
        // (rule 12, ADR 0004 "Session 26"); not the contested owners; the address may be invited again (a new user).
        // Session 27 fixed what its cached-state check found (a key dropped from the cache mid-lookup read as erased; a
        // deletion answered from the log forgetting a key made since; the check's own reports of deletions after a load)
        if (DELETIONS && !ownerTargeted && random.chance(0.015)) op = 'delete';
        const deleted = op === 'delete' ? users.get(pick(people.slice(2)))! : undefined;
        const [method, path, body] = {
          access: ['PATCH', `/v1/workspaces/${ws}/members/${target}/access`, { roles: ROLES[preset]() }],
          revoke: ['DELETE', `/v1/workspaces/${ws}/members/${target}`, {}],
          invite: ['POST', `/v1/workspaces/${ws}/invitations`, { email: address, roles: ROLES[preset](true) }],
          accept: ['POST', '/v1/invitations/accept', { token: link?.token }],
          cancel: ['DELETE', `/v1/workspaces/${ws}/invitations/${link?.invitationId}`, undefined],
          resend: ['POST', `/v1/workspaces/${ws}/invitations/${link?.invitationId}/resend`, undefined],
          'team-add': ['PUT', `/v1/workspaces/${ws}/teams/${team}/members/${target}`, undefined],
          'team-remove': ['DELETE', `/v1/workspaces/${ws}/teams/${team}/members/${target}`, undefined],
          // presence from both replicas: what presence_daily accumulates must be counted once (rule 13)
          heartbeat: ['POST', `/v1/workspaces/${ws}/presence/heartbeat`, { status: pick(['online', 'away']) }],
          offline: ['POST', `/v1/workspaces/${ws}/members/${target}/presence/offline`, undefined],
          delete: ['DELETE', `/v1/organizations/${organizationId}/users/${deleted}`, undefined],
        }[op] as [string, string, unknown];
        const replicas = random.chance(DUPLICATED) ? [home, other] : [home];
        // a heartbeat is the actor's own: any of the people
        const by = op === 'heartbeat' ? users.get(pick(people))! : op === 'delete' ? admin : actor;
        const replies = await Promise.all(replicas.map((r) => send(r, op, method, path, k, body, op === 'accept' ? undefined : by)));
        for (const r of replies)
          if (r.status < 300 && r.body?.inviteUrl) links.set(`${ws}:${address}`, { invitationId: r.body.invitationId, token: tokenOf(r.body.inviteUrl) });
        if (op === 'accept' && replies[0]!.status === 200) users.set(address, replies[0]!.body.userId);
      }
    };
    const raceStarted = Date.now();
    await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
    const raceMs = Date.now() - raceStarted;

    // no replica failed a request: a conflict is a refusal with a code, never a 5xx
    const failures = outcomes.filter((o) => o.status >= 500).map((o) => `${o.op} ${o.key}: ${o.status} ${JSON.stringify(o.body)}`);
    expect({ failures: failures.slice(0, 5), count: failures.length, logs: failures.length ? servers.map((s) => s.output().slice(0, 4000)) : [] }).toEqual({ failures: [], count: 0, logs: [] });

    // every decision state either replica loaded (committed, not in flight) was what the log held up to its revision
    // (ROLLCALL_CHECK_CACHED_STATES: each load compared with a fold of the log)
    expect(servers.flatMap((s) => s.output().split('\n').filter((line) => line.includes('cached state differs from the log')).slice(0, 3))).toEqual([]);

    // both replicas' read models reach the head of the log (read-your-writes on either side)
    const head = outcomes.reduce((max, o) => (o.body?.position && BigInt(o.body.position) > max ? BigInt(o.body.position) : max), 0n);
    for (const s of servers) {
      const read = await s.api.request('GET', `/v1/workspaces/${workspaces.levels}/members?limit=1`, { key, actor: admin, headers: { 'x-min-position': String(head) } });
      expect(read.status).toBe(200);
    }
    // a command sent to both replicas at once with one key: where both accepted it, both answered the first answer
    // (a refusal is not kept, docs/adr/0004: one replica may refuse on the state it saw while the other appends)
    const byKey = new Map<string, Outcome[]>();
    for (const o of outcomes) byKey.set(o.key, [...(byKey.get(o.key) ?? []), o]);
    const duplicated = [...byKey.values()].filter((list) => list.length === 2);
    const bothAccepted = duplicated.filter(([x, y]) => x!.status < 300 && y!.status < 300);
    for (const [x, y] of bothAccepted) expect({ key: y!.key, body: y!.body }).toEqual({ key: x!.key, body: x!.body });
    // one notary key, and one tree: both replicas sign the same root for the whole log (docs/rules.md#verifiable-history)
    const keys = await Promise.all(servers.map(async (s) => (await s.api.request('GET', '/v1/audit/public-key')).body));
    expect(keys[1]).toEqual(keys[0]);
    const roots = await Promise.all(servers.map((s) => auditCheckpoint(s, head)));
    expect(roots[1]).toEqual(roots[0]);
    await Promise.all(servers.map((s) => s.stop()));

    // 0 lost acknowledged writes: every acknowledged command's events are in the log, at the position it answered
    const log = await readLog(dataDir);
    const keyed = new Map<string, bigint[]>();
    const keyOf = clientKeyOf(dataDir, outcomes.map((o) => o.key));
    for (const e of log) {
      const k = keyOf(e.metadata.idempotencyKey);
      keyed.set(k, [...(keyed.get(k) ?? []), e.position]);
    }
    // (a change that found things as asked appended nothing: `changed` is empty or false)
    const acknowledged = outcomes.filter((o) => o.status < 300 && o.body.changed !== false && o.body.changed?.length !== 0);
    // on a failure: what was answered (and whether it was a replay) beside where that key's events are in the log
    const lost = acknowledged
      .filter((o) => !keyed.get(o.key)?.includes(BigInt(o.body.position)))
      .map((o) => `${o.op} ${o.key} at ${o.body.position}: answered ${JSON.stringify(o.body)}${o.replayed ? ' (replayed)' : ''}; the key's events at [${(keyed.get(o.key) ?? []).join(', ')}]; sent ${byKey.get(o.key)?.length ?? 0}×`);
    expect(lost).toEqual([]);
    // where such a command appended, at least one of its two answers says it is a replay (Idempotency-Replayed):
    // answered from the log's events, or from the answer the other replica stored first (then both may say so)
    for (const [x, y] of bothAccepted.filter(([x]) => keyed.has(x!.key)))
      expect({ key: x!.key, op: x!.op, replayed: x!.replayed || y!.replayed }).toEqual({ key: x!.key, op: x!.op, replayed: true });
    // and no command was appended twice (a duplicate's events are one batch)
    const appendedTwice = [...byKey.keys()].filter((k) => new Set(keyed.get(k) ?? []).size !== (keyed.get(k) ?? []).length);
    expect(appendedTwice).toEqual([]);

    // every invariant holds on the decided state, after every event
    const decided = checkDecidedState(log);
    expect(decided.violations).toEqual([]);
    expect(revokedInTeams(decided)).toEqual([]);

    // the read models both processes built (each ran its projector) equal a rebuild, and the decided state
    const { live, rebuilt } = await liveAndRebuilt(dataDir);
    expect(differences(live, rebuilt)).toEqual([]);
    for (const [wsId, ws] of decided.workspaces) {
      const listed = live.members!.filter((m) => m.workspaceId === wsId && m.status === 'active').map((m) => `${m.userId}:${[...(m.roles as string[])].sort()}`);
      expect(listed.sort()).toEqual([...ws.active].map(([u, access]) => `${u}:${[...access.roles].sort()}`).sort());
      const pending = live.members!.filter((m) => m.workspaceId === wsId && m.status === 'pending').map((m) => m.invitationId);
      expect(pending.sort()).toEqual([...ws.pending.keys()].sort());
    }

    // the races were real: each kind of conflict was refused at least once, and replicas answered each other's keys
    const codes = new Map<string, number>();
    for (const o of outcomes) codes.set(o.code ?? String(o.status), (codes.get(o.code ?? String(o.status)) ?? 0) + 1);
    for (const code of ['ALREADY_INVITED', 'ALREADY_MEMBER', 'NOT_A_MEMBER', 'INVITATION_NOT_PENDING', 'MEMBER_NOT_ACTIVE', 'LAST_OWNER']) expect({ code, seen: (codes.get(code) ?? 0) > 0 }).toEqual({ code, seen: true });
    expect(outcomes.filter((o) => o.replayed).length).toBeGreaterThan(0);
    console.log(
      `replicas: ${byKey.size} commands (${outcomes.length} requests, ${duplicated.length} sent to both replicas) from ${CLIENTS} clients in ${raceMs} ms; ` +
        `${acknowledged.length} acknowledged writes, 0 lost; ${decided.checks} invariant checks over ${decided.events} events; ` +
        `outcomes ${JSON.stringify(Object.fromEntries([...codes].sort()))}; total ${Date.now() - started} ms`,
    );
  }, 240_000);
});

/**
 * `count` processes that, for each data dir they are given, read or create its secrets at the same moment (each round:
 * every process is told at once, once all have answered the round before); `open` returns what each got.
 */
async function firstStarters(count: number): Promise<{ open(dataDir: string): Promise<unknown[]>; close(): Promise<void> }> {
  const children = Array.from({ length: count }, () =>
    spawn(process.execPath, ['--no-experimental-strip-types', '-r', join(__dirname, '..', 'tools/register.cjs'), join(__dirname, 'support/first-start-child.ts')], {
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  // a child that died is reported by `next`; writing to its stdin must not throw an unhandled EPIPE meanwhile
  for (const child of children) child.stdin!.on('error', () => undefined);
  const exited = children.map((child) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()))));
  const lines = children.map((child) => createInterface({ input: child.stdout! })[Symbol.asyncIterator]());
  const next = async (i: number): Promise<string> => {
    const { value, done } = await lines[i]!.next();
    if (done) throw new Error(`first-start child ${i} ended`);
    return value as string;
  };
  const close = async () => {
    for (const child of children) child.stdin!.end();
    // each ends when its stdin does; one stuck is killed rather than waited for until the test's timeout
    const stuck = setTimeout(() => children.forEach((child) => child.kill('SIGKILL')), 10_000);
    await Promise.all(exited);
    clearTimeout(stuck);
  };
  try {
    // every one has loaded its code
    expect(await Promise.all(children.map((_, i) => next(i)))).toEqual(children.map(() => 'ready'));
  } catch (error) {
    await close();
    throw error;
  }
  return {
    async open(dataDir) {
      for (const child of children) child.stdin!.write(`${dataDir}\n`);
      return (await Promise.all(children.map((_, i) => next(i)))).map((line) => JSON.parse(line));
    },
    close,
  };
}

describe('processes opening a fresh data dir at the same moment', () => {
  it('all read one invitation secret and one audit signing key: the first to create them wins (5 rounds of 6)', async () => {
    const starters = await firstStarters(6);
    try {
      for (let round = 0; round < 5; round++) {
        const dataDir = mkdtempSync(join(tmpdir(), 'rollcall-first-start-'));
        try {
          const got = await starters.open(dataDir);
          expect({ round, got: got.slice(1) }).toEqual({ round, got: got.slice(1).map(() => got[0]) });
          expect(got[0]).toEqual({ invitationSecret: expect.any(String), signingKey: expect.any(String) });
        } finally {
          rmSync(dataDir, { recursive: true, force: true });
        }
      }
    } finally {
      await starters.close();
    }
  }, 120_000);
});
