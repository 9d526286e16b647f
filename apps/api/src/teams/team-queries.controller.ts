import { Controller, Get, Headers, Inject, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiExcludeEndpoint, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Payload } from '@nestjs/microservices';
import { MessageRoute } from '../shared/http/message-route';
import { IsInt, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { ActorId, Authenticator, CurrentPrincipal, type Principal } from '../shared/auth';
import { FoldsIdCase, ID_PATTERN } from '../shared/http/dtos';
import { Envelope, messageActor } from '../shared/http/messages';
import { ApiProblems, ApiRead } from '../shared/http/openapi';
import { IdPipe } from '../shared/http/path-params';
import { ProblemException, problem } from '../shared/http/problem';
import { MIN_POSITION_HEADER, READ_ACTOR_HEADER, messageMinPosition } from '../shared/reads/read-access';
import { OfferedTeamList, TeamInvitees, TeamList } from './resources';
import { type InviteesPageAsked, TeamReads } from './team-reads';
import { InviteesQuery, TeamsQuery } from './dtos';
import { Omittable } from '../shared/http/omittable';

class TeamsReadMessage extends Envelope {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() workspaceId!: string;
  @Omittable() @IsString() @MaxLength(20) minPosition?: string;
}
class TeamListMessage extends TeamsReadMessage {
  // in pages (probe 59): 500 own teams unless fewer are asked
  @Omittable() @IsInt() @Min(1) @Max(500) limit?: number;
  @Omittable() @IsString() @MaxLength(1000) cursor?: string;
}
class InviteesReadMessage extends TeamsReadMessage {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() teamId!: string;
  // in pages (probe 42 F5): a team of some 5,000 members is past NATS's 1 MiB in one answer
  @Omittable() @IsInt() @Min(1) @Max(1000) limit?: number;
  @Omittable() @IsString() @MaxLength(1000) cursor?: string;
}

/** the page asked for; a cursor without `limit` is refused (it would be ignored) */
function pageAsked(limit: number | undefined, cursor: string | undefined): InviteesPageAsked | undefined {
  if (limit === undefined && cursor !== undefined)
    throw new ProblemException(problem(400, 'VALIDATION_FAILED', 'A cursor pages the invite lookup: send `limit` with it.', [{ field: 'limit', message: 'is needed with cursor' }]));
  return limit === undefined ? undefined : { limit, ...(cursor !== undefined && { cursor }) };
}

/**
 * Rules 15 and 16 (docs/rules.md#rule-15): the team list (own teams and visible partner teams), the partner teams on
 * offer, and the invite lookup a chat router calls to notify a team, also as message patterns `teams.list` and
 * `teams.invitees`. Every active member of the workspace may read them.
 */
@ApiTags('teams')
@ApiBearerAuth()
@Controller('v1/workspaces/:ws')
export class TeamQueriesController {
  constructor(
    @Inject(TeamReads) private readonly reads: TeamReads,
    @Inject(Authenticator) private readonly auth: Authenticator,
  ) {}

  @Get('teams')
  @ApiOperation({ summary: 'The team list: own teams (member count, shared or not) by name, in pages of `limit` (500 unless fewer asked; `nextCursor`), then, on the last page, the visible partner teams. Any active member may read it (rule 15).' })
  @ApiHeader(READ_ACTOR_HEADER)
  @ApiHeader(MIN_POSITION_HEADER)
  @ApiRead(TeamList)
  @ApiProblems('WORKSPACE_NOT_FOUND')
  async list(
    @CurrentPrincipal() principal: Principal,
    @ActorId() actorId: string,
    @Param('ws', IdPipe) ws: string,
    @Query() query: TeamsQuery,
    @Headers(MIN_POSITION_HEADER.name) minPosition?: string,
  ): Promise<TeamList> {
    return this.reads.list(principal, ws, actorId, minPosition, query);
  }

  @Get('teams/:teamId/invitees')
  @ApiOperation({ summary: 'The team invite lookup: its members with display name, alias, avatar and presence (own or visible partner team). Any active member may read it: a chat router asks on an agent\'s behalf (rule 15). With `limit`, in pages (`nextCursor`); without it, the whole team in one answer.' })
  @ApiHeader(READ_ACTOR_HEADER)
  @ApiHeader(MIN_POSITION_HEADER)
  @ApiRead(TeamInvitees)
  @ApiProblems('WORKSPACE_NOT_FOUND', 'TEAM_NOT_FOUND')
  invitees(
    @CurrentPrincipal() principal: Principal,
    @ActorId() actorId: string,
    @Param('ws', IdPipe) ws: string,
    @Param('teamId', IdPipe) teamId: string,
    @Query() query: InviteesQuery,
    @Headers(MIN_POSITION_HEADER.name) minPosition?: string,
  ): Promise<TeamInvitees> {
    return this.reads.invitees(principal, ws, actorId, teamId, minPosition, pageAsked(query.limit, query.cursor));
  }

  @Get('partner-teams')
  @ApiOperation({ summary: 'The teams network partners share with this workspace (offered), and those it chose that are no longer shared (`shared: false`, as they were when unshared), with whether it chose to see each. Any active member may read it (rule 15).' })
  @ApiHeader(READ_ACTOR_HEADER)
  @ApiHeader(MIN_POSITION_HEADER)
  @ApiRead(OfferedTeamList)
  @ApiProblems('WORKSPACE_NOT_FOUND')
  async offered(
    @CurrentPrincipal() principal: Principal,
    @ActorId() actorId: string,
    @Param('ws', IdPipe) ws: string,
    @Headers(MIN_POSITION_HEADER.name) minPosition?: string,
  ): Promise<OfferedTeamList> {
    return { items: await this.reads.offered(principal, ws, actorId, minPosition) };
  }

  /** the key and acting user of a read message (reads keep no idempotency record) */
  private async reader(m: TeamsReadMessage): Promise<{ principal: Principal; actorId: string }> {
    const principal = await this.auth.identify(m.apiKey);
    if (principal.kind !== 'organization') throw new ProblemException(problem(403, 'INSUFFICIENT_AUTHORITY', "Reading teams needs the organization's API key."));
    return { principal, actorId: messageActor(m.actorId) };
  }

  @MessageRoute('teams.list')
  @ApiExcludeEndpoint()
  async listMessage(@Payload() m: TeamListMessage): Promise<TeamList> {
    const { principal, actorId } = await this.reader(m);
    return this.reads.list(principal, m.workspaceId, actorId, messageMinPosition(m.minPosition), { limit: m.limit, cursor: m.cursor });
  }

  @MessageRoute('teams.invitees')
  @ApiExcludeEndpoint()
  async inviteesMessage(@Payload() m: InviteesReadMessage): Promise<TeamInvitees> {
    const { principal, actorId } = await this.reader(m);
    return this.reads.invitees(principal, m.workspaceId, actorId, m.teamId, messageMinPosition(m.minPosition), pageAsked(m.limit, m.cursor));
  }
}
