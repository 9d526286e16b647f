import EVENT_DATA_SCHEMAS from '../generated/event-data-schemas.json';
import { withEventNotes } from './asyncapi-event-notes';
import type { OpenAPIObject } from '@nestjs/swagger';
import { DOMAIN_EVENT_TYPES } from '@rollcall/domain';
import { ID_PATTERN } from './dtos';
import { IDEMPOTENCY_HEADER } from './headers';
import { MESSAGE_TWINS, PATH_PARAM_FIELDS, QUERY_PARAM_FIELDS } from './message-twins';
import { MIN_POSITION_HEADER } from '../reads/read-access';
import { ENVELOPE_MAX_LENGTH, SANE_CORRELATION_ID_LENGTH } from './messages';

type Json = Record<string, unknown>;
type OpenApiOperation = {
  summary?: string;
  security?: unknown[];
  parameters?: { name: string; in: string; schema?: unknown; description?: string }[];
  requestBody?: { content?: Record<string, { schema?: Json }> };
  responses?: Record<string, { content?: Record<string, { schema?: Json }> }>;
};

/**
 * The AsyncAPI 3.0 document of the message patterns (TCP, and NATS when NATS_URL is set) and of the integration
 * events, served at /docs/asyncapi.json beside the OpenAPI document. It is derived from the OpenAPI document and
 * the twins of the patterns (message-twins.ts), so the two can not drift: a message's payload is its twin's body
 * schema plus the envelope and the path's ids; its reply is the twin's answer, or a problem with one of the twin's
 * codes. Schemas are the OpenAPI ones, turned into JSON Schema (AsyncAPI's default format): `nullable` becomes a
 * `null` type, `example` becomes `examples`.
 */
export function createAsyncApiDocument(openapi: OpenAPIObject): Json {
  const channels: Json = {};
  const operations: Json = {};
  const messages: Json = {};
  for (const [pattern, twin] of Object.entries(MESSAGE_TWINS)) {
    const [method, path] = twin.split(' ') as [string, string];
    const op = (openapi.paths[path] as Record<string, OpenApiOperation> | undefined)?.[method.toLowerCase()];
    if (!op) throw new Error(`the HTTP twin of ${pattern}, ${twin}, is not in the OpenAPI document`);
    const id = pattern.replace(/\./g, '_');
    messages[`${id}_request`] = { name: `${pattern} request`, title: `${pattern}`, summary: op.summary, payload: requestPayload(pattern, path, op, openapi) };
    messages[`${id}_reply`] = { name: `${pattern} reply`, summary: `What ${twin} answers with a 2xx status.`, payload: replyPayload(op) };
    messages[`${id}_problem`] = {
      name: `${pattern} problem`,
      summary: `A refusal: the RFC 9457 problem ${twin} answers, as the error of the reply.`,
      payload: { allOf: [{ $ref: '#/components/schemas/Problem' }, { type: 'object', properties: { code: { type: 'string', enum: problemCodes(op) } } }] },
    };
    channels[id] = {
      address: pattern,
      title: pattern,
      description: `The message-pattern twin of \`${twin}\`.`,
      messages: {
        request: { $ref: `#/components/messages/${id}_request` },
        reply: { $ref: `#/components/messages/${id}_reply` },
        problem: { $ref: `#/components/messages/${id}_problem` },
      },
    };
    operations[id] = {
      action: 'receive',
      channel: { $ref: `#/channels/${id}` },
      summary: op.summary,
      messages: [{ $ref: `#/channels/${id}/messages/request` }],
      reply: { channel: { $ref: `#/channels/${id}` }, messages: [{ $ref: `#/channels/${id}/messages/reply` }, { $ref: `#/channels/${id}/messages/problem` }] },
    };
  }
  channels.integrationEvents = {
    address: 'rollcall.events.{type}',
    title: 'Integration events',
    description:
      'Every domain event (the types below), once written to the log, is handed to each transport at least once, in log order; one process publishes at a time. ' +
      'A consumer gets what is sent while it is connected: core NATS drops what finds no subscriber, and a TCP consumer that dies may lose what was in its socket buffers. ' +
      'What a consumer missed is in the feed `GET /v1/events?after=<position>` (OpenAPI; system key), the same envelopes in log order. A consumer keeps the last `position` it applied (its cursor) and: subscribes FIRST, holding what arrives, then reads the feed from its cursor until a short page, then applies what it held and what follows (subscribed after the feed, it loses for good what is appended in between); applies a pushed event only if its `position` is past the cursor, skipping the others (duplicates, re-sends, a copy read before a deletion that a stalled server delivers late, two connections interleaved after a publisher takeover); reads the feed from its cursor first when an event\'s `previousPosition` is past it (events in between never arrived); refuses a `schemaVersion` it does not know. ' +
      'Erase downstream on `UserDeleted` (the profile), `UserDeletedFromWorkspace.invitationIds` (the invitations whose address the deletion erased, in every workspace it is appended to, possibly more than `UserDeleted.workspaceIds`) and `InvitationAddressErased.invitationIds`; a copy read after an erasure has those fields null and never brings one back. docs/api.md\'s "A consumer that mirrors Rollcall" says it step by step. ' +
      "The log's internal records (`PersonalDataErased`, which says a deletion's keys are gone) are not published, and `ApiKeyIssued` goes without the hash of the key's secret. `UserDeletedFromWorkspace` says `contacts: {mode: 'unassigned'}` (rule 12) where the deletion ended the membership (`wasMember: true`), as `AccessRevoked` says what became of the member's contacts; of a user revoked before (`wasMember: false`) it has no `contacts`: the revoke's disposition stands.",
    parameters: { type: { enum: [...DOMAIN_EVENT_TYPES], description: 'The domain event type.' } },
    messages: { event: { $ref: '#/components/messages/IntegrationEvent' } },
  };
  channels.organizationIntegrationEvents = {
    address: 'rollcall.org.{organizationId}.events.{type}',
    title: "An organization's integration events (NATS)",
    description:
      'With ROLLCALL_NATS_EVENT_SUBJECTS=organization or both, NATS carries each event of an organization on its own subject too (organization: on it alone), ' +
      'so that a NATS user allowed to subscribe to `rollcall.org.<its organization>.>` alone gets its own organization\'s events and no other\'s (docs/security.md). ' +
      "The same envelopes as on `rollcall.events.{type}`, and the same consumer's rules, but `previousPosition`: here the organization's event handed over before it (or the publisher's checkpoint after a restart or a takeover); " +
      "past the consumer's cursor, it reads the organization's feed `GET /v1/organizations/{organizationId}/events?after=<cursor>` (organization key). Rollcall's NATS user must be allowed to publish there. " +
      "An event that names no organization (a workspace's or a presence stream's from before session 58) stays on `rollcall.events.{type}`. Over TCP, events keep `rollcall.events.{type}`.",
    parameters: { organizationId: { description: 'The organization whose event it is (its `organizationId`).' }, type: { enum: [...DOMAIN_EVENT_TYPES], description: 'The domain event type.' } },
    messages: { event: { $ref: '#/components/messages/IntegrationEvent' } },
  };
  operations.publishOrganizationIntegrationEvent = {
    action: 'send',
    channel: { $ref: '#/channels/organizationIntegrationEvents' },
    summary: "Publishes each organization's events on its own subject (NATS, ROLLCALL_NATS_EVENT_SUBJECTS=organization or both).",
    messages: [{ $ref: '#/channels/organizationIntegrationEvents/messages/event' }],
  };
  operations.publishIntegrationEvent = {
    action: 'send',
    channel: { $ref: '#/channels/integrationEvents' },
    summary: 'Publishes each event of the log (NATS, and TCP to ROLLCALL_EVENTS_TCP_TARGET).',
    messages: [{ $ref: '#/channels/integrationEvents/messages/event' }],
  };
  // what goes on the wire: Nest's envelope (its NATS and TCP transports both wrap an emitted event), the event in `data`.
  // A Nest consumer's @EventPattern handler receives `data`; another consumer reads the envelope (probe 13: the
  // document showed the bare event, which no message matched)
  messages.IntegrationEvent = {
    name: 'IntegrationEvent',
    summary: "Nest's event envelope: `pattern` (the subject), `data` (the event)",
    payload: { $ref: '#/components/schemas/IntegrationEventEnvelope' },
  };

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Rollcall message patterns',
      version: '1',
      description:
        'The commands and reads of the HTTP API as @nestjs/microservices message patterns, and the integration events. ' +
        'A message is its HTTP twin\'s JSON body plus `apiKey`, `actorId` (for organization keys), `idempotencyKey?`, ' +
        '`correlationId?` and the ids of the twin\'s path; the reply is the twin\'s answer, a refusal is the same ' +
        'RFC 9457 problem as the error of the reply. `correlationId` is the message\'s `requestId` in the log and the ' +
        '`correlationId` in the metadata of the events it appended. A pattern not listed here is refused `404 UNKNOWN_PATTERN`; ' +
        'over NATS, a reply larger than the server\'s `max_payload` is `422 ANSWER_TOO_LARGE` (ask over HTTP or TCP). The HTTP API: /docs/openapi.json.',
    },
    defaultContentType: 'application/json',
    servers: {
      tcp: {
        host: 'localhost:{port}',
        protocol: 'tcp',
        // the length's unit said outright: a client counting UTF-8 bytes waited for an answer to any non-ASCII message
        // (probe 34 F1)
        description:
          "Nest's TCP transport: frames `<length>#<JSON>`, `{pattern, data, id}` in, `{response | err, id}` out. `<length>` is the JSON text's length in UTF-16 code units (JavaScript's `string.length`, what Nest's own client writes), not in bytes: `é` counts 1, an emoji 2; a frame whose length counts UTF-8 bytes is read as unfinished, left unanswered, and the next frame on the connection closes it.",
        variables: { port: { default: '3001', description: 'ROLLCALL_TCP_PORT (default: PORT + 1)' } },
      },
      nats: {
        host: '{host}',
        protocol: 'nats',
        description:
          "Nest's NATS transport, when NATS_URL is set: a request is a message with a reply subject on the pattern's subject: Nest's `{pattern, data, id}` JSON, or the pattern's message alone (a plain NATS request); its reply `{response | err, id, isDisposed}` (a payload that is not JSON: `err` 400 MALFORMED_JSON); an integration event is `{pattern, data}` on `rollcall.events.<type>`. Not a tenancy boundary: a client allowed to subscribe to these subjects reads every organization's messages (their `apiKey`s), replies and events; connect only the deployment's own services, or give each client NATS subject permissions (the README's docs/security.md, \"NATS is the operator's bus\").",
        variables: { host: { default: 'localhost:4222', description: 'the host of NATS_URL' } },
      },
    },
    channels,
    operations,
    components: { schemas: { ...jsonSchemas(openapi), ...OWN_SCHEMAS }, messages },
  };
}

/** The envelope, the twin's path ids (and `minPosition`), its query parameters (a read's: fields of the message), and its body. */
function requestPayload(pattern: string, path: string, op: OpenApiOperation, openapi: OpenAPIObject): Json {
  const ids = [...path.matchAll(/\{(\w+)\}/g)].map((m) => PATH_PARAM_FIELDS[m[1]!] ?? m[1]!);
  const renamed = QUERY_PARAM_FIELDS[pattern] ?? {};
  const query = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => ({ ...p, name: renamed[p.name] ?? p.name }));
  // a twin without an API key (accepting an invitation, confirming an email) is authenticated by its token
  const envelope = (op.security?.length === 0 ? OWN_SCHEMAS.PublicEnvelope : OWN_SCHEMAS.Envelope) as Json;
  // a query parameter named as an envelope field would stand for it in the document: it needs its own field
  const clash = query.find((p) => Object.hasOwn(envelope.properties as Json, p.name));
  if (clash) throw new Error(`${pattern}: the query parameter ${clash.name} is an envelope field; name its message field in QUERY_PARAM_FIELDS`);
  const own: Json = {
    type: 'object',
    required: ids,
    properties: {
      ...Object.fromEntries(ids.map((f) => [f, { type: 'string', pattern: ID_PATTERN.source }])),
      ...Object.fromEntries(query.map((p) => [p.name, { ...toJsonSchema(p.schema ?? {}), ...(p.description && { description: p.description }) }])),
    },
  };
  if (op.parameters?.some((p) => p.in === 'header' && p.name.toLowerCase() === MIN_POSITION_HEADER.name.toLowerCase()))
    (own.properties as Json).minPosition = { type: 'string', maxLength: 20, description: 'as X-Min-Position: the read waits until the read models include that position' };
  const body = op.requestBody?.content?.['application/json']?.schema;
  const bodySchema = body ? bodyOf(body, openapi) : undefined;
  // one object, closed: the server refuses a field the message does not declare (probe 45b F5), which an `allOf` of
  // the envelope, the ids and the body could not say (each part would refuse the others' fields)
  return {
    type: 'object',
    required: [...((envelope.required as string[] | undefined) ?? []), ...ids, ...((bodySchema?.required as string[] | undefined) ?? [])],
    properties: { ...(envelope.properties as Json), ...(own.properties as Json), ...(bodySchema?.properties as Json | undefined) },
    additionalProperties: false,
  };
}

/** The body's schema (its component's, when it is a $ref), as JSON Schema. */
function bodyOf(body: Json, openapi: OpenAPIObject): Json {
  const name = typeof body.$ref === 'string' ? body.$ref.split('/').pop()! : undefined;
  return toJsonSchema(name ? openapi.components?.schemas?.[name] : body);
}

function replyPayload(op: OpenApiOperation): Json {
  const ok = Object.entries(op.responses ?? {}).find(([status]) => status.startsWith('2'));
  const schema = ok?.[1].content?.['application/json']?.schema;
  return schema ? toJsonSchema(schema) : { type: 'object', description: 'no content' };
}

/** refusals of HTTP alone (a header block, a request's time, a body's media type, an empty path segment): no message meets them */
const HTTP_ONLY_CODES = new Set(['HEADERS_TOO_LARGE', 'REQUEST_TIMEOUT', 'UNSUPPORTED_MEDIA_TYPE', 'NOT_FOUND']);
/** refusals of a transport, for any pattern: a NATS reply past the server's max_payload (problem-nats-server.ts) */
const TRANSPORT_CODES = ['ANSWER_TOO_LARGE'];

/** the twin's refusals a message can meet, and the transports' own (probe 45 F7) */
function problemCodes(op: OpenApiOperation): string[] {
  const codes = new Set<string>(TRANSPORT_CODES);
  for (const [status, response] of Object.entries(op.responses ?? {})) {
    if (status.startsWith('2')) continue;
    const schema = response.content?.['application/problem+json']?.schema as { allOf?: { properties?: { code?: { enum?: string[] } } }[] } | undefined;
    for (const part of schema?.allOf ?? []) for (const code of part.properties?.code?.enum ?? []) if (!HTTP_ONLY_CODES.has(code)) codes.add(code);
  }
  return [...codes].sort();
}

const envelopeFields = {
  idempotencyKey: { type: 'string', minLength: 1, maxLength: ENVELOPE_MAX_LENGTH.idempotencyKey, pattern: IDEMPOTENCY_HEADER.schema.pattern, description: 'as Idempotency-Key: a retry with the same key answers the first answer (1 to 255 visible ASCII characters)' },
  correlationId: { type: 'string', description: `the message's requestId (1-${SANE_CORRELATION_ID_LENGTH} visible ASCII characters without '@', else a new UUID)` },
};
const OWN_SCHEMAS: Json = {
  Envelope: {
    type: 'object',
    required: ['apiKey'],
    properties: {
      apiKey: { type: 'string', maxLength: ENVELOPE_MAX_LENGTH.apiKey, description: "an organization's API key, or the system key" },
      actorId: { type: 'string', pattern: ID_PATTERN.source, description: 'the acting user (required with an organization key), as X-Actor-Id' },
      ...envelopeFields,
    },
  },
  PublicEnvelope: { type: 'object', properties: envelopeFields },
  IntegrationEventEnvelope: {
    type: 'object',
    required: ['pattern', 'data'],
    properties: {
      pattern: { type: 'string', pattern: '^rollcall\\.(org\\.[A-Za-z0-9_-]+\\.)?events\\.[A-Za-z]+$', description: 'rollcall.events.<type>, or rollcall.org.<organizationId>.events.<type>: the subject it was published on' },
      data: { $ref: '#/components/schemas/IntegrationEvent' },
    },
  },
  IntegrationEvent: {
    type: 'object',
    required: ['eventId', 'type', 'stream', 'position', 'occurredAt', 'schemaVersion', 'data'],
    properties: {
      eventId: { type: 'string', format: 'uuid', description: 'the same on every delivery: dedupe by it' },
      type: { type: 'string', enum: [...DOMAIN_EVENT_TYPES] },
      stream: { type: 'string' },
      organizationId: {
        type: 'string',
        description:
          "the organization whose stream holds the event — also a workspace's or a presence stream's, whose names do not say it; a partner link's two events each name their own workspace's organization. Route or keep an organization's events by it. Absent only on events of a workspace's or a presence stream written before session 58 whose data does not name the organization (map their workspace from its WorkspaceCreated)",
      },
      position: { type: 'string', description: 'the global position in the log (a decimal integer)' },
      occurredAt: { type: 'string', format: 'date-time' },
      actorId: { type: 'string', description: 'the acting user (or `system`); absent where the log names none (as the OpenAPI feed item says: probe 87 F5)' },
      correlationId: { type: 'string', description: "the request that appended it (its X-Request-Id, or the id made for it): the same on every event one request appended — group them by it, or know your own request's echo" },
      apiKeyId: { type: 'string', description: "the organization API key's id the request came with (also on the mail a request handed over, whose actor is `system`); absent for the system key and an invitation's link" },
      schemaVersion: {
        type: 'integer',
        minimum: 1,
        description:
          "the schema version of `data`: the newest this version of Rollcall writes for the type (older events are upcast to it); a consumer refuses a version it does not know rather than misread the data. A log holding an event this version cannot read (a later version's, over one shared EventStoreDB) is not published past: the publisher and the feed stop before it",
      },
      previousPosition: {
        type: ['string', 'null'],
        description:
          'the push only (the feed has no gaps to tell): the position of the event this publisher sent before this one, or of the checkpoint it started from (null: the log\'s start). When it is past the last position a consumer applied (its cursor), events in between may have been missed (a reconnect, a slow consumer dropped by NATS): read the feed from the cursor (not from previousPosition) before applying this one',
      },
      data: {
        type: 'object',
        description:
          "the event's data (docs/rules.md), its schema by `type` (`<type>Data`, generated from the domain's types: scripts/event-schemas.mjs); personal fields (email, displayName, alias, avatarUrl) of an erased subject are null; fields may be added in later versions, and events written by earlier ones may lack fields added since",
      },
    },
    // each type's data (probe 38 F8: any object was valid)
    oneOf: Object.keys(EVENT_DATA_SCHEMAS).map((type) => ({ properties: { type: { const: type }, data: { $ref: `#/components/schemas/${type}Data` } } })),
  },
  ...Object.fromEntries(Object.entries(EVENT_DATA_SCHEMAS).map(([type, schema]) => [`${type}Data`, withEventNotes(type, schema)])),
};

/** OpenAPI 3.0's schemas as JSON Schema */
const jsonSchemas = (openapi: OpenAPIObject): Json =>
  Object.fromEntries(Object.entries(openapi.components?.schemas ?? {}).map(([name, schema]) => [name, toJsonSchema(schema as Json)]));

/** `nullable: true` → a `null` type (or `anyOf` with null), `example` → `examples`, `discriminator` → its property; recursively */
export function toJsonSchema(schema: unknown): Json {
  if (Array.isArray(schema)) return schema.map(toJsonSchema) as unknown as Json;
  if (schema === null || typeof schema !== 'object') return schema as Json;
  const { nullable, example, discriminator, ...rest } = schema as Json;
  const out: Json = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, k === 'enum' || k === 'required' || k === 'examples' ? v : toJsonSchema(v)]));
  if (example !== undefined) out.examples = [example];
  // AsyncAPI's discriminator is the property's name (OpenAPI's object also maps values to schemas: `oneOf` says it)
  if (discriminator !== undefined) out.discriminator = (discriminator as { propertyName?: string }).propertyName ?? discriminator;
  if (nullable !== true) return out;
  if (typeof out.type === 'string') {
    out.type = [out.type, 'null'];
    // an enum that lists null already (OpenAPI's "or null" branch, openapi-document.ts) keeps its one null
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...(out.enum as unknown[]), null];
    return out;
  }
  return { anyOf: [out, { type: 'null' }] };
}
