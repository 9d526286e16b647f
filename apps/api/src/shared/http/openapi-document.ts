import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { MESSAGE_TWINS } from './message-twins';
import { documentConstraints } from './openapi-constraints';
import { PUBLIC_EXTENSION, type ProblemCode, STREAM_TICKET_SCHEME, SYSTEM_KEY_SCHEME, problemResponse } from './openapi';
import { RETRY_AFTER_SECONDS } from './problem';
import { READS_WITHOUT_POSITION } from '../reads/read-position';
import { MIN_POSITION_HEADER } from '../reads/read-access';

type Operation = { tags?: string[]; security?: unknown[]; parameters?: unknown[]; responses?: Record<string, { headers?: Record<string, unknown>; [key: string]: unknown }>; [PUBLIC_EXTENSION]?: boolean };

/** Headers every answer carries (logging.ts), and those of a write's success (write-pipeline.ts). */
const ANSWER_HEADERS = {
  'X-Request-Id': { description: "the request's id (the client's X-Request-Id when 1–128 visible ASCII characters without '@', else a new UUID); also the correlationId of the events it appended", schema: { type: 'string' } },
};
/** the 503s that say when to retry (ProblemFilter; probe 31: sent, and documented nowhere) */
const RETRY_HEADERS = {
  'Retry-After': {
    description: `seconds to wait before trying again: ${Object.entries(RETRY_AFTER_SECONDS)
      // (a limit's own wait: until the next request the limit allows)
      .map(([code, seconds]) => (code === 'TOO_MANY_EMAIL_CHANGES' ? `until the next may be asked (at most 3600) for ${code}` : `${seconds} for ${code}`))
      .join(', ')}`,
    schema: { type: 'string', pattern: '^[0-9]+$' },
  },
};
const WRITE_HEADERS = {
  'X-Position': {
    description: 'the global position of the last event the write appended (wait for it in a read with X-Min-Position); when it appended none (`changed: false`, `changed: []`), the position of the state it was decided on — its streams\' last events (probe 87 F1) —: a read with it as X-Min-Position sees at least that state (probe 50 F3). Present whenever the body has a `position`; not a sign that something was written (`changed` says that)',
    schema: { type: 'string', pattern: '^[0-9]+$' },
  },
  'Idempotency-Replayed': { description: '`true` when the answer is the replay of an earlier request with the same Idempotency-Key (nothing was written now)', schema: { type: 'string', enum: ['true'] } },
};

/** what a read answers (shared/reads/read-position.ts; probe 82 F3) */
const READ_HEADERS = {
  'X-Position': {
    description:
      'a log position such that the answer includes every change up to it (the position every read model had reached when the read began; a read answered from the log or the decision states includes more): pin a list or a download to it, and send it as X-Min-Position to read at least as much later. Absent while a read model is being rebuilt',
    schema: { type: 'string', pattern: '^[0-9]+$' },
  },
};

/**
 * Operation ids a generated client names its methods by (probe 45 F10: Nest's `TeamsController_choose` said little):
 * an operation with a message-pattern twin is named as the pattern (`teams.setPartnerTeamVisibility` →
 * `teamsSetPartnerTeamVisibility`), the others here.
 */
const OPERATION_IDS: Record<string, string> = {
  'GET /v1/workspaces/{ws}/invitations/{id}/link': 'invitationsLink',
  'GET /v1/workspaces/{ws}/invitations/{id}': 'invitationsGet',
  'GET /v1/workspaces/{ws}/members/{userId}/access': 'membersAccessAsOf',
  'GET /v1/workspaces/{ws}/members/{userId}': 'membersGet',
  'GET /v1/workspaces/{ws}/members': 'membersList',
  'GET /v1/workspaces/{ws}/members/export.csv': 'membersExport',
  'GET /v1/workspaces/{ws}/access': 'rosterAsOf',
  'GET /v1/workspaces/{ws}/history': 'historyList',
  'GET /v1/workspaces/{ws}/partner-teams': 'partnerTeamsList',
  'GET /v1/audit/public-key': 'auditPublicKey',
  'GET /v1/audit/checkpoint': 'auditCheckpoint',
  'GET /v1/audit/proofs/inclusion': 'auditInclusionProof',
  'GET /v1/audit/proofs/consistency': 'auditConsistencyProof',
  'GET /health': 'healthCheck',
  'POST /v1/workspaces/{ws}/presence/stream-tickets': 'presenceStreamTicket',
  'GET /v1/workspaces/{ws}/presence/stream': 'presenceStream',
  'GET /v1/workspaces/{ws}/reports/presence': 'presenceReport',
  'GET /v1/organizations/{org}/users/{userId}/personal-data': 'usersPersonalData',
  'GET /v1/organizations/{org}/users/export.csv': 'usersExport',
  'GET /v1/organizations/{org}/members/export.csv': 'organizationMembersExport',
};
const TWIN_OF = new Map(Object.entries(MESSAGE_TWINS).map(([pattern, twin]) => [twin, pattern.replace(/\.(\w)/g, (_, c: string) => c.toUpperCase())]));
export const operationIdOf = (method: string, route: string): string | undefined => {
  const key = `${method.toUpperCase()} ${route}`;
  return TWIN_OF.get(key) ?? OPERATION_IDS[key];
};

/** writes that append no event, so answer no X-Position: a stream ticket is signed, not stored (probe 45 F6) */
// POSTs that are reads: a ticket, and the invitation preview (probe 66 F5: documented with a write's headers)
const APPENDS_NOTHING = new Set(['/v1/workspaces/{ws}/presence/stream-tickets', '/v1/invitations/preview']);

/** The tags of the features, in the order the docs show them. */
const TAGS: [name: string, description: string][] = [
  ['organizations', 'Organizations and their first org admin (system key).'],
  ['workspaces', 'Workspaces of an organization, each with its plan and access model.'],
  ['invitations', 'Invite by email, copy or resend the link, cancel, accept (docs/rules.md#invitations).'],
  ['members', 'The user list, one member, access edits and revocation (docs/rules.md#changes-and-removal).'],
  ['users', 'Profiles, email changes and deletion of a user across the organization.'],
  ['teams', 'Teams of a workspace, their members, the invite lookup, and the teams partner workspaces share (docs/rules.md#rule-14, #rule-15, #rule-16).'],
  ['network', 'Links between partner workspaces (system key), over which teams are shared (docs/rules.md#rule-16).'],
  ['presence', 'Heartbeats, setting a user offline, the presence stream and the daily presence report (docs/rules.md#rule-13).'],
  ['history', 'Who changed what, when: the history of a workspace and its CSV export.'],
  ['events', 'The integration events feed, of the whole log (system key) or of one organization.'],
  ['audit', 'The verifiable history: the notary\'s public key, signed checkpoints, inclusion and consistency proofs.'],
  ['operations', 'Health of the service.'],
];

/**
 * The OpenAPI document of the running app, served at /docs/openapi.json and written by `npm run openapi` (which
 * `npm test` lints with Redocly): the same function, so what is linted is what is served.
 */
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('Rollcall')
    .setDescription(
      'User management for customer-messaging consoles. Errors are RFC 9457 problem details (`application/problem+json`) with a stable `code`; ' +
        'each operation lists its codes per status. Writes accept `Idempotency-Key`; their answer carries `position` (and the `X-Position` header), ' +
        'which a read can wait for with `X-Min-Position`. Reads answer public resources, never storage documents.',
    )
    .setVersion('1')
    .setLicense('UNLICENSED (proprietary: no rights granted to use, copy or distribute)', 'https://docs.npmjs.com/cli/v11/configuring-npm/package-json#license')
    .addServer('/', 'The Rollcall instance serving this document')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'opaque API key (rk_…)', description: "An organization's API key (returned once by POST /v1/organizations)." })
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'opaque API key', description: 'The system API key (ROLLCALL_SYSTEM_API_KEY): creates organizations, links and unlinks networked workspaces, reads the audit checkpoints and consistency proofs; never an organization\'s data.' }, SYSTEM_KEY_SCHEME)
    .addApiKey({ type: 'apiKey', in: 'query', name: 'ticket', description: 'A 60-second stream ticket (POST .../presence/stream-tickets), for EventSource clients.' }, STREAM_TICKET_SCHEME);
  for (const [name, description] of TAGS) builder.addTag(name, description);
  const document = SwaggerModule.createDocument(app, builder.build());
  const declared = new Set(TAGS.map(([name]) => name));
  for (const [route, path] of Object.entries(document.paths))
    for (const [method, operation] of Object.entries(path) as [string, Operation][]) {
      if (!operation || typeof operation !== 'object') continue;
      const id = operationIdOf(method, route);
      if (id) (operation as { operationId?: string }).operationId = id;
      // an empty segment where an id goes is 404 NOT_FOUND, as a path no route matches (http-app.ts): on every
      // operation with an id in its path (probe 36 F6: a client generated from the document had no type for it)
      if (route.includes('{')) {
        const codes = codesOf(operation.responses?.['404']);
        operation.responses = { ...operation.responses, 404: problemResponse(404, [...new Set<ProblemCode>([...codes, 'NOT_FOUND'])].sort()) };
      }
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        const write = status.startsWith('2') && ['post', 'put', 'patch', 'delete'].includes(method) && !APPENDS_NOTHING.has(route);
        // a 503, and any refusal whose code says when to retry (429 TOO_MANY_STREAMS: probe 45 F8)
        const retry = status === '503' || codesOf(response).some((code) => RETRY_AFTER_SECONDS[code] !== undefined);
        // a 431 is answered by Node's HTTP parser, before the app gives the request an id (probe 45 F8)
        const read = status.startsWith('2') && method === 'get' && route.startsWith('/v1/') && !READS_WITHOUT_POSITION.has(route);
        response.headers = { ...(status !== '431' && ANSWER_HEADERS), ...(write && WRITE_HEADERS), ...(read && READ_HEADERS), ...(retry && RETRY_HEADERS), ...response.headers };
      }
      // every read under /v1 with a position takes X-Min-Position (the interceptor checks it: probe 92 F5), also those
      // answered from the decision states, which did not list it
      if (method === 'get' && route.startsWith('/v1/') && !READS_WITHOUT_POSITION.has(route)) {
        const parameters = (operation.parameters ?? []) as { in: string; name: string }[];
        if (!parameters.some((p) => p.in === 'header' && p.name === MIN_POSITION_HEADER.name))
          operation.parameters = [...parameters, { in: 'header', ...MIN_POSITION_HEADER, description: `${MIN_POSITION_HEADER.description} (checked on this read too, which answers from the decision states or the log)` }] as never;
      }
      // an operation the system key may call too takes it without X-Actor-Id: the header is not required there (probe 45 F5)
      const systemKeyToo = operation.security?.some((s) => SYSTEM_KEY_SCHEME in (s as object)) && operation.security.some((s) => !(SYSTEM_KEY_SCHEME in (s as object)));
      if (systemKeyToo)
        for (const parameter of (operation.parameters ?? []) as { in: string; name: string; required?: boolean; description?: string }[])
          if (parameter.in === 'header' && parameter.name === 'X-Actor-Id' && parameter.required) {
            parameter.required = false;
            parameter.description = `${parameter.description ?? ''} (required with an organization's key; not with the system key)`.trim();
          }
      // PublicOperation(): no API key, stated as OpenAPI's empty requirement list
      if (operation[PUBLIC_EXTENSION]) {
        delete operation[PUBLIC_EXTENSION];
        operation.security = [];
      }
      // a feature tag not listed above still gets declared (its operations stay grouped in the docs)
      for (const tag of operation.tags ?? [])
        if (!declared.has(tag)) {
          declared.add(tag);
          document.tags = [...(document.tags ?? []), { name: tag, description: `Operations of ${tag}.` }];
        }
    }
  strictNullableRefs(document.components?.schemas ?? {});
  documentConstraints((document.components?.schemas ?? {}) as Parameters<typeof documentConstraints>[0], document.paths as unknown as Parameters<typeof documentConstraints>[1]);
  return document;
}

/** the problem codes a documented answer lists (ApiProblems' schema), none when it is not one */
function codesOf(response: unknown): ProblemCode[] {
  const schema = (response as { content?: Record<string, { schema?: { allOf?: { properties?: { code?: { enum?: ProblemCode[] } } }[] } }> } | undefined)?.content?.['application/problem+json']?.schema;
  return schema?.allOf?.[1]?.properties?.code?.enum ?? [];
}

type SchemaNode = { [key: string]: unknown };

/**
 * A property typed by another schema and nullable (`@ApiProperty({ type: Access, nullable: true })`) comes out as
 * `{ type: object, nullable: true, allOf: [{ $ref }] }`. Since OpenAPI 3.0.3, `nullable` adds null to this object's
 * own `type` only: the referenced schema still refuses null, so strict validators refuse a null the API answers
 * (probe 11). Rewritten as "the schema, or null": `oneOf: [{ $ref }, { type: object, nullable: true, enum: [null] }]`.
 */
function strictNullableRefs(node: unknown): void {
  if (!node || typeof node !== 'object') return;
  if (Array.isArray(node)) return node.forEach(strictNullableRefs);
  const schema = node as SchemaNode;
  const allOf = schema.allOf as SchemaNode[] | undefined;
  if (schema.nullable === true && allOf?.length === 1 && typeof allOf[0]!.$ref === 'string') {
    delete schema.allOf;
    delete schema.nullable;
    delete schema.type;
    schema.oneOf = [allOf[0], { type: 'object', nullable: true, enum: [null] }];
  }
  for (const value of Object.values(schema)) strictNullableRefs(value);
}
