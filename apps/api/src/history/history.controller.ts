import { downloadDisposition } from '../shared/http/download-name';
import { Controller, Get, Headers, Inject, Param, Query, StreamableFile } from '@nestjs/common';
import { HeavyRead, asCsv } from '../shared/reads/heavy-reads';
import { ApiBearerAuth, ApiExtraModels, ApiHeader, ApiOperation, ApiProduces, ApiResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { HISTORY_CSV_COLUMNS, type ReadStore, exportHistoryCsv, listHistory } from '@rollcall/read-store';
import { ActorId, CurrentPrincipal, type Principal } from '../shared/auth';
import { csvOptions, refuseBomOnJson } from '../shared/http/dtos';
import { IdPipe } from '../shared/http/path-params';
import { ProblemException, problem } from '../shared/http/problem';
import { MIN_POSITION_HEADER, READ_ACTOR_HEADER, ReadAccess, badQuery } from '../shared/reads/read-access';
import { READ_STORE } from '../shared/tokens';
import { ExportLedger, Download, type DownloadRequest } from '../shared/export-ledger';
import { HistoryQuery } from './dtos';
import { AUTH_PROBLEMS, NO_BODY_PROBLEMS, READ_PROBLEMS, ApiProblems } from '../shared/http/openapi';
import { HistoryPage, toHistoryPage } from './resources';

const CSV_EXAMPLE =
  `${HISTORY_CSV_COLUMNS.join(',')}\n` +
  '2026-03-01T09:05:00.000Z,roles_changed,b5e0f4a2-6c1d-5f3e-9a7b-2d4c6e8f0a1b,,,e2d1c0b9-a8f7-5e6d-9c4b-3a2f1e0d9c8b,agent,,,manager,,,,0195a1c2-7d4e-7c1a-9b1e-3f1d2c4b5a69,1042,7c9e6679-7425-5de3-944b-e07fc1f90ae7,TICKET-77,5d0e2f7a-1c3b-5e4d-8f6a-9b0c1d2e3f4a\n';

/** Rule 17 (docs/rules.md#rule-17): the permission history, by member, actor and time range, as JSON or CSV. */
@ApiTags('history')
@ApiBearerAuth()
@Controller('v1/workspaces/:ws/history')
export class HistoryController {
  constructor(
    @Inject(ReadAccess) private readonly access: ReadAccess,
    @Inject(READ_STORE) private readonly store: ReadStore,
    @Inject(ExportLedger) private readonly exports: ExportLedger,
  ) {}

  @Get()
  @HeavyRead(asCsv)
  @ApiOperation({ summary: 'The permission history: by member, actor and time range; `format=csv` streams it as CSV (which needs the export permission too, rule 18).' })
  @ApiHeader(READ_ACTOR_HEADER)
  @ApiHeader(MIN_POSITION_HEADER)
  @ApiProduces('application/json', 'text/csv')
  @ApiResponse({
    status: 200,
    description: 'HistoryPage as JSON; with `format=csv`, the same entries as CSV (no pages, streamed)',
    content: {
      'application/json': { schema: { $ref: getSchemaPath(HistoryPage) } },
      'text/csv': { schema: { type: 'string' }, example: CSV_EXAMPLE },
    },
  })
  @ApiExtraModels(HistoryPage)
  @ApiProblems(...AUTH_PROBLEMS, ...READ_PROBLEMS, ...NO_BODY_PROBLEMS, 'WORKSPACE_NOT_FOUND')
  async history(
    @CurrentPrincipal() principal: Principal,
    @ActorId() actorId: string,
    @Param('ws', IdPipe) ws: string,
    @Query() query: HistoryQuery,
    @Download() download: DownloadRequest,
    @Headers(MIN_POSITION_HEADER.name) minPosition?: string,
  ) {
    const { format, limit, cursor, bom, ...filters } = query;
    // the CSV is a download of members' addresses: the export permission too, as for the user list (rule 18)
    const { context } = await this.access.prepareAs(principal, ws, actorId, format === 'csv' ? 'historyExport' : 'history', minPosition);
    if (format === 'csv') {
      // the CSV is the whole range in one stream: a page size or a cursor would be ignored, so they are refused
      const paging = (['limit', 'cursor'] as const).filter((name) => query[name] !== undefined);
      if (paging.length > 0)
        throw new ProblemException(
          problem(400, 'VALIDATION_FAILED', `The CSV holds the whole range, unpaged: leave out ${paging.join(' and ')} with format=csv.`, paging.map((field) => ({ field, message: 'does not apply to format=csv' }))),
        );
      let csv;
      try {
        csv = exportHistoryCsv(this.store, ws, filters, csvOptions({ bom }));
      } catch (error) {
        return badQuery(error);
      }
      // recorded once the query is known good, before the first byte (probe 69 F9)
      await this.exports.record(principal, actorId, 'history', { workspaceId: ws }, download).catch((error: unknown) => {
        csv.destroy();
        throw error;
      });
      return new StreamableFile(csv, { type: 'text/csv; charset=utf-8', disposition: downloadDisposition('permission-history', { name: context.ws.info.name, id: ws }, new Date(), 'csv') });
    }
    refuseBomOnJson({ bom });
    return toHistoryPage(await listHistory(this.store, ws, { ...filters, limit, cursor }).catch(badQuery));
  }
}
