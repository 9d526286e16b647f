import { type Type, applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiExtension, ApiExtraModels, ApiProperty, ApiPropertyOptional, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import type { ErrorCode } from '@rollcall/domain';
import { Public, SystemOnly } from './auth';
import { SHAPE_MESSAGES } from './dtos';
import { Problem, STATUS_OF, problem } from './problem';

/**
 * OpenAPI helpers: every operation documents its answer (a resource class, never a storage document) and every
 * problem it can answer, one response per status with that status's `code`s as an enum and one example per code.
 *
 *   @ApiWrite(201, InvitationCreated) @ApiProblems('INSUFFICIENT_AUTHORITY', 'ALREADY_MEMBER', 'WORKSPACE_NOT_FOUND')
 *   @ApiRead(Member) @ApiProblems('NOT_A_MEMBER')
 *
 * ApiWrite/ApiRead already document what every write/read can answer (authentication, malformed input, idempotency,
 * store outages); ApiProblems adds the operation's own codes. The decorators can be stacked in any order.
 */

/** Problem codes raised outside the domain (transport, authentication, infrastructure), with their statuses. */
export const HTTP_STATUS_OF = {
  BAD_REQUEST: 400,
  MALFORMED_JSON: 400,
  JSON_TOO_DEEP: 400,
  UNAUTHENTICATED: 401,
  NOT_FOUND: 404,
  CONCURRENCY_CONFLICT: 409,
  REQUEST_TIMEOUT: 408,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  TOO_MANY_STREAMS: 429,
  TOO_MANY_HEAVY_READS: 429,
  HEADERS_TOO_LARGE: 431,
  IDEMPOTENCY_KEY_REUSED: 422,
  IDEMPOTENCY_KEY_ERASED: 410,
  EVENT_STORE_UNAVAILABLE: 503,
  READ_MODEL_BEHIND: 503,
  UNHEALTHY: 503,
  SHUTTING_DOWN: 503,
  QUOTA_EXCEEDED: "This workspace has 1,000 teams, and this service allows at most 1,000; delete those it no longer uses, or ask the service's operator to raise the limit.",
  STREAMS_AT_CAPACITY: 503,
  WRITTEN_BY_LATER_VERSION: 503,
} as const;

export type ProblemCode = ErrorCode | keyof typeof HTTP_STATUS_OF;

export const statusOf = (code: ProblemCode): number => (STATUS_OF as Record<string, number>)[code] ?? HTTP_STATUS_OF[code as keyof typeof HTTP_STATUS_OF];

/** What every authenticated request can be refused with. */
export const AUTH_PROBLEMS: ProblemCode[] = ['UNAUTHENTICATED', 'INSUFFICIENT_AUTHORITY'];
/**
 * What a request with a JSON body can be refused with before any rule runs (431: the request line and headers past
 * 16 KiB; 408: the request not received within the server's timeouts; both answered by the HTTP server itself, on every
 * operation).
 */
export const BODY_PROBLEMS: ProblemCode[] = ['VALIDATION_FAILED', 'MALFORMED_JSON', 'JSON_TOO_DEEP', 'REQUEST_TIMEOUT', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'HEADERS_TOO_LARGE'];
/**
 * What an operation that takes no body answers to one all the same (shared/declared-input.ts and the JSON middleware run
 * before the route is known to take none): the same refusals as a body's, its fields named as not allowed.
 */
export const NO_BODY_PROBLEMS: ProblemCode[] = BODY_PROBLEMS;
/**
 * What the write path adds (docs/adr/0004): a reused key, a key whose request's personal data an erasure reached since, conflicts that retries did not resolve, the store down; and a
 * stream holding events of a later version of Rollcall than this replica's (docs/adr/0020 point 4: a mixed rolling upgrade).
 */
export const WRITE_PROBLEMS: ProblemCode[] = ['IDEMPOTENCY_KEY_REUSED', 'IDEMPOTENCY_KEY_ERASED', 'CONCURRENCY_CONFLICT', 'EVENT_STORE_UNAVAILABLE', 'WRITTEN_BY_LATER_VERSION'];
/** What a read adds: bad query, read models behind `X-Min-Position`, the caller's organization written by a later version. */
export const READ_PROBLEMS: ProblemCode[] = ['VALIDATION_FAILED', 'READ_MODEL_BEHIND', 'WRITTEN_BY_LATER_VERSION'];

/** One sentence per code for the examples; a code without one gets a generic sentence. */
const EXAMPLE_DETAIL: Partial<Record<ProblemCode, string>> = {
  VALIDATION_FAILED: `The request is not valid: restrictions ${SHAPE_MESSAGES.restrictions}.`,
  BAD_REQUEST: 'The request is malformed.',
  MALFORMED_JSON: 'The request body is not valid JSON (error at character 12).',
  JSON_TOO_DEEP: 'The request body nests objects or arrays more than 32 levels deep.',
  UNAUTHENTICATED: 'Send your API key as `Authorization: Bearer <api key>`.',
  INSUFFICIENT_AUTHORITY: 'You need the users permission in this workspace.',
  CANNOT_MODIFY_SELF: 'You cannot change your own access.',
  NOT_FOUND: 'There is no such resource; see /docs for the API.',
  CONCURRENCY_CONFLICT: 'The workspace kept changing; retry with the same Idempotency-Key.',
  REQUEST_TIMEOUT: 'The request was not received in time (its headers within 60 s, all of it within 300 s); nothing of it was done: send it again.',
  PAYLOAD_TOO_LARGE: 'The request body is too large.',
  UNSUPPORTED_MEDIA_TYPE: 'Send the request body as application/json.',
  IDEMPOTENCY_KEY_REUSED: 'This Idempotency-Key was used for another request.',
  IDEMPOTENCY_KEY_ERASED: 'The request sent under this Idempotency-Key was about a user since deleted or an address since erased: it is no longer replayed nor compared; use a new key.',
  EVENT_STORE_UNAVAILABLE: 'The event store is unavailable; retry with the same Idempotency-Key.',
  READ_MODEL_BEHIND: 'The read models have not reached position 42 yet; retry shortly.',
  TOO_MANY_HEAVY_READS: 'Your organization runs 2 downloads or point-in-time reads on this server already, its limit: retry once one has ended.',
  TOO_MANY_STREAMS: 'Your organization holds 2000 presence streams open on this server, its limit: close one (an EventSource per console page and workspace is enough) or retry later.',
  STREAMS_AT_CAPACITY: 'This server holds 10000 presence streams open, its limit: retry later, or on another replica.',
  INVALID_RESTRICTION: 'Unknown restriction channelz; use the restrictions of the workspace access model.',
  WRITTEN_BY_LATER_VERSION:
    'This server runs an earlier version of Rollcall than the one that wrote workspace-7c9e6679\'s latest events (TeamArchived, schema version 1); it acts on none of them until it is upgraded: retry shortly (with the same Idempotency-Key), another replica may answer.',
};

const exampleOf = (code: ProblemCode): Problem => {
  const status = statusOf(code);
  const detail = EXAMPLE_DETAIL[code] ?? `Refused: ${code.toLowerCase().replaceAll('_', ' ')}.`;
  const fields = code === 'VALIDATION_FAILED' ? [{ field: 'restrictions', message: SHAPE_MESSAGES.restrictions }] : undefined;
  return problem(status, code, detail, fields);
};

const PROBLEM_CODES = 'rollcall:openapi:problem-codes';
// @nestjs/swagger's metadata key for responses: written directly so that stacking ApiProblems replaces a status's
// entry instead of concatenating its description
const SWAGGER_RESPONSES = 'swagger/apiResponse';
const PROBLEM_JSON = 'application/problem+json';

/** Documents problem+json answers for these codes, grouped by status (STATUS_OF); adds to what is documented. */
export function ApiProblems(...codes: ProblemCode[]): MethodDecorator {
  return (target, key, descriptor) => {
    const method = descriptor.value as object;
    const all = new Set<ProblemCode>([...((Reflect.getMetadata(PROBLEM_CODES, method) as ProblemCode[] | undefined) ?? []), ...codes]);
    Reflect.defineMetadata(PROBLEM_CODES, [...all], method);
    const byStatus = new Map<number, ProblemCode[]>();
    for (const code of [...all].sort()) byStatus.set(statusOf(code), [...(byStatus.get(statusOf(code)) ?? []), code]);
    const responses = { ...(Reflect.getMetadata(SWAGGER_RESPONSES, method) as Record<string, unknown> | undefined) };
    for (const [status, statusCodes] of byStatus) responses[status] = problemResponse(status, statusCodes);
    Reflect.defineMetadata(SWAGGER_RESPONSES, responses, method);
    ApiExtraModels(Problem)(target, key, descriptor);
    return descriptor;
  };
}

/** The documented answer of one status: a problem whose `code` is one of `codes` (sorted), with an example of each. */
export const problemResponse = (status: number, codes: readonly ProblemCode[]) => ({
  description: `Problem (RFC 9457): ${codes.join(', ')}`,
  content: {
    [PROBLEM_JSON]: {
      schema: {
        allOf: [{ $ref: getSchemaPath(Problem) }, { type: 'object', properties: { status: { type: 'integer', enum: [status] }, code: { type: 'string', enum: codes } } }],
      },
      examples: Object.fromEntries(codes.map((code) => [code, { summary: code, value: exampleOf(code) }])),
    },
  },
});

/**
 * A write's answer (status 200 or 201) and what every write can be refused with; `authenticated: false` for the
 * token-authenticated writes (no API key, so no 401/403 from the guard).
 */
export const ApiWrite = (status: number, resource: Type<unknown>, options: { authenticated?: boolean } = {}) =>
  applyDecorators(
    ApiResponse({ status, type: resource, description: `${resource.name}; \`X-Position\` repeats \`position\`` }),
    ApiProblems(...(options.authenticated === false ? [] : AUTH_PROBLEMS), ...WRITE_PROBLEMS, ...BODY_PROBLEMS),
  );

/**
 * A read's answer (200) and what every read can be refused with (a body included: a read takes none, see NO_BODY_PROBLEMS).
 * `fromLog`: a read of a decision state, not of the read models: no `X-Min-Position`, never READ_MODEL_BEHIND (probe 38b
 * F10: the key list documented it).
 */
export const ApiRead = (resource: Type<unknown>, options: { isArray?: boolean; fromLog?: boolean } = {}) =>
  applyDecorators(
    ApiResponse({ status: 200, type: resource, isArray: options.isArray, description: resource.name }),
    ApiProblems(...AUTH_PROBLEMS, ...(options.fromLog ? READ_PROBLEMS.filter((code) => code !== 'READ_MODEL_BEHIND') : READ_PROBLEMS), ...NO_BODY_PROBLEMS),
  );

/** Marks an operation public; createOpenApiDocument turns it into `security: []` (swagger drops an empty list). */
export const PUBLIC_EXTENSION = 'x-rollcall-public';

/** No API key (authenticated by a token in the body, or not at all): the route is public and documented so. */
export const PublicOperation = (): MethodDecorator & ClassDecorator => applyDecorators(Public(), ApiExtension(PUBLIC_EXTENSION, true));

/** Routes for the system key only (organizations); the guard refuses organization keys on them. */
export const SystemKeyOperation = (): MethodDecorator & ClassDecorator => applyDecorators(SystemOnly(), ApiBearerAuth(SYSTEM_KEY_SCHEME));
export const SYSTEM_KEY_SCHEME = 'systemKey';
/** A short-lived ticket in `?ticket=` (the presence stream: EventSource cannot send headers). */
export const STREAM_TICKET_SCHEME = 'streamTicket';

/** Every write's answer carries the position of its last event (for `X-Min-Position`) and the rules' warnings. */
export class WriteAnswer {
  @ApiProperty({ description: 'position of the write in the event store (of its last event; when nothing was written, the log\'s head when it was decided); send it as `X-Min-Position` to read your write', example: '1042' })
  position!: string;

  @ApiPropertyOptional({ type: [String], description: 'non-blocking remarks of the rules (e.g. a restriction with no effect)', example: [] })
  warnings?: string[];
}
