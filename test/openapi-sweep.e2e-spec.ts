import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { MESSAGE_TWINS } from '../apps/api/src/shared/http/message-twins';
import { type TestApp, startTestApp } from './support/app';
import { Conformance, type Document } from './support/openapi-conformance';

/*
 * Every operation of the served OpenAPI document, sent the refusals any client can run into: no key, ids that do not
 * exist, a malformed path id, an unknown query parameter, a body that is not JSON, malformed JSON, JSON that is not an
 * object, and a member without the authority. Each answer must be documented for its operation (status, content type,
 * schema: test/support/openapi-conformance.ts) and none may be a 500. The flows in openapi-client.e2e-spec.ts check
 * the answers of real use; this checks the refusals of every operation, which nothing else enumerates.
 */
let app: TestApp;
let conformance: Conformance;
let document: Document & { paths: Record<string, Record<string, { security?: unknown[]; requestBody?: unknown; parameters?: { name: string; in: string }[] }>> };
let ids: Record<string, string>;
let as: { key: string; admin: string; agent: string };

beforeAll(async () => {
  app = await startTestApp();
  document = (await (await fetch(`${app.url}/docs/openapi.json`)).json()) as typeof document;
  conformance = new Conformance(document);
  const o = await app.api.organization();
  const agent = await app.api.member({ key: o.key, actor: o.admin, workspaceId: o.workspaceId }, 'agent@acme.test', { roles: ['agent'] });
  ids = { org: o.organizationId, ws: o.workspaceId, userId: agent };
  as = { key: o.key, admin: o.admin, agent };
}, 30_000);
afterAll(() => app.stop());

const operations = () =>
  Object.entries(document.paths).flatMap(([path, byMethod]) =>
    Object.entries(byMethod).map(([method, operation]) => ({ method: method.toUpperCase(), path, operation })),
  );

/** the path with its parameters: the organization's own ids where it has them, else ids that exist nowhere */
const concrete = (path: string, pick: (name: string) => string) => path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(pick(name)));

interface Attempt {
  what: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

/** over node:http, which sends a body with any method (fetch refuses one on GET) */
function send(method: string, attempt: Attempt): Promise<{ status: number; type: string | null; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(app.url + attempt.url, { method, headers: attempt.headers, timeout: 10_000 }, (res) => {
      // an event stream that was opened answers its headers only: its body never ends
      if (res.headers['content-type']?.startsWith('text/event-stream')) {
        res.destroy();
        return resolve({ status: res.statusCode!, type: res.headers['content-type'], text: '' });
      }
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'] ?? null, text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${attempt.url}: no answer in 10 s`)));
    req.on('error', reject);
    req.end(attempt.body);
  });
}

describe('every operation documents the refusals it gives (OpenAPI)', () => {
  it('no key, unknown ids, a malformed id, an unknown parameter, a body that is not JSON or not an object, a member without the authority, a request line past 16 KiB: documented, never a 500', async () => {
    const undocumented: string[] = [];
    let attempts = 0;
    for (const { method, path, operation } of operations()) {
      const takesBody = operation.requestBody !== undefined;
      const auth = { authorization: `Bearer ${as.key}`, 'x-actor-id': as.admin };
      const own = concrete(path, (name) => ids[name] ?? randomUUID());
      const tries: Attempt[] = [
        { what: 'no key', url: own, headers: {} },
        { what: 'unknown ids', url: concrete(path, () => randomUUID()), headers: auth },
        { what: 'an unknown query parameter', url: `${own}?surely_not_a_parameter=1`, headers: auth },
        { what: 'a body that is not JSON', url: own, headers: { ...auth, 'content-type': 'text/plain' }, body: 'hello' },
        { what: 'JSON that is not an object', url: own, headers: { ...auth, 'content-type': 'application/json' }, body: '[1]' },
        { what: 'a member without the authority', url: own, headers: { ...auth, 'x-actor-id': as.agent }, ...(takesBody && { body: '{}' }) },
      ];
      if (path.includes('{')) tries.push({ what: 'a malformed path id', url: concrete(path, () => 'a b$'), headers: auth });
      tries.push({ what: 'malformed JSON', url: own, headers: { ...auth, 'content-type': 'application/json' }, body: '{"email": ' });
      // refused by the HTTP server itself, past 16 KiB of request line and headers (probe 9: a 431 no operation listed)
      tries.push({ what: 'a request line past 16 KiB', url: `${own}?q=${'a'.repeat(17_000)}`, headers: auth });
      for (const attempt of tries) {
        if (attempt.body !== undefined) {
          attempt.headers['content-type'] ??= 'application/json';
          // node:http sends a GET's or DELETE's body with neither a length nor chunks unless told its length
          attempt.headers['content-length'] = String(Buffer.byteLength(attempt.body));
        }
        const answer = await send(method, attempt);
        attempts++;
        if (answer.status >= 500 && answer.status !== 503) undocumented.push(`${method} ${path} (${attempt.what}): ${answer.status} ${answer.text.slice(0, 200)}`);
        for (const problem of conformance.answer(method, path, answer.status, answer.type, answer.text)) undocumented.push(`${problem} (${attempt.what})`);
      }
    }
    expect(attempts).toBeGreaterThan(200);
    expect(undocumented).toEqual([]);
  }, 120_000);
});

describe('the documented examples', () => {
  type Schema = { $ref?: string; properties?: Record<string, { example?: unknown }> };
  /** a body as Swagger UI's "Try it out" builds it: each property's documented example */
  const exampleBody = (method: string, path: string): Record<string, unknown> => {
    const operation = document.paths[path]![method] as { requestBody?: { content: Record<string, { schema: Schema }> } };
    let schema = operation.requestBody!.content['application/json']!.schema;
    if (schema.$ref) schema = (document as unknown as { components: { schemas: Record<string, Schema> } }).components.schemas[schema.$ref.split('/').pop()!]!;
    return Object.fromEntries(Object.entries(schema.properties ?? {}).flatMap(([name, p]) => (p.example === undefined ? [] : [[name, p.example]])));
  };

  it('a body made of the examples of an invitation and of an access change is accepted, sent verbatim to a workspace of the default preset (probe 9)', async () => {
    const auth = { authorization: `Bearer ${as.key}`, 'x-actor-id': as.admin, 'content-type': 'application/json' };
    const invite = exampleBody('post', '/v1/workspaces/{ws}/invitations');
    expect(invite).toMatchObject({ email: expect.any(String), roles: expect.any(Array) });
    const invited = await fetch(`${app.url}/v1/workspaces/${ids.ws}/invitations`, { method: 'POST', headers: auth, body: JSON.stringify(invite) });
    expect([invited.status, await invited.text()]).toEqual([201, expect.any(String)]);
    const access = exampleBody('patch', '/v1/workspaces/{ws}/members/{userId}/access');
    const changed = await fetch(`${app.url}/v1/workspaces/${ids.ws}/members/${ids.userId}/access`, { method: 'PATCH', headers: auth, body: JSON.stringify(access) });
    expect([changed.status, access]).toEqual([200, access]);
  });

  it('every answer declares X-Request-Id, a write\'s success X-Position and Idempotency-Replayed, a 503 Retry-After (the headers it sends; probe 31)', async () => {
    const missing: string[] = [];
    const undue: string[] = [];
    // a 431 is Node's, before the app names the request; a stream ticket and the invitation preview append nothing
    // (probe 66 F5); the 429 of too many streams says when to retry (probe 45 F6, F8)
    const reads = new Set(['/v1/workspaces/{ws}/presence/stream-tickets', '/v1/invitations/preview']);
    for (const { method, path, operation } of operations())
      for (const [status, response] of Object.entries((operation as { responses: Record<string, { headers?: Record<string, unknown> }> }).responses)) {
        const write = status.startsWith('2') && method !== 'GET' && !reads.has(path);
        const retry = status === '503' || (status === '429' && path.endsWith('/presence/stream'));
        const wanted = [...(status !== '431' ? ['X-Request-Id'] : []), ...(write ? ['X-Position', 'Idempotency-Replayed'] : []), ...(retry ? ['Retry-After'] : [])];
        for (const header of wanted) if (!response.headers?.[header]) missing.push(`${method} ${path} ${status}: ${header}`);
        if (status === '431' && response.headers?.['X-Request-Id']) undue.push(`${method} ${path} 431: X-Request-Id`);
        if (reads.has(path) && response.headers?.['X-Position']) undue.push(`${method} ${path} ${status}: X-Position`);
      }
    expect(missing).toEqual([]);
    expect(undue).toEqual([]);
    const written = await fetch(`${app.url}/v1/workspaces/${ids.ws}/invitations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${as.key}`, 'x-actor-id': as.admin, 'content-type': 'application/json', 'idempotency-key': 'declared-headers' },
      body: JSON.stringify({ email: 'headers@acme.test' }),
    });
    expect([written.headers.get('x-request-id'), written.headers.get('x-position')]).toEqual([expect.any(String), expect.stringMatching(/^[0-9]+$/)]);
  });

  it('operation ids: every one unique and a word a generated client can name a method by; a twin of a message pattern named as the pattern (probe 45 F10)', () => {
    const ids = operations().map(({ method, path, operation }) => ({ at: `${method} ${path}`, id: (operation as { operationId?: string }).operationId }));
    expect(ids.filter(({ id }) => !/^[a-z][A-Za-z]+$/.test(id ?? ''))).toEqual([]);
    expect(new Set(ids.map(({ id }) => id)).size).toBe(ids.length);
    for (const [pattern, twin] of Object.entries(MESSAGE_TWINS))
      expect({ twin, id: ids.find(({ at }) => at === twin)?.id }).toEqual({ twin, id: pattern.replace(/\.(\w)/g, (_, c: string) => c.toUpperCase()) });
  });

  it('/docs/ (a trailing slash) leads to the page whose assets load (/docs)', async () => {
    const answer = await fetch(`${app.url}/docs/`, { redirect: 'manual' });
    expect([answer.status, answer.headers.get('location')]).toEqual([301, '/docs']);
  });
});
