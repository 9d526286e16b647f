// Structured logs of the real app over HTTP: the log lines are captured through startApp's log destination.
import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ClientProxyFactory, Transport } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import type { EventStore, RecordedEvent } from '@rollcall/event-store';
import { loadConfig } from '../apps/api/src/config';
import { type RunningApp, startApp } from '../apps/api/src/bootstrap';
import { createLogger } from '../apps/api/src/logging';
import { EVENT_STORE } from '../apps/api/src/shared/tokens';
import { Api, SYSTEM_KEY, tokenOf } from './support/app';

/** A destination that keeps every line written to it. */
const capture = () => {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { stream, lines, text: () => lines.join('\n') };
};

const logs = capture();
let running: RunningApp;
let api: Api;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'rollcall-logging-'));
  const config = loadConfig({
    PORT: '0',
    ROLLCALL_TCP_PORT: '0',
    ROLLCALL_DATA_DIR: dataDir,
    ROLLCALL_SYSTEM_API_KEY: SYSTEM_KEY,
    ROLLCALL_PUBLIC_URL: 'https://console.acme.test',
    ROLLCALL_DURABILITY: 'normal',
    LOG_LEVEL: 'info',
  });
  running = await startApp(config, logs.stream);
  api = new Api(running.url);
});
afterAll(async () => {
  await running.close();
  rmSync(dataDir, { recursive: true, force: true });
});

type Line = Record<string, unknown>;
const parsed = (): Line[] => logs.lines.map((l) => JSON.parse(l) as Line);

/** The lines logged in the request `id`, once its request line is there (it is written when the response finishes). */
async function linesOf(id: string): Promise<Line[]> {
  const deadline = Date.now() + 5000;
  while (!parsed().some((l) => l.requestId === id && l.durationMs !== undefined)) {
    if (Date.now() > deadline) throw new Error(`no request line for ${id}:\n${logs.text()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, 50)); // a second line, if any, would be here by now
  return parsed().filter((l) => l.requestId === id);
}

const eventsOf = async (stream: string) => {
  const out: RecordedEvent[] = [];
  for await (const e of running.app.get<EventStore>(EVENT_STORE).readStream(stream)) out.push(e);
  return out;
};

const newOrganization = async (requestId: string) => {
  const org = await api.request('POST', '/v1/organizations', {
    key: SYSTEM_KEY,
    headers: { 'x-request-id': requestId },
    body: { name: 'Acme', admin: { email: `admin-${requestId}@acme.test`, displayName: 'Ada Admin' } },
  });
  expect(org.status).toBe(201);
  return org;
};

describe('structured logs (JSON lines through pino)', () => {
  it('every line is JSON; a request is exactly one line with method, route, url, status, durationMs and its request id', async () => {
    const org = await newOrganization('logging-req-1');
    expect(org.headers.get('x-request-id')).toBe('logging-req-1');
    const lines = await linesOf('logging-req-1');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      name: 'api',
      requestId: 'logging-req-1',
      method: 'POST',
      route: '/v1/organizations',
      url: '/v1/organizations',
      status: 201,
      durationMs: expect.any(Number),
    });

    // the route is the matched pattern, the url the path asked for
    const { organizationId, apiKey, adminUserId } = org.body;
    // who made it: the system key (probe 69 F9)
    expect(lines[0]).toMatchObject({ keyId: 'system' });
    const ws = await api.request('POST', `/v1/organizations/${organizationId}/workspaces`, { key: apiKey, actor: adminUserId, body: { name: 'Support' } });
    const members = await api.request('GET', `/v1/workspaces/${ws.body.workspaceId}/members`, { key: apiKey, actor: adminUserId });
    expect(members.status).toBe(200);
    const [line] = await linesOf(members.headers.get('x-request-id')!);
    expect(line).toMatchObject({ method: 'GET', route: '/v1/workspaces/:ws/members', url: `/v1/workspaces/${ws.body.workspaceId}/members`, status: 200 });

    expect(() => parsed()).not.toThrow();
  });

  it('a request without a sane X-Request-Id gets a new UUID, echoed; one refused before routing has its line too (route null)', async () => {
    for (const given of [undefined, 'has spaces', 'x'.repeat(129), 'naïve']) {
      const reply = await api.request('POST', '/v1/invitations/accept', {
        raw: '{}',
        headers: { 'content-type': 'application/json; charset=latin1', ...(given === undefined ? {} : { 'x-request-id': given }) },
      });
      expect(reply.status).toBe(415);
      const id = reply.headers.get('x-request-id')!;
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      // with the problem's code, in the record and the message (probe 95 F5: the status alone)
      expect(await linesOf(id)).toEqual([expect.objectContaining({ level: 'warn', method: 'POST', route: null, status: 415, code: reply.body.code, msg: `POST /v1/invitations/accept 415 ${reply.body.code}` })]);
    }
    const unknown = await api.request('GET', '/no-such-route', { headers: { 'x-request-id': 'logging-404' } });
    expect(unknown.status).toBe(404);
    expect(await linesOf('logging-404')).toEqual([expect.objectContaining({ level: 'warn', route: null, url: '/no-such-route', status: 404, code: unknown.body.code })]);
    // an empty id matched no route either (http-app.ts)
    expect((await api.request('GET', '/v1/workspaces//members', { headers: { 'x-request-id': 'logging-404-empty' } })).status).toBe(404);
    expect(await linesOf('logging-404-empty')).toEqual([expect.objectContaining({ level: 'warn', route: null, url: '/v1/workspaces//members', status: 404 })]);
  });

  it('the presence stream\'s line names who opened it, by key or by ticket, as the other lines do (probe 96 F5: nobody)', async () => {
    const org = await newOrganization('logging-stream-org');
    const { apiKey: key, adminUserId: admin, organizationId } = org.body;
    const ws = await api.request('POST', `/v1/organizations/${organizationId}/workspaces`, { key, actor: admin, body: { name: 'Support' } });
    const stream = `/v1/workspaces/${ws.body.workspaceId}/presence/stream`;
    // HEAD: the stream's status and headers, and the answer ends (its line is written then)
    const byKey = await fetch(`${api.url}${stream}`, { method: 'HEAD', headers: { authorization: `Bearer ${key}`, 'x-actor-id': admin, 'x-request-id': 'logging-stream-key' } });
    expect(byKey.status).toBe(200);
    const ticket = await api.request('POST', `/v1/workspaces/${ws.body.workspaceId}/presence/stream-tickets`, { key, actor: admin });
    const byTicket = await fetch(`${api.url}${stream}?ticket=${encodeURIComponent(ticket.body.ticket)}`, { method: 'HEAD', headers: { 'x-request-id': 'logging-stream-ticket' } });
    expect(byTicket.status).toBe(200);
    for (const id of ['logging-stream-key', 'logging-stream-ticket'])
      expect((await linesOf(id)).filter((l) => l.durationMs !== undefined)).toEqual([expect.objectContaining({ route: '/v1/workspaces/:ws/presence/stream', organizationId, keyId: expect.any(String), actorId: admin })]);
  });

  it('probe 108 F3: a heartbeat that changed nothing has no info line (debug: most of the traffic); one that changed the status has', async () => {
    const org = await newOrganization('logging-heartbeat-org');
    const { apiKey: key, adminUserId: admin, organizationId } = org.body;
    const ws = await api.request('POST', `/v1/organizations/${organizationId}/workspaces`, { key, actor: admin, body: { name: 'Support' } });
    const beat = (id: string) => api.request('POST', `/v1/workspaces/${ws.body.workspaceId}/presence/heartbeat`, { key, actor: admin, headers: { 'x-request-id': id }, body: { status: 'online' } });
    expect((await beat('logging-heartbeat-changed')).body.changed).toBe(true);
    expect((await beat('logging-heartbeat-same')).body.changed).toBe(false);
    expect((await beat('logging-heartbeat-after')).body.changed).toBe(false);
    // the first one's line is there; by the time a request sent after the second one answered, the second one has none
    expect((await linesOf('logging-heartbeat-changed')).filter((l) => l.durationMs !== undefined)).toEqual([expect.objectContaining({ level: 'info', status: 200, route: '/v1/workspaces/:ws/presence/heartbeat' })]);
    const other = await api.request('GET', `/v1/organizations/${organizationId}/workspaces`, { key, actor: admin, headers: { 'x-request-id': 'logging-heartbeat-next' } });
    expect(other.status).toBe(200);
    await linesOf('logging-heartbeat-next');
    expect(parsed().filter((l) => l.requestId === 'logging-heartbeat-same' || l.requestId === 'logging-heartbeat-after')).toEqual([]);
  });

  it("a line logged by a handler (a Logger of the app) while it answers carries the request's id", async () => {
    const org = await newOrganization('logging-in-handler-org');
    const { organizationId, apiKey, adminUserId } = org.body;
    const ws = await api.request('POST', `/v1/organizations/${organizationId}/workspaces`, { key: apiKey, actor: adminUserId, body: { name: 'Support' } });
    const invited = await api.request('POST', `/v1/workspaces/${ws.body.workspaceId}/invitations`, {
      key: apiKey,
      actor: adminUserId,
      headers: { 'x-request-id': 'logging-in-handler' },
      body: { email: 'in.handler@acme.test' },
    });
    expect(invited.status).toBe(201);
    // the mail is handed over before the answer (ADR 0018): its line is one of the request's, beside the request line
    expect(await linesOf('logging-in-handler')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ context: 'InvitationMailer', msg: 'invitation email written to the outbox', requestId: 'logging-in-handler' }),
        expect.objectContaining({ route: '/v1/workspaces/:ws/invitations', status: 201, requestId: 'logging-in-handler' }),
      ]),
    );
  });

  it("the request id is the correlationId in the metadata of every event the request appended (org and workspace streams)", async () => {
    const org = await newOrganization('logging-corr-org');
    const created = await eventsOf(`organization-${org.body.organizationId}`);
    expect(created.map((e) => e.type)).toEqual(expect.arrayContaining(['OrganizationCreated', 'UserJoinedOrganization']));
    for (const e of created) expect(e.metadata.correlationId).toBe('logging-corr-org');

    const { organizationId, apiKey, adminUserId } = org.body;
    const ws = await api.request('POST', `/v1/organizations/${organizationId}/workspaces`, { key: apiKey, actor: adminUserId, body: { name: 'Support' } });
    const wsCorrelation = ws.headers.get('x-request-id')!;
    const invited = await api.request('POST', `/v1/workspaces/${ws.body.workspaceId}/invitations`, {
      key: apiKey,
      actor: adminUserId,
      headers: { 'x-request-id': 'logging-corr-invite' },
      body: { email: 'logging.invitee@acme.test' },
    });
    expect(invited.status).toBe(201);
    const events = [...(await eventsOf(`organization-${organizationId}`)), ...(await eventsOf(`workspace-${ws.body.workspaceId}`))];
    const correlationsOf = (type: string) => events.filter((e) => e.type === type).map((e) => e.metadata.correlationId);
    // a generated id (no X-Request-Id sent) is the correlation id too
    expect(correlationsOf('WorkspaceCreated')).toEqual([wsCorrelation]);
    expect(correlationsOf('UserInvited')).toEqual(['logging-corr-invite']);
    // and the request's line carries the same id
    expect(await linesOf('logging-corr-invite')).toContainEqual(expect.objectContaining({ route: '/v1/workspaces/:ws/invitations', status: 201 }));
  });

  it("rule 12: an X-Request-Id holding an '@' (an address) is replaced by a new UUID: no address reaches the events' metadata or a log line", async () => {
    const org = await newOrganization('logging-corr-address');
    const { organizationId, apiKey, adminUserId } = org.body;
    const given = 'leaky.person@secret.test';
    const ws = await api.request('POST', `/v1/organizations/${organizationId}/workspaces`, { key: apiKey, actor: adminUserId, headers: { 'x-request-id': given }, body: { name: 'Support' } });
    expect(ws.status).toBe(201);
    const id = ws.headers.get('x-request-id')!;
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const created = (await eventsOf(`organization-${organizationId}`)).filter((e) => e.type === 'WorkspaceCreated');
    expect(created.map((e) => e.metadata.correlationId)).toEqual([id]);
    expect(await linesOf(id)).toContainEqual(expect.objectContaining({ route: '/v1/organizations/:org/workspaces', status: 201 }));
    expect(logs.text()).not.toContain(given);
  });

  it('no API key, Authorization header, link token or invitee address reaches the log output', async () => {
    const org = await newOrganization('logging-secrets');
    const { organizationId, apiKey, adminUserId } = org.body;
    const ws = await api.request('POST', `/v1/organizations/${organizationId}/workspaces`, { key: apiKey, actor: adminUserId, body: { name: 'Support' } });
    const invited = await api.request('POST', `/v1/workspaces/${ws.body.workspaceId}/invitations`, {
      key: apiKey,
      actor: adminUserId,
      body: { email: 'secret.invitee@acme.test' },
    });
    const token = tokenOf(invited.body.inviteUrl);
    const accepted = await api.request('POST', '/v1/invitations/accept', { headers: { 'x-request-id': 'logging-accept' }, body: { token } });
    expect(accepted.status).toBe(200);
    // a token in a URL: the path is logged, the token is not
    await api.request('GET', `/v1/workspaces/${ws.body.workspaceId}/members?token=${token}&ticket=${token}`, { key: apiKey, actor: adminUserId, headers: { 'x-request-id': 'logging-url-token' } });
    const [line] = await linesOf('logging-url-token');
    expect(line!.url).toBe(`/v1/workspaces/${ws.body.workspaceId}/members?token=[Redacted]&ticket=[Redacted]`);
    // a search and a page's cursor hold an address or a name (the cursor carries the sort value): not logged either
    const page = await api.request('GET', `/v1/workspaces/${ws.body.workspaceId}/members?sort=email&limit=1`, {
      key: apiKey,
      actor: adminUserId,
      // the two members once the acceptance is projected (without it, a CI under load read one: no next page)
      headers: { 'x-min-position': String(accepted.body.position) },
    });
    expect(page.body.nextCursor).toEqual(expect.any(String));
    await api.request('GET', `/v1/workspaces/${ws.body.workspaceId}/members?q=secret.invitee%40acme.test&sort=email&limit=1&cursor=${encodeURIComponent(page.body.nextCursor)}`, {
      key: apiKey,
      actor: adminUserId,
      headers: { 'x-request-id': 'logging-url-search' },
    });
    const [search] = await linesOf('logging-url-search');
    expect(search!.url).toBe(`/v1/workspaces/${ws.body.workspaceId}/members?q=[Redacted]&sort=email&limit=1&cursor=[Redacted]`);
    // a key or an address where none belongs, in a query parameter or a path (black-box probe 8): not logged
    await api.request('GET', `/v1/workspaces/${ws.body.workspaceId}/members?api_key=${apiKey}&limit=5`, { key: apiKey, actor: adminUserId, headers: { 'x-request-id': 'logging-url-key' } });
    const [keyLine] = await linesOf('logging-url-key');
    expect(keyLine!.url).toBe(`/v1/workspaces/${ws.body.workspaceId}/members?api_key=[Redacted]&limit=5`);
    await api.request('GET', '/v1/workspaces/secret.invitee@acme.test/members', { key: apiKey, actor: adminUserId, headers: { 'x-request-id': 'logging-path-address' } });
    await api.request('GET', `/no/such/${apiKey}/route`, { headers: { 'x-request-id': 'logging-path-key' } });
    expect([...(await linesOf('logging-path-address')), ...(await linesOf('logging-path-key'))].map((l) => l.url)).toEqual(['/v1/workspaces/[Redacted]/members', '/no/such/[Redacted]/route']);
    // wrong keys are not logged either
    await api.request('GET', `/v1/workspaces/${ws.body.workspaceId}/members`, { key: 'rk_wrong-key-0123456789abcdef', actor: adminUserId, headers: { 'x-request-id': 'logging-401' } });
    expect(await linesOf('logging-401')).toEqual([expect.objectContaining({ status: 401, level: 'warn', code: 'UNAUTHENTICATED' })]);
    await linesOf('logging-accept');

    const output = logs.text();
    // the outbox mailer logged the invitation (without link nor address)
    expect(parsed()).toContainEqual(expect.objectContaining({ context: 'InvitationMailer', msg: 'invitation email written to the outbox' }));
    for (const secret of [SYSTEM_KEY, apiKey, token, 'rk_wrong-key-0123456789abcdef', 'secret.invitee@acme.test', 'Bearer '])
      expect({ secret, found: output.includes(secret) }).toEqual({ secret, found: false });
  });

  it('a message-pattern command is one line too: requestId (its correlationId, else a UUID) is the events\' correlation id; a refusal is warn with its code, no payload', async () => {
    const client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port: running.tcpPort } });
    await client.connect();
    try {
      const send = <T = any>(pattern: string, data: object) => lastValueFrom(client.send<T>(pattern, data));
      const org = await send('organizations.create', {
        apiKey: SYSTEM_KEY,
        correlationId: 'logging-msg-org',
        name: 'Acme',
        admin: { email: 'message.admin@acme.test', displayName: 'Ada Admin' },
      });
      const lines = await linesOf('logging-msg-org');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 'info', requestId: 'logging-msg-org', status: 200, msg: 'message organizations.create ok', keyId: 'system' });
      expect(lines[0]!.durationMs).toEqual(expect.any(Number));
      for (const e of await eventsOf(`organization-${org.organizationId}`)) expect(e.metadata.correlationId).toBe('logging-msg-org');

      // no correlationId: a generated one, in the line and in the events
      const ws = await send('workspaces.create', { apiKey: org.apiKey, actorId: org.adminUserId, organizationId: org.organizationId, name: 'Support' });
      const streams = [...(await eventsOf(`organization-${org.organizationId}`)), ...(await eventsOf(`workspace-${ws.workspaceId}`))];
      const [created] = streams.filter((e) => e.type === 'WorkspaceCreated');
      const generated = created!.metadata.correlationId as string;
      expect(generated).toMatch(/^[0-9a-f-]{36}$/);
      // who sent it, as an HTTP request's line says (probe 70 F2): the organization, the key's id, the acting user
      const keys = await send<{ items: { keyId: string }[] }>('apiKeys.list', { apiKey: org.apiKey, actorId: org.adminUserId, organizationId: org.organizationId });
      expect(await linesOf(generated)).toEqual([
        expect.objectContaining({ level: 'info', status: 200, msg: 'message workspaces.create ok', organizationId: org.organizationId, keyId: keys.items[0]!.keyId, actorId: org.adminUserId }),
      ]);

      // a correlationId longer than 128 characters is replaced by a new UUID, as X-Request-Id is (it was refused)
      const long = 'c'.repeat(200);
      const second = await send('workspaces.create', { apiKey: org.apiKey, actorId: org.adminUserId, organizationId: org.organizationId, name: 'Sales', correlationId: long });
      const replaced = (await eventsOf(`organization-${org.organizationId}`)).find((e) => e.type === 'WorkspaceCreated' && (e.data as { workspaceId: string }).workspaceId === second.workspaceId);
      expect(replaced!.metadata.correlationId).toMatch(/^[0-9a-f-]{36}$/);
      // one holding an '@' (an address) too: the log keeps it for good (rule 12)
      const third = await send('workspaces.create', { apiKey: org.apiKey, actorId: org.adminUserId, organizationId: org.organizationId, name: 'Billing', correlationId: 'msg.person@secret.test' });
      const addressless = (await eventsOf(`organization-${org.organizationId}`)).find((e) => e.type === 'WorkspaceCreated' && (e.data as { workspaceId: string }).workspaceId === third.workspaceId);
      expect(addressless!.metadata.correlationId).toMatch(/^[0-9a-f-]{36}$/);
      expect(logs.text()).not.toContain('msg.person@secret.test');

      // refused: warn, the problem's status and code, no stack, and neither the key nor the payload
      await expect(send('workspaces.create', { apiKey: 'rk_wrong-message-key-0123456789', correlationId: 'logging-msg-401', organizationId: org.organizationId, name: 'X' })).rejects.toMatchObject({ status: 401 });
      const [refused] = await linesOf('logging-msg-401');
      expect(refused).toMatchObject({ level: 'warn', status: 401, msg: expect.stringMatching(/^message workspaces\.create 401 /) });
      expect(refused!.err).toBeUndefined();
      expect(logs.text()).not.toContain('rk_wrong-message-key-0123456789');
      expect(logs.text()).not.toContain('message.admin@acme.test');

      // a pattern no handler serves: one warning line too, without the pattern asked for (probe 37 F7: none)
      const before = logs.lines.length;
      await expect(send('scan.victim@secret.test', { apiKey: org.apiKey })).rejects.toMatchObject({ status: 404, code: 'UNKNOWN_PATTERN' });
      const scanned = logs.lines.slice(before).map((l) => JSON.parse(l) as Line);
      expect(scanned).toEqual([expect.objectContaining({ level: 'warn', msg: 'tcp message refused before a handler: 404 UNKNOWN_PATTERN' })]);
      expect(logs.text()).not.toContain('victim@secret.test');

      // a wrong-key loop over message patterns is sampled as HTTP's is (probe 63 F3): at most 20 lines per 10 s
      for (let i = 0; i < 30; i++)
        await expect(send('workspaces.create', { apiKey: 'rk_wrong-message-key-0123456789', correlationId: `flood-${i}`, organizationId: org.organizationId, name: 'X' })).rejects.toMatchObject({ status: 401 });
      await new Promise((r) => setTimeout(r, 50));
      const flooded = parsed().filter((l) => typeof l.requestId === 'string' && l.requestId.startsWith('flood-'));
      expect(flooded.length).toBeGreaterThan(0);
      expect(flooded.length).toBeLessThanOrEqual(20);
    } finally {
      await client.close();
    }
  });

  it('a TCP frame that is no message is one warning line without a stack, not an error per frame (probe 30)', async () => {
    const before = logs.lines.length;
    const socket = connect(running.tcpPort, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write('12#{"not json"}');
    await closed;
    const deadline = Date.now() + 2000;
    while (logs.lines.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const lines = logs.lines.slice(before).map((l) => JSON.parse(l) as Line & { err?: unknown });
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', msg: expect.stringContaining('tcp frame refused') })]);
    expect(lines[0]!.err).toBeUndefined();
  });

  it("Nest's own lines (buffered during start, then startup and route mapping) go through pino", () => {
    expect(parsed()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ context: 'InstanceLoader', level: 'info' }),
        expect.objectContaining({ context: 'RouterExplorer', msg: 'Mapped {/v1/organizations, POST} route' }),
        expect.objectContaining({ context: 'NestApplication', msg: 'Nest application successfully started' }),
      ]),
    );
  });
});

describe('the logger (createLogger)', () => {
  it('redacts secret fields of any logged object and link tokens or bearer credentials in messages', () => {
    const out = capture();
    const log = createLogger('api', { level: 'info', format: 'json' }, out.stream);
    log.info(
      { apiKey: 'k1-secret', headers: { authorization: 'Bearer h1-secret' }, req: { headers: { authorization: 'Basic b1-secret' } }, body: { apiKey: 'k2-secret', token: 't1-secret' } },
      'see https://console.acme.test/invite?token=t2-secret and Bearer h2-secret',
    );
    expect(out.lines).toHaveLength(1);
    expect(out.text()).not.toMatch(/secret/);
    expect(JSON.parse(out.lines[0]!)).toMatchObject({
      apiKey: '[Redacted]',
      headers: { authorization: '[Redacted]' },
      req: { headers: { authorization: '[Redacted]' } },
      body: { apiKey: '[Redacted]', token: '[Redacted]' },
      msg: 'see https://console.acme.test/invite?token=[Redacted] and Bearer [Redacted]',
    });
  });

  it('LOG_FORMAT=pretty writes human-readable lines, not JSON; LOG_LEVEL filters', async () => {
    const out = capture();
    const log = createLogger('api', { level: 'warn', format: 'pretty' }, out.stream);
    log.info({ context: 'Test' }, 'not shown');
    log.warn({ context: 'Test' }, 'shown');
    await new Promise((r) => setImmediate(r));
    expect(out.lines).toHaveLength(1);
    expect(out.lines[0]).toMatch(/WARN \(api\): \[Test\] shown$/);
    expect(() => JSON.parse(out.lines[0]!)).toThrow();
  });
});
