import { type ExecutionContext, Inject, Injectable, createParamDecorator } from '@nestjs/common';
import { SYSTEM_ACTOR, emailKey, normalizeEmail } from '@rollcall/domain';
import { ProblemException, problem } from '../http/problem';
import { type AuthedRequest, type Principal, actorIdOf } from '../auth';
import { type CommandContext, newCommandContext } from './command-context';
import { Idempotency } from './idempotency';
import { DerivedSecrets } from '../secrets';
import { isSaneRequestId } from '../http/request-id';
import { IDEMPOTENCY_KEY_PATTERN } from '../http/headers';
import { foldIdCase } from '../http/dtos';

/**
 * A request's body as its fingerprint sees it: the value of every id field in lower case, as the API reads it (dtos.ts
 * foldIdCase): a field named `…Id` or `…Ids`, or `reassignContactsTo` — the fields the DTOs mark `@FoldsIdCase()`.
 * Nothing else folds: a name or label that looks like an id, sent again in another case under one key, is another
 * request (probe 104 F1: every UUID-shaped string folded, and such a retry was answered the first request's answer).
 */
const ID_FIELD = /(Id|Ids)$|^reassignContactsTo$/;
const foldedIds = (value: unknown, isId = false): unknown =>
  typeof value === 'string'
    ? isId
      ? foldIdCase(value)
      : value
    : Array.isArray(value)
      ? value.map((item) => foldedIds(item, isId))
      : value !== null && typeof value === 'object'
        ? Object.fromEntries(Object.entries(value).map(([field, inner]) => [field, foldedIds(inner, ID_FIELD.test(field))]))
        : value;
/** `PUT /v1/workspaces/<id>/…` with every id segment in lower case */
const foldedPath = (operation: string): string => operation.split('/').map(foldIdCase).join('/');

/** What an HTTP write sets on its response (Fastify's reply). */
export interface WriteResponse {
  header(name: string, value: string): unknown;
  status(code: number): unknown;
}


/** One write as either transport hands it over. */
export interface WriteRequest {
  /** what is asked: `POST /v1/workspaces/…/invitations` or a message pattern; part of the request's fingerprint */
  operation: string;
  /** whose key space: `org:<id>`, `system`, or `invitee:<hash of the token>` for token-authenticated writes */
  scope: string;
  /** the client's Idempotency-Key, if any */
  idempotencyKey?: string;
  actorId: string;
  body: unknown;
  /** the request id (log line, event metadata) */
  correlationId?: string;
  /** the organization API key that authenticated it: checked again at each decision (CommandContext.apiKey) */
  apiKey?: { organizationId: string; keyId: string };
}

/** the organization key of a principal, for WriteRequest.apiKey */
export const apiKeyOf = (principal: Principal): WriteRequest['apiKey'] =>
  principal.kind === 'organization' ? { organizationId: principal.organizationId, keyId: principal.keyId } : undefined;

/**
 * How an answer is kept for a retry, when it holds a secret that must not rest in the data dir: `stored` is what is
 * written, `restored` rebuilds the answer from it (e.g. by deriving the secret again from the key).
 */
/**
 * What is kept of an answer under its Idempotency-Key, and how a retry gets the whole answer back. Secrets (an API
 * key, an invitation link) and personal data (rule 12: a deletion erases them, not a copy in api.sqlite) are left out
 * and derived again: from the key (`ctx`), the server's secrets, or the retry's own body (the same as the first's).
 */
export interface AnswerStorage<T> {
  stored(answer: T): unknown;
  restored(stored: unknown, ctx: CommandContext, body: unknown): T | Promise<T>;
}

/** The idempotency scope of a caller: their organization, the system, or nobody (token-authenticated writes). */
export const scopeOf = (principal: Principal): string =>
  principal.kind === 'organization' ? `org:${principal.organizationId}` : principal.kind;

/**
 * JSON with object keys sorted at every level: the same request with fields in another order is the same request. An
 * address (a field `email`) is taken as the command takes it — normalized, compared case-folded (rule 6) — so a retry
 * that cleaned it up (`  TOM@Acme.Test ` sent again as `tom@acme.test`) is the same request (probe 80 F10: 422). A
 * retry across this change of an answer kept before it, with an address written otherwise, is refused as another
 * request (422, nothing written): answers are kept 7 days.
 */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value ?? null, (key, v: unknown) =>
    key === 'email' && typeof v === 'string'
      ? emailKey(normalizeEmail(v))
      : v && typeof v === 'object' && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : v,
  );

const isEmptyObject = (value: unknown): boolean =>
  value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0;

/**
 * The one write pipeline of both transports (HTTP and message patterns), so they behave the same by construction:
 * it builds the command context (actor, time, request id, idempotency key scoped to the caller) and runs the write
 * at most once per key: the same key and request answer the first answer and append nothing; the same key with
 * another request is refused (422). Only successes are kept: a refused request appended nothing.
 */
@Injectable()
export class WritePipeline {
  constructor(
    @Inject(Idempotency) private readonly idempotency: Idempotency,
    @Inject(DerivedSecrets) private readonly secrets: DerivedSecrets,
  ) {}

  async run<T>(request: WriteRequest, exec: (ctx: CommandContext) => Promise<T>, storage?: AnswerStorage<T>): Promise<{ body: T; replayed: boolean }> {
    const given = request.idempotencyKey;
    if (given !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(given))
      throw new ProblemException(
        problem(400, 'VALIDATION_FAILED', 'Idempotency-Key must be 1 to 255 visible ASCII characters.', [
          { field: 'Idempotency-Key', message: 'must be 1-255 visible ASCII characters' },
        ]),
      );
    const key = given !== undefined ? `${request.scope}:${given}` : undefined;
    const recordedKey = given !== undefined ? this.secrets.recordedKey(request.scope, given) : undefined;
    const correlationId = isSaneRequestId(request.correlationId) ? request.correlationId : undefined;
    // the fingerprint tells a key's retry from another request under it: only computed when there is a key
    // An empty JSON object is no body: the commands whose fields are all optional (a revoke, a resend) take `{}` and
    // nothing alike, so a retry sent with the other is the same request (probe 23: it was 422). Absent, not `{}`, in
    // the fingerprint, so that a retry of a request without a body made before this keeps its fingerprint.
    const body = isEmptyObject(request.body) ? undefined : request.body;
    // api.sqlite keeps answers under the recorded form; one kept under the key in clear by a version before session 33
    // is found there too (probe 57 F1: not found, a retried organization creation, whose ids derive from the recorded
    // form since session 40, made a second organization)
    // every id as the API reads it, in lower case (probe 102 F3: a retry spelling an id in upper case was 422)
    const asRead = { operation: foldedPath(request.operation), actorId: foldIdCase(request.actorId) };
    const fingerprint = (of: unknown, as = asRead) => this.secrets.fingerprint(canonicalJson({ ...as, body: of }));
    // Versions before 2026-12-02 (20942c8) fingerprinted an empty JSON object as `{}`: a retry of a request one of them
    // took with `{}`, sent now with `{}` or no body, is that request (probe 93 F3: it was 422 across the upgrade); those
    // before session 62 took ids as sent: a retry of one sent with an upper-case id, sent alike now, is that request
    const asSent = { operation: request.operation, actorId: request.actorId };
    const earlier = (): string[] => {
      const hashes = body === undefined ? [fingerprint({}, asSent), fingerprint(undefined, asSent)] : [fingerprint(body, asSent)];
      return [...new Set(hashes)].filter((hash) => hash !== requestHash);
    };
    const requestHash = recordedKey === undefined ? '' : fingerprint(foldedIds(body));
    const keyed = recordedKey === undefined ? undefined : { key: recordedKey, clearKey: key!, requestHash, earlierRequestHashes: earlier() };
    const ctx = newCommandContext({
      actorId: request.actorId,
      idempotencyKey: key,
      recordedKey,
      correlationId,
      ...(keyed && { requestHash: keyed.requestHash }),
      ...(keyed?.earlierRequestHashes && { earlierRequestHashes: keyed.earlierRequestHashes }),
      ...(request.apiKey && { apiKey: request.apiKey }),
    });
    const outcome = await this.idempotency.run(keyed, async () => {
      const answer = await exec(ctx);
      // what is kept is built only when there is a key to keep it under (an invitation's verifies its link: an HMAC)
      const about = ctx.wrote || ctx.aboutUsers ? { about: { spans: ctx.wrote ?? [], users: ctx.aboutUsers ?? [] } } : {};
      return { status: 0, body: answer, stored: storage && keyed ? storage.stored(answer) : answer, ...about };
    });
    // answered from the log's events (a lost answer's retry, or another replica was first): a replay too
    if (!outcome.replayed) return { body: outcome.body, replayed: ctx.answeredFromLog === true };
    return { body: storage ? await storage.restored(outcome.body, ctx, request.body) : (outcome.body as T), replayed: true };
  }
}

/** What an HTTP write needs of its request: the request (route, headers, body), the response, and who acts. */
export interface HttpWriteCall {
  req: AuthedRequest;
  res: WriteResponse;
  actorId: string;
}

/** An HTTP write on behalf of a named user: the caller's principal and the `X-Actor-Id` they act for (400 without it). */
export interface ActingWriteCall extends HttpWriteCall {
  principal: Principal;
}

/**
 * `@ActingWrite() call: ActingWriteCall` — one parameter for the request, the response (its status and headers are
 * set by httpWrite; Nest still sends the answer), the principal and the acting user.
 */
export const ActingWrite = createParamDecorator((_: unknown, ctx: ExecutionContext): ActingWriteCall => {
  const req = ctx.switchToHttp().getRequest<AuthedRequest>();
  return { req, res: ctx.switchToHttp().getResponse<WriteResponse>(), principal: req.principal, actorId: actorIdOf(req) };
});

/**
 * `@OperatorOrActingWrite() call: ActingWriteCall` on a route that also takes the system key (`@SystemOrOrganization`):
 * the operator acts as `system` (no X-Actor-Id), an organization's key as the user its X-Actor-Id names.
 */
export const OperatorOrActingWrite = createParamDecorator((_: unknown, ctx: ExecutionContext): ActingWriteCall => {
  const req = ctx.switchToHttp().getRequest<AuthedRequest>();
  return { req, res: ctx.switchToHttp().getResponse<WriteResponse>(), principal: req.principal, actorId: req.principal.kind === 'system' ? SYSTEM_ACTOR : actorIdOf(req) };
});

/** the request id logging.ts gave the request, on Node's request (`raw`; Fastify's own `req.id` is another) */
export const loggedRequestId = (req: AuthedRequest): string | undefined => {
  const id = (req.raw as { id?: unknown }).id;
  return typeof id === 'string' ? id : undefined;
};

/** The HTTP side of the pipeline: headers in, status and headers out. */
export async function httpWrite<T extends { position?: string }>(
  pipeline: WritePipeline,
  { req, res, actorId }: HttpWriteCall,
  write: { status: number; scope?: string },
  exec: (ctx: CommandContext) => Promise<T>,
  storage?: AnswerStorage<T>,
): Promise<T> {
  const header = req.headers['idempotency-key'];
  const correlation = req.headers['x-request-id'] ?? req.headers['x-correlation-id'];
  const { body, replayed } = await pipeline.run(
    {
      operation: `${req.method} ${req.originalUrl.split('?')[0]}`,
      scope: write.scope ?? scopeOf(req.principal),
      idempotencyKey: Array.isArray(header) ? header[0] : header,
      actorId,
      body: req.body,
      correlationId: loggedRequestId(req) ?? (typeof correlation === 'string' ? correlation : undefined),
      apiKey: apiKeyOf(req.principal),
    },
    exec,
    storage,
  );
  if (replayed) res.header('Idempotency-Replayed', 'true');
  if (body?.position) res.header('X-Position', body.position);
  res.status(write.status);
  return body;
}
