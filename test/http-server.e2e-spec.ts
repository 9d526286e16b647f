// The HTTP server's own edges, as the API had them on Express and keeps them on Fastify (session 33, ADR 0010's
// sixteenth pass): routing that ignores the case of the route's words but not of the ids, an empty path segment that
// is no route, Node's timeouts, and request bodies sent gzip- or deflate-compressed.
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { deflateSync, gzipSync } from 'node:zlib';
import { openFilesLimit } from '../apps/api/src/presence/open-files';
import { type TestApp, expectProblem, startTestApp } from './support/app';

let app: TestApp;
let o: Awaited<ReturnType<TestApp['api']['organization']>>;
beforeAll(async () => {
  app = await startTestApp();
  o = await app.api.organization();
});
afterAll(() => app.stop());

describe('routing', () => {
  it("a route's words match in any case, as on Express; a UUID in capitals is the one this service wrote, in a path, X-Actor-Id and the history's filters (probe 80 F11: it matched nothing)", async () => {
    const as = { key: o.key, actor: o.admin };
    const members = await app.api.request('GET', `/V1/Workspaces/${o.workspaceId}/MEMBERS`, as);
    expect(members.status).toBe(200);
    expect(members.body.items).toEqual(expect.any(Array));
    expect(o.workspaceId).not.toBe(o.workspaceId.toUpperCase());
    const shouted = await app.api.request('GET', `/v1/organizations/${o.organizationId.toUpperCase()}/users/${o.admin.toUpperCase()}`, { key: o.key, actor: o.admin.toUpperCase() });
    expect({ status: shouted.status, userId: shouted.body.userId }).toEqual({ status: 200, userId: o.admin });
    expect((await app.api.request('GET', `/v1/workspaces/${o.workspaceId.toUpperCase()}`, { key: o.key, actor: o.admin.toUpperCase() })).body.workspaceId).toBe(o.workspaceId);
    const written = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { ...as, body: { email: 'shouted.ids@acme.test' } });
    const history = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/history?actorId=${o.admin.toUpperCase()}&change=invited`, { ...as, headers: { 'x-min-position': written.body.position } });
    expect(history.body.items.map((e: { actorId: string }) => e.actorId)).toEqual([o.admin]);
    // in a body's ids too: the contacts of a revoked member reassigned to an id in capitals (probe 82 F4)
    const leaving = await app.api.member({ ...as, workspaceId: o.workspaceId }, 'leaving.shouted@acme.test', { roles: ['agent'] });
    const revoked = await app.api.request('DELETE', `/v1/workspaces/${o.workspaceId}/members/${leaving}`, { ...as, body: { reassignContactsTo: o.admin.toUpperCase() } });
    expect(revoked.status).toBe(200);
    // an id that is no UUID is case-sensitive still: another id
    expectProblem(await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members/NOT-A-UUID`, as), 404, 'NOT_A_MEMBER');
    // and a write under a route in capitals reaches its handler with its ids and body as sent
    const invited = await app.api.request('POST', `/V1/WORKSPACES/${o.workspaceId}/INVITATIONS`, { ...as, body: { email: 'Capital.Case@acme.test' } });
    expect(invited.status).toBe(201);
  });

  it('an id of any length reaches its route: an over-long one is 400 VALIDATION_FAILED naming it, as on Express', async () => {
    for (const length of [129, 1_001, 10_000]) {
      const reply = await app.api.request('GET', `/v1/workspaces/${'w'.repeat(length)}/members`, { key: o.key, actor: o.admin });
      expect({ length, status: reply.status, code: reply.body?.code }).toEqual({ length, status: 400, code: 'VALIDATION_FAILED' });
      expect(reply.body.errors).toEqual([{ field: 'ws', message: expect.any(String) }]);
    }
  });

  it('an empty path segment where an id goes is 404 NOT_FOUND, as for a path no route matches: before the key or the body is looked at', async () => {
    const paths: [string, string][] = [
      ['GET', '/v1/workspaces//members'],
      ['POST', '/v1/workspaces//invitations'],
      ['PATCH', `/v1/workspaces/${o.workspaceId}/members//access`],
      ['DELETE', `/v1/workspaces//members/${o.admin}`],
      ['POST', '/v1/organizations//workspaces'],
    ];
    for (const [method, path] of paths) {
      for (const as of [{}, { key: o.key, actor: o.admin }]) {
        const reply = await app.api.request(method, path, { ...as, ...(method === 'GET' ? {} : { raw: 'not json' }) });
        expect({ method, path, status: reply.status, code: reply.body?.code }).toEqual({ method, path, status: 404, code: 'NOT_FOUND' });
        expectProblem(reply, 404, 'NOT_FOUND');
        expect(reply.body.instance).toBe(path);
      }
    }
    // and the document says so for every operation with an id in its path (probe 36 F6)
    const document = (await app.api.request('GET', '/docs/openapi.json')).body as { paths: Record<string, Record<string, { responses: Record<string, any> }>> };
    const undocumented = Object.entries(document.paths)
      .filter(([route]) => route.includes('{'))
      .flatMap(([route, operations]) => Object.entries(operations).map(([method, op]) => ({ at: `${method} ${route}`, codes: op.responses['404']?.content['application/problem+json'].schema.allOf[1].properties.code.enum ?? [] })))
      .filter(({ codes }) => !codes.includes('NOT_FOUND'));
    expect(undocumented).toEqual([]);
  });
});

describe('pipelined requests (probe 36 F1)', () => {
  /** one write holding every request; the status lines of what came back before the connection closed (or `wait` ran out) */
  const pipelined = (requests: string[], wait = 5_000): Promise<{ statuses: number[]; closed: boolean }> =>
    new Promise((resolve, reject) => {
      const { port } = new URL(app.url);
      const socket = connect(Number(port), '127.0.0.1', () => socket.write(requests.join('')));
      let received = '';
      const statuses = () => [...received.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
      const timer = setTimeout(() => {
        socket.destroy();
        resolve({ statuses: statuses(), closed: false });
      }, wait);
      socket.on('data', (chunk) => {
        received += chunk.toString('latin1');
        if (statuses().length === requests.length) {
          clearTimeout(timer);
          socket.destroy();
          resolve({ statuses: statuses(), closed: false });
        }
      });
      socket.on('end', () => {
        clearTimeout(timer);
        resolve({ statuses: statuses(), closed: true });
      });
      socket.on('error', reject);
    });
  const createTeam = (name: string, body = JSON.stringify({ name })) =>
    `POST /v1/workspaces/${o.workspaceId}/teams HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${o.key}\r\nX-Actor-Id: ${o.admin}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const health = 'GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n';
  /** the workspace's teams named pl-…, read after one more write (X-Min-Position: every write before it is in the list) */
  const teams = async () => {
    const later = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/teams`, { key: o.key, actor: o.admin, body: { name: `later-${Math.random()}` } });
    const list = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/teams`, { key: o.key, actor: o.admin, headers: { 'x-min-position': later.body.position } });
    return (list.body.items as { name: string }[]).map((t) => t.name).filter((n) => n.startsWith('pl-'));
  };

  it('are answered in order, each run after the one before it was answered', async () => {
    const reply = await pipelined([createTeam('pl-a1'), createTeam('pl-a2'), health, createTeam('pl-a3')]);
    expect(reply.statuses).toEqual([201, 201, 200, 201]);
    expect((await teams()).filter((n) => n.startsWith('pl-a')).sort()).toEqual(['pl-a1', 'pl-a2', 'pl-a3']);
  });

  it('a request Node cannot parse behind them is refused after their answers, in order (probe 36b #1: its 400 came first)', async () => {
    const reply = await pipelined([createTeam('pl-d1'), health, 'NOT HTTP AT ALL\r\n\r\n']);
    expect(reply.statuses).toEqual([201, 200, 400]);
    expect((await teams()).filter((n) => n.startsWith('pl-d'))).toEqual(['pl-d1']);
  });

  it.each([
    ['a body that is not JSON (400 MALFORMED_JSON)', 'b', '{"name":', 400],
    ['a body over the limit (413 PAYLOAD_TOO_LARGE)', 'c', JSON.stringify({ name: 'x'.repeat(70_000) }), 413], // the default limit: 64 KiB
  ])('behind %s, which closes the connection, none is run: the client is told of every write done (RFC 9112 §9.6)', async (_, tag, refusedBody, status) => {
    const reply = await pipelined([createTeam(`pl-${tag}1`), createTeam(`pl-${tag}2`, refusedBody), createTeam(`pl-${tag}3`), health, createTeam(`pl-${tag}5`)]);
    expect(reply).toEqual({ statuses: [201, status], closed: true });
    // before: pl-3 and pl-5 were created too, and their answers lost with the connection
    expect((await teams()).filter((n) => n.startsWith(`pl-${tag}`))).toEqual([`pl-${tag}1`]);
  });
});

describe('timeouts', () => {
  it("the server keeps Node's own: idle keep-alive 5 s, a request 300 s, its headers 60 s (Fastify's would be 72 s and none)", () => {
    const server = app.app.getHttpServer() as Server;
    expect({ keepAliveTimeout: server.keepAliveTimeout, requestTimeout: server.requestTimeout, headersTimeout: server.headersTimeout, timeout: server.timeout }).toEqual({
      keepAliveTimeout: 5_000,
      requestTimeout: 300_000,
      headersTimeout: 60_000,
      // no byte read or written for 120 s: an answer left unread is cut (probe 61 F5)
      timeout: 120_000,
    });
  });
});

describe('a client that goes away in the middle of its request body (probe 59 F1: no key needed; each left a socket open for good, until the open-files limit, and a stop never ended)', () => {
  it('the server closes its side at once, whatever route and body: no connection is left', async () => {
    const server = app.app.getHttpServer() as Server;
    const port = Number(new URL(app.url).port);
    const cut = [
      'POST /v1/invitations/accept HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"tok',
      'POST /v1/invitations/accept HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n',
      'GET /health HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{',
      'POST /v1/invitations/accept HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"tok\r\n',
    ];
    await Promise.all(
      cut.map(
        (request) =>
          new Promise<void>((resolve, reject) => {
            const socket = connect(port, '127.0.0.1', () => socket.end(request));
            socket.on('close', () => resolve()).on('error', reject).resume();
          }),
      ),
    );
    let open = -1;
    for (const deadline = Date.now() + 5_000; open !== 0 && Date.now() < deadline; await new Promise((r) => setTimeout(r, 50)))
      open = await new Promise<number>((resolve) => server.getConnections((_, n) => resolve(n)));
    expect(open).toBe(0);
  });
});

describe('connections', () => {
  it('the server takes at most the open-files limit less 256 connections (probe 59 F6: silent connections, no key needed, took every descriptor and the mail dispatcher failed with EMFILE)', () => {
    const limit = openFilesLimit();
    expect((app.app.getHttpServer() as Server).maxConnections).toBe(limit === undefined ? Number.POSITIVE_INFINITY : Math.max(limit - 256, 16));
  });
});

describe('a compressed request body (Content-Encoding)', () => {
  const send = (body: Buffer, encoding: string) =>
    fetch(`${app.url}/v1/workspaces/${o.workspaceId}/invitations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${o.key}`, 'x-actor-id': o.admin, 'content-type': 'application/json', 'content-encoding': encoding },
      body,
    }).then(async (res) => ({ status: res.status, body: JSON.parse(await res.text()), headers: res.headers }));

  it('gzip and deflate are inflated, then validated and taken as the plain body would be', async () => {
    const gzipped = await send(gzipSync(JSON.stringify({ email: 'gzip@acme.test' })), 'gzip');
    expect(gzipped.status).toBe(201);
    const deflated = await send(deflateSync(JSON.stringify({ email: 'deflate@acme.test' })), 'deflate');
    expect(deflated.status).toBe(201);
    const pending = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members?status=pending&sort=email`, {
      key: o.key,
      actor: o.admin,
      headers: { 'x-min-position': String(deflated.body.position) },
    });
    expect(pending.body.items.map((m: { email: string }) => m.email)).toEqual(expect.arrayContaining(['deflate@acme.test', 'gzip@acme.test']));
    // the inflated body is validated as any other: its fields are named
    const invalid = await send(gzipSync(JSON.stringify({ email: 42, colour: 'red' })), 'gzip');
    expectProblem(invalid, 400, 'VALIDATION_FAILED');
    expect(invalid.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['colour', 'email']);
  });

  it('the body limit applies to the inflated body; an encoding other than gzip, deflate or identity is 415', async () => {
    const bomb = gzipSync(JSON.stringify({ email: `${'x'.repeat(200_000)}@acme.test` }));
    expect(bomb.length).toBeLessThan(2_000);
    const tooLarge = await send(bomb, 'gzip');
    expectProblem(tooLarge, 413, 'PAYLOAD_TOO_LARGE');
    // the limit named (probe 89 F3: "too large", no size)
    expect(tooLarge.body.detail).toBe('The request body is too large: at most 65536 bytes of JSON (a compressed body counts as inflated).');
    const brotli = await send(Buffer.from(JSON.stringify({ email: 'br@acme.test' })), 'br');
    expectProblem(brotli, 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(brotli.body.detail).toContain('"br"');
    expect((await send(Buffer.from(JSON.stringify({ email: 'identity@acme.test' })), 'identity')).status).toBe(201);
  });
});

describe('a stop and the connections that never sent a request', () => {
  it("closes at once a connection that never sent a byte (a client's pre-connection: it held the stop until the client dropped it, up to the 10 s drain), and still answers a request that has begun", async () => {
    const own = await startTestApp();
    const port = Number(new URL(own.url).port);
    const silent = connect(port, '127.0.0.1');
    await new Promise((resolve) => silent.once('connect', resolve));
    const silentClosed = new Promise((resolve) => silent.once('close', resolve));
    // a request under way: its headers sent, its body not yet
    const begun = connect(port, '127.0.0.1');
    await new Promise((resolve) => begun.once('connect', resolve));
    let answer = '';
    begun.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    const body = JSON.stringify({ name: 'Late' });
    begun.write(`POST /v1/organizations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = performance.now();
    const stopped = own.stop();
    await silentClosed;
    // the silent one went at the start of the stop, long before the drain's 10 s (a bound, not a figure)
    expect(performance.now() - started).toBeLessThan(5_000);
    begun.end(body);
    await stopped;
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
  });
});
