import { Body, Controller, Delete, HttpCode, Inject, Optional, Param, Patch, Post, Put, Req, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiExcludeEndpoint, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Payload } from '@nestjs/microservices';
import { MessageRoute } from '../shared/http/message-route';
import { IsString, Matches, MaxLength } from 'class-validator';
import type { FastifyReply } from 'fastify';
import { type AuthedRequest, type Principal, Public, SystemOrOrganization } from '../shared/auth';
import { ApiProblems, ApiWrite, PublicOperation, SYSTEM_KEY_SCHEME } from '../shared/http/openapi';
import { EmailChangeConfirmed, OrgAdminSet, ProfileUpdated, UserDeleted } from './resources';
import { ChangeOrgAdminCommand } from './org-admin';
import { FoldsIdCase, ID_PATTERN } from '../shared/http/dtos';
import { ConfirmEmailDto, UpdateProfileDto } from './dtos';
import { IdPipe } from '../shared/http/path-params';
import { ACTOR_HEADER, IDEMPOTENCY_HEADER } from '../shared/http/headers';
import { Envelope, MessageWrites, bodyOf, ownOrganization, tokenScope, withEnvelope } from '../shared/http/messages';
import { WritePipeline, type ActingWriteCall, ActingWrite, type AnswerStorage, OperatorOrActingWrite, httpWrite } from '../shared/command-path/write-pipeline';
import { ConfirmEmailChangeCommand, DeleteUserCommand, type ProfileAnswer, UpdateProfileCommand, profileAnswerStorage } from './user-handlers';
import { MailLedger } from '../mail/mail-ledger';
import { emailChangeLinkCurrent } from '../mail/current-links';
import { StreamStates } from '../shared/command-path/stream-states';
import { Omittable } from '../shared/http/omittable';

class ProfileMessage extends withEnvelope(UpdateProfileDto) {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() organizationId!: string;
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() userId!: string;
}
class DeleteUserMessage extends Envelope {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() organizationId!: string;
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() userId!: string;
}
class OrgAdminMessage extends Envelope {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() organizationId!: string;
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() userId!: string;
}
class ConfirmEmailMessage extends ConfirmEmailDto {
  @Omittable() @IsString() @MaxLength(255) idempotencyKey?: string;
  @Omittable() @IsString() @MaxLength(128) correlationId?: string;
}

/** the organization a call names: any, for the system key (the operator); its own, for an organization's key */
const organizationNamed = (principal: Principal, organizationId: string): string => (principal.kind === 'system' ? organizationId : ownOrganization(principal, organizationId));

/** Rules 10 and 12 (docs/rules.md#rule-10, #rule-12): profiles (with confirmed email changes) and deleting users. */
@ApiTags('users')
@ApiBearerAuth()
@Controller('v1/organizations/:org/users')
export class UsersController {
  constructor(
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(WritePipeline) private readonly pipeline: WritePipeline,
    @Inject(MessageWrites) private readonly messages: MessageWrites,
    @Inject(StreamStates) states: StreamStates,
    @Optional() @Inject(MailLedger) ledger?: MailLedger,
  ) {
    // (a kept `pending` of a change no longer pending at that version reads as a replay's: absent)
    this.profileAnswers = profileAnswerStorage(ledger, async (userId, link) => emailChangeLinkCurrent(await states.organizationCached(link.organizationId), userId, link.version, Date.now()) !== undefined);
  }

  /** what is kept of a profile change's answer under its Idempotency-Key: no address (user-handlers.ts) */
  private readonly profileAnswers: AnswerStorage<ProfileAnswer>;

  @Patch(':userId')
  @ApiOperation({
    summary:
      'Update a profile (display name, alias, avatar URL, email): the user themself (while an active member of a workspace of the organization) or an org admin. A new email takes effect once the link mailed to it is opened. An address another user holds (EMAIL_TAKEN) or one with a pending invitation for someone else (EMAIL_PENDING_INVITATION) is refused here to an org admin; to a user changing their own address, when the link is opened (its answer does not tell them whose address it is).',
  })
  @ApiHeader(ACTOR_HEADER)
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiWrite(200, ProfileUpdated)
  @ApiProblems('ORGANIZATION_NOT_FOUND', 'USER_NOT_FOUND', 'EMAIL_TAKEN', 'EMAIL_PENDING_INVITATION', 'TOO_MANY_EMAIL_CHANGES')
  updateProfile(
    @ActingWrite() call: ActingWriteCall,
    @Param('org', IdPipe) org: string,
    @Param('userId', IdPipe) userId: string,
    @Body() dto: UpdateProfileDto,
  ) {
    const organizationId = ownOrganization(call.principal, org);
    return httpWrite(this.pipeline, call, { status: 200 }, (ctx) => this.commands.execute(new UpdateProfileCommand(organizationId, ctx, userId, dto)), this.profileAnswers);
  }

  @Delete(':userId')
  @ApiOperation({
    summary: 'Delete a user from the organization and every workspace; personal data is erased, statistics are kept.',
    description:
      "Cannot be undone: the user's name and addresses are erased (their statistics and history entries are kept under their id); inviting the address again makes a new user. Appends, at once, the user's removal from every workspace where they were a member and the cancellation of their pending invitations in this organization (they then answer 409 INVITATION_NOT_PENDING). Invitations to their address in other organizations are untouched (another organization's data), but for those sent before session 24, sealed under a key every organization shared: they answer 410 INVITATION_ADDRESSEE_ERASED (docs/rules.md rule 12).",
  })
  @ApiHeader(ACTOR_HEADER)
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiWrite(200, UserDeleted)
  @ApiProblems('ORGANIZATION_NOT_FOUND', 'USER_NOT_FOUND', 'CANNOT_MODIFY_SELF', 'LAST_OWNER')
  deleteUser(
    @ActingWrite() call: ActingWriteCall,
    @Param('org', IdPipe) org: string,
    @Param('userId', IdPipe) userId: string,
  ) {
    const organizationId = ownOrganization(call.principal, org);
    return httpWrite(this.pipeline, call, { status: 200 }, (ctx) => this.commands.execute(new DeleteUserCommand(organizationId, ctx, userId)));
  }

  @Put(':userId/org-admin')
  @SystemOrOrganization()
  @ApiBearerAuth(SYSTEM_KEY_SCHEME)
  @ApiOperation({
    summary: "Make a user an org admin: an owner's authority in every workspace of the organization (rule 5). Org admins only, not for oneself; or the system key (no X-Actor-Id), the operator's way back into an organization whose org admins have all left, recorded as done by `system`.",
  })
  @ApiHeader({ ...ACTOR_HEADER, required: false, description: "the org admin acting, with the organization's key; not with the system key" })
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiWrite(200, OrgAdminSet)
  @ApiProblems('ORGANIZATION_NOT_FOUND', 'USER_NOT_FOUND', 'CANNOT_MODIFY_SELF')
  grantOrgAdmin(@OperatorOrActingWrite() call: ActingWriteCall, @Param('org', IdPipe) org: string, @Param('userId', IdPipe) userId: string) {
    return this.orgAdmin(call, org, userId, true);
  }

  @Delete(':userId/org-admin')
  // the system key reaches the domain's refusal, which says what the operator may do (probe 81 F7: "use the
  // organization's API key", which needs an org admin there may not be)
  @SystemOrOrganization()
  @ApiOperation({ summary: 'Take org admin away from a user; their memberships and their access in them stay. Org admins only, not for oneself (the system key is refused: the operator makes org admins, and takes it from nobody).' })
  @ApiHeader(ACTOR_HEADER)
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiWrite(200, OrgAdminSet)
  @ApiProblems('ORGANIZATION_NOT_FOUND', 'USER_NOT_FOUND', 'CANNOT_MODIFY_SELF')
  revokeOrgAdmin(@OperatorOrActingWrite() call: ActingWriteCall, @Param('org', IdPipe) org: string, @Param('userId', IdPipe) userId: string) {
    return this.orgAdmin(call, org, userId, false);
  }

  private orgAdmin(call: ActingWriteCall, org: string, userId: string, orgAdmin: boolean) {
    const organizationId = organizationNamed(call.principal, org);
    return httpWrite(this.pipeline, call, { status: 200 }, (ctx) => this.commands.execute(new ChangeOrgAdminCommand(organizationId, ctx, userId, orgAdmin)));
  }

  @MessageRoute('users.grantOrgAdmin')
  @SystemOrOrganization()
  @ApiExcludeEndpoint()
  grantOrgAdminMessage(@Payload() m: OrgAdminMessage) {
    return this.messages.run('users.grantOrgAdmin', m, (ctx, p) => this.commands.execute(new ChangeOrgAdminCommand(organizationNamed(p, m.organizationId), ctx, m.userId, true)));
  }

  @MessageRoute('users.revokeOrgAdmin')
  @SystemOrOrganization()
  @ApiExcludeEndpoint()
  revokeOrgAdminMessage(@Payload() m: OrgAdminMessage) {
    return this.messages.run('users.revokeOrgAdmin', m, (ctx, p) => this.commands.execute(new ChangeOrgAdminCommand(organizationNamed(p, m.organizationId), ctx, m.userId, false)));
  }

  @MessageRoute('users.updateProfile')
  @ApiExcludeEndpoint()
  updateProfileMessage(@Payload() m: ProfileMessage) {
    return this.messages.run('users.updateProfile', m, (ctx, p) =>
      this.commands.execute(new UpdateProfileCommand(ownOrganization(p, m.organizationId), ctx, m.userId, bodyOf(m) as UpdateProfileDto)),
      this.profileAnswers,
    );
  }

  @MessageRoute('users.delete')
  @ApiExcludeEndpoint()
  deleteUserMessage(@Payload() m: DeleteUserMessage) {
    return this.messages.run('users.delete', m, (ctx, p) => this.commands.execute(new DeleteUserCommand(ownOrganization(p, m.organizationId), ctx, m.userId)));
  }
}

/** The confirmation link of an email change, authenticated by its token alone. */
@ApiTags('users')
@Controller('v1/users/email-confirmations')
export class EmailConfirmationController {
  constructor(
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(WritePipeline) private readonly pipeline: WritePipeline,
    @Inject(MessageWrites) private readonly messages: MessageWrites,
  ) {}

  @Post()
  @PublicOperation()
  @HttpCode(200)
  @ApiOperation({ summary: 'Confirm a new email address with the token of the link mailed to it; the address then becomes the user\'s.' })
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiWrite(200, EmailChangeConfirmed, { authenticated: false })
  @ApiProblems('EMAIL_CHANGE_NOT_PENDING', 'EMAIL_CHANGE_EXPIRED', 'EMAIL_TAKEN', 'EMAIL_PENDING_INVITATION')
  confirm(@Req() req: AuthedRequest, @Res({ passthrough: true }) res: FastifyReply, @Body() dto: ConfirmEmailDto) {
    return httpWrite(this.pipeline, { req, res, actorId: 'invitee' }, { status: 200, scope: tokenScope(dto.token) }, (ctx) =>
      this.commands.execute(new ConfirmEmailChangeCommand(ctx, dto.token)),
    );
  }

  @MessageRoute('users.confirmEmail')
  @ApiExcludeEndpoint()
  // no API key: the token in the message authenticates it
  @Public()
  confirmMessage(@Payload() m: ConfirmEmailMessage) {
    return this.messages.runWithToken('users.confirmEmail', m, (ctx) => this.commands.execute(new ConfirmEmailChangeCommand(ctx, m.token)));
  }
}
