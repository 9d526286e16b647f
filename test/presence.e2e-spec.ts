// Rule 13 over real HTTP (and TCP message patterns): heartbeats, timeouts, forced offline, revoke/delete, the user
// list's presence and last seen, and the presence report. The app runs with a 2-second presence timeout.
import { ClientProxyFactory, type ClientProxy, Transport } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { parse } from 'csv-parse/sync';
import { type TestApp, expectProblem, startTestApp } from './support/app';
import { SseClient } from './support/presence-sse';

const TIMEOUT_SECONDS = 2;
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ ROLLCALL_PRESENCE_TIMEOUT_SECONDS: String(TIMEOUT_SECONDS) });
});
afterAll(() => app.stop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function workspace(opts: { accessModel?: string } = {}) {
  const o = await app.api.organization(opts);
  const as = { key: o.key, actor: o.admin, workspaceId: o.workspaceId };
  const manager = await app.api.member(as, `manager-${Math.random()}@acme.test`, opts.accessModel ? {} : { roles: ['manager'] });
  const agent = await app.api.member(as, `agent-${Math.random()}@acme.test`, opts.accessModel ? {} : { roles: ['agent'] });
  return { ...o, manager, agent };
}

const heartbeat = (o: { key: string; workspaceId: string }, actor: string, status: string, headers: Record<string, string> = {}) =>
  app.api.request('POST', `/v1/workspaces/${o.workspaceId}/presence/heartbeat`, { key: o.key, actor, body: { status }, headers });
const member = (o: { key: string; admin: string; workspaceId: string }, userId: string, position?: string) =>
  app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members/${userId}`, { key: o.key, actor: o.admin, headers: position ? { 'x-min-position': position } : {} });

/** polls until `check` holds (the read models follow the log; a timeout has no position to wait for) */
async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value) || Date.now() > deadline) return value;
    await sleep(100);
  }
}

/** every presence transition of the workspace so far, read from the log through the stream (Last-Event-ID: 0) */
async function transitions(o: { key: string; admin: string; workspaceId: string }, until: (messages: SseClient['messages']) => boolean) {
  return (await transitionMessages(o, until)).map((m) => m.data);
}

/** the same, each with its `id`: the transition's position in the log */
async function transitionMessages(o: { key: string; admin: string; workspaceId: string }, until: (messages: SseClient['messages']) => boolean) {
  const stream = await SseClient.open(`${app.url}/v1/workspaces/${o.workspaceId}/presence/stream`, {
    authorization: `Bearer ${o.key}`,
    'x-actor-id': o.admin,
    'last-event-id': '0',
  });
  try {
    await stream.until((c) => until(c.messages), 8000).catch(() => undefined);
    return stream.messages;
  } finally {
    stream.close();
  }
}

describe('rule 13: heartbeats over HTTP', () => {
  it('rule 13: last seen is the latest heartbeat, also when the heartbeat changed nothing', async () => {
    const o = await workspace();
    const first = await heartbeat(o, o.agent, 'online');
    await new Promise((r) => setTimeout(r, 30));
    const again = await heartbeat(o, o.agent, 'online');
    expect(again.body.changed).toBe(false);
    expect(Date.parse(again.body.lastSeenAt)).toBeGreaterThan(Date.parse(first.body.lastSeenAt));
    expect((await member(o, o.agent, first.body.position)).body).toMatchObject({ presence: 'online', lastSeenAt: again.body.lastSeenAt });
    const listed = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members?presence=online`, { key: o.key, actor: o.admin });
    expect(listed.body.items.find((m: { userId: string }) => m.userId === o.agent)).toMatchObject({ lastSeenAt: again.body.lastSeenAt });
    // every read that shows a last-seen time: the CSV export and the team invite lookup too
    const as = { key: o.key, actor: o.admin };
    const csv = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members/export.csv?role=agent`, as);
    const rows = parse(csv.body as string, { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => r.last_seen_at)).toEqual([again.body.lastSeenAt]);
    const team = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/teams`, { ...as, body: { name: 'Night shift' } });
    const added = await app.api.request('PUT', `/v1/workspaces/${o.workspaceId}/teams/${team.body.teamId}/members/${o.agent}`, as);
    const invitees = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/teams/${team.body.teamId}/invitees`, { ...as, headers: { 'x-min-position': added.body.position } });
    expect(invitees.body.items).toEqual([expect.objectContaining({ userId: o.agent, presence: 'online', lastSeenAt: again.body.lastSeenAt })]);
  });

  it('reports online or away; only a change is recorded, a repeated status renews the lease only', async () => {
    const o = await workspace();
    const first = await heartbeat(o, o.agent, 'online');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ userId: o.agent, status: 'online', previous: 'offline', changed: true, position: expect.stringMatching(/^\d+$/) });
    expect(first.headers.get('x-position')).toBe(first.body.position);
    expect(Date.parse(first.body.expiresAt) - Date.parse(first.body.lastSeenAt)).toBe(TIMEOUT_SECONDS * 1000);
    const again = await heartbeat(o, o.agent, 'online');
    expect(again.body).toMatchObject({ status: 'online', previous: 'online', changed: false });
    expect(again.body.position).toBeUndefined();
    const away = await heartbeat(o, o.agent, 'away');
    expect(away.body).toMatchObject({ status: 'away', previous: 'online', changed: true });
    expect((await member(o, o.agent, away.body.position)).body).toMatchObject({ presence: 'away', lastSeenAt: away.body.lastSeenAt });
    // the log holds the two transitions, not the three heartbeats
    const log = await transitions(o, (m) => m.length >= 2);
    expect(log.map((t) => [t.status, t.previous, t.reason])).toEqual([
      ['online', 'offline', 'heartbeat'],
      ['away', 'online', 'heartbeat'],
    ]);
  });

  it('refuses a bad status (400), a stranger or a revoked member (403), another organization\'s workspace (404)', async () => {
    const o = await workspace();
    expectProblem(await heartbeat(o, o.agent, 'offline'), 400, 'VALIDATION_FAILED');
    expectProblem(await heartbeat(o, 'nobody-at-all', 'online'), 403, 'INSUFFICIENT_AUTHORITY');
    const revoked = await app.api.request('DELETE', `/v1/workspaces/${o.workspaceId}/members/${o.agent}`, { key: o.key, actor: o.admin });
    expect(revoked.status).toBe(200);
    expectProblem(await heartbeat(o, o.agent, 'online'), 403, 'INSUFFICIENT_AUTHORITY');
    const other = await workspace();
    expectProblem(await heartbeat({ key: o.key, workspaceId: other.workspaceId }, o.admin, 'online'), 404, 'WORKSPACE_NOT_FOUND');
  });

  it('a retry with the same Idempotency-Key answers the first answer', async () => {
    const o = await workspace();
    const first = await heartbeat(o, o.agent, 'online', { 'idempotency-key': 'hb-1' });
    const retry = await heartbeat(o, o.agent, 'online', { 'idempotency-key': 'hb-1' });
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.get('idempotency-replayed')).toBe('true');
  });

  it('silence for the timeout makes the user offline, last seen at their last heartbeat (one timeout transition)', async () => {
    const o = await workspace();
    await heartbeat(o, o.agent, 'online');
    await sleep(600);
    const last = await heartbeat(o, o.agent, 'online');
    expect(last.body.changed).toBe(false);
    const offline = await eventually(() => member(o, o.agent), (r) => r.body.presence === 'offline', (TIMEOUT_SECONDS + 6) * 1000);
    expect(offline.body).toMatchObject({ presence: 'offline', lastSeenAt: last.body.lastSeenAt });
    const log = await transitions(o, (m) => m.length >= 2);
    expect(log.map((t) => [t.status, t.reason, t.lastSeenAt])).toEqual([
      ['online', 'heartbeat', expect.any(String)],
      ['offline', 'timeout', last.body.lastSeenAt],
    ]);
  }, 20_000);
});

describe('rule 13: an admin sets a user offline', () => {
  it('an agent is refused (403); a manager sets them offline (reason forced); offline again changes nothing', async () => {
    const o = await workspace();
    const online = await heartbeat(o, o.agent, 'online');
    const offline = (actor: string, userId = o.agent) =>
      app.api.request('POST', `/v1/workspaces/${o.workspaceId}/members/${userId}/presence/offline`, { key: o.key, actor });
    const peer = await app.api.member({ key: o.key, actor: o.admin, workspaceId: o.workspaceId }, `peer-${Math.random()}@acme.test`, { roles: ['agent'] });
    expectProblem(await offline(peer), 403, 'INSUFFICIENT_AUTHORITY');
    const done = await offline(o.manager);
    expect(done.body).toMatchObject({ userId: o.agent, status: 'offline', previous: 'online', changed: true, lastSeenAt: online.body.lastSeenAt });
    expect((await member(o, o.agent, done.body.position)).body.presence).toBe('offline');
    expect((await offline(o.manager)).body).toMatchObject({ changed: false, previous: 'offline' });
    expectProblem(await offline(o.manager, 'never-a-member'), 404, 'NOT_A_MEMBER');
    const log = await transitions(o, (m) => m.length >= 2);
    expect(log.map((t) => t.reason)).toEqual(['heartbeat', 'forced']);
  });

  it('rule 13 (docs/adr/0032, probe 65 F2/F7): set offline by a manager, the agent\'s heartbeats are 409 FORCED_OFFLINE until one says resume; an agent signs themself out (reason self) and comes back with a heartbeat', async () => {
    const o = await workspace();
    await heartbeat(o, o.agent, 'online');
    const offline = (actor: string, userId = o.agent) =>
      app.api.request('POST', `/v1/workspaces/${o.workspaceId}/members/${userId}/presence/offline`, { key: o.key, actor });
    const forced = await offline(o.manager);
    expect(forced.body).toMatchObject({ status: 'offline', changed: true });
    const refused = await heartbeat(o, o.agent, 'online');
    expectProblem(refused, 409, 'FORCED_OFFLINE');
    expect(refused.body.detail).toMatch(/^A member manager set you offline in this workspace at .+; you stay offline until you choose to be online again \(a heartbeat with "resume": true\)\.$/);
    // the hold shows wherever the member does: the detail and the user list (members version 9)
    const held = (await member(o, o.agent, forced.body.position)).body;
    expect(held).toMatchObject({ presence: 'offline', heldOfflineSince: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), heldOfflineBy: o.manager });
    const listed = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members?presence=offline`, { key: o.key, actor: o.admin });
    expect(listed.body.items.find((m: { userId: string }) => m.userId === o.agent)).toMatchObject({ heldOfflineSince: held.heldOfflineSince });
    expect(listed.body.items.find((m: { userId: string }) => m.userId === o.manager)).toMatchObject({ heldOfflineSince: null });
    const resumed = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/presence/heartbeat`, { key: o.key, actor: o.agent, body: { status: 'online', resume: true } });
    expect(resumed.body).toMatchObject({ status: 'online', previous: 'offline', changed: true });
    expect((await member(o, o.agent, resumed.body.position)).body).toMatchObject({ presence: 'online', heldOfflineSince: null, heldOfflineBy: null });
    const signedOut = await offline(o.agent);
    expect(signedOut.status).toBe(200);
    expect(signedOut.body).toMatchObject({ status: 'offline', previous: 'online', changed: true });
    expect((await heartbeat(o, o.agent, 'online')).body).toMatchObject({ status: 'online', previous: 'offline', changed: true });
    const log = await transitions(o, (m) => m.length >= 5);
    expect(log.map((t) => t.reason)).toEqual(['heartbeat', 'forced', 'heartbeat', 'self', 'heartbeat']);
  });

  it('rule 13 (probe 88 F6): a heartbeat answered while a forced offline is under way is in its last seen; one decided after it is refused', async () => {
    const o = await workspace();
    const offline = () => app.api.request('POST', `/v1/workspaces/${o.workspaceId}/members/${o.agent}/presence/offline`, { key: o.key, actor: o.manager });
    expect((await heartbeat(o, o.agent, 'online')).status).toBe(200);
    for (let round = 0; round < 6; round++) {
      const beats = Array.from({ length: 12 }, () => heartbeat(o, o.agent, 'online'));
      const [forced, ...answered] = await Promise.all([offline(), ...beats]);
      expect(forced.body).toMatchObject({ changed: true, previous: 'online' });
      expect(answered.every((r) => r.status === 200 || r.body?.code === 'FORCED_OFFLINE')).toBe(true);
      // every heartbeat answered "online" was heard before the hold: the member's last seen is none earlier
      const accepted = answered.filter((r) => r.status === 200).map((r) => r.body.lastSeenAt as string);
      const read = (await member(o, o.agent, forced.body.position)).body;
      expect({ presence: read.presence, behind: accepted.filter((at) => at > read.lastSeenAt) }).toEqual({ presence: 'offline', behind: [] });
      expect(read.lastSeenAt).toBe(forced.body.lastSeenAt);
      const back = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/presence/heartbeat`, { key: o.key, actor: o.agent, body: { status: 'online', resume: true } });
      expect(back.body).toMatchObject({ changed: true, previous: 'offline' });
    }
  });

  it('works over the TCP message patterns too (presence.heartbeat, presence.setOffline)', async () => {
    const o = await workspace();
    const client: ClientProxy = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port: app.tcpPort } });
    await client.connect();
    try {
      const beat = await lastValueFrom(client.send('presence.heartbeat', { apiKey: o.key, actorId: o.agent, workspaceId: o.workspaceId, status: 'online' }));
      expect(beat).toMatchObject({ status: 'online', changed: true });
      const off = await lastValueFrom(client.send('presence.setOffline', { apiKey: o.key, actorId: o.admin, workspaceId: o.workspaceId, userId: o.agent }));
      expect(off).toMatchObject({ status: 'offline', previous: 'online', changed: true });
      await expect(lastValueFrom(client.send('presence.setOffline', { apiKey: o.key, actorId: o.agent, workspaceId: o.workspaceId, userId: o.manager }))).rejects.toMatchObject({
        code: 'INSUFFICIENT_AUTHORITY',
      });
      // held offline until a heartbeat resumes (docs/adr/0032)
      const beatAgain = { apiKey: o.key, actorId: o.agent, workspaceId: o.workspaceId, status: 'online' };
      await expect(lastValueFrom(client.send('presence.heartbeat', beatAgain))).rejects.toMatchObject({ code: 'FORCED_OFFLINE' });
      expect(await lastValueFrom(client.send('presence.heartbeat', { ...beatAgain, resume: true }))).toMatchObject({ status: 'online', changed: true });
    } finally {
      client.close();
    }
  });
});

describe('rule 13: presence and last seen in the user list', () => {
  it('filters by presence and sorts by lastSeen (most recent first)', async () => {
    const o = await workspace();
    await heartbeat(o, o.agent, 'online');
    await sleep(20);
    const last = await heartbeat(o, o.manager, 'away');
    const list = (query: string) =>
      app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members?status=active&${query}`, { key: o.key, actor: o.admin, headers: { 'x-min-position': last.body.position } });
    expect((await list('presence=online')).body.items.map((m: { userId: string }) => m.userId)).toEqual([o.agent]);
    expect((await list('presence=away')).body.items.map((m: { userId: string }) => m.userId)).toEqual([o.manager]);
    expect((await list('presence=offline')).body.items.map((m: { userId: string }) => m.userId)).toEqual([o.admin]);
    const sorted = (await list('sort=lastSeen')).body.items.map((m: { userId: string; lastSeenAt: string | null }) => [m.userId, m.lastSeenAt]);
    expect(sorted.slice(0, 2).map((r: unknown[]) => r[0])).toEqual([o.manager, o.agent]);
  });

  it('revoking a member makes them offline at once (reason revoked), with their last heartbeat', async () => {
    const o = await workspace();
    const beat = await heartbeat(o, o.agent, 'online');
    await app.api.request('DELETE', `/v1/workspaces/${o.workspaceId}/members/${o.agent}`, { key: o.key, actor: o.admin });
    const log = await transitions(o, (m) => m.length >= 2);
    expect(log.map((t) => [t.status, t.reason, t.lastSeenAt])).toEqual([
      ['online', 'heartbeat', beat.body.lastSeenAt],
      ['offline', 'revoked', beat.body.lastSeenAt],
    ]);
    const revoked = await eventually(() => member(o, o.agent), (r) => r.body.lastSeenAt !== null && r.body.presence === 'offline');
    expect(revoked.body).toMatchObject({ status: 'revoked', presence: 'offline', lastSeenAt: beat.body.lastSeenAt });
  });
});

describe('rule 13: the presence report', () => {
  const today = () => new Date().toISOString().slice(0, 10);
  const report = (o: { key: string; workspaceId: string }, actor: string, query: string) =>
    app.api.request('GET', `/v1/workspaces/${o.workspaceId}/reports/presence?${query}`, { key: o.key, actor });

  it('needs the reports permission: an agent is refused, a manager reads it', async () => {
    const o = await workspace();
    expectProblem(await report(o, o.agent, `from=${today()}&to=${today()}`), 403, 'INSUFFICIENT_AUTHORITY');
    expect((await report(o, o.manager, `from=${today()}&to=${today()}`)).status).toBe(200);
  });

  it('rule 13: pages of whole days with a nextCursor; a cursor not given out for the range, or a limit out of bounds, is a 400 naming it', async () => {
    const o = await workspace();
    expect((await heartbeat(o, o.agent, 'online')).status).toBe(200);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    // the last day of the range: no cursor, whatever the limit
    const page = await report(o, o.manager, `from=${yesterday}&to=${today()}&limit=1`);
    expect(page.status).toBe(200);
    expect(page.body.nextCursor).toBeUndefined();
    const other = Buffer.from(JSON.stringify({ day: '2020-01-01', from: yesterday, to: today() })).toString('base64url');
    const refused = await report(o, o.manager, `from=${yesterday}&to=${today()}&cursor=${other}`);
    expectProblem(refused, 400, 'VALIDATION_FAILED');
    expect(refused.body.errors).toEqual([{ field: 'cursor', message: `cursor is not a nextCursor of this workspace's report from ${yesterday} to ${today()}` }]);
    // the CSV holds the whole range: paging it is refused, not ignored (probe 42b F5)
    const csv = await report(o, o.manager, `from=${yesterday}&to=${today()}&format=csv&cursor=${other}&limit=5`);
    expectProblem(csv, 400, 'VALIDATION_FAILED');
    expect(csv.body.errors.map((e: { field: string }) => e.field)).toEqual(['limit', 'cursor']);
    for (const limit of ['0', '10001', 'many']) {
      const bad = await report(o, o.manager, `from=${today()}&to=${today()}&limit=${limit}`);
      expectProblem(bad, 400, 'VALIDATION_FAILED');
      expect(bad.body.errors.map((e: { field: string }) => e.field)).toEqual(['limit']);
    }
  });

  it('rule 18: its CSV needs the export permission too: a manager restricted by data_export reads the JSON, not the CSV', async () => {
    const o = await workspace();
    const as = { key: o.key, actor: o.admin, workspaceId: o.workspaceId };
    const restricted = await app.api.member(as, `no-export-${Math.random()}@acme.test`, { roles: ['manager'], restrictions: { data_export: true } });
    expect((await report(o, restricted, `from=${today()}&to=${today()}`)).status).toBe(200);
    expectProblem(await report(o, restricted, `from=${today()}&to=${today()}&format=csv`), 403, 'INSUFFICIENT_AUTHORITY');
    const csv = await report(o, o.manager, `from=${today()}&to=${today()}&format=csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="presence-Support-\d{4}-\d{2}-\d{2}\.csv"$/);
  });

  it("rule 18: shows members' addresses only to a reader who may read the user list (rule 1): a manager restricted by workspace_settings gets the figures with email null, and no CSV", async () => {
    const o = await workspace();
    const as = { key: o.key, actor: o.admin, workspaceId: o.workspaceId };
    const noList = await app.api.member(as, `no-list-${Math.random()}@acme.test`, { roles: ['manager'], restrictions: { workspace_settings: true } });
    // a closed interval of a second or more (an open one counts only past the timeout, when the sweep closes it)
    expect((await heartbeat(o, o.agent, 'online')).status).toBe(200);
    await sleep(1300);
    expect((await heartbeat(o, o.agent, 'away')).status).toBe(200);
    const query = `from=${today()}&to=${today()}`;
    const agentRow = (r: { body: { items?: { userId: string }[] } }) => r.body.items?.find((i) => i.userId === o.agent) as Record<string, unknown> | undefined;
    const full = await eventually(() => report(o, o.manager, query), (r) => agentRow(r) !== undefined);
    expect(agentRow(full)!.email).toMatch(/^agent-.*@acme\.test$/);
    expectProblem(await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members`, { key: o.key, actor: noList }), 403, 'INSUFFICIENT_AUTHORITY');
    const masked = await report(o, noList, query);
    expect(masked.status).toBe(200);
    expect(agentRow(masked)).toMatchObject({ email: null, displayName: agentRow(full)!.displayName, deleted: false });
    expect(masked.body.items.every((i: { email: unknown }) => i.email === null)).toBe(true);
    expectProblem(await report(o, noList, `${query}&format=csv`), 403, 'INSUFFICIENT_AUTHORITY');
  });

  it('refuses dates that are not calendar days, a reversed range and more than 366 days (400)', async () => {
    const o = await workspace();
    expectProblem(await report(o, o.admin, 'from=2026-02-30&to=2026-03-01'), 400, 'VALIDATION_FAILED');
    expectProblem(await report(o, o.admin, 'from=2026-03-02&to=2026-03-01'), 400, 'VALIDATION_FAILED');
    expectProblem(await report(o, o.admin, 'from=2024-01-01&to=2026-01-01'), 400, 'VALIDATION_FAILED');
    expectProblem(await report(o, o.admin, 'from=yesterday&to=2026-01-01'), 400, 'VALIDATION_FAILED');
  });

  it('keeps a deleted user under their pseudonymous id with personal fields null (rule 12), as JSON and CSV', async () => {
    const o = await workspace();
    await heartbeat(o, o.agent, 'online');
    await sleep(1300);
    // heard from again 1.3 s later: online until then (a deletion ends the interval at the last heartbeat, as a timeout
    // does: probe 38 F10), then a pause past the leases' 1 s flush
    await heartbeat(o, o.agent, 'online');
    await sleep(1100);
    const del = await app.api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${o.agent}`, { key: o.key, actor: o.admin });
    expect(del.status).toBe(200);
    const left = (await transitionMessages(o, (m) => m.some((t) => t.data.reason === 'deleted'))).find((t) => t.data.reason === 'deleted');
    // read at the transition that closed the interval (and after the deletion): both reports then show it closed
    const atLeft = (query: string) =>
      app.api.request('GET', `/v1/workspaces/${o.workspaceId}/reports/presence?${query}`, { key: o.key, actor: o.admin, headers: { 'x-min-position': left!.id! } });
    const json = await atLeft(`from=${today()}&to=${today()}`);
    const row = json.body.items.find((i: { userId: string }) => i.userId === o.agent);
    expect(row).toMatchObject({ date: today(), userId: o.agent, email: null, displayName: null, deleted: true });
    expect(row.onlineSeconds).toBeGreaterThanOrEqual(1);
    const csv = await atLeft(`from=${today()}&to=${today()}&format=csv`);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const rows = parse(csv.body as string, { columns: true }) as Record<string, string>[];
    expect(rows.find((r) => r.user_id === o.agent)).toMatchObject({ email: '', display_name: '', deleted: 'true', online_seconds: String(row.onlineSeconds) });
  }, 20_000);
});
