import { Inject, Injectable, Optional } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { API_KEY_LABEL_MAX, DEFAULT_QUOTAS, cleanName, decideOrganization, domainError, isOrgAdmin } from '@rollcall/domain';
import { QuotaUse } from '../shared/quota-use';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { Authenticator } from '../shared/auth';
import { type CommandContext, createdId } from '../shared/command-path/command-context';
import { DomainException, StreamHandler } from '../shared/command-path/stream-handler';
import { WriteAnswer } from '../shared/http/openapi';
import { DerivedSecrets, formatOrgKey, sha256 } from '../shared/secrets';
import { StreamStates } from '../shared/command-path/stream-states';
import { organization } from '../shared/command-path/targets';
import type { AnswerStorage } from '../shared/command-path/write-pipeline';
import { PresenceFeed } from '../presence/feed';
import { ActivityRecorder } from '../activity/activity-recorder';
import { APP_CONFIG } from '../shared/tokens';
import { ERASURE_JOURNAL, type ErasureJournal } from '../backup/erasure-journal';
import type { Config } from '../config';

/** the purpose the ids and secrets of issued keys derive from (the organization's first key: create-organization.ts) */
const ISSUED = 'issued-api-key';

export class ApiKeyIssuedAnswer extends WriteAnswer {
  @ApiProperty({ example: '1b671a64-40d5-591e-99b1-2c3b3a4f2d10' })
  organizationId!: string;
  @ApiProperty({ description: 'the key id: the part of the key after the organization id; name it to revoke the key', example: '5d0e2f7a-1c3b-5e4d-8f6a-9b0c1d2e3f4a' })
  keyId!: string;
  @ApiProperty({
    description: 'the new API key, shown only in this answer (a retry with the same Idempotency-Key answers it again); send it as `Authorization: Bearer <key>`',
    example: 'rk_1b671a64-40d5-591e-99b1-2c3b3a4f2d10_5d0e2f7a-1c3b-5e4d-8f6a-9b0c1d2e3f4a_…',
  })
  apiKey!: string;
}

export class ApiKeyRevokedAnswer extends WriteAnswer {
  @ApiProperty({ example: '5d0e2f7a-1c3b-5e4d-8f6a-9b0c1d2e3f4a' })
  keyId!: string;
  @ApiProperty({ description: 'always true: the key authenticates nothing from now on, on every replica (within ~0.1 s on the others)', example: true })
  revoked!: true;
}

export class ApiKeyItem {
  @ApiProperty({ example: '5d0e2f7a-1c3b-5e4d-8f6a-9b0c1d2e3f4a' })
  keyId!: string;
  @ApiProperty({ type: String, nullable: true, description: 'what the key is for, as its issuer named it; null: issued without a label (the organization\'s first key)', example: 'Zendesk sync' })
  label!: string | null;
  @ApiProperty({ format: 'date-time', example: '2026-12-04T17:30:00.000Z' })
  issuedAt!: string;
  @ApiProperty({
    type: String,
    nullable: true,
    description: "who issued it: an org admin's user id, or `system` (the operator's system key; every organization's first key); null for a key issued before session 54 (`GET …/changes?change=api_key_issued` names its issuer)",
    example: 'e2d1c0b9-a8f7-5e6d-9c4b-3a2f1e0d9c8b',
  })
  issuedBy!: string | null;
  @ApiProperty({ description: 'the key this request was made with', example: true })
  current!: boolean;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'when it was revoked (listed with `include=revoked` only); null: not revoked' })
  revokedAt!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'who revoked it (an org admin, or `system`); null: not revoked, or revoked before session 54' })
  revokedBy!: string | null;
  @ApiProperty({
    type: String,
    format: 'date',
    nullable: true,
    description: 'the last day (UTC) the key authenticated a request, over HTTP or a message pattern, whatever its answer; null: never since session 54. Kept to the day, beside the log (docs/adr/0036)',
    example: '2026-12-06',
  })
  lastUsedOn!: string | null;
}

export class ApiKeyList {
  @ApiProperty({ type: [ApiKeyItem] })
  items!: ApiKeyItem[];
  @ApiProperty({ type: QuotaUse, description: "the organization's keys not revoked and their quota (ROLLCALL_MAX_API_KEYS_PER_ORGANIZATION)" })
  quota!: QuotaUse;
}

/** The request's body: optional (no body, or `{}`, issues a key without a label). */
export class IssueApiKeyDto {
  @ApiPropertyOptional({ description: 'what the key is for, shown in the list of keys ("Zendesk sync"): trimmed, 1 to 100 characters, not the label of another key not revoked (API_KEY_LABEL_TAKEN; ignoring case, width and spacing). A name, not a scope: every key acts with its actor\'s authority', example: 'Zendesk sync', minLength: 1, maxLength: API_KEY_LABEL_MAX })
  @IsOptional()
  @IsString()
  // a bound before the domain's check (100 after trimming), which it names
  @MaxLength(1000, { message: `label must be at most ${API_KEY_LABEL_MAX} characters (after trimming)` })
  label?: string;
}

/** A key's label set again (PATCH): required. */
export class LabelApiKeyDto {
  @ApiProperty({ description: 'what the key is for, shown in the list of keys: trimmed, 1 to 100 characters, not the label of another key not revoked (API_KEY_LABEL_TAKEN; ignoring case, width and spacing)', example: 'Zendesk sync', minLength: 1, maxLength: API_KEY_LABEL_MAX })
  @IsString()
  @MaxLength(1000, { message: `label must be at most ${API_KEY_LABEL_MAX} characters (after trimming)` })
  label!: string;
}

export class ApiKeyLabelledAnswer extends WriteAnswer {
  @ApiProperty({ example: '5d0e2f7a-1c3b-5e4d-8f6a-9b0c1d2e3f4a' })
  keyId!: string;
  @ApiProperty({ example: 'Zendesk sync' })
  label!: string;
}

export class IssueApiKeyCommand {
  constructor(readonly organizationId: string, readonly ctx: CommandContext, readonly label?: string) {}
}

export class RevokeApiKeyCommand {
  constructor(readonly organizationId: string, readonly ctx: CommandContext, readonly keyId: string) {}
}

export class LabelApiKeyCommand {
  constructor(readonly organizationId: string, readonly ctx: CommandContext, readonly keyId: string, readonly label: string) {}
}

/** An org admin (or the operator) names a key again: the first key has no label, and what a key is for may change. */
@CommandHandler(LabelApiKeyCommand)
export class LabelApiKeyHandler implements ICommandHandler<LabelApiKeyCommand, ApiKeyLabelledAnswer> {
  constructor(@Inject(StreamHandler) private readonly streams: StreamHandler) {}

  async execute({ organizationId, ctx, keyId, label }: LabelApiKeyCommand): Promise<ApiKeyLabelledAnswer> {
    const done = await this.streams.handle(organization(organizationId), ctx, (org) =>
      decideOrganization({ type: 'LabelApiKey', organizationId, actorId: ctx.actorId, now: ctx.now, keyId, label }, org),
    );
    return { keyId, label: cleanName(label), position: done.position };
  }
}

/** An org admin issues another key of the organization (docs/rules.md, "API keys"); its id and secret derive from the idempotency key. */
@CommandHandler(IssueApiKeyCommand)
export class IssueApiKeyHandler implements ICommandHandler<IssueApiKeyCommand, ApiKeyIssuedAnswer> {
  constructor(
    @Inject(StreamHandler) private readonly streams: StreamHandler,
    @Inject(DerivedSecrets) private readonly secrets: DerivedSecrets,
    /** the quotas (absent in tests that build the handler alone: the domain's defaults) */
    @Optional() @Inject(APP_CONFIG) private readonly config?: Pick<Config, 'quotas'>,
  ) {}

  async execute({ organizationId, ctx, label }: IssueApiKeyCommand): Promise<ApiKeyIssuedAnswer> {
    const keyId = createdId(ctx, ISSUED);
    const secret = this.secrets.forWrite(ISSUED, ctx.idempotencyKey);
    const done = await this.streams.handle(organization(organizationId), ctx, (org) =>
      decideOrganization({ type: 'IssueApiKey', organizationId, actorId: ctx.actorId, now: ctx.now, apiKey: { keyId, secretHash: sha256(secret) }, label, maxApiKeys: this.config?.quotas.apiKeysPerOrganization }, org),
    );
    // a replay's key id is its event's (an earlier version derived it otherwise: probe 40 F1); the secret derives as ever
    const issued = done.events.find((e) => e.type === 'ApiKeyIssued');
    const id = issued?.type === 'ApiKeyIssued' ? issued.data.keyId : keyId;
    return { organizationId, keyId: id, apiKey: formatOrgKey(organizationId, id, secret), position: done.position };
  }

  /** The stored answer leaves the key out; a retry derives it again from the same idempotency key. */
  readonly storage: AnswerStorage<ApiKeyIssuedAnswer> = {
    stored: ({ apiKey: _secret, ...rest }) => rest,
    restored: (stored, ctx) => {
      const answer = stored as Omit<ApiKeyIssuedAnswer, 'apiKey'>;
      return { ...answer, apiKey: formatOrgKey(answer.organizationId, answer.keyId, this.secrets.forWrite(ISSUED, ctx.idempotencyKey)) };
    },
  };
}

/** An org admin revokes one of the organization's keys; this process forgets it at once, the others as they hear it. */
@CommandHandler(RevokeApiKeyCommand)
export class RevokeApiKeyHandler implements ICommandHandler<RevokeApiKeyCommand, ApiKeyRevokedAnswer> {
  constructor(
    @Inject(StreamHandler) private readonly streams: StreamHandler,
    @Inject(Authenticator) private readonly auth: Authenticator,
    @Optional() @Inject(ERASURE_JOURNAL) private readonly journal?: ErasureJournal,
  ) {}

  async execute({ organizationId, ctx, keyId }: RevokeApiKeyCommand): Promise<ApiKeyRevokedAnswer> {
    const done = await this.streams.handle(organization(organizationId), ctx, (org) =>
      decideOrganization({ type: 'RevokeApiKey', organizationId, actorId: ctx.actorId, now: ctx.now, keyId }, org),
    );
    this.auth.forget(organizationId, keyId);
    // journaled before the answer: a restore from a backup taken before it revokes the key again (ADR 0031)
    await this.journal?.record({ kind: 'ApiKeyRevoked', at: ctx.now, organizationId, keyId, position: done.position });
    return { keyId, revoked: true, position: done.position };
  }
}

/** The organization's keys, oldest first (never a secret), the revoked ones too on request: org admins only. */
@Injectable()
export class ApiKeyReads {
  constructor(
    @Inject(StreamStates) private readonly states: StreamStates,
    @Optional() @Inject(APP_CONFIG) private readonly config?: Pick<Config, 'quotas'>,
    /** the days keys were last used (absent in tests that build the reads alone: null for every key) */
    @Optional() @Inject(ActivityRecorder) private readonly activity?: ActivityRecorder,
  ) {}

  async list(organizationId: string, actorId: string, currentKeyId: string | undefined, includeRevoked = false): Promise<ApiKeyList> {
    const org = (await this.states.organization(organizationId)).state;
    if (!org.exists) throw new DomainException(domainError('ORGANIZATION_NOT_FOUND', `Organization ${organizationId} does not exist.`));
    if (!isOrgAdmin(org, actorId)) throw new DomainException(domainError('INSUFFICIENT_AUTHORITY', "Only an organization admin can list the organization's API keys."));
    const used = (await this.activity?.lastOn(organizationId, 'key', [...org.apiKeys.keys(), ...(includeRevoked ? org.revokedApiKeys.keys() : [])])) ?? new Map<string, string>();
    const lastUsedOn = (keyId: string) => used.get(keyId) ?? null;
    const live = [...org.apiKeys].map(([keyId, { label, issuedAt, issuedBy }]): ApiKeyItem => ({ keyId, label, issuedAt, issuedBy, current: keyId === currentKeyId, revokedAt: null, revokedBy: null, lastUsedOn: lastUsedOn(keyId) }));
    const revoked = includeRevoked ? [...org.revokedApiKeys].map(([keyId, key]): ApiKeyItem => ({ keyId, ...key, current: false, lastUsedOn: lastUsedOn(keyId) })) : [];
    return {
      items: [...live, ...revoked].sort((a, b) => (a.issuedAt === b.issuedAt ? (a.keyId < b.keyId ? -1 : 1) : a.issuedAt < b.issuedAt ? -1 : 1)),
      quota: { used: org.apiKeys.size, limit: this.config?.quotas.apiKeysPerOrganization ?? DEFAULT_QUOTAS.apiKeysPerOrganization },
    };
  }
}

/** Every process forgets a revoked key when its log subscription hears of it (the revoking process at once, above). */
@Injectable()
export class ApiKeyRevocations {
  constructor(@Inject(PresenceFeed) feed: PresenceFeed, @Inject(Authenticator) auth: Authenticator) {
    feed.onApiKeyRevoked = (organizationId, keyId) => auth.forget(organizationId, keyId);
  }
}
