import { Body, Controller, Delete, Inject, Param, Patch } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiBody, ApiExcludeEndpoint, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Payload } from '@nestjs/microservices';
import { MessageRoute } from '../shared/http/message-route';
import { IsString, Matches } from 'class-validator';
import { AccessDto, FoldsIdCase, ID_PATTERN } from '../shared/http/dtos';
import { RevokeDto } from './dtos';
import { IdPipe } from '../shared/http/path-params';
import { ACTOR_HEADER, IDEMPOTENCY_HEADER } from '../shared/http/headers';
import { MessageWrites, bodyOf, withEnvelope } from '../shared/http/messages';
import { StreamStates } from '../shared/command-path/stream-states';
import { resolveWorkspace } from '../shared/command-path/targets';
import { WritePipeline, type ActingWriteCall, ActingWrite, httpWrite } from '../shared/command-path/write-pipeline';
import { ChangeAccessCommand, RevokeAccessCommand } from './member-handlers';
import { ApiProblems, ApiWrite } from '../shared/http/openapi';
import { AccessChanged, AccessRevoked } from './resources';

class ChangeAccessMessage extends withEnvelope(AccessDto) {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() workspaceId!: string;
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() userId!: string;
}
class RevokeMessage extends withEnvelope(RevokeDto) {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() workspaceId!: string;
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() userId!: string;
}

/** Rules 10 and 11 (docs/rules.md#changes-and-removal): edit a member's access, revoke it. */
@ApiTags('members')
@ApiBearerAuth()
@Controller('v1/workspaces/:ws/members')
export class MemberCommandsController {
  constructor(
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(WritePipeline) private readonly pipeline: WritePipeline,
    @Inject(MessageWrites) private readonly messages: MessageWrites,
    @Inject(StreamStates) private readonly states: StreamStates,
  ) {}

  @Patch(':userId/access')
  @ApiOperation({ summary: 'Edit access: roles, restrictions and grants (nothing else of the member).' })
  @ApiHeader(ACTOR_HEADER)
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiWrite(200, AccessChanged)
  @ApiProblems('WORKSPACE_NOT_FOUND', 'CANNOT_MODIFY_SELF', 'NOT_A_MEMBER', 'INVALID_ROLE', 'INVALID_RESTRICTION', 'INVALID_GRANT', 'PLAN_REQUIRED', 'LAST_OWNER')
  async changeAccess(
    @ActingWrite() call: ActingWriteCall,
    @Param('ws', IdPipe) ws: string,
    @Param('userId', IdPipe) userId: string,
    @Body() dto: AccessDto,
  ) {
    const ref = await resolveWorkspace(this.states, call.principal, ws);
    return httpWrite(this.pipeline, call, { status: 200 }, (ctx) => this.commands.execute(new ChangeAccessCommand(ref, ctx, userId, dto)));
  }

  @Delete(':userId')
  @ApiOperation({ summary: 'Revoke access; contacts are unassigned or reassigned to `reassignContactsTo`. Cannot be undone.' })
  @ApiHeader(ACTOR_HEADER)
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiWrite(200, AccessRevoked)
  @ApiProblems('WORKSPACE_NOT_FOUND', 'CANNOT_MODIFY_SELF', 'NOT_A_MEMBER', 'LAST_OWNER', 'INVALID_REASSIGNMENT')
  // no body (or `{}`): the contacts are left unassigned
  @ApiBody({ type: RevokeDto, required: false })
  async revoke(
    @ActingWrite() call: ActingWriteCall,
    @Param('ws', IdPipe) ws: string,
    @Param('userId', IdPipe) userId: string,
    @Body() dto: RevokeDto,
  ) {
    const ref = await resolveWorkspace(this.states, call.principal, ws);
    return httpWrite(this.pipeline, call, { status: 200 }, (ctx) =>
      this.commands.execute(new RevokeAccessCommand(ref, ctx, userId, dto?.reassignContactsTo)),
    );
  }

  @MessageRoute('members.changeAccess')
  @ApiExcludeEndpoint()
  changeAccessMessage(@Payload() m: ChangeAccessMessage) {
    return this.messages.run('members.changeAccess', m, async (ctx, p) =>
      this.commands.execute(new ChangeAccessCommand(await resolveWorkspace(this.states, p, m.workspaceId), ctx, m.userId, bodyOf(m) as AccessDto)),
    );
  }

  @MessageRoute('members.revoke')
  @ApiExcludeEndpoint()
  revokeMessage(@Payload() m: RevokeMessage) {
    return this.messages.run('members.revoke', m, async (ctx, p) =>
      this.commands.execute(new RevokeAccessCommand(await resolveWorkspace(this.states, p, m.workspaceId), ctx, m.userId, m.reassignContactsTo)),
    );
  }
}
