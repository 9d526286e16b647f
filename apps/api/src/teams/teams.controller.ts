import { Body, Controller, Delete, Inject, Param, Patch, Post, Put } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiExcludeEndpoint, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Payload } from '@nestjs/microservices';
import { MessageRoute } from '../shared/http/message-route';
import { IsBoolean, IsString, Matches, ValidateIf } from 'class-validator';
import { FoldsIdCase, ID_PATTERN } from '../shared/http/dtos';
import { ACTOR_HEADER, IDEMPOTENCY_HEADER } from '../shared/http/headers';
import { Envelope, MessageWrites, withEnvelope } from '../shared/http/messages';
import { ApiProblems, ApiWrite } from '../shared/http/openapi';
import { IdPipe } from '../shared/http/path-params';
import { StreamStates } from '../shared/command-path/stream-states';
import { resolveWorkspace } from '../shared/command-path/targets';
import { WritePipeline, type ActingWriteCall, ActingWrite, httpWrite } from '../shared/command-path/write-pipeline';
import { PartnerTeamVisibilityDto, TeamNameDto, TeamSharingDto } from './dtos';
import { TeamChanged, TeamCreated } from './resources';
import { type TeamAction, type TeamAnswer, TeamCommandRequest } from './team-handlers';

class WorkspaceMessage extends Envelope {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() workspaceId!: string;
}
class TeamMessage extends WorkspaceMessage {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() teamId!: string;
}
class CreateTeamMessage extends withEnvelope(TeamNameDto) {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() workspaceId!: string;
}
class RenameTeamMessage extends CreateTeamMessage {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() teamId!: string;
}
class TeamMemberMessage extends TeamMessage {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() userId!: string;
}
class TeamSharingMessage extends TeamMessage {
  @IsBoolean() shared!: boolean;
  @ValidateIf((_, value) => value !== undefined)
  @IsString({ message: 'partnerWorkspaceId must be a workspace id (omit it for every partner)' })
  @Matches(ID_PATTERN, { message: 'must be a workspace id' })
  @FoldsIdCase()
  partnerWorkspaceId?: string;
}
class PartnerTeamVisibilityMessage extends TeamMessage {
  @IsBoolean() visible!: boolean;
}

/** Problems every team write can answer beside the common ones. */
const TEAM_PROBLEMS = ['WORKSPACE_NOT_FOUND', 'TEAM_NOT_FOUND'] as const;

/**
 * Rules 14 and 16 (docs/rules.md#teams): manage teams and their members, share teams with network partners, choose
 * the partners' teams to see. Managing teams needs settings.teams (levels), users (permissions) or
 * environment_manager (studio); org admins always may. Message patterns `teams.*` run the same commands.
 */
@ApiTags('teams')
@ApiBearerAuth()
@Controller('v1/workspaces/:ws')
export class TeamsController {
  constructor(
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(WritePipeline) private readonly pipeline: WritePipeline,
    @Inject(MessageWrites) private readonly messages: MessageWrites,
    @Inject(StreamStates) private readonly states: StreamStates,
  ) {}

  private async write(call: ActingWriteCall, ws: string, status: number, action: TeamAction) {
    const ref = await resolveWorkspace(this.states, call.principal, ws);
    return httpWrite(this.pipeline, call, { status }, (ctx) => this.commands.execute<TeamCommandRequest, TeamAnswer>(new TeamCommandRequest(ref, ctx, action)));
  }

  private message(pattern: string, m: WorkspaceMessage, action: TeamAction) {
    return this.messages.run(pattern, m, async (ctx, p) =>
      this.commands.execute<TeamCommandRequest, TeamAnswer>(new TeamCommandRequest(await resolveWorkspace(this.states, p, m.workspaceId), ctx, action)),
    );
  }

  @Post('teams')
  @ApiOperation({ summary: 'Create a team (name trimmed, 1-80 characters, unique in the workspace ignoring case). A workspace holds at most 1,000 teams unless the operator set another quota (QUOTA_EXCEEDED).' })
  @ApiHeader(ACTOR_HEADER)
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiWrite(201, TeamCreated)
  @ApiProblems('WORKSPACE_NOT_FOUND', 'TEAM_NAME_TAKEN', 'TEAM_EXISTS', 'QUOTA_EXCEEDED')
  create(
    @ActingWrite() call: ActingWriteCall,
    @Param('ws', IdPipe) ws: string,
    @Body() dto: TeamNameDto,
  ) {
    return this.write(call, ws, 201, { type: 'CreateTeam', name: dto.name });
  }

  @Patch('teams/:teamId')
  @ApiOperation({ summary: 'Rename a team.' })
  @ApiHeader(ACTOR_HEADER)
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiWrite(200, TeamChanged)
  @ApiProblems(...TEAM_PROBLEMS, 'TEAM_NAME_TAKEN')
  rename(
    @ActingWrite() call: ActingWriteCall,
    @Param('ws', IdPipe) ws: string,
    @Param('teamId', IdPipe) teamId: string,
    @Body() dto: TeamNameDto,
  ) {
    return this.write(call, ws, 200, { type: 'RenameTeam', teamId, name: dto.name });
  }

  @Delete('teams/:teamId')
  @ApiOperation({ summary: 'Delete a team; its members leave it (the history records each).' })
  @ApiHeader(ACTOR_HEADER)
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiWrite(200, TeamChanged)
  @ApiProblems(...TEAM_PROBLEMS)
  remove(
    @ActingWrite() call: ActingWriteCall,
    @Param('ws', IdPipe) ws: string,
    @Param('teamId', IdPipe) teamId: string,
  ) {
    return this.write(call, ws, 200, { type: 'DeleteTeam', teamId });
  }

  @Put('teams/:teamId/members/:userId')
  @ApiOperation({ summary: 'Add an active member to a team (a member may be in several teams); already in it: nothing changes.' })
  @ApiHeader(ACTOR_HEADER)
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiWrite(200, TeamChanged)
  @ApiProblems(...TEAM_PROBLEMS, 'NOT_A_MEMBER', 'MEMBER_NOT_ACTIVE')
  addMember(
    @ActingWrite() call: ActingWriteCall,
    @Param('ws', IdPipe) ws: string,
    @Param('teamId', IdPipe) teamId: string,
    @Param('userId', IdPipe) userId: string,
  ) {
    return this.write(call, ws, 200, { type: 'AddTeamMember', teamId, userId });
  }

  @Delete('teams/:teamId/members/:userId')
  @ApiOperation({ summary: 'Take a member out of a team; not in it: nothing changes (an id that names no user of the workspace or its organization: 404 NOT_A_MEMBER).' })
  @ApiHeader(ACTOR_HEADER)
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiWrite(200, TeamChanged)
  @ApiProblems(...TEAM_PROBLEMS, 'NOT_A_MEMBER')
  removeMember(
    @ActingWrite() call: ActingWriteCall,
    @Param('ws', IdPipe) ws: string,
    @Param('teamId', IdPipe) teamId: string,
    @Param('userId', IdPipe) userId: string,
  ) {
    return this.write(call, ws, 200, { type: 'RemoveTeamMember', teamId, userId });
  }

  @Put('teams/:teamId/sharing')
  @ApiOperation({
    summary:
      "Share one of the workspace's teams with a network partner (`partnerWorkspaceId`), or with every partner linked now — a partner the operator links later is not offered it until shared with — or stop sharing it with one or every partner (hidden from them at once). An unlink ends the sharing with that partner (rule 16). Sharing with a workspace that is no partner, or with every partner where there is none, is NOT_NETWORKED.",
  })
  @ApiHeader(ACTOR_HEADER)
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiWrite(200, TeamChanged)
  @ApiProblems(...TEAM_PROBLEMS, 'NOT_NETWORKED')
  share(
    @ActingWrite() call: ActingWriteCall,
    @Param('ws', IdPipe) ws: string,
    @Param('teamId', IdPipe) teamId: string,
    @Body() dto: TeamSharingDto,
  ) {
    return this.write(call, ws, 200, { type: 'SetTeamSharing', teamId, shared: dto.shared, ...(dto.partnerWorkspaceId !== undefined && { partnerWorkspaceId: dto.partnerWorkspaceId }) });
  }

  @Put('partner-teams/:teamId/visibility')
  @ApiOperation({
    summary:
      'See a team a network partner shares with this workspace (offered), or stop seeing one chosen (also once no longer shared, or deleted). Seeing any other team is TEAM_NOT_FOUND; hiding a team not chosen changes nothing (`changed: false`, whatever the id names). A choice racing the partner\'s unsharing or deleting the team is refused (probe 91 F3).',
  })
  @ApiHeader(ACTOR_HEADER)
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiWrite(200, TeamChanged)
  @ApiProblems(...TEAM_PROBLEMS)
  choose(
    @ActingWrite() call: ActingWriteCall,
    @Param('ws', IdPipe) ws: string,
    @Param('teamId', IdPipe) teamId: string,
    @Body() dto: PartnerTeamVisibilityDto,
  ) {
    return this.write(call, ws, 200, { type: 'SetPartnerTeamVisibility', teamId, visible: dto.visible });
  }

  @MessageRoute('teams.create')
  @ApiExcludeEndpoint()
  createMessage(@Payload() m: CreateTeamMessage) {
    return this.message('teams.create', m, { type: 'CreateTeam', name: m.name });
  }

  @MessageRoute('teams.rename')
  @ApiExcludeEndpoint()
  renameMessage(@Payload() m: RenameTeamMessage) {
    return this.message('teams.rename', m, { type: 'RenameTeam', teamId: m.teamId, name: m.name });
  }

  @MessageRoute('teams.delete')
  @ApiExcludeEndpoint()
  deleteMessage(@Payload() m: TeamMessage) {
    return this.message('teams.delete', m, { type: 'DeleteTeam', teamId: m.teamId });
  }

  @MessageRoute('teams.addMember')
  @ApiExcludeEndpoint()
  addMemberMessage(@Payload() m: TeamMemberMessage) {
    return this.message('teams.addMember', m, { type: 'AddTeamMember', teamId: m.teamId, userId: m.userId });
  }

  @MessageRoute('teams.removeMember')
  @ApiExcludeEndpoint()
  removeMemberMessage(@Payload() m: TeamMemberMessage) {
    return this.message('teams.removeMember', m, { type: 'RemoveTeamMember', teamId: m.teamId, userId: m.userId });
  }

  @MessageRoute('teams.setSharing')
  @ApiExcludeEndpoint()
  shareMessage(@Payload() m: TeamSharingMessage) {
    return this.message('teams.setSharing', m, { type: 'SetTeamSharing', teamId: m.teamId, shared: m.shared, ...(m.partnerWorkspaceId !== undefined && { partnerWorkspaceId: m.partnerWorkspaceId }) });
  }

  @MessageRoute('teams.setPartnerTeamVisibility')
  @ApiExcludeEndpoint()
  chooseMessage(@Payload() m: PartnerTeamVisibilityMessage) {
    return this.message('teams.setPartnerTeamVisibility', m, { type: 'SetPartnerTeamVisibility', teamId: m.teamId, visible: m.visible });
  }
}
