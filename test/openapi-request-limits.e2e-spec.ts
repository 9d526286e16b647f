import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { SYSTEM_KEY, type TestApp, startTestApp } from './support/app';

/*
 * The request schemas of the served OpenAPI document say what the server refuses (probe 45 F3: they said no length,
 * no pattern, no integer and allowed any extra field, so a client generated from them could not check a request before
 * sending). For each body below, checked with a JSON Schema validator against the document and sent to the server:
 * one the document calls valid is accepted; one past a documented maxLength, or against a documented pattern, or with a
 * field the document does not list, is called invalid by the document and refused by the server (400 naming the field).
 */
let app: TestApp;
let ajv: Ajv;
let o: { organizationId: string; workspaceId: string; key: string; admin: string };

beforeAll(async () => {
  app = await startTestApp();
  const document = (await (await fetch(`${app.url}/docs/openapi.json`)).json()) as Record<string, unknown>;
  // OpenAPI 3.0's `nullable` and `example` are keywords a JSON Schema validator does not know: not strict
  ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(document, 'openapi');
  const made = await app.api.organization();
  o = { organizationId: made.organizationId, workspaceId: made.workspaceId, key: made.key, admin: made.admin };
}, 30_000);
afterAll(() => app.stop());

/** whether the document's schema of that name calls the body valid */
const documentAccepts = (schema: string, body: unknown) => ajv.validate({ $ref: `openapi#/components/schemas/${schema}` }, body);

async function send(method: string, path: string, body: unknown, key = o.key) {
  const response = await fetch(`${app.url}${path}`, { method, headers: { authorization: `Bearer ${key}`, 'x-actor-id': o.admin, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json().catch(() => ({}))) as { code?: string; errors?: { field: string }[] } };
}

interface Case {
  schema: string;
  method: string;
  path: () => string;
  valid: () => Record<string, unknown>;
  /** a field with a maxLength: the valid body with it one character longer is refused */
  long: string[];
  /** a field and a value against its documented pattern */
  against?: [field: string, value: unknown];
  key?: () => string;
}

let seq = 0;
const CASES: Case[] = [
  { schema: 'CreateOrganizationDto', method: 'POST', path: () => '/v1/organizations', valid: () => ({ name: 'Limits', admin: { email: `a${++seq}@limits.test`, displayName: 'Ada' } }), long: ['name'], key: () => SYSTEM_KEY },
  { schema: 'InviteDto', method: 'POST', path: () => `/v1/workspaces/${o.workspaceId}/invitations`, valid: () => ({ email: `invitée${++seq}@bücher.test`, roles: ['agent'] }), long: ['email'] },
  { schema: 'TeamNameDto', method: 'POST', path: () => `/v1/workspaces/${o.workspaceId}/teams`, valid: () => ({ name: `Team ${++seq}` }), long: ['name'] },
  {
    schema: 'UpdateProfileDto',
    method: 'PATCH',
    path: () => `/v1/organizations/${o.organizationId}/users/${o.admin}`,
    // an internationalized address and a scheme in capitals: valid to both (probe 45b F3, F4)
    valid: () => ({ displayName: `Ada ${++seq}`, avatarUrl: 'HTTPS://cdn.limits.test/a.png' }),
    long: ['displayName', 'alias', 'avatarUrl'],
    against: ['avatarUrl', 'ftp://cdn.limits.test/a.png'],
  },
  { schema: 'NetworkDto', method: 'POST', path: () => `/v1/workspaces/${o.workspaceId}/network`, valid: () => ({ partnerWorkspaceId: o.workspaceId }), long: [], against: ['partnerWorkspaceId', 'not an id'], key: () => SYSTEM_KEY },
];

describe('the request schemas say what the server refuses (probe 45 F3)', () => {
  it.each(CASES.map((c) => [c.schema, c] as const))('%s: valid accepted; past maxLength, against a pattern, an extra field: invalid by the document and refused', async (_name, c) => {
    const key = c.key?.() ?? o.key;
    const valid = c.valid();
    expect(documentAccepts(c.schema, valid)).toBe(true);
    // a network link to itself is refused by the domain, not by the shape: the shape is what is tested here
    if (c.schema !== 'NetworkDto') expect((await send(c.method, c.path(), valid, key)).status).toBeLessThan(300);
    const refusals: [string, Record<string, unknown>][] = [['unknownField', { ...c.valid(), unknownField: 1 }]];
    const properties = (ajv.getSchema('openapi')!.schema as { components: { schemas: Record<string, { properties: Record<string, { maxLength?: number }> }> } }).components.schemas[c.schema]!.properties;
    for (const field of c.long) {
      const max = properties[field]!.maxLength;
      expect({ field, max }).toEqual({ field, max: expect.any(Number) });
      const body = c.valid();
      const long = 'x'.repeat(max! + 1);
      body[field] = field === 'email' ? `${'x'.repeat(max! - 9)}@limits.test` : field === 'avatarUrl' ? `https://cdn.limits.test/${long}` : long;
      refusals.push([field, body]);
    }
    if (c.against) refusals.push([c.against[0], { ...c.valid(), [c.against[0]]: c.against[1] }]);
    for (const [field, body] of refusals) {
      expect({ field, documentAccepts: documentAccepts(c.schema, body) }).toEqual({ field, documentAccepts: false });
      const answer = await send(c.method, c.path(), body, key);
      expect({ field, status: answer.status, code: answer.body.code, named: answer.body.errors?.some((e) => e.field === field) }).toEqual({ field, status: 400, code: 'VALIDATION_FAILED', named: true });
    }
  });

  it('query parameters: the member list\'s limit is an integer, its status filter one of three, its team an id', async () => {
    const document = ajv.getSchema('openapi')!.schema as { paths: Record<string, Record<string, { parameters: { name: string; in: string; schema: object }[] }>> };
    const parameters = document.paths['/v1/workspaces/{ws}/members']!.get!.parameters;
    const schemaOf = (name: string) => parameters.find((p) => p.name === name && p.in === 'query')!.schema;
    for (const [name, value, documented] of [
      ['limit', 7, true],
      ['limit', 1.5, false],
      ['status', ['active'], true],
      ['status', ['bogus'], false],
      ['team', 'team-1', true],
      ['team', 'not a team', false],
    ] as const) {
      expect({ name, value, documented: ajv.validate(schemaOf(name), value) }).toEqual({ name, value, documented });
      const query = `${name}=${encodeURIComponent(Array.isArray(value) ? value.join(',') : String(value))}`;
      const response = await fetch(`${app.url}/v1/workspaces/${o.workspaceId}/members?${query}`, { headers: { authorization: `Bearer ${o.key}`, 'x-actor-id': o.admin } });
      expect({ name, value, status: response.status }).toEqual({ name, value, status: documented ? 200 : 400 });
    }
  });
});
