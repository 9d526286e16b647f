import { Controller, Get, Headers, Inject, Param, Query, StreamableFile } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { domainError } from '@rollcall/domain';
import { type ReadStore, exportMembersCsv, getMember, listMembers } from '@rollcall/read-store';
import { ActorId, CurrentPrincipal, type Principal } from '../shared/auth';
import { IdPipe } from '../shared/path-params';
import { MIN_POSITION_HEADER, READ_ACTOR_HEADER, ReadAccess, badQuery } from '../shared/read-access';
import { DomainException } from '../shared/stream-handler';
import { READ_STORE } from '../shared/tokens';
import { AccessAsOfQuery } from './access-as-of';
import { AsOfQuery, ExportMembersQuery, ListMembersQuery } from './dtos';

/** The user list (rules 9 and 18, docs/rules.md#read-models), one member, and a member's access at a time T. */
@ApiTags('members')
@ApiBearerAuth()
@Controller('v1/workspaces/:ws/members')
export class MemberQueriesController {
  constructor(
    @Inject(ReadAccess) private readonly access: ReadAccess,
    @Inject(READ_STORE) private readonly store: ReadStore,
    @Inject(QueryBus) private readonly queries: QueryBus,
  ) {}

  @Get()
  @ApiOperation({ summary: 'The user list: members and pending invitations, with search, filters, sort and cursor pagination.' })
  @ApiHeader(READ_ACTOR_HEADER)
  @ApiHeader(MIN_POSITION_HEADER)
  async list(
    @CurrentPrincipal() principal: Principal,
    @ActorId() actorId: string,
    @Param('ws', IdPipe) ws: string,
    @Query() query: ListMembersQuery,
    @Headers(MIN_POSITION_HEADER.name) minPosition?: string,
  ) {
    await this.access.prepare(principal, ws, actorId, 'members', minPosition);
    return listMembers(this.store, ws, query).catch(badQuery);
  }

  @Get('export.csv')
  @ApiOperation({ summary: 'The user list as CSV, streamed. Needs data.export (levels) or users (other presets).' })
  @ApiProduces('text/csv')
  @ApiHeader(READ_ACTOR_HEADER)
  @ApiHeader(MIN_POSITION_HEADER)
  async export(
    @CurrentPrincipal() principal: Principal,
    @ActorId() actorId: string,
    @Param('ws', IdPipe) ws: string,
    @Query() query: ExportMembersQuery,
    @Headers(MIN_POSITION_HEADER.name) minPosition?: string,
  ) {
    await this.access.prepare(principal, ws, actorId, 'export', minPosition);
    return new StreamableFile(exportMembersCsv(this.store, ws, query), { type: 'text/csv; charset=utf-8', disposition: 'attachment; filename="members.csv"' });
  }

  @Get(':userId')
  @ApiOperation({ summary: 'One member with effective permissions ("view as").' })
  @ApiHeader(READ_ACTOR_HEADER)
  @ApiHeader(MIN_POSITION_HEADER)
  async one(
    @CurrentPrincipal() principal: Principal,
    @ActorId() actorId: string,
    @Param('ws', IdPipe) ws: string,
    @Param('userId', IdPipe) userId: string,
    @Headers(MIN_POSITION_HEADER.name) minPosition?: string,
  ) {
    await this.access.prepare(principal, ws, actorId, 'member', minPosition, userId);
    const member = await getMember(this.store, ws, userId);
    if (!member) throw new DomainException(domainError('NOT_A_MEMBER', `User ${userId} is not a member of this workspace.`));
    return member;
  }

  @Get(':userId/access')
  @ApiOperation({ summary: 'The access a user had at a point in time, answered by replaying the event streams up to it.' })
  @ApiHeader(READ_ACTOR_HEADER)
  async accessAsOf(
    @CurrentPrincipal() principal: Principal,
    @ActorId() actorId: string,
    @Param('ws', IdPipe) ws: string,
    @Param('userId', IdPipe) userId: string,
    @Query() query: AsOfQuery,
  ) {
    const ref = await this.access.prepare(principal, ws, actorId, 'history');
    return this.queries.execute(new AccessAsOfQuery(ref.organizationId, ws, userId, query.asOf ? new Date(query.asOf) : new Date()));
  }
}
