import { downloadDisposition } from '../shared/http/download-name';
import { Controller, Get, Headers, Inject, Param, Query, Req, StreamableFile } from '@nestjs/common';
import { ApiBearerAuth, ApiExcludeEndpoint, ApiHeader, ApiOperation, ApiProduces, ApiPropertyOptional, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Payload } from '@nestjs/microservices';
import { MessageRoute } from '../shared/http/message-route';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { ActorId, type AuthedRequest, Authenticator, CurrentPrincipal, type Principal, SystemOrOrganization, actorIdOf } from '../shared/auth';
import { CsvBom, FoldsIdCase, ID_PATTERN, KindsOfChange, PageLimit, WholeNumber, csvOptions } from '../shared/http/dtos';
import { HeavyRead } from '../shared/reads/heavy-reads';
import { ORG_USERS_CSV_COLUMNS, OrgUsersCsv } from './org-users-csv';
import { ExportLedger, Download, type DownloadRequest } from '../shared/export-ledger';
import { messageActor, ownOrganization, withEnvelope } from '../shared/http/messages';
import { AUTH_PROBLEMS, ApiProblems, ApiRead, NO_BODY_PROBLEMS, SYSTEM_KEY_SCHEME } from '../shared/http/openapi';
import { IdPipe } from '../shared/http/path-params';
import { MIN_POSITION_HEADER, OPERATOR_READ_ACTOR_HEADER, READ_ACTOR_HEADER, type Reader, badQuery, checkMinPositionInLog, messageMinPosition, messageReaderOf, readerOf } from '../shared/reads/read-access';
import { INSTANT_PATTERN, IsInstant } from '../shared/http/query-validation';
import { Omittable } from '../shared/http/omittable';
import { EVENT_STORE } from '../shared/tokens';
import type { EventStore } from '@rollcall/event-store';
import { OrganizationReads } from './organization-reads';
import { SearchText } from '../members/dtos';
import { ORG_CHANGES, OrganizationChanges, type OrgChangeKind } from './organization-changes';
import { OrgChangeList, OrgUserDetail, OrgUserList, OrgWorkspaceList } from './resources';

export class OrgUsersQuery {
  @ApiPropertyOptional({ description: 'the `next` of the previous page: the users who joined after that one' })
  @IsOptional()
  @IsString()
  @Matches(ID_PATTERN, { message: 'after must be a user id (the next of a previous page)' })
  @FoldsIdCase()
  after?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @WholeNumber()
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  @ApiPropertyOptional({
    description:
      "users whose address, display name or alias holds this text (case, accents and spaces around it aside, as the user list's search; no control characters); a pending new address is not searched; deleted users never match",
    example: 'maria',
  })
  @SearchText()
  q?: string;
}

/** `GET …/workspaces` in pages (probe 53 F3: 7,500 workspaces were one answer, past a NATS server's max_payload) */
export class OrgWorkspacesQuery {
  @ApiPropertyOptional({ description: 'the `next` of the previous page: the workspaces created after that one' })
  @IsOptional()
  @IsString()
  @Matches(ID_PATTERN, { message: 'after must be a workspace id (the next of a previous page)' })
  @FoldsIdCase()
  after?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 1000, description: 'at most this many, with `next` while more follow; left out, 1,000 (the whole list until session 49: 20,000 workspaces were 3.4 MB in ~2 s of the event loop, probe 59)' })
  @PageLimit(1000)
  limit?: number;
}

/** `GET …/users/{userId}`'s workspaces in pages (probe 53 F3: a user in ~7,000 workspaces was one answer) */
export class OrgUserQuery {
  @ApiPropertyOptional({ description: 'the `workspacesNext` of the previous page: the workspaces created after that one' })
  @IsOptional()
  @IsString()
  @Matches(ID_PATTERN, { message: 'after must be a workspace id (the workspacesNext of a previous page)' })
  @FoldsIdCase()
  after?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 1000, description: "at most this many of the user's workspaces, with `workspacesNext` while the page is full; left out, all of them (`workspacesNext` null)" })
  @PageLimit(1000)
  limit?: number;
}

/** `GET …/users/export.csv`: the CSV's one option */
export class OrgUsersCsvQuery {
  @CsvBom() bom?: 'true' | 'false';
}

/** `GET …/changes`: the organization's own changes, in pages (organization-changes.ts) */
export class OrgChangesQuery {
  @ApiPropertyOptional({
    description:
      "the `next` of the previous page (in the same direction, with the same `change`): a revision of the organization's stream, the changes after it ascending, before it with `direction=desc` — a `desc` page's `next` read ascending gives the changes after that page's last one (maybe none), not the rest of the list (probe 89 F8)",
  })
  @IsOptional()
  @IsString()
  @Matches(/^\d{1,19}$/, { message: 'after must be the next of a previous page' })
  after?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 500, default: 50 })
  @PageLimit(500)
  limit?: number;

  @ApiPropertyOptional({ enum: ['asc', 'desc'], description: 'asc (default): oldest first; desc: the latest first' })
  @IsOptional()
  @IsIn(['asc', 'desc'])
  direction?: 'asc' | 'desc';

  @ApiPropertyOptional({ description: `comma-separated kinds of change, any of them: ${ORG_CHANGES.join(', ')}`, example: 'api_key_issued,api_key_revoked' })
  @KindsOfChange(ORG_CHANGES)
  change?: OrgChangeKind[];

  // "since the last review" (probe 75 F6), as the history's range: both ends inclusive, a date as `to` through its end
  @ApiPropertyOptional({ description: 'ISO-8601 date or date-time with a time zone, inclusive', pattern: INSTANT_PATTERN }) @IsOptional() @IsInstant() from?: string;
  @ApiPropertyOptional({ description: 'ISO-8601 date or date-time with a time zone, inclusive (a date: through the end of that day, UTC)', pattern: INSTANT_PATTERN }) @IsOptional() @IsInstant() to?: string;

  @ApiPropertyOptional({ description: "the changes written with one of the organization's API keys (their `apiKeyId`)" })
  @IsOptional()
  @IsString()
  @Matches(ID_PATTERN)
  @FoldsIdCase()
  apiKeyId?: string;

  @ApiPropertyOptional({ description: 'the changes one user made (their `actorId`), or the operator (`system`: what the system key did in the organization)' })
  @IsOptional()
  @IsString()
  @Matches(ID_PATTERN)
  @FoldsIdCase()
  actorId?: string;
}

class OrgChangesMessage extends withEnvelope(OrgChangesQuery) {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() organizationId!: string;
  // as X-Min-Position (the AsyncAPI document offers it, as for every read: probe 72 F5)
  @Omittable() @IsString() @MaxLength(20) minPosition?: string;
  // the query's `actorId` filter: a message's `actorId` is its acting user (the envelope's), as X-Actor-Id is over HTTP
  @Omittable() @IsString() @Matches(ID_PATTERN) @FoldsIdCase() changesBy?: string;
}

class OrgUsersMessage extends withEnvelope(OrgUsersQuery) {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() organizationId!: string;
  // as X-Min-Position (the AsyncAPI document offers it, as for every read: probe 72 F5)
  @Omittable() @IsString() @MaxLength(20) minPosition?: string;
}
class OrgWorkspacesMessage extends withEnvelope(OrgWorkspacesQuery) {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() organizationId!: string;
  // as X-Min-Position (the AsyncAPI document offers it, as for every read: probe 72 F5)
  @Omittable() @IsString() @MaxLength(20) minPosition?: string;
}
class OrgUserMessage extends withEnvelope(OrgUserQuery) {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() organizationId!: string;
  // as X-Min-Position (the AsyncAPI document offers it, as for every read: probe 72 F5)
  @Omittable() @IsString() @MaxLength(20) minPosition?: string;
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() userId!: string;
}


/**
 * The organization as a whole, for its org admins (rule 5; probe 39b F5): its users (a user revoked from every
 * workspace is found here, to delete them), one user with their workspaces and a pending email change, its
 * workspaces. Read from the decision states: current at once. Also as message patterns `users.list`, `users.get`,
 * `workspaces.list`.
 */
@ApiTags('organizations')
@ApiBearerAuth()
@Controller('v1/organizations/:org')
export class OrganizationQueriesController {
  constructor(
    @Inject(OrganizationReads) private readonly reads: OrganizationReads,
    @Inject(OrganizationChanges) private readonly changes: OrganizationChanges,
    @Inject(Authenticator) private readonly auth: Authenticator,
    @Inject(EVENT_STORE) private readonly events: EventStore,
    @Inject(OrgUsersCsv) private readonly csv: OrgUsersCsv,
    @Inject(ExportLedger) private readonly exports: ExportLedger,
  ) {}

  @Get('users')
  @SystemOrOrganization()
  @ApiBearerAuth(SYSTEM_KEY_SCHEME)
  @ApiOperation({
    summary:
      "The organization's users in the order they joined, deleted ones kept under their id with every personal field null (org admins; the system key too, without X-Actor-Id: the operator finding an org admin, or one to make one, when the last has left).",
  })
  @ApiHeader(OPERATOR_READ_ACTOR_HEADER)
  @ApiHeader(MIN_POSITION_HEADER)
  @ApiRead(OrgUserList, { fromLog: true })
  @ApiProblems('ORGANIZATION_NOT_FOUND')
  async users(@Req() req: AuthedRequest, @Param('org', IdPipe) org: string, @Query() query: OrgUsersQuery, @Headers(MIN_POSITION_HEADER.name) minPosition?: string): Promise<OrgUserList> {
    if (minPosition !== undefined) await checkMinPositionInLog(minPosition, this.events);
    const reader = readerOf(req, org);
    return this.reads.users(reader.organizationId, reader.actorId, { ...(query.after !== undefined && { after: query.after }), limit: query.limit ?? 50, ...(query.q !== undefined && { q: query.q }) });
  }

  @Get('users/export.csv')
  @HeavyRead()
  @ApiOperation({
    summary:
      "The organization's users as CSV, in the order they joined (org admins): profile, org admin, deleted, last active, a pending email change, the workspaces each is an active or a revoked member of, and those an invitation to them is pending in (a deleted user: the workspaces they were a member of, last) — org admins who are no member of any workspace, and users revoked from every workspace, included.",
  })
  @ApiProduces('text/csv')
  @ApiHeader(READ_ACTOR_HEADER)
  @ApiResponse({ status: 200, description: `CSV with a header row (${ORG_USERS_CSV_COLUMNS.join(', ')}); workspaces \`;\`-separated`, content: { 'text/csv': { schema: { type: 'string' } } } })
  @ApiProblems(...AUTH_PROBLEMS, ...NO_BODY_PROBLEMS, 'ORGANIZATION_NOT_FOUND')
  async usersCsv(@CurrentPrincipal() principal: Principal, @ActorId() actorId: string, @Param('org', IdPipe) org: string, @Query() query: OrgUsersCsvQuery, @Download() download: DownloadRequest): Promise<StreamableFile> {
    const { csv, organizationName } = await this.csv.export(ownOrganization(principal, org), actorId, csvOptions(query));
    // recorded once the org-admin check passed, before the first byte (probe 69 F9)
    await this.exports.record(principal, actorId, 'org_users', {}, download).catch((error: unknown) => {
      csv.destroy();
      throw error;
    });
    return new StreamableFile(csv, { type: 'text/csv; charset=utf-8', disposition: downloadDisposition('users', { name: organizationName, id: org }, new Date(), 'csv') });
  }

  @Get('users/:userId')
  @SystemOrOrganization()
  @ApiBearerAuth(SYSTEM_KEY_SCHEME)
  @ApiOperation({
    summary:
      'One user of the organization: profile, org admin or not, a pending email change, each workspace they are or were a member of, and the invitations pending for them (bound to them, rule 8) in the others (org admins; a user their own, e.g. to show the email change awaiting confirmation; the system key too, without X-Actor-Id).',
  })
  @ApiHeader(OPERATOR_READ_ACTOR_HEADER)
  @ApiHeader(MIN_POSITION_HEADER)
  @ApiRead(OrgUserDetail, { fromLog: true })
  @ApiProblems('ORGANIZATION_NOT_FOUND', 'USER_NOT_FOUND')
  async user(
    @Req() req: AuthedRequest,
    @Param('org', IdPipe) org: string,
    @Param('userId', IdPipe) userId: string,
    @Query() query: OrgUserQuery,
    @Headers(MIN_POSITION_HEADER.name) minPosition?: string,
  ): Promise<OrgUserDetail> {
    if (minPosition !== undefined) await checkMinPositionInLog(minPosition, this.events);
    const reader = readerOf(req, org);
    return this.reads.user(reader.organizationId, reader.actorId, userId, pageOf(query));
  }

  @Get('workspaces')
  @SystemOrOrganization()
  @ApiBearerAuth(SYSTEM_KEY_SCHEME)
  @ApiOperation({ summary: "The organization's workspaces, oldest first: name, plan, access model (org admins; the system key too, without X-Actor-Id: the operator who changes plans)." })
  @ApiHeader({ ...READ_ACTOR_HEADER, required: false, description: 'the org admin reading, with the organization\'s key; not with the system key' })
  @ApiHeader(MIN_POSITION_HEADER)
  @ApiRead(OrgWorkspaceList, { fromLog: true })
  @ApiProblems('ORGANIZATION_NOT_FOUND')
  async workspaces(@Req() req: AuthedRequest, @Param('org', IdPipe) org: string, @Query() query: OrgWorkspacesQuery, @Headers(MIN_POSITION_HEADER.name) minPosition?: string): Promise<OrgWorkspaceList> {
    if (minPosition !== undefined) await checkMinPositionInLog(minPosition, this.events);
    const { principal } = req;
    return principal.kind === 'system' ? this.reads.workspaces(org, undefined, query) : this.reads.workspaces(ownOrganization(principal, org), actorIdOf(req), query);
  }

  @Get('changes')
  @SystemOrOrganization()
  @ApiBearerAuth(SYSTEM_KEY_SCHEME)
  @ApiOperation({
    summary:
      "The organization's own changes, read from its stream in the log: API keys issued, labelled and revoked, org admins granted and revoked, users joined, profiles edited (which fields), email changes, deletions, erasures, workspaces created, downloads of personal data (data_exported), the organization's closing — each with who, which key, which request and its log position (org admins; the system key too, without X-Actor-Id). Access in a workspace is that workspace's permission history.",
  })
  @ApiHeader(OPERATOR_READ_ACTOR_HEADER)
  @ApiHeader(MIN_POSITION_HEADER)
  @ApiRead(OrgChangeList, { fromLog: true })
  @ApiProblems('ORGANIZATION_NOT_FOUND')
  async changeList(@Req() req: AuthedRequest, @Param('org', IdPipe) org: string, @Query() query: OrgChangesQuery, @Headers(MIN_POSITION_HEADER.name) minPosition?: string): Promise<OrgChangeList> {
    if (minPosition !== undefined) await checkMinPositionInLog(minPosition, this.events);
    const reader = readerOf(req, org);
    return this.changes.list(reader.organizationId, reader.actorId, changesQuery(query)).catch(badQuery);
  }

  /**
   * a message's `minPosition`: these reads answer from the decision states, current at once, so it is only checked as
   * the header is (a malformed one, or one past the log's end, is a 400 naming the field)
   */
  private async minPositionOf(m: { minPosition?: string | null }): Promise<void> {
    const position = messageMinPosition(m.minPosition ?? undefined);
    if (position !== undefined) await checkMinPositionInLog(position, this.events);
  }

  @MessageRoute('organizations.changes')
  @SystemOrOrganization()
  @ApiExcludeEndpoint()
  async changesMessage(@Payload() m: OrgChangesMessage): Promise<OrgChangeList> {
    const reader = await this.messageReader(m);
    const { actorId: _actor, changesBy, ...query } = m;
    return this.changes.list(reader.organizationId, reader.actorId, changesQuery({ ...query, ...(changesBy !== undefined && changesBy !== null && { actorId: changesBy }) })).catch(badQuery);
  }

  @MessageRoute('users.list')
  @SystemOrOrganization()
  @ApiExcludeEndpoint()
  async usersMessage(@Payload() m: OrgUsersMessage): Promise<OrgUserList> {
    const reader = await this.messageReader(m);
    // (a null after or limit is one left out, as in users.get: probe 88 F2 — read as a cursor naming no user)
    const { after, limit } = pageOf(m);
    return this.reads.users(reader.organizationId, reader.actorId, { ...(after !== undefined && { after }), limit: limit ?? 50, ...(m.q !== undefined && m.q !== null && { q: m.q }) });
  }

  @MessageRoute('users.get')
  @SystemOrOrganization()
  @ApiExcludeEndpoint()
  async userMessage(@Payload() m: OrgUserMessage): Promise<OrgUserDetail> {
    const reader = await this.messageReader(m);
    return this.reads.user(reader.organizationId, reader.actorId, m.userId, pageOf(m));
  }

  /** who reads, as readerOf says, for a message (its key and actorId), once its minPosition is checked */
  private async messageReader(m: { apiKey: string; organizationId: string; actorId?: string | null; minPosition?: string | null }): Promise<Reader> {
    const principal = await this.auth.identify(m.apiKey);
    await this.minPositionOf(m);
    return messageReaderOf(principal, m);
  }

  @MessageRoute('workspaces.list')
  @SystemOrOrganization()
  @ApiExcludeEndpoint()
  async workspacesMessage(@Payload() m: OrgWorkspacesMessage): Promise<OrgWorkspaceList> {
    const principal = await this.auth.identify(m.apiKey);
    await this.minPositionOf(m);
    if (principal.kind === 'system') return this.reads.workspaces(m.organizationId, undefined, pageOf(m));
    return this.reads.workspaces(ownOrganization(principal, m.organizationId), messageActor(m.actorId), pageOf(m));
  }
}

/**
 * a page of workspaces as asked (`after`, `limit`: either may be left out; a message's `null`, which the validation's
 * IsOptional lets through, is left out too: probe 58 F6, `"limit": null` was a 500)
 */
const pageOf = ({ after, limit }: { after?: string | null; limit?: number | null }): { after?: string; limit?: number } => ({
  ...(after !== undefined && after !== null && { after }),
  ...(limit !== undefined && limit !== null && { limit }),
});

/** the query as the reads take it (a message's nulls left out, as pageOf does) */
const changesQuery = (q: OrgChangesQuery): Parameters<OrganizationChanges['list']>[2] => ({
  limit: q.limit ?? 50,
  ...(q.after !== undefined && q.after !== null && { after: q.after }),
  ...(q.direction !== undefined && q.direction !== null && { direction: q.direction }),
  ...(q.change !== undefined && q.change !== null && { change: q.change }),
  ...(q.from !== undefined && q.from !== null && { from: q.from }),
  ...(q.to !== undefined && q.to !== null && { to: q.to }),
  ...(q.apiKeyId !== undefined && q.apiKeyId !== null && { apiKeyId: q.apiKeyId }),
  ...(q.actorId !== undefined && q.actorId !== null && { actorId: q.actorId }),
});
