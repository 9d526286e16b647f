import { Controller, Get, Headers, Inject, Param, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ActorId, CurrentPrincipal, type Principal } from '../shared/auth';
import { HeavyRead } from '../shared/reads/heavy-reads';
import { ownOrganization } from '../shared/http/messages';
import { ApiProblems, ApiRead } from '../shared/http/openapi';
import { IdPipe } from '../shared/http/path-params';
import { MIN_POSITION_HEADER, READ_ACTOR_HEADER, ReadAccess } from '../shared/reads/read-access';
import { EXPORT_MAX_ENTRIES, PersonalDataExport, PersonalDataExports } from './personal-data';
import { ExportLedger, Download, type DownloadRequest } from '../shared/export-ledger';

/** A data subject's access request (GDPR Art. 15): one user's personal data as one JSON file (personal-data.ts). */
@ApiTags('users')
@ApiBearerAuth()
@Controller('v1/organizations/:org/users/:userId/personal-data')
export class PersonalDataController {
  constructor(
    @Inject(PersonalDataExports) private readonly exports: PersonalDataExports,
    @Inject(ReadAccess) private readonly access: ReadAccess,
    @Inject(ExportLedger) private readonly ledger: ExportLedger,
  ) {}

  @Get()
  @HeavyRead()
  @ApiOperation({
    summary:
      "One user's personal data as one JSON file, for a data subject's access request (org admins): profile, memberships, the history about and by them in every workspace, the organization's changes about and by them, the keys they issued or revoked, their presence of the last 31 days.",
    description: `A download (\`Content-Disposition: attachment\`). At most ${EXPORT_MAX_ENTRIES} history entries and as many organization changes (\`truncated\` says when more were left). What a deletion erased is erased here too. docs/personal-data.md.`,
  })
  @ApiHeader(READ_ACTOR_HEADER)
  @ApiHeader(MIN_POSITION_HEADER)
  @ApiRead(PersonalDataExport)
  @ApiProblems('ORGANIZATION_NOT_FOUND', 'USER_NOT_FOUND')
  async export(
    @CurrentPrincipal() principal: Principal,
    @ActorId() actorId: string,
    @Param('org', IdPipe) org: string,
    @Param('userId', IdPipe) userId: string,
    @Res({ passthrough: true }) res: FastifyReply,
    @Download() download: DownloadRequest,
    @Headers(MIN_POSITION_HEADER.name) minPosition?: string,
  ): Promise<PersonalDataExport> {
    // the history, the member details and the presence are the read models': read-your-writes as for any of their reads
    if (minPosition !== undefined) await this.access.caughtUp(minPosition);
    const answer = await this.exports.export(ownOrganization(principal, org), actorId, userId);
    // recorded once gathered, before it is handed out (probe 69 F9)
    await this.ledger.record(principal, actorId, 'personal_data', { userId }, download);
    void res.header('content-disposition', `attachment; filename="personal-data-${userId}.json"`);
    return answer;
  }
}
