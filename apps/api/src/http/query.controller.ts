import { Controller, Get, Headers, Inject, Param, Query, StreamableFile } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { type ReadScope, checkRead, domainError } from '@rollcall/domain';
import { type ReadStore, InvalidQueryError, exportHistoryCsv, exportMembersCsv, getMember, listHistory, listMembers } from '@rollcall/read-store';
import { READ_STORE } from '../shared/tokens';
import { loadWorkspace, resolveWorkspace } from '../shared/targets';
import { DomainException } from '../shared/stream-handler';
import { READ_SIDE, type ReadSide } from '../infrastructure/read-side';
import { StreamStates } from '../shared/stream-states';
import { AccessAsOfQuery } from '../queries/access-as-of';
import { ActorId, CurrentPrincipal, type Principal } from './auth';
import { IdPipe } from './path-params';
import { ProblemException, problem } from './problem';
import { AsOfQuery, ExportMembersQuery, HistoryQuery, ListMembersQuery } from './query.dtos';

const ACTOR_HEADER = { name: 'X-Actor-Id', required: true, description: 'the user on whose behalf the console reads' };
/**
 * Optional. @Headers() takes the same name (Nest reads it case-insensitively), so OpenAPI merges the parameter
 * with this description instead of listing a second, required `x-min-position`.
 */
const MIN_POSITION_HEADER = {
  name: 'X-Min-Position',
  required: false,
  description: 'the `position` of an earlier write: the read waits (up to 5 s) until the read models include it',
};
const WAIT_MS = 5000;

const badQuery = (error: unknown): never => {
  if (error instanceof InvalidQueryError || error instanceof RangeError)
    throw new ProblemException(problem(400, 'VALIDATION_FAILED', error.message, [{ field: 'query', message: error.message }]));
  throw error;
};

/** The query side (SPEC §4, §6): read models built by the projections, with read-your-writes on request. */
@ApiTags('members')
@ApiBearerAuth()
@Controller('v1/workspaces/:ws')
export class QueryController {
  constructor(
    @Inject(StreamStates) private readonly repo: StreamStates,
    @Inject(READ_STORE) private readonly store: ReadStore,
    @Inject(READ_SIDE) private readonly readSide: ReadSide,
    @Inject(QueryBus) private readonly queries: QueryBus,
  ) {}

  /** Authority (from the decision state, not a read model) and read-your-writes. */
  private async prepare(principal: Principal, ws: string, actorId: string, scope: ReadScope, minPosition?: string, target?: string) {
    const ref = await resolveWorkspace(this.repo, principal, ws);
    const { context: ctx } = await loadWorkspace(this.repo, ref);
    const refused = checkRead(ctx, actorId, scope, target);
    if (refused) throw new DomainException(refused);
    if (minPosition !== undefined) {
      if (!/^\d{1,19}$/.test(minPosition))
        throw new ProblemException(problem(400, 'VALIDATION_FAILED', 'X-Min-Position must be a position returned by a write.', [{ field: 'X-Min-Position', message: 'must be a non-negative integer' }]));
      if (!(await this.readSide.waitFor(BigInt(minPosition), WAIT_MS)))
        throw new ProblemException(problem(503, 'READ_MODEL_BEHIND', `The read models have not reached position ${minPosition} yet; retry shortly.`));
    }
    return ref;
  }

  @Get('members')
  @ApiOperation({ summary: 'The user list: members and pending invitations, with search, filters, sort and cursor pagination.' })
  @ApiHeader(ACTOR_HEADER)
  @ApiHeader(MIN_POSITION_HEADER)
  async list(
    @CurrentPrincipal() principal: Principal,
    @ActorId() actorId: string,
    @Param('ws', IdPipe) ws: string,
    @Query() query: ListMembersQuery,
    @Headers(MIN_POSITION_HEADER.name) minPosition?: string,
  ) {
    await this.prepare(principal, ws, actorId, 'members', minPosition);
    return listMembers(this.store, ws, query).catch(badQuery);
  }

  @Get('members/export.csv')
  @ApiOperation({ summary: 'The user list as CSV, streamed. Needs data.export (levels) or users (other presets).' })
  @ApiProduces('text/csv')
  @ApiHeader(ACTOR_HEADER)
  @ApiHeader(MIN_POSITION_HEADER)
  async export(
    @CurrentPrincipal() principal: Principal,
    @ActorId() actorId: string,
    @Param('ws', IdPipe) ws: string,
    @Query() query: ExportMembersQuery,
    @Headers(MIN_POSITION_HEADER.name) minPosition?: string,
  ) {
    await this.prepare(principal, ws, actorId, 'export', minPosition);
    return new StreamableFile(exportMembersCsv(this.store, ws, query), { type: 'text/csv; charset=utf-8', disposition: 'attachment; filename="members.csv"' });
  }

  @Get('members/:userId')
  @ApiOperation({ summary: 'One member with effective permissions ("view as").' })
  @ApiHeader(ACTOR_HEADER)
  @ApiHeader(MIN_POSITION_HEADER)
  async one(
    @CurrentPrincipal() principal: Principal,
    @ActorId() actorId: string,
    @Param('ws', IdPipe) ws: string,
    @Param('userId', IdPipe) userId: string,
    @Headers(MIN_POSITION_HEADER.name) minPosition?: string,
  ) {
    await this.prepare(principal, ws, actorId, 'member', minPosition, userId);
    const member = await getMember(this.store, ws, userId);
    if (!member) throw new DomainException(domainError('NOT_A_MEMBER', `User ${userId} is not a member of this workspace.`));
    return member;
  }

  @Get('members/:userId/access')
  @ApiOperation({ summary: 'The access a user had at a point in time, answered by replaying the event streams up to it.' })
  @ApiHeader(ACTOR_HEADER)
  async accessAsOf(
    @CurrentPrincipal() principal: Principal,
    @ActorId() actorId: string,
    @Param('ws', IdPipe) ws: string,
    @Param('userId', IdPipe) userId: string,
    @Query() query: AsOfQuery,
  ) {
    const ref = await this.prepare(principal, ws, actorId, 'history');
    return this.queries.execute(new AccessAsOfQuery(ref.organizationId, ws, userId, query.asOf ? new Date(query.asOf) : new Date()));
  }

  @Get('history')
  @ApiTags('history')
  @ApiOperation({ summary: 'The permission history: by member, actor and time range; `format=csv` streams it as CSV.' })
  @ApiHeader(ACTOR_HEADER)
  @ApiHeader(MIN_POSITION_HEADER)
  async history(
    @CurrentPrincipal() principal: Principal,
    @ActorId() actorId: string,
    @Param('ws', IdPipe) ws: string,
    @Query() query: HistoryQuery,
    @Headers(MIN_POSITION_HEADER.name) minPosition?: string,
  ) {
    await this.prepare(principal, ws, actorId, 'history', minPosition);
    const { format, limit, cursor, ...filters } = query;
    if (format === 'csv') {
      let csv;
      try {
        csv = exportHistoryCsv(this.store, ws, filters);
      } catch (error) {
        return badQuery(error);
      }
      return new StreamableFile(csv, { type: 'text/csv; charset=utf-8', disposition: 'attachment; filename="permission-history.csv"' });
    }
    return listHistory(this.store, ws, { ...filters, limit, cursor }).catch(badQuery);
  }
}
