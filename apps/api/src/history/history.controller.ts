import { Controller, Get, Headers, Inject, Param, Query, StreamableFile } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type ReadStore, exportHistoryCsv, listHistory } from '@rollcall/read-store';
import { ActorId, CurrentPrincipal, type Principal } from '../shared/auth';
import { IdPipe } from '../shared/path-params';
import { MIN_POSITION_HEADER, READ_ACTOR_HEADER, ReadAccess, badQuery } from '../shared/read-access';
import { READ_STORE } from '../shared/tokens';
import { HistoryQuery } from './dtos';

/** Rule 17 (docs/rules.md#rule-17): the permission history, by member, actor and time range, as JSON or CSV. */
@ApiTags('history')
@ApiBearerAuth()
@Controller('v1/workspaces/:ws/history')
export class HistoryController {
  constructor(
    @Inject(ReadAccess) private readonly access: ReadAccess,
    @Inject(READ_STORE) private readonly store: ReadStore,
  ) {}

  @Get()
  @ApiOperation({ summary: 'The permission history: by member, actor and time range; `format=csv` streams it as CSV.' })
  @ApiHeader(READ_ACTOR_HEADER)
  @ApiHeader(MIN_POSITION_HEADER)
  async history(
    @CurrentPrincipal() principal: Principal,
    @ActorId() actorId: string,
    @Param('ws', IdPipe) ws: string,
    @Query() query: HistoryQuery,
    @Headers(MIN_POSITION_HEADER.name) minPosition?: string,
  ) {
    await this.access.prepare(principal, ws, actorId, 'history', minPosition);
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
