import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus, Inject, Logger, Optional } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { type Observable, throwError } from 'rxjs';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorCode, EventFromLaterVersion, type FieldError, type QuotaName } from '@rollcall/domain';
import { ConcurrencyExhaustedError, DomainException, EventStoreUnavailableError } from '../command-path/stream-handler';
import { IdempotencyKeyErasedError, IdempotencyKeyReusedError } from '../command-path/idempotency';
import { StorageFaults } from '../../health/storage-faults';
import { ErasureJournalUnavailableError } from '../../backup/erasure-journal';
import type { Config } from '../../config';
import { APP_CONFIG } from '../tokens';
import { READ_ONLY_FILE_SYSTEM, type StorageFault, faultUnder, storageFault, storageFaultDetail } from '../storage-fault';

/** HTTP status of each domain error code. */
export const STATUS_OF: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  CANNOT_MODIFY_SELF: 403,
  INSUFFICIENT_AUTHORITY: 403,
  LAST_OWNER: 409,
  LAST_API_KEY: 409,
  API_KEY_LABEL_TAKEN: 409,
  QUOTA_EXCEEDED: 409,
  API_KEY_NOT_FOUND: 404,
  ALREADY_MEMBER: 409,
  ALREADY_INVITED: 409,
  INVITATION_EXPIRED: 410,
  INVITATION_NOT_PENDING: 409,
  INVITEE_ADDRESS_CHANGED: 409,
  INVITATION_NOT_FOUND: 404,
  INVITATION_LINK_SUPERSEDED: 410,
  INVALID_RESTRICTION: 422,
  INVALID_ROLE: 422,
  INVALID_GRANT: 422,
  INVALID_REASSIGNMENT: 422,
  PLAN_REQUIRED: 422,
  PLAN_IN_USE: 409,
  NOT_A_MEMBER: 404,
  USER_NOT_FOUND: 404,
  EMAIL_TAKEN: 409,
  ADDRESS_IS_A_USERS: 409,
  ADDRESS_NOT_FOUND: 404,
  EMAIL_PENDING_INVITATION: 409,
  EMAIL_CHANGE_NOT_PENDING: 410,
  EMAIL_CHANGE_EXPIRED: 410,
  INVITATION_ADDRESSEE_ERASED: 410,
  ORGANIZATION_NOT_FOUND: 404,
  ORGANIZATION_EXISTS: 409,
  ORGANIZATION_CLOSED: 410,
  WORKSPACE_NOT_FOUND: 404,
  WORKSPACE_EXISTS: 409,
  TEAM_NOT_FOUND: 404,
  TEAM_EXISTS: 409,
  TEAM_NAME_TAKEN: 409,
  MEMBER_NOT_ACTIVE: 409,
  FORCED_OFFLINE: 409,
  ALREADY_NETWORKED: 409,
  NOT_NETWORKED: 404,
  AUDIT_ENTRY_NOT_FOUND: 404,
  AUDIT_TREE_SIZE: 422,
  AUDIT_BEHIND: 503,
  AUDIT_LOG_ALTERED: 500,
};

class FieldProblem implements FieldError {
  @ApiProperty({ description: 'the field, header or parameter at fault', example: 'roles' })
  field!: string;
  @ApiProperty({ description: 'what is wrong and the expected shape', example: 'must be a list of role names, e.g. ["agent"]' })
  message!: string;
}

class QuotaProblem {
  @ApiProperty({ enum: ['workspacesPerOrganization', 'teamsPerWorkspace', 'apiKeysPerOrganization'], description: 'which quota (ROLLCALL_MAX_* on the server)' })
  name!: QuotaName;
  @ApiProperty({ type: 'integer', example: 1000 })
  used!: number;
  @ApiProperty({ type: 'integer', example: 1000 })
  limit!: number;
}

/** An RFC 9457 problem with Rollcall's stable `code` (a class: it is also the OpenAPI schema `Problem`). */
export class Problem implements ProblemBody {
  @ApiProperty({ format: 'uri', example: 'https://rollcall.dev/problems/validation-failed' })
  type!: string;
  @ApiProperty({ example: 'Bad Request' })
  title!: string;
  @ApiProperty({ type: 'integer', example: 400 })
  status!: number;
  @ApiProperty({ description: 'stable, machine-readable; the documented codes of each operation are listed per status', example: 'VALIDATION_FAILED' })
  code!: string;
  @ApiProperty({ description: 'a sentence a console user can act on', example: 'The request is not valid: roles must be a list of role names, e.g. ["agent"].' })
  detail!: string;
  @ApiPropertyOptional({ description: 'the request path', example: '/v1/workspaces/ws_1/members' })
  instance?: string;
  @ApiPropertyOptional({ type: [FieldProblem], description: 'one entry per invalid field' })
  errors?: FieldError[];
  // what a refusal is about (extension members, RFC 9457 §3.2), for a client to act on without reading `detail`
  @ApiPropertyOptional({ description: 'the workspace the refusal is about (EMAIL_PENDING_INVITATION: where the invitation is pending)' })
  workspaceId?: string;
  @ApiPropertyOptional({ type: [String], description: "LAST_OWNER on a user's deletion: every workspace they are the last owner of" })
  workspaceIds?: string[];
  @ApiPropertyOptional({ description: 'ALREADY_INVITED, INVITEE_ADDRESS_CHANGED, EMAIL_PENDING_INVITATION (to an org admin): the pending invitation (to resend, or cancel)' })
  invitationId?: string;
  @ApiPropertyOptional({ description: 'API_KEY_LABEL_TAKEN: the key of the organization that carries the label' })
  keyId?: string;
  @ApiPropertyOptional({ type: QuotaProblem, description: 'QUOTA_EXCEEDED: which quota, how many are held and how many allowed' })
  quota?: { name: QuotaName; used: number; limit: number };
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'object', properties: { status: { type: 'string', enum: ['up', 'down'] }, message: { type: 'string' } }, additionalProperties: true },
    description: "UNHEALTHY: every indicator of `/health` as its 200 answer names them (`details`), a down one with why (`message`)",
    example: { eventStore: { status: 'down', message: 'writes refused (disk full) since 2026-03-01T03:00:00.000Z' }, readStore: { status: 'up' } },
  })
  checks?: Record<string, { status: string; message?: string }>;
}

import { type ProblemBody, noteAnsweredCode, problem } from './problem-body';

export { problem };

/** An HTTP-level refusal raised outside the domain (authentication, headers, tokens). */
export class ProblemException extends Error {
  constructor(
    readonly problem: Problem,
    /** when to try again, for a refusal whose wait is its own (the answer's Retry-After; else RETRY_AFTER_SECONDS's) */
    readonly retryAfterSeconds?: number,
  ) {
    super(problem.detail);
  }
}

/** Where the JSON parser stopped (a character offset), without any of the body's text. */
const malformedJson = (parserMessage: string): Problem => {
  const at = /position (\d+)/.exec(parserMessage)?.[1];
  return problem(400, 'MALFORMED_JSON', `The request body is not valid JSON${at ? ` (error at character ${at})` : ''}.`);
};

/** Maps Nest's HTTP errors (and Fastify's, which Nest's adapter turns into them: body reading, routing) to stable codes. */
function fromHttpException(error: HttpException): Problem {
  const status = error.getStatus();
  const response = error.getResponse() as { message?: string | string[] } | string;
  const message = typeof response === 'string' ? response : Array.isArray(response.message) ? response.message.join('; ') : response.message;
  switch (status) {
    case HttpStatus.NOT_FOUND:
      return problem(404, 'NOT_FOUND', 'There is no such resource; see /docs for the API.');
    case HttpStatus.PAYLOAD_TOO_LARGE:
      return problem(413, 'PAYLOAD_TOO_LARGE', 'The request body is too large.');
    case HttpStatus.BAD_REQUEST:
      // the parser's message quotes the body ("Unexpected token 'h', "{"token": hunter2…" is not valid JSON"): never echoed
      if (/JSON/i.test(message ?? '')) return malformedJson(message!);
      // what else Fastify's body reading refuses (a body shorter or longer than its Content-Length); a path of invalid
      // percent-encoding is answered by http-app.ts's frameworkErrors
      return problem(400, 'MALFORMED_JSON', `The request body could not be read${message ? ` (${message})` : ''}; send plain or correctly compressed JSON.`);
    case HttpStatus.UNSUPPORTED_MEDIA_TYPE:
      return problem(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the request body as application/json.');
    default:
      return problem(status, `HTTP_${status}`, message ?? 'The request failed.');
  }
}

/**
 * When to try again, for the refusals that say "retry" (RFC 9110 Retry-After; probe 30: the 503s said it in words
 * only): the read models and the notary's signed checkpoints catch up within a second or so; a store that cannot
 * write needs its operator; a command sent back by other writers 8 times is worth sending again at once (probe 49 F3:
 * a client whose retry policy follows Retry-After took the 409 as final).
 */
export const RETRY_AFTER_SECONDS: Partial<Record<string, number>> = { CONCURRENCY_CONFLICT: 1, READ_MODEL_BEHIND: 1, AUDIT_BEHIND: 1, EVENT_STORE_UNAVAILABLE: 5, TOO_MANY_STREAMS: 30, TOO_MANY_HEAVY_READS: 2, TOO_MANY_EMAIL_CHANGES: 60, STREAMS_AT_CAPACITY: 30, WRITTEN_BY_LATER_VERSION: 30 };

/**
 * A problem's `instance`: the request's path, without its query, which may hold a stream ticket, a searched address
 * or anything a client put there; problem bodies are what consoles and gateways log (probe 34 F2).
 */
export const instanceOf = (url: string): string => {
  const at = url.indexOf('?');
  return at < 0 ? url : url.slice(0, at);
};

/** how often a storage fault's refusals are logged with their stack */
const STORAGE_FAULT_LOG_EVERY_MS = 60_000;

/** Every error leaves as application/problem+json; only a real fault is a 500 (and is logged). */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemFilter');
  /** when a storage fault of each cause was last logged with its error and stack */
  private readonly storageLogged = new Map<string, number>();

  constructor(
    @Optional() @Inject(StorageFaults) private readonly storageFaults?: StorageFaults,
    @Optional() @Inject(APP_CONFIG) private readonly config?: Pick<Config, 'dataDir'> & Partial<Pick<Config, 'bodyLimit'>>,
  ) {}

  catch(error: unknown, host: ArgumentsHost): void | Observable<never> {
    // over message patterns the caller gets the same problem object as its error
    if (host.getType() === 'rpc') return throwError(() => this.toProblem(error));
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<FastifyReply>();
    const req = ctx.getRequest<FastifyRequest>();
    // the client went away in the middle of its request (its body cut short: the body reader's `aborted`): nobody to
    // answer, and no fault of the server's to log (probe 61 F3: an error line "answered 500" per cut body, no key needed)
    if ((error as NodeJS.ErrnoException | undefined)?.code === 'ECONNRESET' && (req.raw.destroyed || req.raw.socket?.destroyed)) return;
    const body = this.toProblem(error, req.method !== 'GET' && req.method !== 'HEAD');
    body.instance = instanceOf(req.originalUrl);
    // a stream already under way (the presence stream, written on Node's response): nothing more can be said
    if (res.raw.headersSent) return;
    const retryAfter = (error instanceof ProblemException ? error.retryAfterSeconds : undefined) ?? RETRY_AFTER_SECONDS[body.code];
    if (retryAfter !== undefined) res.header('Retry-After', String(retryAfter));
    noteAnsweredCode(res.raw, body.code);
    res.status(body.status).type('application/problem+json').send(JSON.stringify(body));
  }

  /** `write`: the request may write (HTTP other than GET and HEAD; a message pattern is not counted) */
  toProblem(error: unknown, write = false): Problem {
    const { problem: answer, fault, storage } = problemFor(error, this.config?.dataDir);
    // the limit, which an operator may have lowered, as the TCP transport's refusal names it (probe 89 F3)
    if (answer.code === 'PAYLOAD_TOO_LARGE' && this.config?.bodyLimit !== undefined)
      answer.detail = `The request body is too large: at most ${this.config.bodyLimit} bytes of JSON (a compressed body counts as inflated).`;
    // /metrics counts a store that cannot be used, and /health hears of one that refused a write for its disk (probe
    // 41 F1): not a read's (a damaged read.sqlite is not the event store: probe 41b F6), not a lock another process
    // held past the busy timeout (it passes by itself: 41b F4)
    if (storage) this.storageFaults?.refused(storage.cause, { writeRefused: write && storage.kind !== 'contention' });
    // structured: pino serializes the error (type, message, stack); the line carries the request's requestId
    if (fault && storage) this.logStorageFault(storage.cause, fault, error);
    else if (fault) this.logger.error({ err: error }, fault);
    return answer;
  }

  /**
   * A store that cannot be used refuses every request until it is mended: the first refusal of a cause (and one a
   * minute after) is logged with the error and what to do, naming the data dir; the others in a line each, without the
   * stack (probe 51 F4: 1,903 stack traces in 49 s of a full disk, and no line naming the data dir).
   */
  private logStorageFault(cause: string, fault: string, error: unknown): void {
    const now = performance.now(); // a minute between logged stacks, on a clock that never steps
    const last = this.storageLogged.get(cause);
    if (last !== undefined && now - last < STORAGE_FAULT_LOG_EVERY_MS) return this.logger.error(fault);
    this.storageLogged.set(cause, now);
    const where = this.config ? `the data dir ${this.config.dataDir}` : 'the data dir';
    const todo =
      cause === READ_ONLY_FILE_SYSTEM.cause
        ? 'a file system the kernel remounted read-only after an error takes no write until it is repaired: stop the processes on it, check it (fsck), mount it read-write and start them again'
        : 'free space or repair its file system: writes resume by themselves, no restart needed';
    this.logger.error({ err: error }, `${fault}: ${where} (ROLLCALL_DATA_DIR) cannot take writes (${cause}); ${todo} (the same refusals are logged without their stack for a minute)`);
  }
}

/**
 * The problem an error is answered with (both transports), and, for a fault the operator must hear of (a store that
 * cannot write, an unexpected error), the line to log: a full disk does not mend itself; the client retries with its key.
 * `dataDir`: where the embedded stores are, asked whether an I/O error is its file system gone read-only.
 */
export function problemFor(error: unknown, dataDir?: string): { problem: Problem; fault?: string; storage?: StorageFault } {
  if (error instanceof DomainException) return { problem: { ...problem(STATUS_OF[error.error.code] ?? 400, error.error.code, error.error.message, error.error.fields), ...error.error.facts } };
  if (error instanceof ProblemException) return { problem: { ...error.problem } };
  if (error instanceof IdempotencyKeyReusedError) return { problem: problem(422, error.code, error.message) };
  if (error instanceof IdempotencyKeyErasedError) return { problem: problem(410, error.code, error.message) };
  if (error instanceof ConcurrencyExhaustedError) return { problem: problem(409, error.code, error.message) };
  // a store that would not say whether it wrote: the operator hears of it, with its cause (the error's `cause`)
  // before its parent: the journal's, not the event store's (probe 64 F3); the journal's own line names its file
  if (error instanceof ErasureJournalUnavailableError) return { problem: problem(503, error.code, error.message), fault: 'the erasure journal could not record a change made (see its own log line), answered 503 EVENT_STORE_UNAVAILABLE' };
  if (error instanceof EventStoreUnavailableError) return { problem: problem(503, error.code, error.message), fault: 'the event store did not confirm a write after re-sending it, answered 503 EVENT_STORE_UNAVAILABLE' };
  if (error instanceof EventFromLaterVersion)
    return {
      problem: problem(
        503,
        error.code,
        `This server runs an earlier version of Rollcall than the one that wrote ${error.stream}'s latest events (${error.type}, schema version ${error.version}); it acts on none of them until it is upgraded: retry shortly (with the same Idempotency-Key), another replica may answer.`,
      ),
      fault: `${error.message}; this process must be upgraded (docs/adr/0020 point 4), answered 503 WRITTEN_BY_LATER_VERSION`,
    };
  if (error instanceof HttpException) return { problem: fromHttpException(error) };
  // a body whose Content-Encoding its bytes do not match (body-encoding.ts inflates it; zlib's message names no byte of the body)
  const typed = error as { code?: unknown; message?: string };
  if (typeof typed?.code === 'string' && typed.code.startsWith('Z_'))
    return { problem: problem(400, 'MALFORMED_JSON', `The request body could not be read (${typed.message}); send plain or correctly compressed JSON.`) };
  // an I/O error said as the read-only file system it is, where the data dir's is (faultUnder)
  const found = storageFault(error);
  const storage = found && faultUnder(found, dataDir);
  if (storage)
    return {
      problem: problem(503, 'EVENT_STORE_UNAVAILABLE', storageFaultDetail(storage)),
      fault: `embedded store: ${storage.cause}, answered 503 EVENT_STORE_UNAVAILABLE`,
      storage,
    };
  return {
    problem: problem(500, 'INTERNAL_ERROR', 'Something went wrong on our side; the request may be retried with the same Idempotency-Key.'),
    fault: 'unexpected error, answered 500 INTERNAL_ERROR',
  };
}
