import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { DerivedSecrets } from '../apps/api/src/shared/secrets';
import { canonicalJson } from '../apps/api/src/shared/command-path/write-pipeline';
import Ajv from 'ajv';
import fc from 'fast-check';
import { SYSTEM_KEY, type TestApp, expectProblem, startTestApp } from './support/app';

const METRICS_TOKEN = 'http-contract-metrics-token-0123';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ ROLLCALL_METRICS_TOKEN: METRICS_TOKEN });
});
afterAll(() => app.stop());

describe('authentication and tenancy', () => {
  it('401 without a key or with a wrong one', async () => {
    const o = await app.api.organization();
    const path = `/v1/workspaces/${o.workspaceId}/invitations`;
    expectProblem(await app.api.request('POST', path, { actor: o.admin, body: { email: 'x@acme.test' } }), 401, 'UNAUTHENTICATED');
    expectProblem(await app.api.request('POST', path, { key: 'nope', actor: o.admin, body: { email: 'x@acme.test' } }), 401, 'UNAUTHENTICATED');
    const forged = o.key.slice(0, -4) + 'AAAA';
    expectProblem(await app.api.request('POST', path, { key: forged, actor: o.admin, body: { email: 'x@acme.test' } }), 401, 'UNAUTHENTICATED');
  });

  it('403 for the system key on organization routes and an organization key on system routes', async () => {
    const o = await app.api.organization();
    expectProblem(await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: SYSTEM_KEY, actor: o.admin, body: { email: 'x@acme.test' } }), 403, 'INSUFFICIENT_AUTHORITY');
    expectProblem(await app.api.request('POST', '/v1/organizations', { key: o.key, body: { name: 'X', admin: { email: 'x@x.io', displayName: 'X' } } }), 403, 'INSUFFICIENT_AUTHORITY');
  });

  it("404 for another organization's workspace or organization: existence is not leaked", async () => {
    const mine = await app.api.organization();
    const theirs = await app.api.organization();
    expectProblem(await app.api.request('POST', `/v1/workspaces/${theirs.workspaceId}/invitations`, { key: mine.key, actor: mine.admin, body: { email: 'x@acme.test' } }), 404, 'WORKSPACE_NOT_FOUND');
    expectProblem(await app.api.request('POST', `/v1/workspaces/00000000-0000-4000-8000-000000000000/invitations`, { key: mine.key, actor: mine.admin, body: { email: 'x@acme.test' } }), 404, 'WORKSPACE_NOT_FOUND');
    expectProblem(await app.api.request('POST', `/v1/organizations/${theirs.organizationId}/workspaces`, { key: mine.key, actor: mine.admin, body: { name: 'x' } }), 404, 'ORGANIZATION_NOT_FOUND');
  });

  it('two Authorization headers are 401, two Content-Type headers 415: the first was taken, which a proxy in front may not have checked (probe 36 F3)', async () => {
    const o = await app.api.organization();
    const other = await app.api.organization();
    /** node:http sends each value of an array as a header line of its own (fetch joins them into one) */
    const send = (path: string, headers: Record<string, string | string[]>, body?: string) =>
      new Promise<{ status: number; body: { code?: string; detail?: string } }>((resolve, reject) => {
        const req = httpRequest(`${app.url}${path}`, { method: body === undefined ? 'GET' : 'POST', headers }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString('utf8')));
          res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
        });
        req.on('error', reject);
        req.end(body);
      });
    const members = `/v1/workspaces/${o.workspaceId}/members`;
    const twoKeys = await send(members, { authorization: [`Bearer ${o.key}`, `Bearer ${other.key}`], 'x-actor-id': o.admin });
    expect(twoKeys).toEqual({ status: 401, body: expect.objectContaining({ code: 'UNAUTHENTICATED', detail: 'Send one Authorization header with your API key: this request has 2.' }) });
    // one of them the system key, the other garbage: still refused, whichever would have been read
    expect((await send('/v1/audit/checkpoint', { authorization: [`Bearer ${SYSTEM_KEY}`, 'Bearer nope'] })).status).toBe(401);
    expect((await send(`/v1/workspaces/${o.workspaceId}/presence/stream`, { authorization: [`Bearer ${o.key}`, `Bearer ${o.key}`], 'x-actor-id': o.admin })).status).toBe(401);
    const twoTypes = await send(`/v1/workspaces/${o.workspaceId}/teams`, { authorization: `Bearer ${o.key}`, 'x-actor-id': o.admin, 'content-type': ['application/json', 'text/plain'] }, '{"name":"two types"}');
    expect(twoTypes).toEqual({ status: 415, body: expect.objectContaining({ code: 'UNSUPPORTED_MEDIA_TYPE', detail: 'Send one Content-Type header: this request has 2.' }) });
    // one of each is as before
    expect((await send(members, { authorization: `Bearer ${o.key}`, 'x-actor-id': o.admin })).status).toBe(200);
  });

  it('X-Actor-Id is required on organization writes', async () => {
    const o = await app.api.organization();
    const reply = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, body: { email: 'x@acme.test' } });
    expectProblem(reply, 400, 'VALIDATION_FAILED');
    expect(reply.body.errors).toEqual([{ field: 'X-Actor-Id', message: 'is required (a user id)' }]);
  });

  it('an X-Actor-Id sent but not a user id is named as such, not as missing (probe 34 F4), on writes, reads and presence alike', async () => {
    const o = await app.api.organization();
    const requests: [string, string, object?][] = [
      ['POST', `/v1/workspaces/${o.workspaceId}/invitations`, { email: 'x@acme.test' }],
      ['GET', `/v1/workspaces/${o.workspaceId}/teams`],
      ['POST', `/v1/workspaces/${o.workspaceId}/presence/heartbeat`, { status: 'online' }],
      ['GET', `/v1/workspaces/${o.workspaceId}/presence/stream`],
    ];
    for (const [method, path, body] of requests)
      for (const actor of ['a'.repeat(129), 'a b']) {
        const reply = await app.api.request(method, path, { key: o.key, headers: { 'X-Actor-Id': actor }, ...(body && { body }) });
        expect({ path, actor: actor.length, status: reply.status, errors: reply.body.errors }).toEqual({ path, actor: actor.length, status: 400, errors: [{ field: 'X-Actor-Id', message: 'is not a user id' }] });
        expect(reply.body.detail).toMatch(/^The X-Actor-Id header is not a user id/);
      }
  });
});

describe('problem+json for bad input, never a 500', () => {
  it('rule 6 (probe 89 F2, 90 F2): an address of 254 characters as mailed is taken with spaces around it; 255 is refused for its length', async () => {
    const o = await app.api.organization();
    const invite = (email: string) => app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email } });
    const at = (n: number) => `${'x'.repeat(64)}@${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(n - 64 - 1 - 128 - 5)}.test`;
    expect(at(254)).toHaveLength(254);
    expect((await invite(` ${at(254)} `)).status).toBe(201);
    const refused = await invite(at(255));
    expectProblem(refused, 400, 'VALIDATION_FAILED');
    expect(refused.body.errors).toEqual([{ field: 'email', message: 'must be at most 254 characters (as it is mailed: lower-cased, its domain in ASCII)' }]);
  });

  it('a validation error lists the fields', async () => {
    const o = await app.api.organization();
    const reply = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, {
      key: o.key,
      actor: o.admin,
      body: { email: 42, roles: 'owner', color: 'red' },
    });
    expectProblem(reply, 400, 'VALIDATION_FAILED');
    expect([...new Set(reply.body.errors.map((e: { field: string }) => e.field))].sort()).toEqual(['color', 'email', 'roles']);
  });

  it("a problem's instance is the request's path, never its query (a ticket, a searched address: probe 34 F2), from every place that answers one", async () => {
    const o = await app.api.organization();
    const as = { key: o.key, actor: o.admin };
    const members = `/v1/workspaces/${o.workspaceId}/members`;
    const refused = [
      // the route's own validation (an unknown parameter beside a searched address)
      await app.api.request('GET', `${members}?q=jane.secret%40acme.test&colour=red`, as),
      // the JSON checks before the route
      await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations?api_key=rk_secret_in_query`, { ...as, raw: 'not json' }),
      // the router (a path that is not valid percent-encoding)
      await app.api.request('GET', `/v1/workspaces/%E0%A4%A/members?ticket=a-stream-ticket`, as),
    ];
    expect(refused.map((r) => [r.status, r.body.instance])).toEqual([
      [400, members],
      [400, `/v1/workspaces/${o.workspaceId}/invitations`],
      [400, '/v1/workspaces/%E0%A4%A/members'],
    ]);
    for (const r of refused) expect(JSON.stringify(r.body)).not.toMatch(/jane\.secret|rk_secret_in_query|a-stream-ticket/);
  });

  it('malformed JSON is 400 MALFORMED_JSON; an oversized body is 413', async () => {
    const o = await app.api.organization();
    const path = `/v1/workspaces/${o.workspaceId}/invitations`;
    expectProblem(await app.api.request('POST', path, { key: o.key, actor: o.admin, raw: '{"email": ' }), 400, 'MALFORMED_JSON');
    expectProblem(await app.api.request('POST', path, { key: o.key, actor: o.admin, raw: JSON.stringify({ email: 'x'.repeat(200_000) }) }), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('a body that is JSON but not an object (null, a number, a string, an array) is 400 naming what it is, not "not valid JSON"', async () => {
    const o = await app.api.organization();
    const path = `/v1/workspaces/${o.workspaceId}/invitations`;
    for (const [raw, what] of [['null', 'null'], ['123', 'a number'], [' "x@acme.test"', 'a string'], ['[{"email":"x@acme.test"}]', 'an array'], ['true', 'a boolean']]) {
      const reply = await app.api.request('POST', path, { key: o.key, actor: o.admin, raw });
      expectProblem(reply, 400, 'VALIDATION_FAILED');
      expect(reply.body.detail).toBe(`The request body must be a JSON object; it is ${what}.`);
    }
    // nothing was invited: read after a later invitation, only it is pending
    const later = await app.api.request('POST', path, { key: o.key, actor: o.admin, body: { email: 'later@acme.test' } });
    const pending = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members?status=pending`, {
      key: o.key,
      actor: o.admin,
      headers: { 'x-min-position': String(later.body.position) },
    });
    expect(pending.body.items.map((m: { email: string }) => m.email)).toEqual(['later@acme.test']);
  });

  it("a whole number in a query is digits only: JavaScript's number syntax (0x10, 1e1, 0b11, ' 5') is 400 (probe 36b #8, probe 33 O7)", async () => {
    const o = await app.api.organization();
    const as = { key: o.key, actor: o.admin };
    for (const path of [`/v1/workspaces/${o.workspaceId}/members`, `/v1/workspaces/${o.workspaceId}/history`]) {
      expect((await app.api.request('GET', `${path}?limit=16`, as)).status).toBe(200);
      for (const limit of ['0x10', '1e1', '0b11', '%205', '', '16.0']) {
        const reply = await app.api.request('GET', `${path}?limit=${limit}`, as);
        expectProblem(reply, 400, 'VALIDATION_FAILED');
        expect({ limit, errors: reply.body.errors }).toEqual({ limit, errors: [{ field: 'limit', message: 'must be an integer number' }] });
      }
      // a negative one is an integer: its bound is named (probe 37 F6: "must be an integer number")
      const negative = await app.api.request('GET', `${path}?limit=-1`, as);
      expect({ status: negative.status, errors: negative.body.errors }).toEqual({ status: 400, errors: [{ field: 'limit', message: 'must not be less than 1' }] });
    }
    expectProblem(await app.api.request('GET', '/v1/audit/proofs/consistency?from=0x10', { key: SYSTEM_KEY }), 400, 'VALIDATION_FAILED');
    // however many digits, a whole number past its bound is told its bound (probe 115 F3: "must be an integer number"
    // from 17 digits on)
    for (const [path, field, bound] of [
      [`/v1/workspaces/${o.workspaceId}/members?limit=99999999999999999999`, 'limit', 'must not be greater than 500'],
      ['/v1/audit/proofs/inclusion?position=1&treeSize=9223372036854775807', 'treeSize', 'must not be greater than 9007199254740991'],
      [`/v1/audit/proofs/consistency?from=${'9'.repeat(400)}`, 'from', 'must not be greater than 9007199254740991'],
    ]) {
      const reply = await app.api.request('GET', path!, path!.startsWith('/v1/audit') ? { key: SYSTEM_KEY } : as);
      expect({ field, status: reply.status, errors: reply.body.errors }).toEqual({ field, status: 400, errors: [{ field, message: bound }] });
    }
  });

  it('a bad path id is a 400, an unknown route a 404', async () => {
    const o = await app.api.organization();
    expectProblem(await app.api.request('POST', `/v1/workspaces/${encodeURIComponent('a b$')}/invitations`, { key: o.key, actor: o.admin, body: { email: 'x@acme.test' } }), 400, 'VALIDATION_FAILED');
    expectProblem(await app.api.request('GET', '/v1/nothing-here', { key: o.key }), 404, 'NOT_FOUND');
  });

  it('random bodies on every write endpoint never yield a 500, and a refused one appends nothing', async () => {
    const o = await app.api.organization();
    const jane = await app.api.member({ key: o.key, actor: o.admin, workspaceId: o.workspaceId }, 'jane@acme.test');
    const endpoints: [string, string][] = [
      ['POST', `/v1/workspaces/${o.workspaceId}/invitations`],
      ['PATCH', `/v1/workspaces/${o.workspaceId}/members/${jane}/access`],
      ['DELETE', `/v1/workspaces/${o.workspaceId}/members/${jane}`],
      ['PATCH', `/v1/organizations/${o.organizationId}/users/${jane}`],
      ['POST', `/v1/organizations/${o.organizationId}/workspaces`],
      ['POST', '/v1/invitations/accept'],
    ];
    const junk = fc.oneof(
      fc.json(),
      fc.string(),
      fc.jsonValue().map((v) => JSON.stringify({ email: v, roles: v, restrictions: v, grants: v, token: v, name: v, displayName: v })),
    );
    // the head of the log, as the events feed reads it (a write that changes nothing answers its own state's position
    // since probe 87 F1, not the head)
    const head = logHead;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...endpoints), junk, async ([method, path], raw) => {
        const before = await head();
        const reply = await app.api.request(method, path, { key: o.key, actor: o.admin, raw });
        expect(reply.status).toBeLessThan(500);
        if (reply.status >= 400) {
          refused++;
          expect(reply.body.code).toEqual(expect.any(String));
          expect(await head()).toBe(before);
        }
      }),
      { numRuns: 150 },
    );
    expect(refused).toBeGreaterThan(100);
  });
});

/** the log's head, as the events feed reads it (the system key's): what a request appended moves it */
const logHead = async (): Promise<string> => (await app.api.request('GET', '/v1/events?limit=1', { key: SYSTEM_KEY })).body.head;

describe('Idempotency-Key', () => {
  /** an invitation to `email` sent under one Idempotency-Key, as often as called */
  const invitationUnderKey = (o: { key: string; admin: string; workspaceId: string }, email: string, key: string) => () =>
    app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email }, headers: { 'idempotency-key': key } });

  it('the same key and body returns the first answer and appends nothing', async () => {
    const o = await app.api.organization();
    const send = invitationUnderKey(o, 'retry@acme.test', 'invite-retry-1');
    const head = logHead;
    const first = await send();
    // the invitation, then the record of its mail handed over (mail/mail-ledger.ts), before its answer
    const afterFirst = await head();
    expect(BigInt(afterFirst)).toBe(BigInt(first.body.position) + 1n);
    const second = await send();
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('idempotency-replayed')).toBe('true');
    // nothing new was appended
    expect(await head()).toBe(afterFirst);
  });

  it('a retry after the invitation was cancelled still answers the first answer, its link included', async () => {
    const o = await app.api.organization();
    const send = invitationUnderKey(o, 'cancelled-retry@acme.test', 'invite-then-cancel');
    const first = await send();
    expect((await app.api.request('DELETE', `/v1/workspaces/${o.workspaceId}/invitations/${first.body.invitationId}`, { key: o.key, actor: o.admin })).status).toBe(200);
    const again = await send();
    expect(again.headers.get('idempotency-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
  });

  it('concurrent retries with one key append once', async () => {
    const o = await app.api.organization();
    const replies = await Promise.all(
      Array.from({ length: 8 }, () =>
        app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, {
          key: o.key,
          actor: o.admin,
          body: { email: 'burst@acme.test' },
          headers: { 'idempotency-key': 'burst-1' },
        }),
      ),
    );
    expect(new Set(replies.map((r) => r.status))).toEqual(new Set([201]));
    expect(new Set(replies.map((r) => r.body.invitationId)).size).toBe(1);
  });

  it('the same key with an empty JSON object or no body is one request: the retry is a replay (probe 23)', async () => {
    const o = await app.api.organization();
    const invited = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: 'empty-body@acme.test' } });
    const path = `/v1/workspaces/${o.workspaceId}/invitations/${invited.body.invitationId}/resend`;
    const first = await app.api.request('POST', path, { key: o.key, actor: o.admin, body: {}, headers: { 'idempotency-key': 'resend-1' } });
    expect(first.status).toBe(200);
    const again = await app.api.request('POST', path, { key: o.key, actor: o.admin, headers: { 'idempotency-key': 'resend-1' } });
    expect({ status: again.status, replayed: again.headers.get('idempotency-replayed') }).toEqual({ status: 200, replayed: 'true' });
    expect(again.body).toEqual(first.body);
    // and the other way round
    const bare = await app.api.request('POST', path, { key: o.key, actor: o.admin, headers: { 'idempotency-key': 'resend-2' } });
    const withEmpty = await app.api.request('POST', path, { key: o.key, actor: o.admin, body: {}, headers: { 'idempotency-key': 'resend-2' } });
    expect({ status: withEmpty.status, replayed: withEmpty.headers.get('idempotency-replayed'), body: withEmpty.body }).toEqual({ status: 200, replayed: 'true', body: bare.body });
  });

  it('probe 93 F3: a request with an empty JSON object kept by a version before 2026-12-02 (its fingerprint held `{}`) is the same request when retried now, with `{}` or no body', async () => {
    const o = await app.api.organization();
    const invited = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: 'kept-earlier@acme.test' } });
    const path = `/v1/workspaces/${o.workspaceId}/invitations/${invited.body.invitationId}/resend`;
    const first = await app.api.request('POST', path, { key: o.key, actor: o.admin, body: {}, headers: { 'idempotency-key': 'resend-earlier' } });
    expect(first.status).toBe(200);
    // the kept answer's fingerprint as the earlier version made it: the empty object in it
    const secrets = app.app.get(DerivedSecrets);
    const earlier = secrets.fingerprint(canonicalJson({ operation: `POST ${path}`, actorId: o.admin, body: {} }));
    const api = new DatabaseSync(join(app.dataDir, 'api.sqlite'));
    expect(api.prepare('UPDATE idempotency SET request_hash = ? WHERE request_hash = ?').run(earlier, secrets.fingerprint(canonicalJson({ operation: `POST ${path}`, actorId: o.admin }))).changes).toBe(1);
    api.close();
    for (const body of [{}, undefined]) {
      const again = await app.api.request('POST', path, { key: o.key, actor: o.admin, ...(body && { body }), headers: { 'idempotency-key': 'resend-earlier' } });
      expect({ status: again.status, replayed: again.headers.get('idempotency-replayed'), body: again.body }).toEqual({ status: 200, replayed: 'true', body: first.body });
    }
    // another body under that key is another request still
    expectProblem(await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: 'x@acme.test' }, headers: { 'idempotency-key': 'resend-earlier' } }), 422, 'IDEMPOTENCY_KEY_REUSED');
  });

  it('probe 102 F3: the same key with an id spelled in upper case, in the path or the body, is the same request, replayed; one kept by a version before session 62 with an upper-case id too', async () => {
    const [a, b] = [await app.api.organization(), await app.api.organization()];
    const link = (ws: string, partner: string, key: string) =>
      app.api.request('POST', `/v1/workspaces/${ws}/network`, { key: SYSTEM_KEY, body: { partnerWorkspaceId: partner }, headers: { 'idempotency-key': key } });
    const first = await link(a.workspaceId.toUpperCase(), b.workspaceId.toUpperCase(), 'link-case');
    expect(first.status).toBe(201);
    const again = await link(a.workspaceId, b.workspaceId, 'link-case');
    expect({ status: again.status, replayed: again.headers.get('idempotency-replayed'), body: again.body }).toEqual({ status: 201, replayed: 'true', body: first.body });
    // another partner under that key is another request still
    const c = await app.api.organization();
    expectProblem(await link(a.workspaceId, c.workspaceId, 'link-case'), 422, 'IDEMPOTENCY_KEY_REUSED');
    // only ids fold: a team name that looks like one, sent again in another case, is another request (probe 104 F1)
    const named = (name: string) => app.api.request('POST', `/v1/workspaces/${a.workspaceId}/teams`, { key: a.key, actor: a.admin, body: { name }, headers: { 'idempotency-key': 'name-case' } });
    expect((await named(b.workspaceId.toUpperCase())).status).toBe(201);
    expectProblem(await named(b.workspaceId), 422, 'IDEMPOTENCY_KEY_REUSED');
    // a team member added by a version before session 62 with upper-case ids: its fingerprint held them as sent
    const team = (await app.api.request('POST', `/v1/workspaces/${a.workspaceId}/teams`, { key: a.key, actor: a.admin, body: { name: 'Case' } })).body.teamId as string;
    const path = `/v1/workspaces/${a.workspaceId.toUpperCase()}/teams/${team.toUpperCase()}/members/${a.admin.toUpperCase()}`;
    const added = await app.api.request('PUT', path, { key: a.key, actor: a.admin, headers: { 'idempotency-key': 'add-case' } });
    expect(added.status).toBe(200);
    const secrets = app.app.get(DerivedSecrets);
    const asSent = secrets.fingerprint(canonicalJson({ operation: `PUT ${path}`, actorId: a.admin }));
    const asRead = secrets.fingerprint(canonicalJson({ operation: `PUT ${path.toLowerCase()}`, actorId: a.admin }));
    const api = new DatabaseSync(join(app.dataDir, 'api.sqlite'));
    expect(api.prepare('UPDATE idempotency SET request_hash = ? WHERE request_hash = ?').run(asSent, asRead).changes).toBe(1);
    api.close();
    // retried as it was sent (what it kept says nothing of how else its ids were spelled)
    const retry = await app.api.request('PUT', path, { key: a.key, actor: a.admin, headers: { 'idempotency-key': 'add-case' } });
    expect({ status: retry.status, replayed: retry.headers.get('idempotency-replayed'), body: retry.body }).toEqual({ status: 200, replayed: 'true', body: added.body });
  });

  it('the same key with another body is 422 IDEMPOTENCY_KEY_REUSED', async () => {
    const o = await app.api.organization();
    const path = `/v1/workspaces/${o.workspaceId}/invitations`;
    const headers = { 'idempotency-key': 'k-1' };
    expect((await app.api.request('POST', path, { key: o.key, actor: o.admin, body: { email: 'a@acme.test' }, headers })).status).toBe(201);
    expectProblem(await app.api.request('POST', path, { key: o.key, actor: o.admin, body: { email: 'b@acme.test' }, headers }), 422, 'IDEMPOTENCY_KEY_REUSED');
  });

  it('rule 6: the same key with the same address written otherwise (case, spaces) is the same request, replayed (probe 80 F10: 422)', async () => {
    const o = await app.api.organization();
    const path = `/v1/workspaces/${o.workspaceId}/invitations`;
    const headers = { 'idempotency-key': 'reinvite-tom-1' };
    const first = await app.api.request('POST', path, { key: o.key, actor: o.admin, body: { email: '  TOM@Acme.Test ', roles: ['agent'] }, headers });
    expect(first.status).toBe(201);
    const again = await app.api.request('POST', path, { key: o.key, actor: o.admin, body: { roles: ['agent'], email: 'tom@acme.test' }, headers });
    expect({ status: again.status, replayed: again.headers.get('idempotency-replayed'), invitationId: again.body.invitationId }).toEqual({ status: 201, replayed: 'true', invitationId: first.body.invitationId });
    // another address is another request still
    expectProblem(await app.api.request('POST', path, { key: o.key, actor: o.admin, body: { email: 'tom2@acme.test', roles: ['agent'] }, headers }), 422, 'IDEMPOTENCY_KEY_REUSED');
  });

  it('an empty, spaced or over-long key is a 400 naming the header, and nothing is written (probe 9)', async () => {
    const o = await app.api.organization();
    const head = logHead;
    const before = await head();
    for (const [n, bad] of ['', ' ', 'two words', 'k'.repeat(256)].entries()) {
      const reply = await invitationUnderKey(o, `bad-key-${n}@acme.test`, bad)();
      expectProblem(reply, 400, 'VALIDATION_FAILED');
      expect(reply.body.errors).toEqual([expect.objectContaining({ field: 'Idempotency-Key' })]);
    }
    expect(await head()).toBe(before);
  });

  it('keys are scoped per organization', async () => {
    const a = await app.api.organization();
    const b = await app.api.organization();
    const headers = { 'idempotency-key': 'shared' };
    const ra = await app.api.request('POST', `/v1/workspaces/${a.workspaceId}/invitations`, { key: a.key, actor: a.admin, body: { email: 'x@acme.test' }, headers });
    const rb = await app.api.request('POST', `/v1/workspaces/${b.workspaceId}/invitations`, { key: b.key, actor: b.admin, body: { email: 'x@acme.test' }, headers });
    expect([ra.status, rb.status]).toEqual([201, 201]);
    expect(ra.body.invitationId).not.toBe(rb.body.invitationId);
  });
});

describe('operations', () => {
  it('probe 82 F3: a read answers X-Position, a position its answer includes every change up to — lists, details, downloads; the feeds and the presence stream carry theirs in their bodies', async () => {
    const o = await app.api.organization();
    const as = { key: o.key, actor: o.admin };
    const ws = `/v1/workspaces/${o.workspaceId}`;
    const invited = await app.api.request('POST', `${ws}/invitations`, { ...as, body: { email: 'pinned@acme.test' } });
    // read with the write's position as X-Min-Position: the answer's X-Position is at least that, and holds the write
    const list = await app.api.request('GET', `${ws}/members?status=pending`, { ...as, headers: { 'x-min-position': invited.body.position } });
    const pinned = list.headers.get('x-position');
    expect(pinned).toMatch(/^\d+$/);
    expect(BigInt(pinned!)).toBeGreaterThanOrEqual(BigInt(invited.body.position));
    expect(BigInt(pinned!)).toBeLessThanOrEqual(BigInt(await logHead()));
    expect(list.body.items.map((m: { email: string }) => m.email)).toContain('pinned@acme.test');
    for (const path of [`${ws}/history`, `${ws}/members/export.csv`, `/v1/organizations/${o.organizationId}/users`, `${ws}/members/${o.admin}`, `/v1/organizations/${o.organizationId}/changes`]) {
      const read = await app.api.request('GET', path, as);
      expect([path, read.status, read.headers.get('x-position')]).toEqual([path, 200, expect.stringMatching(/^\d+$/)]);
    }
    // the feeds carry positions in their bodies, not this header
    expect((await app.api.request('GET', '/v1/events?limit=1', { key: SYSTEM_KEY })).headers.get('x-position')).toBeNull();
    expect((await app.api.request('GET', `/v1/organizations/${o.organizationId}/events?limit=1`, as)).headers.get('x-position')).toBeNull();
    // a refused read reads no checkpoint
    expect((await app.api.request('GET', `${ws}/members`, { key: 'rk_wrong' })).headers.get('x-position')).toBeNull();
  });

  it('serves OpenAPI at /docs generated from the DTOs', async () => {
    const doc = await app.api.request('GET', '/docs/openapi.json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/v1/organizations', '/v1/workspaces/{ws}/invitations', '/v1/invitations/accept']));
    expect(doc.body.components.schemas.InviteDto.required).toContain('email');
    expect((await app.api.request('GET', '/docs')).status).toBe(200);
  });

  it('a nullable property typed by another schema accepts null under a strict OpenAPI 3.0.3 validator (ajv), and its schema (probe 11)', async () => {
    const doc = (await app.api.request('GET', '/docs/openapi.json')).body;
    const ajv = new Ajv({ strict: false });
    ajv.addSchema({ components: doc.components }, 'doc');
    const nullableRefs = Object.entries(doc.components.schemas as Record<string, { properties?: Record<string, { oneOf?: { $ref?: string }[] }> }>).flatMap(([name, schema]) =>
      Object.entries(schema.properties ?? {})
        .filter(([, p]) => p.oneOf?.some((o) => o.$ref) && p.oneOf.some((o) => !o.$ref))
        .map(([property]) => `${name}/properties/${property}`),
    );
    expect(nullableRefs).toEqual(expect.arrayContaining(['HistoryEntry/properties/before', 'HistoryEntry/properties/details']));
    for (const path of nullableRefs) expect({ path, valid: ajv.validate({ $ref: `doc#/components/schemas/${path}` }, null) }).toEqual({ path, valid: true });
    expect(ajv.validate({ $ref: 'doc#/components/schemas/HistoryEntry/properties/before' }, { roles: ['agent'], restrictions: {}, grants: [] })).toBe(true);
    expect(ajv.validate({ $ref: 'doc#/components/schemas/HistoryEntry/properties/before' }, 'agent')).toBe(false);
  });

  it('no answer of the API may be cached or sniffed as another type: answers with links, addresses and CSVs, refusals, /health; /docs may be cached (probe 36)', async () => {
    const o = await app.api.organization();
    const invited = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: 'cache@acme.test' } });
    const answers = {
      invited,
      list: await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members`, { key: o.key, actor: o.admin }),
      csv: await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members/export.csv`, { key: o.key, actor: o.admin }),
      refused: await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members`),
      unknownRoute: await app.api.request('GET', '/v1/nothing-here'),
      health: await app.api.request('GET', '/health'),
    };
    for (const [name, reply] of Object.entries(answers)) {
      // (/health's is Terminus's own: `no-cache, no-store, must-revalidate`)
      expect({ name, cacheControl: reply.headers.get('cache-control'), nosniff: reply.headers.get('x-content-type-options') }).toEqual({ name, cacheControl: expect.stringMatching(/\bno-store\b/), nosniff: 'nosniff' });
    }
    expect([invited.status, answers.csv.status, answers.refused.status]).toEqual([201, 200, 401]);
    const docs = await app.api.request('GET', '/docs/openapi.json');
    expect({ status: docs.status, cacheControl: docs.headers.get('cache-control') }).toEqual({ status: 200, cacheControl: null });
  });

  it('/health reports the stores, /metrics is Prometheus text', async () => {
    const health = await app.api.request('GET', '/health');
    expect(health.status).toBe(200);
    expect(health.body.info).toMatchObject({ eventStore: { status: 'up' }, readStore: { status: 'up' } });
    const metrics = await app.api.request('GET', '/metrics', { key: METRICS_TOKEN });
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/rollcall_http_request_duration_seconds/);
    // commands decided again, and those that ran out of attempts (409), by their lock's stream kind
    expect(metrics.body).toMatch(/# TYPE rollcall_command_attempts_again_total counter/);
    expect(metrics.body).toMatch(/# TYPE rollcall_command_conflicts_total counter/);
  });
});
