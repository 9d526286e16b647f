import { randomUUID } from 'node:crypto';
import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Req, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { SYSTEM_ACTOR, domainError } from '@rollcall/domain';
import { CreateOrganizationCommand, CreateWorkspaceCommand } from '../commands/organizations';
import {
  AcceptInvitationCommand,
  CancelInvitationCommand,
  ChangeAccessCommand,
  GetInvitationLinkCommand,
  InviteMemberCommand,
  ResendInvitationCommand,
  RevokeAccessCommand,
  type WorkspaceRef,
} from '../commands/workspace-commands';
import { DeleteUserCommand, UpdateProfileCommand } from '../commands/user-commands';
import { newCommandContext } from '../infrastructure/command-context';
import { DomainException } from '../infrastructure/event-writer';
import { StreamRepository } from '../infrastructure/stream-repository';
import { ActorId, type AuthedRequest, CurrentPrincipal, type Principal, Public, SystemOnly, organizationOf } from './auth';
import { AcceptInvitationDto, AccessDto, CreateOrganizationDto, CreateWorkspaceDto, InviteDto, RevokeDto, UpdateProfileDto } from './dtos';
import { IdPipe } from './path-params';
import { WriteRunner } from './write-runner';

const ACTOR_HEADER = { name: 'X-Actor-Id', required: true, description: 'the user on whose behalf the console acts' };
const IDEMPOTENCY_HEADER = { name: 'Idempotency-Key', required: false, description: 'retrying with the same key returns the first answer and appends nothing' };

/** An organization key reaches only its own organization; anything else is "not found" (no existence leak). */
const ownOrganization = (principal: Principal, organizationId: string): string => {
  if (organizationOf(principal) !== organizationId)
    throw new DomainException(domainError('ORGANIZATION_NOT_FOUND', `Organization ${organizationId} does not exist.`));
  return organizationId;
};

@ApiTags('organizations')
@ApiBearerAuth()
@Controller('v1/organizations')
export class OrganizationsController {
  constructor(
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(WriteRunner) private readonly writes: WriteRunner,
  ) {}

  @Post()
  @SystemOnly()
  @ApiOperation({ summary: 'Create an organization and its first org admin (system key). The API key is returned once.' })
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiResponse({ status: 201, description: '{organizationId, adminUserId, apiKey, position}' })
  create(@Req() req: AuthedRequest, @Res({ passthrough: true }) res: Response, @Body() dto: CreateOrganizationDto) {
    return this.writes.run(req, res, SYSTEM_ACTOR, 201, (ctx) =>
      this.commands.execute(
        new CreateOrganizationCommand(ctx, dto.name, dto.admin, { organizationId: randomUUID(), adminUserId: randomUUID(), keyId: randomUUID() }),
      ),
    );
  }

  @Post(':org/workspaces')
  @ApiOperation({ summary: 'Create a workspace; the creating org admin becomes its owner.' })
  @ApiHeader(ACTOR_HEADER)
  @ApiHeader(IDEMPOTENCY_HEADER)
  createWorkspace(
    @Req() req: AuthedRequest,
    @Res({ passthrough: true }) res: Response,
    @CurrentPrincipal() principal: Principal,
    @ActorId() actorId: string,
    @Param('org', IdPipe) org: string,
    @Body() dto: CreateWorkspaceDto,
  ) {
    const organizationId = ownOrganization(principal, org);
    return this.writes.run(req, res, actorId, 201, (ctx) =>
      this.commands.execute(new CreateWorkspaceCommand(ctx, organizationId, dto.name, dto.plan, dto.accessModel)),
    );
  }

  @Patch(':org/users/:userId')
  @ApiOperation({ summary: 'Update a profile (display name, alias, avatar URL, email): the user themself or an org admin.' })
  @ApiHeader(ACTOR_HEADER)
  @ApiHeader(IDEMPOTENCY_HEADER)
  updateProfile(
    @Req() req: AuthedRequest,
    @Res({ passthrough: true }) res: Response,
    @CurrentPrincipal() principal: Principal,
    @ActorId() actorId: string,
    @Param('org', IdPipe) org: string,
    @Param('userId', IdPipe) userId: string,
    @Body() dto: UpdateProfileDto,
  ) {
    const organizationId = ownOrganization(principal, org);
    return this.writes.run(req, res, actorId, 200, (ctx) => this.commands.execute(new UpdateProfileCommand(organizationId, ctx, userId, dto)));
  }

  @Delete(':org/users/:userId')
  @ApiOperation({ summary: 'Delete a user from the organization and every workspace; personal data is erased, statistics are kept.' })
  @ApiHeader(ACTOR_HEADER)
  @ApiHeader(IDEMPOTENCY_HEADER)
  deleteUser(
    @Req() req: AuthedRequest,
    @Res({ passthrough: true }) res: Response,
    @CurrentPrincipal() principal: Principal,
    @ActorId() actorId: string,
    @Param('org', IdPipe) org: string,
    @Param('userId', IdPipe) userId: string,
  ) {
    const organizationId = ownOrganization(principal, org);
    return this.writes.run(req, res, actorId, 200, (ctx) => this.commands.execute(new DeleteUserCommand(organizationId, ctx, userId)));
  }
}

/** Resolves `{ws}` within the key's organization: another organization's workspace is "not found". */
export async function workspaceRef(repo: StreamRepository, principal: Principal, workspaceId: string): Promise<WorkspaceRef> {
  const organizationId = organizationOf(principal);
  // a workspace never disappears once created: the cached state answers unless it does not know it yet
  const known = (await repo.organizationCached(organizationId)).workspaces.has(workspaceId);
  if (!known && !(await repo.organization(organizationId)).state.workspaces.has(workspaceId))
    throw new DomainException(domainError('WORKSPACE_NOT_FOUND', `Workspace ${workspaceId} does not exist.`));
  return { organizationId, workspaceId };
}

@ApiTags('invitations')
@ApiBearerAuth()
@Controller('v1/workspaces/:ws/invitations')
export class InvitationsController {
  constructor(
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(WriteRunner) private readonly writes: WriteRunner,
    @Inject(StreamRepository) private readonly repo: StreamRepository,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Invite by email with roles, restrictions and grants; the link is valid 48 hours.' })
  @ApiHeader(ACTOR_HEADER)
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiResponse({ status: 201, description: '{invitationId, inviteUrl, expiresAt, position, warnings?}' })
  async invite(
    @Req() req: AuthedRequest,
    @Res({ passthrough: true }) res: Response,
    @CurrentPrincipal() principal: Principal,
    @ActorId() actorId: string,
    @Param('ws', IdPipe) ws: string,
    @Body() dto: InviteDto,
  ) {
    const ref = await workspaceRef(this.repo, principal, ws);
    return this.writes.run(req, res, actorId, 201, (ctx) => this.commands.execute(new InviteMemberCommand(ref, ctx, dto)));
  }

  @Get(':id/link')
  @ApiOperation({ summary: 'The current link of a pending invitation ("copy invitation link").' })
  @ApiHeader(ACTOR_HEADER)
  async link(@CurrentPrincipal() principal: Principal, @ActorId() actorId: string, @Param('ws', IdPipe) ws: string, @Param('id', IdPipe) id: string) {
    const ref = await workspaceRef(this.repo, principal, ws);
    return this.commands.execute(new GetInvitationLinkCommand(ref, newCommandContext({ actorId }), id));
  }

  @Post(':id/resend')
  @ApiOperation({ summary: 'Send a new link; the 48 hours start again and older links stop working.' })
  @ApiHeader(ACTOR_HEADER)
  @ApiHeader(IDEMPOTENCY_HEADER)
  async resend(
    @Req() req: AuthedRequest,
    @Res({ passthrough: true }) res: Response,
    @CurrentPrincipal() principal: Principal,
    @ActorId() actorId: string,
    @Param('ws', IdPipe) ws: string,
    @Param('id', IdPipe) id: string,
  ) {
    const ref = await workspaceRef(this.repo, principal, ws);
    return this.writes.run(req, res, actorId, 200, (ctx) => this.commands.execute(new ResendInvitationCommand(ref, ctx, id)));
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Cancel a pending invitation.' })
  @ApiHeader(ACTOR_HEADER)
  @ApiHeader(IDEMPOTENCY_HEADER)
  async cancel(
    @Req() req: AuthedRequest,
    @Res({ passthrough: true }) res: Response,
    @CurrentPrincipal() principal: Principal,
    @ActorId() actorId: string,
    @Param('ws', IdPipe) ws: string,
    @Param('id', IdPipe) id: string,
  ) {
    const ref = await workspaceRef(this.repo, principal, ws);
    return this.writes.run(req, res, actorId, 200, (ctx) => this.commands.execute(new CancelInvitationCommand(ref, ctx, id)));
  }
}

@ApiTags('invitations')
@Controller('v1/invitations')
export class AcceptController {
  constructor(
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(WriteRunner) private readonly writes: WriteRunner,
  ) {}

  @Post('accept')
  @Public()
  @HttpCode(200)
  @ApiOperation({ summary: 'Accept an invitation; authenticated by the token of the link alone.' })
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiResponse({ status: 200, description: '{userId, organizationId, workspaceId, position}' })
  accept(@Req() req: AuthedRequest, @Res({ passthrough: true }) res: Response, @Body() dto: AcceptInvitationDto) {
    return this.writes.run(req, res, 'invitee', 200, (ctx) => this.commands.execute(new AcceptInvitationCommand(ctx, dto.token, dto.displayName)));
  }
}

@ApiTags('members')
@ApiBearerAuth()
@Controller('v1/workspaces/:ws/members')
export class MemberCommandsController {
  constructor(
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(WriteRunner) private readonly writes: WriteRunner,
    @Inject(StreamRepository) private readonly repo: StreamRepository,
  ) {}

  @Patch(':userId/access')
  @ApiOperation({ summary: 'Edit access: roles, restrictions and grants (nothing else of the member).' })
  @ApiHeader(ACTOR_HEADER)
  @ApiHeader(IDEMPOTENCY_HEADER)
  async changeAccess(
    @Req() req: AuthedRequest,
    @Res({ passthrough: true }) res: Response,
    @CurrentPrincipal() principal: Principal,
    @ActorId() actorId: string,
    @Param('ws', IdPipe) ws: string,
    @Param('userId', IdPipe) userId: string,
    @Body() dto: AccessDto,
  ) {
    const ref = await workspaceRef(this.repo, principal, ws);
    return this.writes.run(req, res, actorId, 200, (ctx) => this.commands.execute(new ChangeAccessCommand(ref, ctx, userId, dto)));
  }

  @Delete(':userId')
  @ApiOperation({ summary: 'Revoke access; contacts are unassigned or reassigned to `reassignContactsTo`. Cannot be undone.' })
  @ApiHeader(ACTOR_HEADER)
  @ApiHeader(IDEMPOTENCY_HEADER)
  async revoke(
    @Req() req: AuthedRequest,
    @Res({ passthrough: true }) res: Response,
    @CurrentPrincipal() principal: Principal,
    @ActorId() actorId: string,
    @Param('ws', IdPipe) ws: string,
    @Param('userId', IdPipe) userId: string,
    @Body() dto: RevokeDto,
  ) {
    const ref = await workspaceRef(this.repo, principal, ws);
    return this.writes.run(req, res, actorId, 200, (ctx) =>
      this.commands.execute(new RevokeAccessCommand(ref, ctx, userId, dto?.reassignContactsTo)),
    );
  }
}
