import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { SYSTEM_KEY, type TestApp, expectProblem, startTestApp, tokenOf } from './support/app';

/**
 * Inputs found by a black-box probe that once gave a 500, were accepted when they should not be, or leaked
 * something: every refusal is RFC 9457 problem+json with a stable code, never a 500.
 */
const METRICS_TOKEN = 'metrics-token-for-the-e2e-probe-0123';
const TTL_SECONDS = 2;

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ ROLLCALL_METRICS_TOKEN: METRICS_TOKEN, ROLLCALL_INVITATION_TTL_SECONDS: String(TTL_SECONDS) });
});
afterAll(() => app.stop());

/** A raw request with exactly these headers and bytes (fetch would re-encode or refuse some of them). */
const raw = (method: string, path: string, headers: Record<string, string>, body?: Buffer | string) =>
  new Promise<{ status: number; contentType: string; text: string }>((resolve, reject) => {
    const req = httpRequest(app.url + path, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, contentType: String(res.headers['content-type']), text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });

const invite = (o: { key: string; admin: string; workspaceId: string }, body: Record<string, unknown>, actor = o.admin) =>
  app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor, body });

describe('item 5: deep JSON and invalid dates are a 400, never a 500', () => {
  it('JSON nested 5,000 deep on the unauthenticated accept endpoint is 400 JSON_TOO_DEEP', async () => {
    const deep = '{"token":' + '['.repeat(5000) + ']'.repeat(5000) + '}';
    expect(deep.length).toBeGreaterThan(10_000);
    const reply = await app.api.request('POST', '/v1/invitations/accept', { raw: deep });
    expectProblem(reply, 400, 'JSON_TOO_DEEP');
    const objects = '{"a":'.repeat(5000) + '1' + '}'.repeat(5000);
    expectProblem(await app.api.request('POST', '/v1/invitations/accept', { raw: objects }), 400, 'JSON_TOO_DEEP');
  });

  it('probe 59: 64 KiB of unknown fields on the unauthenticated accept endpoint is one short 400, not one error per field (444 KB, 83 ms each)', async () => {
    const raw = JSON.stringify(Object.fromEntries(Array.from({ length: 6000 }, (_, i) => [`k${i}`, 1])));
    const reply = await app.api.request('POST', '/v1/invitations/accept', { raw });
    expectProblem(reply, 400, 'VALIDATION_FAILED');
    expect(reply.body.errors).toEqual([{ field: 'body', message: 'holds 6000 fields: too many' }]);
    expect(JSON.stringify(reply.body).length).toBeLessThan(1000);
  });

  it('probe 59: the downloads and point-in-time reads say they can be 429 TOO_MANY_HEAVY_READS (one organization\'s 8 downloads held every other organization\'s requests seconds); the others do not', async () => {
    const doc = (await app.api.request('GET', '/docs/openapi.json')).body as { paths: Record<string, Record<string, { responses: Record<string, { description: string }> }>> };
    const heavy = Object.entries(doc.paths)
      .filter(([, ops]) => ops.get?.responses['429']?.description.includes('TOO_MANY_HEAVY_READS'))
      .map(([path]) => path)
      .sort();
    expect(heavy).toEqual([
      // every workspace's user list in one download (probe 79 F6)
      '/v1/organizations/{org}/members/export.csv',
      // the organization's users with every workspace's memberships (probe 76 F5)
      '/v1/organizations/{org}/users/export.csv',
      // a data subject's access request: every workspace's history of one user (probe 76 F3)
      '/v1/organizations/{org}/users/{userId}/personal-data',
      '/v1/workspaces/{ws}/access',
      '/v1/workspaces/{ws}/history',
      '/v1/workspaces/{ws}/members/export.csv',
      '/v1/workspaces/{ws}/members/{userId}/access',
      '/v1/workspaces/{ws}/reports/presence',
    ]);
  });

  it('brackets inside JSON strings do not count as nesting', async () => {
    const reply = await app.api.request('POST', '/v1/invitations/accept', { body: { token: '['.repeat(500) } });
    expect(reply.status).toBeLessThan(500);
    expect(reply.body.code).not.toBe('JSON_TOO_DEEP');
  });

  it.each(['2021-W01', '20210101', '2021-366', '2021-02-30', '2021-01-01T25:00:00Z'])(
    'asOf=%s passes ISO-8601 syntax but is not a date: 400 VALIDATION_FAILED',
    async (asOf) => {
      const o = await app.api.organization();
      const reply = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members/${o.admin}/access?asOf=${encodeURIComponent(asOf)}`, { key: o.key, actor: o.admin });
      expectProblem(reply, 400, 'VALIDATION_FAILED');
      expect(reply.body.errors).toEqual([{ field: 'asOf', message: expect.any(String) }]);
    },
  );

  it('asOf as a calendar date or a date-time with an offset still works', async () => {
    const o = await app.api.organization();
    const access = (asOf: string) =>
      app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members/${o.admin}/access?asOf=${encodeURIComponent(asOf)}`, { key: o.key, actor: o.admin });
    // (at today's first instant the workspace did not exist yet)
    expectProblem(await access(new Date().toISOString().slice(0, 10)), 404, 'WORKSPACE_NOT_FOUND');
    const now = Date.now();
    for (const asOf of [new Date(now).toISOString(), new Date(now + 2 * 3_600_000).toISOString().replace('Z', '+02:00')]) {
      const reply = await access(asOf);
      expect([reply.status, reply.body.status]).toEqual([200, 'active']);
    }
  });

  it('probe 50 F2: the document gives asOf, from and to the pattern the server checks (a date, or a date-time with a zone), not prose only', async () => {
    const doc = (await app.api.request('GET', '/docs/openapi.json')).body as { paths: Record<string, Record<string, { parameters?: { name: string; in: string; schema: { pattern?: string } }[] }>> };
    // the access and the roster at T, the history's range (the consistency proof's from/to are tree sizes, the presence
    // report's days)
    const instants = { '/v1/workspaces/{ws}/members/{userId}/access': ['asOf'], '/v1/workspaces/{ws}/access': ['asOf'], '/v1/workspaces/{ws}/history': ['from', 'to'] };
    const patterns = Object.entries(instants).flatMap(([path, names]) => names.map((name) => doc.paths[path]!.get!.parameters!.find((p) => p.in === 'query' && p.name === name)!.schema.pattern));
    expect(patterns).toHaveLength(4);
    for (const pattern of patterns) {
      const re = new RegExp(pattern!);
      for (const ok of ['2026-03-01', '2026-03-01T09:00:00Z', '2026-03-01T09:00+02:00', '2026-03-01T09:00:00.123456789-05:30']) expect(re.test(ok)).toBe(true);
      // a time without a zone (the server's local time?), week and basic forms: refused by both
      for (const bad of ['2026-03-01T09:00:00', '2021-W01', '20210101', 'yesterday']) expect(re.test(bad)).toBe(false);
    }
  });

  it('rule 17: asOf in the future is 400 (the access then is not known yet); a few seconds ahead of the server is now, and so labelled', async () => {
    const o = await app.api.organization();
    const access = (asOf: string) =>
      app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members/${o.admin}/access?asOf=${encodeURIComponent(asOf)}`, { key: o.key, actor: o.admin });
    for (const asOf of ['9999-12-31T23:59:59.999Z', '2999-01-01', new Date(Date.now() + 3_600_000).toISOString()]) {
      const reply = await access(asOf);
      expectProblem(reply, 400, 'VALIDATION_FAILED');
      expect(reply.body.errors).toEqual([{ field: 'asOf', message: expect.stringMatching(/^must not be in the future/) }]);
    }
    expectProblem(await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/access?asOf=2999-01-01`, { key: o.key, actor: o.admin }), 400, 'VALIDATION_FAILED');
    const ahead = new Date(Date.now() + 5_000).toISOString();
    const now = await access(ahead);
    expect(now.status).toBe(200);
    expect(now.body.status).toBe('active');
    expect(now.body.asOf < ahead).toBe(true);
  });

  it.each(['2021-W01', '20210101', '2021-366'])('history from=%s is 400 VALIDATION_FAILED', async (from) => {
    const o = await app.api.organization();
    expectProblem(await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/history?from=${from}`, { key: o.key, actor: o.admin }), 400, 'VALIDATION_FAILED');
  });
});

describe('item 7: names from Object.prototype are neither roles nor restrictions', () => {
  const PROTO_NAMES = ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty'];

  it.each(PROTO_NAMES)('an org admin inviting with role %s gets 422 INVALID_ROLE', async (role) => {
    const o = await app.api.organization();
    expectProblem(await invite(o, { email: `r-${role.replaceAll('_', '')}@acme.test`, roles: [role] }), 422, 'INVALID_ROLE');
  });

  it.each(PROTO_NAMES)('a manager inviting with role %s gets 422 INVALID_ROLE', async (role) => {
    const o = await app.api.organization();
    const manager = await app.api.member({ key: o.key, actor: o.admin, workspaceId: o.workspaceId }, 'manager@acme.test', { roles: ['manager'] });
    expectProblem(await invite(o, { email: 'x@acme.test', roles: [role] }, manager), 422, 'INVALID_ROLE');
  });

  it.each(PROTO_NAMES)('a restriction named %s is 422 INVALID_RESTRICTION, not silently dropped', async (name) => {
    const o = await app.api.organization();
    // a raw body: JSON.parse makes "__proto__" an own key, as a client's JSON would
    const reply = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, {
      key: o.key,
      actor: o.admin,
      raw: `{"email":"x@acme.test","roles":["agent"],"restrictions":{"${name}":true}}`,
    });
    expectProblem(reply, 422, 'INVALID_RESTRICTION');
  });

  it.each(['toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__'])(
    'a body field or query parameter named %s is 400 naming it, not silently dropped (probe 30 F1)',
    async (name) => {
      const o = await app.api.organization();
      const as = { key: o.key, actor: o.admin };
      const created = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/teams`, { ...as, raw: `{"name":"Sales","${name}":1}` });
      expectProblem(created, 400, 'VALIDATION_FAILED');
      expect(created.body.errors).toEqual([{ field: name, message: 'is not allowed' }]);
      expectProblem(await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members?${name}=1`, as), 400, 'VALIDATION_FAILED');
      // nothing was created
      expect((await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/teams`, as)).body.items).toEqual([]);
    },
  );

  it('changing access to a prototype role is 422 INVALID_ROLE', async () => {
    const o = await app.api.organization();
    const jane = await app.api.member({ key: o.key, actor: o.admin, workspaceId: o.workspaceId }, 'jane@acme.test');
    expectProblem(
      await app.api.request('PATCH', `/v1/workspaces/${o.workspaceId}/members/${jane}/access`, { key: o.key, actor: o.admin, body: { roles: ['constructor'] } }),
      422,
      'INVALID_ROLE',
    );
  });
});

describe('item 8: one strict email rule for invitations, profiles and org admins', () => {
  const BAD = {
    NUL: 'ja\u0000ne@acme.test',
    'a bidi override': 'jane\u202e@acme.test',
    'a zero-width space': 'ja\u200bne@acme.test',
    'a zero-width joiner in the domain': 'jane@ac\u200dme.test',
    'a byte-order mark': '\ufeffjane@acme.test',
    'a line feed': 'jane@acme.test\nBcc: x@evil.test',
  };

  it.each(Object.entries(BAD))('an invitation to an email with %s is 400 VALIDATION_FAILED', async (_, email) => {
    const o = await app.api.organization();
    const reply = await invite(o, { email });
    expectProblem(reply, 400, 'VALIDATION_FAILED');
    expect(reply.body.errors).toEqual([{ field: 'email', message: expect.any(String) }]);
  });

  it.each(Object.entries(BAD))('a profile email with %s is 400 VALIDATION_FAILED', async (_, email) => {
    const o = await app.api.organization();
    const reply = await app.api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${o.admin}`, { key: o.key, actor: o.admin, body: { email } });
    expectProblem(reply, 400, 'VALIDATION_FAILED');
  });

  it.each(Object.entries(BAD))('an org admin email with %s is 400 VALIDATION_FAILED', async (_, email) => {
    const reply = await app.api.request('POST', '/v1/organizations', { key: SYSTEM_KEY, body: { name: 'Acme', admin: { email, displayName: 'Ada' } } });
    expectProblem(reply, 400, 'VALIDATION_FAILED');
  });

  it('an IDN address and its punycode are one person: the second invitation is ALREADY_INVITED', async () => {
    const o = await app.api.organization();
    const first = await invite(o, { email: 'Jane@Bücher.Example' });
    expect(first.status).toBe(201);
    expectProblem(await invite(o, { email: 'jane@xn--bcher-kva.example' }), 409, 'ALREADY_INVITED');
  });

  it('an IDN address accepted as an org admin, an invitee and a profile email is stored as punycode', async () => {
    const org = await app.api.request('POST', '/v1/organizations', { key: SYSTEM_KEY, body: { name: 'Acme', admin: { email: 'ada@bücher.example', displayName: 'Ada' } } });
    expect(org.status).toBe(201);
    const { apiKey: key, adminUserId: admin, organizationId } = org.body;
    const ws = await app.api.request('POST', `/v1/organizations/${organizationId}/workspaces`, { key, actor: admin, body: { name: 'Support' } });
    // the admin's own IDN address, written as punycode, is the same person: already a member
    expectProblem(await invite({ key, admin, workspaceId: ws.body.workspaceId }, { email: 'ADA@xn--bcher-kva.example' }), 409, 'ALREADY_MEMBER');
    const me = await app.api.request('GET', `/v1/workspaces/${ws.body.workspaceId}/members/${admin}`, { key, actor: admin, headers: { 'x-min-position': ws.body.position } });
    expect(me.body.email).toBe('ada@xn--bcher-kva.example');
    // the same address in punycode is no change; an IDN one is requested (and mailed) in punycode
    const same = await app.api.request('PATCH', `/v1/organizations/${organizationId}/users/${admin}`, { key, actor: admin, body: { email: 'ADA@XN--BCHER-KVA.example' } });
    expect(same.status).toBe(200);
    expect(same.body.emailChange).toBeUndefined();
    const profile = await app.api.request('PATCH', `/v1/organizations/${organizationId}/users/${admin}`, { key, actor: admin, body: { email: 'ada@Müller.example' } });
    expect(profile.status).toBe(200);
    expect(profile.body.emailChange).toMatchObject({ email: 'ada@xn--mller-kva.example' });
  });
});

describe('item 10', () => {
  it('(a) /metrics needs the metrics token: 401 without or with a wrong one, Prometheus text with it', async () => {
    expectProblem(await app.api.request('GET', '/metrics'), 401, 'UNAUTHENTICATED');
    expectProblem(await app.api.request('GET', '/metrics', { key: 'wrong' }), 401, 'UNAUTHENTICATED');
    expectProblem(await app.api.request('GET', '/metrics', { key: SYSTEM_KEY }), 401, 'UNAUTHENTICATED');
    const ok = await app.api.request('GET', '/metrics', { key: METRICS_TOKEN });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatch(/rollcall_http_request_duration_seconds/);
  });

  it('(a) without ROLLCALL_METRICS_TOKEN /metrics is off: 404 METRICS_DISABLED', async () => {
    const plain = await startTestApp();
    try {
      expectProblem(await plain.api.request('GET', '/metrics'), 404, 'METRICS_DISABLED');
      expectProblem(await plain.api.request('GET', '/metrics', { key: SYSTEM_KEY }), 404, 'METRICS_DISABLED');
    } finally {
      await plain.stop();
    }
  });

  it('(b) OpenAPI: X-Min-Position is an optional header everywhere, and every header is documented once', async () => {
    const doc = (await app.api.request('GET', '/docs/openapi.json')).body;
    const operations = Object.values(doc.paths as Record<string, Record<string, { parameters?: { in: string; name: string; required?: boolean }[] }>>).flatMap((ops) =>
      Object.values(ops),
    );
    const headers = operations.flatMap((op) => op.parameters ?? []).filter((p) => p.in === 'header' && p.name.toLowerCase() === 'x-min-position');
    expect(headers.length).toBeGreaterThan(0);
    for (const h of headers) expect(h).toMatchObject({ name: 'X-Min-Position', required: false });
    for (const op of operations) {
      const names = (op.parameters ?? []).filter((p) => p.in === 'header').map((p) => p.name.toLowerCase());
      expect(names).toEqual([...new Set(names)]);
    }
  });

  it('(c) the expired-link message states the configured lifetime, not 48 hours', async () => {
    const o = await app.api.organization();
    const inv = await invite(o, { email: 'late@acme.test' });
    expect(inv.status).toBe(201);
    await new Promise((r) => setTimeout(r, TTL_SECONDS * 1000 + 100));
    const reply = await app.api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(inv.body.inviteUrl) } });
    expectProblem(reply, 410, 'INVITATION_EXPIRED');
    expect(reply.body.detail).toContain('2 seconds');
    expect(reply.body.detail).not.toContain('48 hours');
  });

  it('(d) a UTF-16 body is 415 UNSUPPORTED_MEDIA_TYPE and echoes nothing', async () => {
    const body = Buffer.from(JSON.stringify({ token: 'secret-looking-token' }), 'utf16le');
    for (const charset of ['utf-16', 'utf-16le', 'UTF-16BE', 'latin1', 'utf-32']) {
      const reply = await raw('POST', '/v1/invitations/accept', { 'content-type': `application/json; charset=${charset}` }, body);
      expect({ charset, status: reply.status }).toEqual({ charset, status: 415 });
      expect(reply.contentType).toMatch(/^application\/problem\+json/);
      const problem = JSON.parse(reply.text);
      expect(problem.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect(reply.text).not.toContain('token');
      // no NUL and no replacement character (a control character in a regex would be linted as a mistake)
      expect([...reply.text].filter((ch) => ch === '\u0000' || ch === '\ufffd')).toEqual([]);
    }
  });

  it('(d) explicit UTF-8 still works, and malformed JSON does not echo the body', async () => {
    const ok = await raw('POST', '/v1/invitations/accept', { 'content-type': 'application/json; charset=UTF-8' }, JSON.stringify({ token: 'nope' }));
    expect(ok.status).toBeLessThan(500);
    expect(JSON.parse(ok.text).code).not.toBe('UNSUPPORTED_MEDIA_TYPE');
    for (const rawBody of ['{"token": "hunter2-secret', '{"token": hunter2-secret}', 'hunter2-secret']) {
      const bad = await app.api.request('POST', '/v1/invitations/accept', { raw: rawBody });
      expectProblem(bad, 400, 'MALFORMED_JSON');
      expect(JSON.stringify(bad.body)).not.toContain('hunter2');
    }
  });
});

describe('a second probe (session 11): bodies the API used to ignore or misread', () => {
  it('a body sent to an endpoint that takes none is 400 VALIDATION_FAILED and the action does not run; {} or no body is fine', async () => {
    const o = await app.api.organization();
    const as = { key: o.key, actor: o.admin };
    const inv = await invite(o, { email: 'nobody-body@acme.test' });
    const path = `/v1/workspaces/${o.workspaceId}/invitations/${inv.body.invitationId}`;
    const resent = await app.api.request('POST', `${path}/resend`, { ...as, body: { email: 'hijack@evil.test' } });
    expectProblem(resent, 400, 'VALIDATION_FAILED');
    expect(resent.body.errors).toEqual([{ field: 'email', message: 'is not allowed' }]);
    expect(resent.body.detail).toBe('This request takes no body: email is not allowed.');
    expectProblem(await app.api.request('DELETE', path, { ...as, body: { reason: 'x' } }), 400, 'VALIDATION_FAILED');
    expectProblem(await app.api.request('DELETE', path, { ...as, raw: '[1]' }), 400, 'VALIDATION_FAILED');
    // nothing happened: the same link, the same address, still pending
    const link = await app.api.request('GET', `${path}/link`, as);
    expect(link.body).toMatchObject({ email: 'nobody-body@acme.test', inviteUrl: inv.body.inviteUrl });
    expect((await app.api.request('DELETE', path, { ...as, body: {} })).status).toBe(200);
  });

  it('bytes that are not UTF-8 are 400 MALFORMED_JSON, not an address stored with U+FFFD', async () => {
    const o = await app.api.organization();
    const body = Buffer.concat([Buffer.from('{"email":"u'), Buffer.from([0xff]), Buffer.from('@acme.test"}')]);
    const reply = await raw('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { 'content-type': 'application/json', authorization: `Bearer ${o.key}`, 'x-actor-id': o.admin }, body);
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.text)).toMatchObject({ code: 'MALFORMED_JSON', detail: 'The request body is not valid UTF-8; send JSON encoded as UTF-8.' });
    const pending = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members?status=pending`, { key: o.key, actor: o.admin });
    expect(pending.body.items).toEqual([]);
  });

  it('a body of another Content-Type (or none) is 415 UNSUPPORTED_MEDIA_TYPE, naming the type', async () => {
    const o = await app.api.organization();
    const headers = { authorization: `Bearer ${o.key}`, 'x-actor-id': o.admin };
    const body = JSON.stringify({ email: 'typed@acme.test' });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', undefined]) {
      const reply = await raw('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { ...headers, ...(type && { 'content-type': type }) }, body);
      expect({ type, status: reply.status }).toEqual({ type, status: 415 });
      const problem = JSON.parse(reply.text);
      expect(problem.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect(problem.detail).toContain('Content-Type application/json');
      if (type) expect(problem.detail).toContain(type);
    }
  });

  it('a value of the wrong type is answered with its type alone, not with every bound it also fails', async () => {
    const o = await app.api.organization();
    const as = { key: o.key, actor: o.admin };
    const roles = await invite(o, { email: 'typed-roles@acme.test', roles: 'agent' });
    expectProblem(roles, 400, 'VALIDATION_FAILED');
    expect(roles.body.errors).toEqual([{ field: 'roles', message: 'must be a list of role names, e.g. ["agent"]' }]);
    const limit = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members?limit=abc`, as);
    expectProblem(limit, 400, 'VALIDATION_FAILED');
    expect(limit.body.errors).toEqual([{ field: 'limit', message: 'must be an integer number' }]);
    const team = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/teams`, { ...as, body: { name: 5 } });
    expect(team.body.errors).toEqual([{ field: 'name', message: 'must be a string' }]);
  });

  it('a body its Content-Encoding does not match, and a path of invalid percent-encoding, have documented codes', async () => {
    const o = await app.api.organization();
    const headers = { authorization: `Bearer ${o.key}`, 'x-actor-id': o.admin, 'content-type': 'application/json' };
    for (const encoding of ['gzip', 'deflate']) {
      const reply = await raw('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { ...headers, 'content-encoding': encoding }, '{"email":"x@acme.test"}');
      expect({ encoding, status: reply.status, code: JSON.parse(reply.text).code }).toEqual({ encoding, status: 400, code: 'MALFORMED_JSON' });
    }
    expectProblem(await app.api.request('GET', '/v1/workspaces/%ff/members', { key: o.key, actor: o.admin }), 400, 'VALIDATION_FAILED');
  });
});

describe('a second probe (session 11): what Node refuses before any route still answers a problem document', () => {
  /** bytes written on a socket of their own (Node's client refuses to send a control character in a header) */
  const onSocket = (request: string) =>
    new Promise<{ status: number; contentType: string; body: string }>((resolve, reject) => {
      const url = new URL(app.url);
      const socket = connect(Number(url.port), url.hostname, () => socket.write(request));
      let text = '';
      socket.on('data', (c: Buffer) => (text += c.toString('utf8')));
      socket.on('error', reject);
      socket.on('close', () => {
        const [head = '', body = ''] = text.split('\r\n\r\n');
        resolve({ status: Number(head.split(' ')[1]), contentType: /content-type: ([^\r]+)/i.exec(head)?.[1] ?? '', body });
      });
    });

  it('headers over the limit are 431 HEADERS_TOO_LARGE', async () => {
    const reply = await onSocket(`GET /v1/workspaces/w/members?q=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(reply.status).toBe(431);
    expect(reply.contentType).toBe('application/problem+json');
    expect(JSON.parse(reply.body)).toMatchObject({ status: 431, code: 'HEADERS_TOO_LARGE' });
  });

  it('a control character in a header is 400 VALIDATION_FAILED', async () => {
    const reply = await onSocket('GET /health HTTP/1.1\r\nHost: x\r\nX-Actor-Id: a\u0001b\r\n\r\n');
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.body)).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ field: 'headers' }] });
  });
});

describe('a third probe (session 12): parameters the API used to ignore', () => {
  it('query parameters sent to a read that takes none (partner teams), or one it does not take (the invite lookup, the team list), are 400, not ignored', async () => {
    const o = await app.api.organization();
    const as = { key: o.key, actor: o.admin };
    const team = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/teams`, { ...as, body: { name: 'Billing' } });
    // (the invite lookup takes `limit` and `cursor` since session 43: probe 42 F5; the team list since session 49: probe 59)
    const reply = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/partner-teams?cursor=x`, as);
    expectProblem(reply, 400, 'VALIDATION_FAILED');
    expect(reply.body.detail).toBe('This request takes no query parameters: cursor is not allowed.');
    for (const path of [`teams/${team.body.teamId}/invitees?sort=name`, 'teams?sort=name']) {
      const other = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/${path}`, as);
      expectProblem(other, 400, 'VALIDATION_FAILED');
      expect(other.body.errors.map((e: { field: string }) => e.field)).toEqual(['sort']);
    }
    expect((await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/teams`, as)).status).toBe(200);
  });

  it('rule 17: a history range that ends before it starts is 400 (as the presence report), and format=csv refuses limit and cursor, which it would ignore', async () => {
    const o = await app.api.organization();
    const as = { key: o.key, actor: o.admin };
    const history = (query: string) => app.api.request('GET', `/v1/workspaces/${o.workspaceId}/history?${query}`, as);
    const backwards = await history('from=2026-12-02&to=2026-12-01');
    expectProblem(backwards, 400, 'VALIDATION_FAILED');
    expect(backwards.body.errors).toEqual([{ field: 'from', message: 'from must not be after to' }]);
    expect((await history('from=2026-12-01&to=2026-12-01')).status).toBe(200);
    const paged = await history('format=csv&cursor=abc&limit=5');
    expectProblem(paged, 400, 'VALIDATION_FAILED');
    expect(paged.body.errors.map((e: { field: string }) => e.field)).toEqual(['limit', 'cursor']);
  });
});

describe('probe 9: null is not "left out" where the schema does not allow it', () => {
  it('grants, roles or restrictions given null are a 400 naming the field; a profile\'s alias null (documented nullable) still removes it', async () => {
    const o = await app.api.organization();
    for (const field of ['grants', 'roles', 'restrictions']) {
      const reply = await invite(o, { email: `null-${field}@acme.test`, [field]: null });
      expect({ field, status: reply.status, code: reply.body.code, fields: [...new Set((reply.body.errors as { field: string }[]).map((e) => e.field))] }).toEqual({ field, status: 400, code: 'VALIDATION_FAILED', fields: [field] });
    }
    const path = `/v1/organizations/${o.organizationId}/users/${o.admin}`;
    expect((await app.api.request('PATCH', path, { key: o.key, actor: o.admin, body: { alias: 'Ace' } })).status).toBe(200);
    const cleared = await app.api.request('PATCH', path, { key: o.key, actor: o.admin, body: { alias: null } });
    expect(cleared.status).toBe(200);
  });
});
