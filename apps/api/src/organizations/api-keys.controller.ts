import { Body, Controller, Delete, Get, Inject, Param, Patch, Post, Query, Req, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiBody, ApiExcludeEndpoint, ApiHeader, ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { SYSTEM_ACTOR } from '@rollcall/domain';
import { Payload } from '@nestjs/microservices';
import { MessageRoute } from '../shared/http/message-route';
import { IsIn, IsOptional, IsString, Matches } from 'class-validator';
import { ActorId, type AuthedRequest, Authenticator, CurrentPrincipal, type Principal, SystemOrOrganization, actorIdOf } from '../shared/auth';
import { FoldsIdCase, ID_PATTERN } from '../shared/http/dtos';
import { ACTOR_HEADER, IDEMPOTENCY_HEADER } from '../shared/http/headers';
import { Envelope, MessageWrites, messageActor, ownOrganization, withEnvelope } from '../shared/http/messages';
import { ApiProblems, ApiRead, ApiWrite, SYSTEM_KEY_SCHEME } from '../shared/http/openapi';
import { IdPipe } from '../shared/http/path-params';
import { READ_ACTOR_HEADER } from '../shared/reads/read-access';
import { WritePipeline, httpWrite } from '../shared/command-path/write-pipeline';
import {
  ApiKeyIssuedAnswer,
  ApiKeyList,
  ApiKeyReads,
  ApiKeyRevokedAnswer,
  IssueApiKeyCommand,
  IssueApiKeyDto,
  IssueApiKeyHandler,
  LabelApiKeyCommand,
  LabelApiKeyDto,
  ApiKeyLabelledAnswer,
  RevokeApiKeyCommand,
} from './api-keys';

/** `GET …/api-keys?include=revoked`: the revoked keys too (probe 75 F4: they were in `…/changes` only) */
export class ApiKeysQuery {
  @ApiPropertyOptional({ enum: ['revoked'], description: 'revoked: list the revoked keys too, with when and by whom' })
  @IsOptional()
  @IsIn(['revoked'])
  include?: 'revoked';
}

class ApiKeysMessage extends Envelope {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() organizationId!: string;
}
class ListApiKeysMessage extends withEnvelope(ApiKeysQuery) {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() organizationId!: string;
}
class LabelApiKeyMessage extends withEnvelope(LabelApiKeyDto) {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() organizationId!: string;
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() keyId!: string;
}
class IssueApiKeyMessage extends withEnvelope(IssueApiKeyDto) {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() organizationId!: string;
}
class RevokeApiKeyMessage extends ApiKeysMessage {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() keyId!: string;
}

/**
 * The organization whose keys are managed: the key's own (an org admin acting), or, with the system key, the one the
 * path or message names (the operator; unknown: 404 from the decider)
 */
const keysOf = (principal: Principal, org: string): string => (principal.kind === 'system' ? org : ownOrganization(principal, org));

/**
 * The organization's API keys (docs/rules.md, "API keys"): an org admin issues another, lists them by id and revokes
 * one, so that a key is rotated or a leaked one withdrawn (probe 37 F9); also as message patterns `apiKeys.*`.
 */
@ApiTags('organizations')
@ApiBearerAuth()
@Controller('v1/organizations/:org/api-keys')
export class ApiKeysController {
  constructor(
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(WritePipeline) private readonly pipeline: WritePipeline,
    @Inject(MessageWrites) private readonly messages: MessageWrites,
    @Inject(IssueApiKeyHandler) private readonly issuer: IssueApiKeyHandler,
    @Inject(ApiKeyReads) private readonly reads: ApiKeyReads,
    @Inject(Authenticator) private readonly auth: Authenticator,
  ) {}

  @Post()
  @SystemOrOrganization()
  @ApiBearerAuth(SYSTEM_KEY_SCHEME)
  @ApiOperation({
    summary: 'Issue another API key of the organization (org admins, or the system key). The key is returned once; the others keep working until revoked. An organization holds at most 100 keys not revoked unless the operator set another quota (QUOTA_EXCEEDED); the system key\'s issuance is not held to it (the operator\'s way back).',
    description:
      'To rotate a key: issue a new one, move the clients to it, then revoke the old one (its id is the part of the key after the organization id). ' +
      'With the system key (no X-Actor-Id): the operator issues a key to an organization whose only key leaked or was lost.',
  })
  @ApiHeader({ ...ACTOR_HEADER, required: false, description: 'the org admin acting, with the organization\'s key; not with the system key' })
  @ApiHeader(IDEMPOTENCY_HEADER)
  // the body (a label) may be left out: POST with none issues a key without a label (probe 45 F5)
  @ApiBody({ type: IssueApiKeyDto, required: false })
  @ApiWrite(201, ApiKeyIssuedAnswer)
  @ApiProblems('ORGANIZATION_NOT_FOUND', 'QUOTA_EXCEEDED', 'API_KEY_LABEL_TAKEN')
  issue(@Req() req: AuthedRequest, @Res({ passthrough: true }) res: FastifyReply, @Param('org', IdPipe) org: string, @Body() dto: IssueApiKeyDto) {
    const organizationId = keysOf(req.principal, org);
    const actorId = req.principal.kind === 'system' ? SYSTEM_ACTOR : actorIdOf(req);
    return httpWrite(this.pipeline, { req, res, actorId }, { status: 201 }, (ctx) => this.commands.execute(new IssueApiKeyCommand(organizationId, ctx, dto.label)), this.issuer.storage);
  }

  @Get()
  @ApiOperation({
    summary:
      "The organization's API keys, oldest first: id, label, when and by whom issued, never their secrets (org admins); `current` marks the key of this request; `include=revoked` lists the revoked keys too, with when and by whom.",
  })
  @ApiHeader(READ_ACTOR_HEADER)
  @ApiRead(ApiKeyList, { fromLog: true })
  @ApiProblems('ORGANIZATION_NOT_FOUND')
  list(@CurrentPrincipal() principal: Principal, @ActorId() actorId: string, @Param('org', IdPipe) org: string, @Query() query: ApiKeysQuery): Promise<ApiKeyList> {
    return this.reads.list(ownOrganization(principal, org), actorId, principal.kind === 'organization' ? principal.keyId : undefined, query.include === 'revoked');
  }

  @Patch(':keyId')
  @SystemOrOrganization()
  @ApiBearerAuth(SYSTEM_KEY_SCHEME)
  @ApiOperation({ summary: "Label one of the organization's API keys again (org admins, or the system key): what it is for, as the list of keys shows it. The same label again changes nothing." })
  @ApiHeader({ ...ACTOR_HEADER, required: false, description: 'the org admin acting, with the organization\'s key; not with the system key' })
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiWrite(200, ApiKeyLabelledAnswer)
  @ApiProblems('ORGANIZATION_NOT_FOUND', 'API_KEY_NOT_FOUND', 'API_KEY_LABEL_TAKEN')
  label(@Req() req: AuthedRequest, @Res({ passthrough: true }) res: FastifyReply, @Param('org', IdPipe) org: string, @Param('keyId', IdPipe) keyId: string, @Body() dto: LabelApiKeyDto) {
    const organizationId = keysOf(req.principal, org);
    const actorId = req.principal.kind === 'system' ? SYSTEM_ACTOR : actorIdOf(req);
    return httpWrite(this.pipeline, { req, res, actorId }, { status: 200 }, (ctx) => this.commands.execute(new LabelApiKeyCommand(organizationId, ctx, keyId, dto.label)));
  }

  @Delete(':keyId')
  @SystemOrOrganization()
  @ApiBearerAuth(SYSTEM_KEY_SCHEME)
  @ApiOperation({
    summary: "Revoke one of the organization's API keys (org admins, or the system key): it authenticates nothing from then on, on every replica. Not its last key: issue another first.",
  })
  @ApiHeader({ ...ACTOR_HEADER, required: false, description: 'the org admin acting, with the organization\'s key; not with the system key' })
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiWrite(200, ApiKeyRevokedAnswer)
  @ApiProblems('ORGANIZATION_NOT_FOUND', 'API_KEY_NOT_FOUND', 'LAST_API_KEY')
  revoke(@Req() req: AuthedRequest, @Res({ passthrough: true }) res: FastifyReply, @Param('org', IdPipe) org: string, @Param('keyId', IdPipe) keyId: string) {
    const organizationId = keysOf(req.principal, org);
    const actorId = req.principal.kind === 'system' ? SYSTEM_ACTOR : actorIdOf(req);
    return httpWrite(this.pipeline, { req, res, actorId }, { status: 200 }, (ctx) => this.commands.execute(new RevokeApiKeyCommand(organizationId, ctx, keyId)));
  }

  @MessageRoute('apiKeys.issue')
  @SystemOrOrganization()
  @ApiExcludeEndpoint()
  issueMessage(@Payload() m: IssueApiKeyMessage) {
    return this.messages.run('apiKeys.issue', m, (ctx, p) => this.commands.execute(new IssueApiKeyCommand(keysOf(p, m.organizationId), ctx, m.label)), this.issuer.storage);
  }

  @MessageRoute('apiKeys.revoke')
  @SystemOrOrganization()
  @ApiExcludeEndpoint()
  revokeMessage(@Payload() m: RevokeApiKeyMessage) {
    return this.messages.run('apiKeys.revoke', m, (ctx, p) => this.commands.execute(new RevokeApiKeyCommand(keysOf(p, m.organizationId), ctx, m.keyId)));
  }

  @MessageRoute('apiKeys.label')
  @SystemOrOrganization()
  @ApiExcludeEndpoint()
  labelMessage(@Payload() m: LabelApiKeyMessage) {
    return this.messages.run('apiKeys.label', m, (ctx, p) => this.commands.execute(new LabelApiKeyCommand(keysOf(p, m.organizationId), ctx, m.keyId, m.label)));
  }

  @MessageRoute('apiKeys.list')
  @ApiExcludeEndpoint()
  async listMessage(@Payload() m: ListApiKeysMessage): Promise<ApiKeyList> {
    const principal = await this.auth.identify(m.apiKey);
    return this.reads.list(ownOrganization(principal, m.organizationId), messageActor(m.actorId), principal.kind === 'organization' ? principal.keyId : undefined, m.include === 'revoked');
  }
}
