import { Body, Controller, Delete, Get, HttpCode, Inject, Optional, Param, Post, Req, Res } from '@nestjs/common';
import { MailLedger } from '../mail/mail-ledger';
import { invitationLinkCurrent } from '../mail/current-links';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiExcludeEndpoint, ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Payload } from '@nestjs/microservices';
import { MessageRoute } from '../shared/http/message-route';
import { IsString, Matches, MaxLength } from 'class-validator';
import type { FastifyReply } from 'fastify';
import { ActorId, type AuthedRequest, CurrentPrincipal, type Principal, Public } from '../shared/auth';
import { AUTH_PROBLEMS, NO_BODY_PROBLEMS, ApiProblems, ApiWrite, PublicOperation } from '../shared/http/openapi';
import { InvitationAccepted, InvitationCancelled, InvitationCreated, InvitationLink, InvitationResent } from './resources';
import { FoldsIdCase, ID_PATTERN } from '../shared/http/dtos';
import { AcceptInvitationDto, InviteDto } from './dtos';
import { IdPipe } from '../shared/http/path-params';
import { newCommandContext } from '../shared/command-path/command-context';
import { ACTOR_HEADER, IDEMPOTENCY_HEADER } from '../shared/http/headers';
import { Envelope, MessageWrites, bodyOf, tokenScope, withEnvelope } from '../shared/http/messages';
import { StreamStates } from '../shared/command-path/stream-states';
import { resolveWorkspace } from '../shared/command-path/targets';
import { WritePipeline, type ActingWriteCall, ActingWrite, type AnswerStorage, httpWrite } from '../shared/command-path/write-pipeline';
import { InvitationLinks } from '../shared/secrets';
import { Download, type DownloadRequest } from '../shared/export-ledger';
import {
  AcceptInvitationCommand,
  CancelInvitationCommand,
  GetInvitationLinkCommand,
  type InvitationAnswer,
  InviteMemberCommand,
  ResendInvitationCommand,
  invitationAnswerStorage,
} from './invitation-handlers';
import { Omittable } from '../shared/http/omittable';

class InviteMessage extends withEnvelope(InviteDto) {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() workspaceId!: string;
}
class InvitationMessage extends Envelope {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() workspaceId!: string;
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() invitationId!: string;
}
class AcceptMessage extends AcceptInvitationDto {
  @Omittable() @IsString() @MaxLength(255) idempotencyKey?: string;
  @Omittable() @IsString() @MaxLength(128) correlationId?: string;
}

/** Rules 6–9 (docs/rules.md#invitations): invite, copy the link, resend, cancel, accept. */
@ApiTags('invitations')
@ApiBearerAuth()
@Controller('v1/workspaces/:ws/invitations')
export class InvitationsController {
  constructor(
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(WritePipeline) private readonly pipeline: WritePipeline,
    @Inject(MessageWrites) private readonly messages: MessageWrites,
    @Inject(StreamStates) private readonly states: StreamStates,
    @Inject(InvitationLinks) links: InvitationLinks,
    @Optional() @Inject(MailLedger) ledger?: MailLedger,
  ) {
    // (a kept `pending` of a link no longer current reads as a replay's: absent)
    this.answers = invitationAnswerStorage(links, ledger, async (link) => {
      const ws = await this.states.workspaceCached(await this.states.organizationCached(link.organizationId), link.workspaceId);
      return ws !== undefined && invitationLinkCurrent(ws, link.invitationId, link.linkVersion, Date.now());
    });
  }

  /** what is kept of an invite's or a resend's answer under its Idempotency-Key: no link (invitation-handlers.ts) */
  private readonly answers: AnswerStorage<InvitationAnswer>;

  @Post()
  @ApiOperation({ summary: 'Invite by email with roles, restrictions and grants; the link is valid 48 hours (configurable).' })
  @ApiHeader(ACTOR_HEADER)
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiWrite(201, InvitationCreated)
  @ApiProblems('WORKSPACE_NOT_FOUND', 'INVALID_ROLE', 'INVALID_RESTRICTION', 'INVALID_GRANT', 'PLAN_REQUIRED', 'ALREADY_MEMBER', 'ALREADY_INVITED', 'CANNOT_MODIFY_SELF')
  async invite(
    @ActingWrite() call: ActingWriteCall,
    @Param('ws', IdPipe) ws: string,
    @Body() dto: InviteDto,
  ) {
    const ref = await resolveWorkspace(this.states, call.principal, ws);
    return httpWrite(this.pipeline, call, { status: 201 }, (ctx) => this.commands.execute(new InviteMemberCommand(ref, ctx, dto)), this.answers);
  }

  @Get(':id/link')
  @ApiOperation({ summary: 'The current link of a pending invitation ("copy invitation link"), while it has not expired (an expired one is 410 INVITATION_EXPIRED: resend it). Each copy is recorded: the permission history lists it (`invitation_link_copied`) with who copied it, with which key and request.' })
  @ApiHeader(ACTOR_HEADER)
  @ApiResponse({ status: 200, type: InvitationLink, description: 'InvitationLink' })
  @ApiProblems(...AUTH_PROBLEMS, ...NO_BODY_PROBLEMS, 'WORKSPACE_NOT_FOUND', 'INVITATION_NOT_FOUND', 'INVITATION_NOT_PENDING', 'INVITATION_EXPIRED', 'INVITATION_ADDRESSEE_ERASED', 'CANNOT_MODIFY_SELF')
  async link(@CurrentPrincipal() principal: Principal, @ActorId() actorId: string, @Param('ws', IdPipe) ws: string, @Param('id', IdPipe) id: string, @Download() request: DownloadRequest) {
    const ref = await resolveWorkspace(this.states, principal, ws);
    // recorded with who copied it, the key and the request (probe 83 F4); a HEAD hands no link out
    const ctx = newCommandContext({ actorId, ...(request.requestId !== undefined && { correlationId: request.requestId }), ...(principal.kind === 'organization' && { apiKey: { organizationId: principal.organizationId, keyId: principal.keyId } }) });
    return this.commands.execute(new GetInvitationLinkCommand(ref, ctx, id, !request.head));
  }

  @Post(':id/resend')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Send a new link; the validity period starts again and older links stop working. An invitation bound to a user who has changed their address since it was sent is not resent (409 INVITEE_ADDRESS_CHANGED): cancel it and invite their current address.',
  })
  @ApiHeader(ACTOR_HEADER)
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiWrite(200, InvitationResent)
  @ApiProblems('WORKSPACE_NOT_FOUND', 'INVITATION_NOT_FOUND', 'INVITATION_NOT_PENDING', 'INVITATION_ADDRESSEE_ERASED', 'INVITEE_ADDRESS_CHANGED', 'CANNOT_MODIFY_SELF')
  async resend(
    @ActingWrite() call: ActingWriteCall,
    @Param('ws', IdPipe) ws: string,
    @Param('id', IdPipe) id: string,
  ) {
    const ref = await resolveWorkspace(this.states, call.principal, ws);
    return httpWrite(this.pipeline, call, { status: 200 }, (ctx) => this.commands.execute(new ResendInvitationCommand(ref, ctx, id)), this.answers);
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Cancel a pending invitation.' })
  @ApiHeader(ACTOR_HEADER)
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiWrite(200, InvitationCancelled)
  @ApiProblems('WORKSPACE_NOT_FOUND', 'INVITATION_NOT_FOUND', 'INVITATION_NOT_PENDING')
  async cancel(
    @ActingWrite() call: ActingWriteCall,
    @Param('ws', IdPipe) ws: string,
    @Param('id', IdPipe) id: string,
  ) {
    const ref = await resolveWorkspace(this.states, call.principal, ws);
    return httpWrite(this.pipeline, call, { status: 200 }, (ctx) => this.commands.execute(new CancelInvitationCommand(ref, ctx, id)));
  }

  @MessageRoute('members.invite')
  @ApiExcludeEndpoint()
  async inviteMessage(@Payload() m: InviteMessage) {
    return this.messages.run('members.invite', m, async (ctx, p) =>
      this.commands.execute(new InviteMemberCommand(await resolveWorkspace(this.states, p, m.workspaceId), ctx, bodyOf(m) as unknown as InviteDto)),
      this.answers,
    );
  }

  @MessageRoute('invitations.resend')
  @ApiExcludeEndpoint()
  resendMessage(@Payload() m: InvitationMessage) {
    return this.messages.run('invitations.resend', m, async (ctx, p) =>
      this.commands.execute(new ResendInvitationCommand(await resolveWorkspace(this.states, p, m.workspaceId), ctx, m.invitationId)),
      this.answers,
    );
  }

  @MessageRoute('invitations.cancel')
  @ApiExcludeEndpoint()
  cancelMessage(@Payload() m: InvitationMessage) {
    return this.messages.run('invitations.cancel', m, async (ctx, p) =>
      this.commands.execute(new CancelInvitationCommand(await resolveWorkspace(this.states, p, m.workspaceId), ctx, m.invitationId)),
    );
  }
}

/** Accepting is authenticated by the link's token alone; its idempotency keys are kept per token. */
@ApiTags('invitations')
@Controller('v1/invitations')
export class AcceptInvitationController {
  constructor(
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(WritePipeline) private readonly pipeline: WritePipeline,
    @Inject(MessageWrites) private readonly messages: MessageWrites,
  ) {}

  @Post('accept')
  @PublicOperation()
  @HttpCode(200)
  @ApiOperation({ summary: 'Accept an invitation; authenticated by the token of the link alone.' })
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiWrite(200, InvitationAccepted, { authenticated: false })
  @ApiProblems('INVITATION_NOT_FOUND', 'INVITATION_NOT_PENDING', 'INVITATION_LINK_SUPERSEDED', 'INVITATION_EXPIRED', 'INVITATION_ADDRESSEE_ERASED', 'ALREADY_MEMBER')
  accept(@Req() req: AuthedRequest, @Res({ passthrough: true }) res: FastifyReply, @Body() dto: AcceptInvitationDto) {
    return httpWrite(this.pipeline, { req, res, actorId: 'invitee' }, { status: 200, scope: tokenScope(dto.token) }, (ctx) =>
      this.commands.execute(new AcceptInvitationCommand(ctx, dto.token, dto.displayName)),
    );
  }

  @MessageRoute('invitations.accept')
  @ApiExcludeEndpoint()
  // no API key: the token in the message authenticates it
  @Public()
  acceptMessage(@Payload() m: AcceptMessage) {
    return this.messages.runWithToken('invitations.accept', m, (ctx) => this.commands.execute(new AcceptInvitationCommand(ctx, m.token, m.displayName)));
  }
}
