import { Inject, Injectable } from '@nestjs/common';
import { IsString, Matches, MaxLength } from 'class-validator';
import { SYSTEM_ACTOR } from '@rollcall/domain';
import { PinoLogger } from 'nestjs-pino';
import { Authenticator, type Principal, organizationOf, refuseOperatorName } from '../auth';
import { FoldsIdCase, ID_PATTERN, foldIdCase } from './dtos';
import { ProblemException, problem } from './problem';
import type { CommandContext } from '../command-path/command-context';
import { sha256 } from '../secrets';
import { type AnswerStorage, WritePipeline, apiKeyOf, scopeOf } from '../command-path/write-pipeline';
import { Omittable } from './omittable';

/** The envelope's length limits, in characters: validated here, published by the AsyncAPI document. */
export const ENVELOPE_MAX_LENGTH = { apiKey: 200, idempotencyKey: 255 } as const;
/** the longest `correlationId` used as the request id; a longer one (or one not visible ASCII, or holding an '@': shared/http/request-id.ts) is replaced by a new UUID, as X-Request-Id is */
export const SANE_CORRELATION_ID_LENGTH = 128;

/** Every message carries its credentials and, for organization keys, the acting user. */
export class Envelope {
  @IsString() @MaxLength(ENVELOPE_MAX_LENGTH.apiKey) apiKey!: string;
  @Omittable() @IsString() @Matches(ID_PATTERN) @FoldsIdCase() actorId?: string;
  @Omittable() @IsString() @MaxLength(ENVELOPE_MAX_LENGTH.idempotencyKey) idempotencyKey?: string;
  /** the request id of the message's log line and of its events' metadata (as X-Request-Id over HTTP) */
  @Omittable() @IsString() correlationId?: string;
}

/** The HTTP body's DTO plus the envelope's fields, validated the same way. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const withEnvelope = <T extends new (...args: any[]) => object>(Base: T) => {
  class Enveloped extends Base {
    @IsString() @MaxLength(ENVELOPE_MAX_LENGTH.apiKey) apiKey!: string;
    @Omittable() @IsString() @Matches(ID_PATTERN) @FoldsIdCase() actorId?: string;
    @Omittable() @IsString() @MaxLength(ENVELOPE_MAX_LENGTH.idempotencyKey) idempotencyKey?: string;
    @Omittable() @IsString() correlationId?: string;
  }
  return Enveloped;
};

const ENVELOPE_FIELDS = ['apiKey', 'actorId', 'idempotencyKey', 'correlationId', 'workspaceId', 'organizationId', 'userId', 'invitationId'];

/** The command's own fields of a message (what the HTTP body would carry). */
export const bodyOf = <T extends object>(message: T): Record<string, unknown> =>
  Object.fromEntries(Object.entries(message).filter(([k]) => !ENVELOPE_FIELDS.includes(k)));

/** The acting user a message names (`actorId`), required of an organization's key: 400 without one. */
export const messageActor = (actorId: string | undefined): string => {
  if (!actorId) throw new ProblemException(problem(400, 'VALIDATION_FAILED', 'Name the acting user in actorId.', [{ field: 'actorId', message: 'is required' }]));
  refuseOperatorName(actorId, 'actorId');
  return foldIdCase(actorId);
};

/** A message's organization must be the key's: anything else is "not found", as over HTTP. */
export const ownOrganization = (principal: Principal, organizationId: string): string => {
  if (principal.kind !== 'organization' || organizationOf(principal) !== organizationId)
    throw new ProblemException(problem(404, 'ORGANIZATION_NOT_FOUND', `Organization ${organizationId} does not exist.`));
  return organizationId;
};

/**
 * The message-pattern side of the write pipeline: authenticates the key in the payload, names the actor, and runs
 * the write through the same WritePipeline as HTTP (same idempotency, same context, same problems).
 */
@Injectable()
export class MessageWrites {
  constructor(
    @Inject(Authenticator) private readonly auth: Authenticator,
    @Inject(WritePipeline) private readonly pipeline: WritePipeline,
    @Inject(PinoLogger) private readonly log: PinoLogger,
  ) {}

  /** The request id the message's log line carries (logging-messages.ts): the correlation id of what it appends. */
  private requestId(): string | undefined {
    const id = this.log.logger.bindings().requestId as unknown;
    return typeof id === 'string' ? id : undefined;
  }

  /**
   * A write authenticated by the message's API key. Its kind (the system key for a `@SystemOnly()` pattern, an
   * organization's key for the others) was judged by ApiKeyGuard before the message's fields, as over HTTP.
   */
  async run<T>(
    pattern: string,
    message: Envelope,
    exec: (ctx: CommandContext, principal: Principal) => Promise<T>,
    storage?: AnswerStorage<T>,
  ): Promise<T> {
    const principal = await this.auth.identify(message.apiKey);
    const actorId = principal.kind === 'system' ? SYSTEM_ACTOR : messageActor(message.actorId);
    // the correlation id names this attempt, not the request: a retry with another one is the same request
    const { apiKey: _key, idempotencyKey, correlationId: _correlation, ...request } = message;
    const { body } = await this.pipeline.run(
      { operation: pattern, scope: scopeOf(principal), idempotencyKey, actorId, body: request, correlationId: this.requestId(), apiKey: apiKeyOf(principal) },
      (ctx) => exec(ctx, principal),
      storage,
    );
    return body;
  }

  /** A write authenticated by a link's token alone (accepting an invitation, confirming an email). */
  async runWithToken<T>(
    pattern: string,
    message: { token: string; idempotencyKey?: string; correlationId?: string },
    exec: (ctx: CommandContext) => Promise<T>,
  ): Promise<T> {
    const { idempotencyKey, correlationId: _correlation, ...request } = message;
    const { body } = await this.pipeline.run(
      { operation: pattern, scope: tokenScope(message.token), idempotencyKey, actorId: 'invitee', body: request, correlationId: this.requestId() },
      exec,
    );
    return body;
  }
}

/** Token-authenticated writes keep their idempotency keys per token: two invitees' equal keys never collide. */
export const tokenScope = (token: string): string => `token:${sha256(token).slice(0, 32)}`;
