import { type Type, applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiExtension, ApiExtraModels, ApiProperty, ApiPropertyOptional, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import type { ErrorCode } from '@rollcall/domain';
import { Public, SystemOnly } from '../auth';
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
  TOO_MANY_EMAIL_CHANGES: 429,
  HEADERS_TOO_LARGE: 431,
  IDEMPOTENCY_KEY_REUSED: 422,
  IDEMPOTENCY_KEY_ERASED: 410,
  EVENT_STORE_UNAVAILABLE: 503,
  READ_MODEL_BEHIND: 503,
  UNHEALTHY: 503,
  SHUTTING_DOWN: 503,
  STREAMS_AT_CAPACITY: 503,
  WRITTEN_BY_LATER_VERSION: 503,
} as const;

export type ProblemCode = ErrorCode | keyof typeof HTTP_STATUS_OF;

export const statusOf = (code: ProblemCode): number => (STATUS_OF as Record<string, number>)[code] ?? HTTP_STATUS_OF[code as keyof typeof HTTP_STATUS_OF];

/**
 * What every authenticated request can be refused with: 410 ORGANIZATION_CLOSED once its organization is being closed
 * (docs/adr/0035: the system key's requests about it, a stream ticket taken before), and 503 EVENT_STORE_UNAVAILABLE
 * when a data file cannot be read or written (storage-fault.ts: the key's check reads the store; the reads that record
 * themselves — a download, a link's copy — append) (probe 84 F5: both listed nowhere but on writes).
 */
export const AUTH_PROBLEMS: ProblemCode[] = ['UNAUTHENTICATED', 'INSUFFICIENT_AUTHORITY', 'ORGANIZATION_CLOSED', 'EVENT_STORE_UNAVAILABLE'];
/**
 * What a request with a JSON body can be refused with before any rule runs (431: the request line and headers past
 * 16 KiB; 408: the request not received within the server's timeouts; both answered by the HTTP server itself, on every
 * operation).
 */
export const BODY_PROBLEMS: ProblemCode[] = ['VALIDATION_FAILED', 'MALFORMED_JSON', 'JSON_TOO_DEEP', 'REQUEST_TIMEOUT', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'HEADERS_TOO_LARGE'];
/**
 * What an operation that takes no body answers to one all the same (shared/http/declared-input.ts and the JSON middleware run
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

// example ids and values, those of the resources' own examples
const WORKSPACE = '7c9e6679-7425-5de3-944b-e07fc1f90ae7';
const USER = 'b5e0f4a2-6c1d-5f3e-9a7b-2d4c6e8f0a1b';
const ORGANIZATION = '1b671a64-40d5-591e-99b1-2c3b3a4f2d10';
const INVITATION = 'a3bb189e-8bf9-5888-9912-ace4e6543002';
const TEAM = '5f0c7a3e-2b1d-5c4e-8f9a-0b1c2d3e4f5a';

/**
 * One sentence per code for the examples: one the server answers with (found where the code is raised), example ids and
 * values filled in. Every code has one (probe 65 F8: a code without one was shown as "Refused: invitation expired." while
 * the server says what to do); a new code does not compile until it has its sentence.
 */
export const EXAMPLE_DETAIL: Record<ProblemCode, string> = {
  // transport, authentication, infrastructure (shared/http/problem.ts, json-body.ts, client-errors.ts, auth.ts, ...)
  VALIDATION_FAILED: `The request is not valid: restrictions ${SHAPE_MESSAGES.restrictions}.`,
  MALFORMED_JSON: 'The request body is not valid JSON (error at character 12).',
  JSON_TOO_DEEP: 'The request body nests objects or arrays more than 32 levels deep.',
  UNAUTHENTICATED: 'Send your API key as `Authorization: Bearer <api key>`.',
  NOT_FOUND: 'There is no such resource; see /docs for the API.',
  CONCURRENCY_CONFLICT: `Too many concurrent changes to workspace-${WORKSPACE}; retry the request.`,
  REQUEST_TIMEOUT: 'The request was not received in time (its headers within 60 s, all of it within 300 s); nothing of it was done: send it again.',
  PAYLOAD_TOO_LARGE: 'The request body is too large: at most 65536 bytes of JSON (a compressed body counts as inflated).',
  UNSUPPORTED_MEDIA_TYPE: 'Send the request body as JSON with Content-Type application/json (not "text/plain").',
  HEADERS_TOO_LARGE: 'The request line and headers are too large (16 KiB at most): send long searches in fewer characters.',
  IDEMPOTENCY_KEY_REUSED: 'This Idempotency-Key was already used with a different request; use a new key for a new request.',
  IDEMPOTENCY_KEY_ERASED: 'The request sent under this Idempotency-Key was about a user since deleted or an address since erased: it is no longer replayed nor compared; use a new key.',
  EVENT_STORE_UNAVAILABLE: `The event store did not confirm the change to workspace-${WORKSPACE}; retry the request with the same Idempotency-Key.`,
  READ_MODEL_BEHIND: 'The read models have not reached position 42 yet; retry shortly.',
  TOO_MANY_EMAIL_CHANGES:
    "This user's email was asked to change 5 times in the last hour, each sending a confirmation link to the address asked for, and 5 an hour is the limit: the next can be asked at 2026-03-01T10:12:00.000Z at the latest (earlier if the mail relay refuses one of those links for good).",
  TOO_MANY_HEAVY_READS: 'Your organization runs 2 downloads or point-in-time reads on this server already, its limit: retry once one has ended.',
  TOO_MANY_STREAMS: 'Your organization holds 2000 presence streams open on this server, its limit: close one (an EventSource per console page and workspace is enough) or retry later.',
  STREAMS_AT_CAPACITY: 'This server holds 10000 presence streams open, its limit: retry later, or on another replica.',
  UNHEALTHY: 'Not ready: eventStore down: writes refused (disk full) since 2026-03-01T03:00:00.000Z.',
  SHUTTING_DOWN: 'This process is stopping: send requests to another replica.',
  WRITTEN_BY_LATER_VERSION: `This server runs an earlier version of Rollcall than the one that wrote workspace-${WORKSPACE}'s latest events (TeamArchived, schema version 1); it acts on none of them until it is upgraded: retry shortly (with the same Idempotency-Key), another replica may answer.`,
  // the domain's refusals (libs/domain/src; a few raised by the API's reads)
  INSUFFICIENT_AUTHORITY: 'Managing members needs the users permission (given by the environment_manager role), which you do not hold. Ask an environment_manager of this workspace, or an org admin, to give it to you.',
  CANNOT_MODIFY_SELF: 'You cannot edit or revoke your own access; ask another member with the authority to do it.',
  LAST_OWNER: 'This is the last owner of the workspace; make another member owner first.',
  LAST_API_KEY: "This is the organization's last API key: issue another first, then revoke this one.",
  API_KEY_LABEL_TAKEN: 'Another API key of this organization (5d0e2f7a-1c3b-5e4d-8f6a-9b0c1d2e3f4a) is labelled "Zendesk sync" (labels ignore case, width and spacing); choose another label.',
  QUOTA_EXCEEDED: "This workspace has 1,000 teams, and this service allows at most 1,000; delete those it no longer uses, or ask the service's operator to raise the limit.",
  API_KEY_NOT_FOUND: 'The organization has no API key 5d0e2f7a-1c3b-5e4d-8f6a-9b0c1d2e3f4a (it never had, or it was revoked).',
  ALREADY_MEMBER: 'jane.doe@acme.test is already an active member of this workspace.',
  ALREADY_INVITED: 'jane.doe@acme.test already has a pending invitation (0b7e2d5c-1f4a-5e6b-8c9d-0e1f2a3b4c5d); resend it instead of inviting again.',
  INVITATION_EXPIRED: 'This invitation link has expired (links are valid for 48 hours); ask for it to be resent.',
  INVITATION_NOT_PENDING: 'This invitation has already been accepted; the link works only once.',
  INVITEE_ADDRESS_CHANGED:
    'This invitation is bound to a user who has changed their address since it was sent to jane.doe@acme.test: a resend would mail the address they gave up. Cancel it and invite their current address, or copy its link to them.',
  INVITATION_NOT_FOUND: `Invitation ${INVITATION} does not exist in this workspace.`,
  INVITATION_LINK_SUPERSEDED: 'This link was replaced by a newer one; use the link from the latest email.',
  INVITATION_ADDRESSEE_ERASED: 'The person this invitation was sent to was deleted; ask for a new invitation.',
  INVALID_RESTRICTION: 'Unknown restriction "channelz"; use the restrictions of the workspace\'s access model.',
  INVALID_ROLE: 'Unknown role supervisor in access model levels; choose from owner, manager, agent.',
  INVALID_GRANT: 'Cannot grant billing; grantable permissions are reporting, users, settings, ib_designer, ib_publisher, ib_data, wfb_user.',
  INVALID_REASSIGNMENT: `Contacts can only be reassigned to another active member of this workspace: user ${USER}'s access to this workspace was revoked on 2026-05-01T09:30:00.000Z. Name another, or leave them unassigned.`,
  PLAN_REQUIRED: 'Restriction mask_contact_info is available only on the advanced and enterprise plans; this workspace is on standard.',
  PLAN_IN_USE: `The standard plan does not accept mask_contact_info, which 1 member (${USER}) carries; lift it from them first.`,
  NOT_A_MEMBER: `User ${USER} is not a member of this workspace.`,
  USER_NOT_FOUND: `User ${USER} is not a user of this organization.`,
  ADDRESS_NOT_FOUND: 'No invitation of this organization holds this address (never invited here, or erased already).',
  ADDRESS_IS_A_USERS: "This address is (or was) a user's: delete that user instead, which erases it with them.",
  EMAIL_TAKEN: 'Another user of this organization already uses jane.doe@acme.test.',
  EMAIL_PENDING_INVITATION:
    "jane.doe@acme.test has a pending invitation for someone else; it cannot become another user's address until that invitation is accepted or cancelled.",
  EMAIL_CHANGE_NOT_PENDING: 'This confirmation link was replaced or already used; request the email change again.',
  EMAIL_CHANGE_EXPIRED: 'This confirmation link has expired; request the email change again.',
  ORGANIZATION_NOT_FOUND: `Organization ${ORGANIZATION} does not exist.`,
  ORGANIZATION_EXISTS: `Organization ${ORGANIZATION} already exists.`,
  ORGANIZATION_CLOSED: `Organization ${ORGANIZATION} is being closed (since 2026-12-06T12:00:00.000Z): nothing more is decided in it.`,
  WORKSPACE_NOT_FOUND: `Workspace ${WORKSPACE} does not exist.`,
  WORKSPACE_EXISTS: `Workspace ${WORKSPACE} already exists.`,
  TEAM_NOT_FOUND: `Team ${TEAM} does not exist in this workspace.`,
  TEAM_EXISTS: `Team ${TEAM} already exists.`,
  TEAM_NAME_TAKEN: 'A team named "Night shift" already exists in this workspace (names ignore case, width and spacing).',
  MEMBER_NOT_ACTIVE: `User ${USER} is invited but has not accepted yet; only active members can be in a team.`,
  FORCED_OFFLINE:
    'A member manager set you offline in this workspace at 2026-03-01T09:00:00.000Z; you stay offline until you choose to be online again (a heartbeat with "resume": true).',
  ALREADY_NETWORKED: `Workspaces ${WORKSPACE} and 9b2e4c6d-8f1a-5b3c-9d5e-7f0a1b2c3d4e are already networked.`,
  NOT_NETWORKED: `Workspaces ${WORKSPACE} and 9b2e4c6d-8f1a-5b3c-9d5e-7f0a1b2c3d4e are not networked.`,
  AUDIT_ENTRY_NOT_FOUND: 'There is no log entry at position 1042 that this key may see.',
  AUDIT_TREE_SIZE: 'The tree has 1042 leaves; to=2048 is beyond it.',
  AUDIT_BEHIND: 'The notary has not reached position 1042 yet. Retry in a second.',
  AUDIT_LOG_ALTERED:
    "The notary's tree holds an entry at position 1042, but the event log no longer has it: the log was altered after it was notarized. The operator should run `rollcall-audit verify` on the data dir and restore it from a backup.",
};

/** The documented example of a code's problem: its status (statusOf), its code and its sentence (EXAMPLE_DETAIL). */
export const exampleOf = (code: ProblemCode): Problem => {
  const fields = code === 'VALIDATION_FAILED' ? [{ field: 'restrictions', message: SHAPE_MESSAGES.restrictions }] : undefined;
  return problem(statusOf(code), code, EXAMPLE_DETAIL[code], fields);
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

/** whether an operation documents `code` among its problems (ApiProblems): what it may answer, as its handler is written */
export const declaresProblem = (handler: object, code: ProblemCode): boolean => ((Reflect.getMetadata(PROBLEM_CODES, handler) as ProblemCode[] | undefined) ?? []).includes(code);

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
  @ApiProperty({ description: 'position of the write in the event store (of its last event; when nothing was written, the position of the state it was decided on: its streams\' last events, probe 87 F1); send it as `X-Min-Position` to read your write', example: '1042' })
  position!: string;

  @ApiPropertyOptional({ type: [String], description: 'non-blocking remarks of the rules (e.g. a restriction with no effect)', example: [] })
  warnings?: string[];
}
