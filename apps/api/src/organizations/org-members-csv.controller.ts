import { downloadDisposition } from '../shared/http/download-name';
import { Controller, Get, Headers, Inject, Param, Query, StreamableFile } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import { MEMBER_CSV_COLUMNS } from '@rollcall/read-store';
import { ExportMembersQuery } from '../members/dtos';
import { ActorId, CurrentPrincipal, type Principal } from '../shared/auth';
import { csvOptions } from '../shared/http/dtos';
import { ExportLedger, Download, type DownloadRequest } from '../shared/export-ledger';
import { HeavyRead } from '../shared/reads/heavy-reads';
import { ownOrganization } from '../shared/http/messages';
import { AUTH_PROBLEMS, ApiProblems, NO_BODY_PROBLEMS, READ_PROBLEMS } from '../shared/http/openapi';
import { IdPipe } from '../shared/http/path-params';
import { MIN_POSITION_HEADER, READ_ACTOR_HEADER } from '../shared/reads/read-access';
import { OrgMembersCsv } from './org-members-csv';

/** `GET /v1/organizations/{org}/members/export.csv`: every workspace's user list in one CSV (org-members-csv.ts). */
@ApiTags('organizations')
@ApiBearerAuth()
@Controller('v1/organizations/:org')
export class OrgMembersCsvController {
  constructor(
    @Inject(OrgMembersCsv) private readonly csv: OrgMembersCsv,
    @Inject(ExportLedger) private readonly exports: ExportLedger,
  ) {}

  @Get('members/export.csv')
  @HeavyRead()
  @ApiOperation({
    summary:
      "Every workspace's user list in one CSV (org admins), one workspace after another in the order they were created: the columns of a workspace's members/export.csv, one row per membership or pending invitation with its workspace_id, roles, restrictions, grants and effective permissions — an access review of the organization in one download. The same filters as a workspace's (applied in each).",
  })
  @ApiProduces('text/csv')
  @ApiHeader(READ_ACTOR_HEADER)
  @ApiHeader(MIN_POSITION_HEADER)
  @ApiResponse({ status: 200, description: `CSV with a header row (${MEMBER_CSV_COLUMNS.join(', ')}); lists are \`;\`-separated`, content: { 'text/csv': { schema: { type: 'string' } } } })
  @ApiProblems(...AUTH_PROBLEMS, ...READ_PROBLEMS, ...NO_BODY_PROBLEMS, 'ORGANIZATION_NOT_FOUND')
  async export(
    @CurrentPrincipal() principal: Principal,
    @ActorId() actorId: string,
    @Param('org', IdPipe) org: string,
    @Query() query: ExportMembersQuery,
    @Download() download: DownloadRequest,
    @Headers(MIN_POSITION_HEADER.name) minPosition?: string,
  ): Promise<StreamableFile> {
    const { bom: _bom, ...filters } = query;
    const { csv, organizationName } = await this.csv.export(ownOrganization(principal, org), actorId, filters, minPosition, csvOptions(query));
    // recorded once the org-admin check passed, before the first byte (probe 69 F9): the user lists' download, of no
    // one workspace (`workspaceId` absent: every workspace of the organization)
    await this.exports.record(principal, actorId, 'members', {}, download).catch((error: unknown) => {
      csv.destroy();
      throw error;
    });
    return new StreamableFile(csv, { type: 'text/csv; charset=utf-8', disposition: downloadDisposition('organization-members', { name: organizationName, id: org }, new Date(), 'csv') });
  }
}
