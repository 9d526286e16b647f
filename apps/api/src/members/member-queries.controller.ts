import { downloadDisposition } from '../shared/http/download-name';
import { Readable } from 'node:stream';
import { HeavyRead } from '../shared/reads/heavy-reads';
import { Controller, Get, Headers, Inject, Param, Query, StreamableFile } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import { domainError, notAMember } from '@rollcall/domain';
import { MEMBER_CSV_COLUMNS, type ReadStore, exportMembersCsv, getMember, listMembers } from '@rollcall/read-store';
import { ActorId, CurrentPrincipal, type Principal } from '../shared/auth';
import { csvOptions } from '../shared/http/dtos';
import { IdPipe } from '../shared/http/path-params';
import { MIN_POSITION_HEADER, READ_ACTOR_HEADER, ReadAccess, badQuery } from '../shared/reads/read-access';
import { DomainException } from '../shared/command-path/stream-handler';
import { ProblemException, problem } from '../shared/http/problem';
import { READ_STORE } from '../shared/tokens';
import { LAST_SEEN, type LastSeen, withLiveLastSeen } from '../shared/last-seen';
import { AccessAsOfParams, AccessAsOfQuery, ExplainedAccessAsOf, type ReplayedRoster, RosterAsOf, RosterAsOfQuery, asOfInstant } from './access-as-of';
import { rosterJson } from './roster-json';
import { AsOfQuery, ExportMembersQuery, ListMembersQuery } from './dtos';
import { AUTH_PROBLEMS, NO_BODY_PROBLEMS, READ_PROBLEMS, ApiProblems, ApiRead } from '../shared/http/openapi';
import { MemberDetail, MemberPage, toMemberDetail, toMemberPage, withoutInvitee, withoutInviteeDoc } from './resources';
import { ExportLedger, Download, type DownloadRequest } from '../shared/export-ledger';

// the header from the columns the export writes (probe 36 F6: a hand-written one lacked org_admin)
const CSV_CONTENT = {
  'text/csv': { schema: { type: 'string' as const }, example: `${MEMBER_CSV_COLUMNS.join(',')}\njane@acme.test,Jane Doe,,active,agent,,,2026-03-01T09:00:00.000Z,2026-03-01T09:05:00.000Z,,false,b5e0f4a2-6c1d-5f3e-9a7b-2d4c6e8f0a1b,,0c9e7d6f-1a2b-5c3d-8e4f-5a6b7c8d9e0f,messages;notification_preferences;profile;shortcuts,,,Support,,,false,false,,levels,\n` },
};

/** The user list (rules 9 and 18, docs/rules.md#read-models), one member, and a member's access at a time T. */
@ApiTags('members')
@ApiBearerAuth()
@Controller('v1/workspaces/:ws/members')
export class MemberQueriesController {
  constructor(
    @Inject(ReadAccess) private readonly access: ReadAccess,
    @Inject(READ_STORE) private readonly store: ReadStore,
    @Inject(QueryBus) private readonly queries: QueryBus,
    @Inject(LAST_SEEN) private readonly lastSeen: LastSeen,
    @Inject(ExportLedger) private readonly exports: ExportLedger,
  ) {}

  private withLiveLastSeen<T extends object>(workspaceId: string, items: T[]): Promise<T[]> {
    return withLiveLastSeen(this.lastSeen, workspaceId, items);
  }

  @Get()
  @ApiOperation({ summary: 'The user list: members and pending invitations, with search, filters, sort and cursor pagination.' })
  @ApiHeader(READ_ACTOR_HEADER)
  @ApiHeader(MIN_POSITION_HEADER)
  @ApiRead(MemberPage)
  @ApiProblems('WORKSPACE_NOT_FOUND')
  async list(
    @CurrentPrincipal() principal: Principal,
    @ActorId() actorId: string,
    @Param('ws', IdPipe) ws: string,
    @Query() query: ListMembersQuery,
    @Headers(MIN_POSITION_HEADER.name) minPosition?: string,
  ) {
    const { orgAdmin } = await this.access.prepareAs(principal, ws, actorId, 'members', minPosition);
    const page = toMemberPage(await listMembers(this.store, ws, query).catch(badQuery));
    const items = orgAdmin ? page.items : page.items.map(withoutInvitee);
    return { ...page, items: await this.withLiveLastSeen(ws, items) };
  }

  @Get('export.csv')
  @HeavyRead()
  @ApiOperation({ summary: 'The user list as CSV, streamed. Needs the permission to read the list and data.export (levels), or users (other presets).' })
  @ApiProduces('text/csv')
  @ApiHeader(READ_ACTOR_HEADER)
  @ApiHeader(MIN_POSITION_HEADER)
  @ApiResponse({ status: 200, description: `CSV with a header row (${MEMBER_CSV_COLUMNS.join(', ')}); lists are \`;\`-separated`, content: CSV_CONTENT })
  @ApiProblems(...AUTH_PROBLEMS, ...READ_PROBLEMS, ...NO_BODY_PROBLEMS, 'WORKSPACE_NOT_FOUND')
  async export(
    @CurrentPrincipal() principal: Principal,
    @ActorId() actorId: string,
    @Param('ws', IdPipe) ws: string,
    @Query() query: ExportMembersQuery,
    @Download() download: DownloadRequest,
    @Headers(MIN_POSITION_HEADER.name) minPosition?: string,
  ) {
    const { orgAdmin, context } = await this.access.prepareAs(principal, ws, actorId, 'export', minPosition);
    // recorded before the first byte (probe 69 F9: "who downloaded our user list?")
    await this.exports.record(principal, actorId, 'members', { workspaceId: ws }, download);
    const { bom: _bom, ...filters } = query;
    return new StreamableFile(exportMembersCsv(this.store, ws, filters, (docs) => this.withLiveLastSeen(ws, orgAdmin ? docs : docs.map(withoutInviteeDoc)), csvOptions(query)), { type: 'text/csv; charset=utf-8', disposition: downloadDisposition('members', { name: context.ws.info.name, id: ws }, new Date(), 'csv') });
  }

  @Get(':userId')
  @ApiOperation({ summary: 'One member with effective permissions ("view as").' })
  @ApiHeader(READ_ACTOR_HEADER)
  @ApiHeader(MIN_POSITION_HEADER)
  @ApiRead(MemberDetail)
  @ApiProblems('WORKSPACE_NOT_FOUND', 'NOT_A_MEMBER')
  async one(
    @CurrentPrincipal() principal: Principal,
    @ActorId() actorId: string,
    @Param('ws', IdPipe) ws: string,
    @Param('userId', IdPipe) userId: string,
    @Headers(MIN_POSITION_HEADER.name) minPosition?: string,
  ) {
    const ref = await this.access.prepare(principal, ws, actorId, 'member', minPosition, userId);
    const member = await getMember(this.store, ws, userId);
    if (!member) {
      if (await this.access.activeMemberNow(ref, userId))
        throw new ProblemException(problem(503, 'READ_MODEL_BEHIND', `The read models do not show member ${userId} yet (they are catching up, or being rebuilt); retry shortly.`));
      throw await this.access.whyNotAMember(ref, userId);
    }
    const [detail] = await this.withLiveLastSeen(ws, [toMemberDetail(member)]);
    return detail!;
  }

  @Get(':userId/access')
  @HeavyRead()
  @ApiOperation({
    summary: 'The access a user had at a point in time, answered by replaying the event streams up to it; with `explain=true`, which role or grant gave each permission and which restriction or plan removed the others. A member may read their own; another member\'s needs the member-management permission.',
  })
  @ApiHeader(READ_ACTOR_HEADER)
  @ApiResponse({ status: 200, type: ExplainedAccessAsOf, description: 'AccessAsOf' })
  @ApiProblems(...AUTH_PROBLEMS, ...NO_BODY_PROBLEMS, 'WORKSPACE_NOT_FOUND', 'USER_NOT_FOUND', 'NOT_A_MEMBER')
  async accessAsOf(
    @CurrentPrincipal() principal: Principal,
    @ActorId() actorId: string,
    @Param('ws', IdPipe) ws: string,
    @Param('userId', IdPipe) userId: string,
    @Query() query: AccessAsOfParams,
  ) {
    // a member may read their own access at any time (rule 1); another member's needs the history's permission
    const { ref, orgAdmin, context } = await this.access.prepareAs(principal, ws, actorId, 'history', undefined, userId);
    // to anyone but an org admin, an id never a member here is NOT_A_MEMBER, a user of the organization or not (probe 99
    // F3: `status: none` for one, 404 for an unknown id, told a workspace's managers which ids are the organization's
    // users — which are the org admins' to know, rule 5), an invitation's id said as one
    if (!orgAdmin && principal.kind !== 'system' && !context.ws.members.has(userId)) throw new DomainException(notAMember(context, userId));
    // an id that names no user of the organization, ever, is 404 as on every route with a user id; a user who was no
    // member at T is `status: none` (probe 36 F4: a mistyped or re-cased id was told it held no access then)
    if (!context.org.users.has(userId))
      throw new DomainException(domainError('USER_NOT_FOUND', `There is no user ${userId} in this workspace's organization.`));
    return this.queries.execute(new AccessAsOfQuery(ref.organizationId, ws, userId, asOfInstant(query.asOf), query.explain === 'true'));
  }
}

/** Every member's access at a time T, by replay (docs/rules.md#rule-17): the auditor's roster. */
@ApiTags('members')
@ApiBearerAuth()
@Controller('v1/workspaces/:ws/access')
export class RosterController {
  constructor(
    @Inject(ReadAccess) private readonly access: ReadAccess,
    @Inject(QueryBus) private readonly queries: QueryBus,
  ) {}

  @Get()
  @HeavyRead()
  @ApiOperation({ summary: "Every member's access at a point in time (roles, restrictions, grants, teams, effective permissions), replayed from the event streams, never from a stored answer." })
  @ApiHeader(READ_ACTOR_HEADER)
  @ApiResponse({ status: 200, type: RosterAsOf, description: 'RosterAsOf' })
  @ApiProblems(...AUTH_PROBLEMS, ...NO_BODY_PROBLEMS, 'WORKSPACE_NOT_FOUND')
  async roster(@CurrentPrincipal() principal: Principal, @ActorId() actorId: string, @Param('ws', IdPipe) ws: string, @Query() query: AsOfQuery) {
    const ref = await this.access.prepare(principal, ws, actorId, 'history');
    const roster: ReplayedRoster = await this.queries.execute(new RosterAsOfQuery(ref.organizationId, ws, asOfInstant(query.asOf)));
    // formatted a thousand members at a time (probe 42 F1: one JSON.stringify of ~45 MB held the event loop), all of it
    // before it is sent, so that the replayed states are let go at once: a client reading slowly held them for as long
    // as it read (probe 43b F2: ~15 MB for a 3.6 MB answer). A refusal came before, from the replay.
    const parts: string[] = [];
    for await (const part of rosterJson(roster)) parts.push(part);
    return new StreamableFile(Readable.from(parts), { type: 'application/json; charset=utf-8' });
  }
}
