// Rule 13 (docs/rules.md#presence-details): the SSE stream of presence transitions over real HTTP: one workspace's
// transitions only, resume with Last-Event-ID without loss or duplicates, tickets for EventSource.
import { type TestApp, expectProblem, startTestApp } from './support/app';
import { SseClient } from './support/presence-sse';
import { StreamTickets } from '../apps/api/src/presence/tickets';

const SECRET = 'presence-stream-e2e-secret-0123456789abcdef';
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ ROLLCALL_INVITATION_SECRET: SECRET });
});
afterAll(() => app.stop());

type Ws = { key: string; admin: string; workspaceId: string; organizationId: string };
const streamUrl = (o: { workspaceId: string }, query = '') => `${app.url}/v1/workspaces/${o.workspaceId}/presence/stream${query}`;
const asAdmin = (o: Ws, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${o.key}`, 'x-actor-id': o.admin, ...extra });
const heartbeat = (o: Ws, actor: string, status: 'online' | 'away') =>
  app.api.request('POST', `/v1/workspaces/${o.workspaceId}/presence/heartbeat`, { key: o.key, actor, body: { status } });

async function workspaceWithMembers(n: number): Promise<Ws & { members: string[] }> {
  const o = await app.api.organization();
  const members: string[] = [];
  for (let i = 0; i < n; i++) members.push(await app.api.member({ key: o.key, actor: o.admin, workspaceId: o.workspaceId }, `m${i}-${Math.random()}@acme.test`, { roles: ['agent'] }));
  return { ...o, members };
}

const open: SseClient[] = [];
const connect = async (url: string, headers: Record<string, string> = {}) => {
  const c = await SseClient.open(url, headers);
  open.push(c);
  return c;
};
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

describe('rule 13: the presence stream (server-sent events)', () => {
  it('is text/event-stream with a comment first; each transition has id = its log position and the public data', async () => {
    const o = await workspaceWithMembers(1);
    const stream = await connect(streamUrl(o), asAdmin(o));
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await stream.until((c) => c.comments.length > 0);
    const beat = await heartbeat(o, o.members[0]!, 'online');
    await stream.until((c) => c.messages.length === 1);
    expect(stream.messages[0]).toEqual({
      id: beat.body.position,
      data: { userId: o.members[0], status: 'online', previous: 'offline', reason: 'heartbeat', lastSeenAt: beat.body.lastSeenAt, at: beat.body.lastSeenAt },
    });
  });

  it('carries one workspace\'s transitions only (another workspace of the same organization, another organization)', async () => {
    const a = await workspaceWithMembers(1);
    const sameOrg = await app.api.request('POST', `/v1/organizations/${a.organizationId}/workspaces`, { key: a.key, actor: a.admin, body: { name: 'Sales' } });
    const b: Ws = { ...a, workspaceId: sameOrg.body.workspaceId };
    const c = await workspaceWithMembers(1);
    const [sa, sb, sc] = await Promise.all([connect(streamUrl(a), asAdmin(a)), connect(streamUrl(b), asAdmin(b)), connect(streamUrl(c), asAdmin(c))]);
    await heartbeat(a, a.members[0]!, 'online');
    await heartbeat(b, b.admin, 'away');
    await heartbeat(c, c.members[0]!, 'online');
    await Promise.all([sa.until((s) => s.messages.length >= 1), sb.until((s) => s.messages.length >= 1), sc.until((s) => s.messages.length >= 1)]);
    // a last transition in each, so that anything misrouted would have arrived before it
    await heartbeat(a, a.members[0]!, 'away');
    await heartbeat(b, b.admin, 'online');
    await heartbeat(c, c.members[0]!, 'away');
    await Promise.all([sa.until((s) => s.messages.length >= 2), sb.until((s) => s.messages.length >= 2), sc.until((s) => s.messages.length >= 2)]);
    expect(sa.messages.map((m) => [m.data.userId, m.data.status])).toEqual([[a.members[0], 'online'], [a.members[0], 'away']]);
    expect(sb.messages.map((m) => [m.data.userId, m.data.status])).toEqual([[a.admin, 'away'], [a.admin, 'online']]);
    expect(sc.messages.map((m) => [m.data.userId, m.data.status])).toEqual([[c.members[0], 'online'], [c.members[0], 'away']]);
  });

  it('resumes after Last-Event-ID (header or lastEventId query) without loss or duplicates, while transitions keep coming', async () => {
    const o = await workspaceWithMembers(6);
    const first = await connect(streamUrl(o), asAdmin(o));
    await first.until((c) => c.comments.length > 0);
    // 6 users flip between online and away, 8 times each, concurrently; the client reconnects in the middle
    const flips = Promise.all(
      o.members.map(async (user, i) => {
        for (let k = 0; k < 8; k++) await heartbeat(o, user, (k + i) % 2 === 0 ? 'online' : 'away');
      }),
    );
    await first.until((c) => c.messages.length >= 10);
    first.close();
    const lastId = first.messages[first.messages.length - 1]!.id!;
    const second = await connect(streamUrl(o), asAdmin(o, { 'last-event-id': lastId }));
    await flips;
    const total = o.members.length * 8;
    await second.until((c) => first.messages.length + c.messages.length >= total, 10_000);
    const ids = [...first.messages, ...second.messages].map((m) => BigInt(m.id!));
    expect(new Set(ids).size).toBe(ids.length); // no duplicates
    expect([...ids].sort((x, y) => (x < y ? -1 : 1))).toEqual(ids); // in log order
    // nothing lost: the same as reading the whole workspace from the start, by the query parameter
    const all = await connect(streamUrl(o, '?lastEventId=0'), asAdmin(o));
    await all.until((c) => c.messages.length >= total);
    expect(all.messages.map((m) => BigInt(m.id!))).toEqual(ids);
  }, 30_000);

  it('refuses without credentials (401), a reader without the user-list authority (403), a Last-Event-ID the log has not reached (400)', async () => {
    const o = await workspaceWithMembers(1);
    const none = await connect(streamUrl(o));
    expect(none.status).toBe(401);
    expect(none.problem.code).toBe('UNAUTHENTICATED');
    const agent = await connect(streamUrl(o), { authorization: `Bearer ${o.key}`, 'x-actor-id': o.members[0]! });
    expect([agent.status, agent.problem.code]).toEqual([403, 'INSUFFICIENT_AUTHORITY']);
    const ahead = await connect(streamUrl(o), asAdmin(o, { 'last-event-id': '999999999999' }));
    expect([ahead.status, ahead.problem.code]).toEqual([400, 'VALIDATION_FAILED']);
    const junk = await connect(streamUrl(o, '?lastEventId=abc'), asAdmin(o));
    expect([junk.status, junk.problem.code]).toEqual([400, 'VALIDATION_FAILED']);
    // each refusal names what the client sent, the header or the query's field, whatever the value (probe 117 F5)
    const fields = async (url: string, headers: Record<string, string>) => ((await connect(url, headers)).problem.errors as { field: string }[]).map((e) => e.field);
    expect(await fields(streamUrl(o), asAdmin(o, { 'last-event-id': '999999999999' }))).toEqual(['Last-Event-ID']);
    expect(await fields(streamUrl(o, '?lastEventId=999999999999'), asAdmin(o))).toEqual(['lastEventId']);
    expect(await fields(streamUrl(o, '?lastEventId=abc'), asAdmin(o))).toEqual(['lastEventId']);
    // both sent: the header wins, and only it is checked (probe 118 F6: a malformed query was refused beside it)
    expect(await fields(streamUrl(o, '?lastEventId=abc'), asAdmin(o, { 'last-event-id': 'xyz' }))).toEqual(['Last-Event-ID']);
    expect((await connect(streamUrl(o, '?lastEventId=abc'), asAdmin(o, { 'last-event-id': '0' }))).status).toBe(200);
  });

  it("HEAD answers the stream's status and headers at once, and ends (probe 36 F2: it hung); refused as GET is", async () => {
    const o = await workspaceWithMembers(1);
    const head = await fetch(streamUrl(o), { method: 'HEAD', headers: asAdmin(o), signal: AbortSignal.timeout(5_000) });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toMatch(/^text\/event-stream/);
    // who is online is no one's to keep: no cache stores the stream (probe 36)
    expect(head.headers.get('cache-control')).toBe('no-store, no-transform');
    // what every answer carries, the stream too (probe 38b F1: it wrote its head past the hooks that set them)
    expect(head.headers.get('x-content-type-options')).toBe('nosniff');
    expect(head.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await head.text()).toBe('');
    const refused = await fetch(streamUrl(o), { method: 'HEAD', headers: { authorization: `Bearer ${o.key}`, 'x-actor-id': o.members[0]! }, signal: AbortSignal.timeout(5_000) });
    expect(refused.status).toBe(403);
  });
});

describe('rule 1: an open stream ends when its reader loses the authority to read the workspace', () => {
  it.each([
    ['demoted to agent', (o: Ws, m: string) => app.api.request('PATCH', `/v1/workspaces/${o.workspaceId}/members/${m}/access`, { key: o.key, actor: o.admin, body: { roles: ['agent'] } })],
    ['restricted from the user settings', (o: Ws, m: string) => app.api.request('PATCH', `/v1/workspaces/${o.workspaceId}/members/${m}/access`, { key: o.key, actor: o.admin, body: { restrictions: { workspace_settings: true } } })],
    ['revoked', (o: Ws, m: string) => app.api.request('DELETE', `/v1/workspaces/${o.workspaceId}/members/${m}`, { key: o.key, actor: o.admin, body: {} })],
    ['deleted from the organization', (o: Ws, m: string) => app.api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${m}`, { key: o.key, actor: o.admin })],
  ])('%s: the stream ends and a transition after it is not sent; another manager\'s stream goes on', async (_, change) => {
    const o = await workspaceWithMembers(1);
    const asManager = async (email: string) => app.api.member({ key: o.key, actor: o.admin, workspaceId: o.workspaceId }, email, { roles: ['manager'] });
    const [losing, keeping] = [await asManager(`lose-${Math.random()}@acme.test`), await asManager(`keep-${Math.random()}@acme.test`)];
    const ticket = async (actor: string) =>
      (await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/presence/stream-tickets`, { key: o.key, actor })).body.ticket as string;
    const lost = await connect(streamUrl(o, `?ticket=${encodeURIComponent(await ticket(losing))}`));
    const kept = await connect(streamUrl(o, `?ticket=${encodeURIComponent(await ticket(keeping))}`));
    await Promise.all([lost.until((c) => c.comments.length > 0), kept.until((c) => c.comments.length > 0)]);
    expect((await change(o, losing)).status).toBe(200);
    await lost.whenEnded();
    await heartbeat(o, o.members[0]!, 'online');
    await kept.until((c) => c.messages.length === 1);
    expect(lost.messages).toEqual([]);
    expect(kept.hasEnded).toBe(false);
  });
});

describe('rule 5: an org admin reads every workspace\'s stream; no longer one, their open stream ends', () => {
  it('made an org admin, a user of another workspace opens this one\'s stream; the admin taking it away ends it, and no transition after it is sent', async () => {
    const o = await workspaceWithMembers(1);
    const other = (await app.api.request('POST', `/v1/organizations/${o.organizationId}/workspaces`, { key: o.key, actor: o.admin, body: { name: 'Other' } })).body.workspaceId as string;
    const outsider = await app.api.member({ key: o.key, actor: o.admin, workspaceId: other }, `out-${Math.random()}@acme.test`, { roles: ['agent'] });
    const ticket = (actor: string) => app.api.request('POST', `/v1/workspaces/${o.workspaceId}/presence/stream-tickets`, { key: o.key, actor });
    const orgAdmin = (method: 'PUT' | 'DELETE') => app.api.request(method, `/v1/organizations/${o.organizationId}/users/${outsider}/org-admin`, { key: o.key, actor: o.admin });
    expectProblem(await ticket(outsider), 403, 'INSUFFICIENT_AUTHORITY');
    expect((await orgAdmin('PUT')).status).toBe(200);
    const stream = await connect(streamUrl(o, `?ticket=${encodeURIComponent((await ticket(outsider)).body.ticket as string)}`));
    await stream.until((c) => c.comments.length > 0);
    // review, session 26: the feed did not follow OrgAdminChanged, so the stream went on
    expect((await orgAdmin('DELETE')).status).toBe(200);
    await stream.whenEnded();
    await heartbeat(o, o.members[0]!, 'online');
    expect(stream.messages).toEqual([]);
  });
});

describe('rule 13: stream tickets for EventSource', () => {
  const ticketFor = (o: Ws, actor: string) => app.api.request('POST', `/v1/workspaces/${o.workspaceId}/presence/stream-tickets`, { key: o.key, actor });

  it('a ticket (same authority as the user list, valid 60 s) opens the stream with ?ticket= alone', async () => {
    const o = await workspaceWithMembers(1);
    expectProblem(await ticketFor(o, o.members[0]!), 403, 'INSUFFICIENT_AUTHORITY');
    const issued = await ticketFor(o, o.admin);
    expect(issued.status).toBe(201);
    expect(Date.parse(issued.body.expiresAt) - Date.now()).toBeGreaterThan(55_000);
    expect(Date.parse(issued.body.expiresAt) - Date.now()).toBeLessThanOrEqual(60_000);
    const stream = await connect(streamUrl(o, `?ticket=${encodeURIComponent(issued.body.ticket)}`));
    expect(stream.status).toBe(200);
    expect(stream.headers.get('access-control-allow-origin')).toBe('*');
    await heartbeat(o, o.members[0]!, 'online');
    await stream.until((c) => c.messages.length === 1);
    expect(stream.messages[0]!.data).toMatchObject({ userId: o.members[0], status: 'online' });
  });

  it('refuses forged, expired and another workspace\'s tickets (401)', async () => {
    const o = await workspaceWithMembers(0);
    const other = await workspaceWithMembers(0);
    const { ticket } = (await ticketFor(o, o.admin)).body as { ticket: string };
    const [payload, signature] = ticket.split('.') as [string, string];
    const forgedPayload = Buffer.from(Buffer.from(payload, 'base64url').toString().replace(o.workspaceId, other.workspaceId)).toString('base64url');
    const flipped = `${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
    const keyId = o.key.split('_')[2]!;
    const expired = new StreamTickets(SECRET).issue({ organizationId: o.organizationId, workspaceId: o.workspaceId, actorId: o.admin, keyId }, Date.now() - 61_000).ticket;
    const cases: [string, string][] = [
      [o.workspaceId, `${forgedPayload}.${signature}`], // another workspace written into the payload
      [o.workspaceId, flipped], // a signature that is not the server's
      [o.workspaceId, expired], // signed by the server, 61 s ago
      [other.workspaceId, ticket], // a valid ticket of another workspace
      [o.workspaceId, 'not-a-ticket'],
    ];
    for (const [ws, t] of cases) {
      const refused = await connect(streamUrl({ workspaceId: ws }, `?ticket=${encodeURIComponent(t)}`));
      expect([refused.status, refused.problem?.code]).toEqual([401, 'UNAUTHENTICATED']);
    }
    const fresh = new StreamTickets(SECRET).issue({ organizationId: o.organizationId, workspaceId: o.workspaceId, actorId: o.admin, keyId }, Date.now()).ticket;
    expect((await connect(streamUrl(o, `?ticket=${encodeURIComponent(fresh)}`))).status).toBe(200);
  });

  it("rule 13: a revoked API key's streams end, and a ticket taken with it opens none (probe 83 F2); the organization's other keys' streams go on", async () => {
    const o = await workspaceWithMembers(1);
    const issued = await app.api.request('POST', `/v1/organizations/${o.organizationId}/api-keys`, { key: o.key, actor: o.admin, body: { label: 'Temp console' } });
    expect(issued.status).toBe(201);
    const temp: Ws = { ...o, key: issued.body.apiKey };
    const ticket = (await ticketFor(temp, o.admin)).body.ticket as string;
    const [byKey, byTicket, other] = await Promise.all([
      connect(streamUrl(o), asAdmin(temp)),
      connect(streamUrl(o, `?ticket=${encodeURIComponent((await ticketFor(temp, o.admin)).body.ticket)}`)),
      connect(streamUrl(o), asAdmin(o)),
    ]);
    expect([byKey.status, byTicket.status, other.status]).toEqual([200, 200, 200]);
    expect((await app.api.request('DELETE', `/v1/organizations/${o.organizationId}/api-keys/${issued.body.keyId}`, { key: o.key, actor: o.admin })).status).toBe(200);
    await Promise.all([byKey.whenEnded(), byTicket.whenEnded()]);
    // a ticket taken before the revocation, within its 60 seconds
    const late = await connect(streamUrl(o, `?ticket=${encodeURIComponent(ticket)}`));
    expect([late.status, late.problem?.code]).toEqual([401, 'UNAUTHENTICATED']);
    // the organization's first key: its stream still delivers
    await heartbeat(o, o.members[0]!, 'online');
    await other.until((c) => c.messages.length === 1);
    expect(other.hasEnded).toBe(false);
  });
});
