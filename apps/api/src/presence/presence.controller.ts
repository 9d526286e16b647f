import { downloadDisposition } from '../shared/http/download-name';
import { Body, Controller, Get, Headers, HttpCode, Inject, Optional, Param, Post, Query, Req, Res, StreamableFile } from '@nestjs/common';
import { HeavyRead, asCsv } from '../shared/reads/heavy-reads';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiExcludeEndpoint, ApiExtraModels, ApiHeader, ApiOperation, ApiProduces, ApiQuery, ApiResponse, ApiSecurity, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { Payload } from '@nestjs/microservices';
import { MessageRoute } from '../shared/http/message-route';
import { noteCaller } from '../shared/caller';
import { IsString, Matches } from 'class-validator';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { checkReportRead, reportShowsAddresses } from '@rollcall/domain';
import { type EventStore } from '@rollcall/event-store';
import { PRESENCE_REPORT_CSV_COLUMNS, type PresenceReportRow, type ReadStore, presenceReport, presenceReportCsv, presenceReportDays } from '@rollcall/read-store';
import { ActorId, Authenticator, actorIdFromHeader, bearerKey, CurrentPrincipal, Public, type Principal, systemKeyRefused } from '../shared/auth';
import { FoldsIdCase, ID_PATTERN, csvOptions, refuseBomOnJson } from '../shared/http/dtos';
import { ACTOR_HEADER, ACTOR_ID_SCHEMA, IDEMPOTENCY_HEADER, POSITION_HEADER_SCHEMA } from '../shared/http/headers';
import { Envelope, MessageWrites, withEnvelope } from '../shared/http/messages';
import { AUTH_PROBLEMS, NO_BODY_PROBLEMS, READ_PROBLEMS, STREAM_TICKET_SCHEME, ApiProblems, ApiWrite } from '../shared/http/openapi';
import { IdPipe } from '../shared/http/path-params';
import { ProblemException, problem } from '../shared/http/problem';
import { MIN_POSITION_HEADER, READ_ACTOR_HEADER, ReadAccess, badQuery } from '../shared/reads/read-access';
import { DomainException } from '../shared/command-path/stream-handler';
import { StreamStates } from '../shared/command-path/stream-states';
import { loadWorkspace, resolveWorkspace } from '../shared/command-path/targets';
import { EVENT_STORE, READ_STORE } from '../shared/tokens';
import { WritePipeline, type ActingWriteCall, ActingWrite, httpWrite } from '../shared/command-path/write-pipeline';
import { HeartbeatDto, PresenceReportQuery, PresenceStreamQuery } from './dtos';
import { LEASE_STORE, type LeaseStore } from './leases';
import { HeartbeatCommand, PRESENCE_OPTIONS, type PresenceOptions, SetOfflineCommand } from './presence-handlers';
import { PresenceStreams } from './presence-streams';
import { markRoutineAnswer } from '../logging';
import { HeartbeatAccepted, PresenceReport, PresenceSetOffline, StreamTicket } from './resources';
import { StreamTickets } from './tickets';
import { ActivityRecorder } from '../activity/activity-recorder';
import { ExportLedger, Download, type DownloadRequest } from '../shared/export-ledger';

class HeartbeatMessage extends withEnvelope(HeartbeatDto) {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() workspaceId!: string;
}
class SetOfflineMessage extends Envelope {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() workspaceId!: string;
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() userId!: string;
}

const unauthenticated = (detail: string) => new ProblemException(problem(401, 'UNAUTHENTICATED', detail));
const CSV_EXAMPLE = `${PRESENCE_REPORT_CSV_COLUMNS.join(',')}\n2026-03-01,b5e0f4a2-6c1d-5f3e-9a7b-2d4c6e8f0a1b,jane@acme.test,Jane Doe,false,27000,1800,7c9e6679-7425-5de3-944b-e07fc1f90ae7\n`;

/**
 * Rule 13 (docs/rules.md#rule-13, #presence-details): heartbeats, forced offline, the SSE stream of transitions
 * (with tickets for EventSource), and the presence report (`presence_daily`).
 */
@ApiTags('presence')
@ApiBearerAuth()
@Controller('v1/workspaces/:ws')
export class PresenceController {
  constructor(
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(WritePipeline) private readonly pipeline: WritePipeline,
    @Inject(MessageWrites) private readonly messages: MessageWrites,
    @Inject(StreamStates) private readonly states: StreamStates,
    @Inject(ReadAccess) private readonly access: ReadAccess,
    @Inject(Authenticator) private readonly auth: Authenticator,
    @Inject(StreamTickets) private readonly tickets: StreamTickets,
    @Inject(PresenceStreams) private readonly streams: PresenceStreams,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(READ_STORE) private readonly readStore: ReadStore,
    @Inject(PRESENCE_OPTIONS) private readonly options: PresenceOptions,
    @Inject(LEASE_STORE) private readonly leases: LeaseStore,
    @Inject(ExportLedger) private readonly exports: ExportLedger,
    /** the days keys were used and users acted (ADR 0036; absent in tests that build the controller alone) */
    @Optional() @Inject(ActivityRecorder) private readonly activity?: ActivityRecorder,
  ) {}

  @Post('presence/heartbeat')
  @ApiOperation({
    summary: "The actor's own presence: `online` or `away`. Silence for the presence timeout (60 s by default) makes them offline.",
    description:
      'Beat every third of the timeout (20 s by default; the answer\'s `expiresAt` is when the lease would end): a beat later than the timeout, even by a little, comes after a recorded timeout, so a client beating once per timeout flaps offline and online (probe 89 F1). ' +
      'Only a change of status is recorded (and streamed); a heartbeat that repeats the status renews the lease only, unless the user was not heard from for the presence timeout: that silence is recorded as a timeout first (offline at the last heartbeat) and this heartbeat starts a new interval (`changed: true`). ' +
      'A user someone else set offline stays offline: their heartbeats are refused with 409 `FORCED_OFFLINE` (the console shows it and stops) until one says `"resume": true`, sent when the user chooses to be online again (docs/adr/0032).',
  })
  @ApiHeader(ACTOR_HEADER)
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiWrite(200, HeartbeatAccepted)
  @ApiProblems('WORKSPACE_NOT_FOUND', 'FORCED_OFFLINE')
  async heartbeat(
    @ActingWrite() call: ActingWriteCall,
    @Param('ws', IdPipe) ws: string,
    @Body() dto: HeartbeatDto,
  ) {
    const ref = await resolveWorkspace(this.states, call.principal, ws);
    const answer = await httpWrite(this.pipeline, call, { status: 200 }, (ctx) => this.commands.execute(new HeartbeatCommand(ref, ctx, dto.status, dto.resume === true)));
    // a heartbeat that changed nothing is most of the traffic: its request line at debug (LOG_LEVEL=debug shows it)
    if (!answer.changed) markRoutineAnswer(call.res as unknown as FastifyReply);
    return answer;
  }

  @Post('members/:userId/presence/offline')
  @ApiOperation({
    summary: 'Set a member offline: oneself (a sign-out, reason `self`: any member), or another member (reason `forced`: needs the member-management permission and the authority of rule 2 over that member; under levels a manager makes agents offline, an owner anyone).',
    description:
      "Set offline by someone else, the member stays offline: their heartbeats are refused with 409 `FORCED_OFFLINE` until one says `\"resume\": true` (docs/adr/0032). Set offline by themself, their next heartbeat makes them online again.",
  })
  @ApiHeader(ACTOR_HEADER)
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiWrite(200, PresenceSetOffline)
  @ApiProblems('WORKSPACE_NOT_FOUND', 'NOT_A_MEMBER')
  async setOffline(
    @ActingWrite() call: ActingWriteCall,
    @Param('ws', IdPipe) ws: string,
    @Param('userId', IdPipe) userId: string,
  ) {
    const ref = await resolveWorkspace(this.states, call.principal, ws);
    return httpWrite(this.pipeline, call, { status: 200 }, (ctx) => this.commands.execute(new SetOfflineCommand(ref, ctx, userId)));
  }

  @Post('presence/stream-tickets')
  @HttpCode(201)
  @ApiOperation({ summary: 'A 60-second ticket to open the presence stream with `?ticket=` (EventSource cannot send headers). Same authority as the user list.' })
  @ApiHeader(READ_ACTOR_HEADER)
  @ApiResponse({ status: 201, type: StreamTicket, description: 'StreamTicket' })
  @ApiProblems(...AUTH_PROBLEMS, ...NO_BODY_PROBLEMS, 'WORKSPACE_NOT_FOUND')
  async streamTicket(@CurrentPrincipal() principal: Principal, @ActorId() actorId: string, @Param('ws', IdPipe) ws: string): Promise<StreamTicket> {
    const ref = await this.access.prepare(principal, ws, actorId, 'members');
    if (principal.kind !== 'organization') throw systemKeyRefused();
    return this.tickets.issue({ organizationId: ref.organizationId, workspaceId: ws, actorId, keyId: principal.keyId }, Date.now());
  }

  @Get('presence/stream')
  @Public()
  // either the API key (the class's bearer requirement) or a ticket: two alternative requirements
  @ApiSecurity(STREAM_TICKET_SCHEME)
  @ApiOperation({
    summary: 'Presence transitions of this workspace as server-sent events (`text/event-stream`).',
    description:
      'Each message: `id:` the event\'s global position, `data:` JSON `{userId, status, previous, reason, lastSeenAt, at}`; `reason` is one of heartbeat, timeout, forced (someone else set the user offline: held until they resume), self (the user set themself offline), revoked, deleted. ' +
      'Resume with the `Last-Event-ID` header (or `lastEventId`): within the replay window (ROLLCALL_PRESENCE_REPLAY_SECONDS, an hour by default) nothing is lost or repeated; transitions older than it are not sent again, and an `event: resync` message comes first (read the member list again, then apply what follows); a user deleted since is replayed only by their last transition (reason deleted, or revoked when they had left the workspace before). A comment line every 15 s keeps proxies open. ' +
      'Authenticate with the API key and `X-Actor-Id`, or with `?ticket=` (EventSource). Same authority as the user list.',
  })
  @ApiProduces('text/event-stream')
  @ApiHeader({ name: 'X-Actor-Id', required: false, description: 'with the API key; not with a ticket', schema: ACTOR_ID_SCHEMA })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'the `id` of the last message received: resume after it', schema: POSITION_HEADER_SCHEMA })
  @ApiQuery({ name: 'ticket', required: false })
  @ApiResponse({ status: 200, description: 'the stream', content: { 'text/event-stream': { schema: { type: 'string' }, example: 'id: 1042\ndata: {"userId":"6f1c2d3e-4a5b-5c6d-8e7f-9a0b1c2d3e4f","status":"online","previous":"offline","reason":"heartbeat","lastSeenAt":"2026-03-01T09:00:00.000Z","at":"2026-03-01T09:00:00.000Z"}\n\n' } } })
  @ApiProblems(...AUTH_PROBLEMS, ...NO_BODY_PROBLEMS, 'WORKSPACE_NOT_FOUND', 'TOO_MANY_STREAMS', 'STREAMS_AT_CAPACITY')
  async stream(
    @Req() req: FastifyRequest,
    @Res() res: FastifyReply,
    @Param('ws', IdPipe) ws: string,
    @Query() query: PresenceStreamQuery,
    // the documented name (Nest reads headers case-insensitively): one Last-Event-ID parameter in the document
    @Headers('Last-Event-ID') lastEventHeader?: string,
  ): Promise<void> {
    const { principal, actorId } = await this.streamCaller(req, ws, query.ticket);
    // the request's log line names who opened the stream, as the guard's lines do (probe 96 F5: it named nobody)
    noteCaller(req.raw, principal, actorId);
    // a public route (a ticket or the key): the activity interceptor never saw who opened it (probe 78 F1: a key used
    // only for a wall display's stream looked unused). The key is marked whatever the answer, as on every route (probe
    // 79 F4); a ticket names no key (its key was marked when the ticket was taken)
    if (principal.kind === 'organization' && query.ticket === undefined) this.activity?.keyUsed(principal.organizationId, principal.keyId);
    const ref = await this.access.prepare(principal, ws, actorId, 'members');
    if (principal.kind === 'organization') this.activity?.userActed(principal.organizationId, actorId);
    const raw = lastEventHeader ?? query.lastEventId;
    let lastEventId: bigint | undefined;
    if (raw !== undefined) {
      // named as the client sent it, the header or the query's field (probe 117 F5: the query's was told "Last-Event-ID"
      // past the head, "lastEventId" when malformed)
      const field = lastEventHeader !== undefined ? 'Last-Event-ID' : 'lastEventId';
      if (!/^\d{1,19}$/.test(raw) || BigInt(raw) > (await this.store.headPosition()))
        throw new ProblemException(problem(400, 'VALIDATION_FAILED', `${field} must be the id of a message this stream sent.`, [{ field, message: 'must be an event id from this stream' }]));
      lastEventId = BigInt(raw);
    }
    // checked again whenever access in the workspace or a user of the organization changes, or a key of the
    // organization is revoked (presence-streams.ts): the stream's key too (probe 83 F2: a revoked key's stream went on)
    const authorize = async () => {
      await this.keyOnFile(principal);
      await this.access.prepare(principal, ws, actorId, 'members');
    };
    await this.keyOnFile(principal);
    // the stream writes Node's response (`raw`) itself: Fastify is told so (hijack) once nothing can be refused any more,
    // so that a refusal before that is still answered by the problem filter. What the hooks set on Fastify's reply
    // (X-Request-Id, nosniff) is put on Node's response, under the stream's own headers (probe 38b F1: the stream had no
    // nosniff, which the README promised of every answer)
    for (const [name, value] of Object.entries(res.getHeaders())) if (value !== undefined) res.raw.setHeader(name, value);
    await this.streams.start(res.raw, { organizationId: ref.organizationId, workspaceId: ws, authorize }, lastEventId, () => res.hijack());
  }

  @Get('reports/presence')
  @HeavyRead(asCsv)
  @ApiOperation({ summary: 'Seconds online and away per user per UTC day (`from`..`to`, at most 366 days; `format=csv`). Deleted users stay, personal fields null. An interval still open counts up to now less the presence timeout. Needs the reports permission; `email` is null unless the reader may read the user list. The CSV needs the user list\'s permission and the export permission too (data.export under levels, users otherwise: it holds members\' addresses).' })
  @ApiHeader(READ_ACTOR_HEADER)
  @ApiHeader(MIN_POSITION_HEADER)
  @ApiProduces('application/json', 'text/csv')
  @ApiExtraModels(PresenceReport)
  @ApiResponse({
    status: 200,
    description: 'PresenceReport as JSON; with `format=csv`, the same rows as CSV',
    content: { 'application/json': { schema: { $ref: getSchemaPath(PresenceReport) } }, 'text/csv': { schema: { type: 'string' }, example: CSV_EXAMPLE } },
  })
  @ApiProblems(...AUTH_PROBLEMS, ...READ_PROBLEMS, ...NO_BODY_PROBLEMS, 'WORKSPACE_NOT_FOUND')
  async report(
    @CurrentPrincipal() principal: Principal,
    @ActorId() actorId: string,
    @Param('ws', IdPipe) ws: string,
    @Query() query: PresenceReportQuery,
    @Download() download: DownloadRequest,
    @Headers(MIN_POSITION_HEADER.name) minPosition?: string,
  ) {
    // a member may always read themself: this resolves the workspace and waits for X-Min-Position; then the permission
    const ref = await this.access.prepare(principal, ws, actorId, 'member', minPosition, actorId);
    const { context } = await loadWorkspace(this.states, ref);
    const refused = checkReportRead(context, actorId, query.format === 'csv');
    if (refused) throw new DomainException(refused);
    const lastHeard = async (userIds: string[]) => new Map((await this.leases.getMany(ws, userIds)).map((l) => [l.userId, l.lastSeenAt]));
    const range = { from: query.from, to: query.to, nowMs: Date.now(), timeoutMs: this.options.timeoutSeconds * 1000, lastHeard };
    const showsAddresses = reportShowsAddresses(context, actorId);
    const shown = (row: PresenceReportRow): PresenceReportRow => (showsAddresses ? row : { ...row, email: null });
    if (query.format === 'csv') {
      // the whole range (probe 42b F5: a cursor was ignored, even a malformed one)
      const paging = (['limit', 'cursor'] as const).filter((field) => query[field] !== undefined);
      if (paging.length > 0)
        throw new ProblemException(
          problem(400, 'VALIDATION_FAILED', 'The CSV holds the whole range: send no limit nor cursor with format=csv.', paging.map((field) => ({ field, message: 'not with format=csv' }))),
        );
      // a day at a time as the answer is written (a year of 5,000 users: ~1.8 million rows)
      const days = presenceReportDays(this.readStore, ws, range);
      const first = await days.next().catch(badQuery);
      // recorded once the range is known good, before the first byte (probe 69 F9)
      await this.exports.record(principal, actorId, 'presence', { workspaceId: ws }, download);
      async function* rows(): AsyncIterable<PresenceReportRow> {
        if (first.done) return;
        yield* first.value.items.map(shown);
        for await (const { items } of days) yield* items.map(shown);
      }
      return new StreamableFile(presenceReportCsv(rows(), csvOptions(query)), { type: 'text/csv; charset=utf-8', disposition: downloadDisposition('presence', { name: context.ws.info.name, id: ws }, new Date(), 'csv') });
    }
    refuseBomOnJson(query);
    const report = await presenceReport(this.readStore, ws, range, { limit: query.limit, cursor: query.cursor }).catch(badQuery);
    return { ...report, items: report.items.map(shown) };
  }

  @MessageRoute('presence.heartbeat')
  @ApiExcludeEndpoint()
  heartbeatMessage(@Payload() m: HeartbeatMessage) {
    return this.messages.run('presence.heartbeat', m, async (ctx, p) =>
      this.commands.execute(new HeartbeatCommand(await resolveWorkspace(this.states, p, m.workspaceId), ctx, m.status, m.resume === true)),
    );
  }

  @MessageRoute('presence.setOffline')
  @ApiExcludeEndpoint()
  setOfflineMessage(@Payload() m: SetOfflineMessage) {
    return this.messages.run('presence.setOffline', m, async (ctx, p) =>
      this.commands.execute(new SetOfflineCommand(await resolveWorkspace(this.states, p, m.workspaceId), ctx, m.userId)),
    );
  }

  /**
   * The key the stream was opened with, or its ticket taken with, is still the organization's (rules.md "API keys": a
   * revoked key authenticates nothing): at the open (a ticket outlives a revocation by up to 60 s) and at every later
   * check of the reader. A 401, which ends an open stream as a refusal of the reader does.
   */
  private async keyOnFile(principal: Principal): Promise<void> {
    if (principal.kind !== 'organization') return;
    const org = await this.states.organization(principal.organizationId);
    if (!org.state.apiKeys.has(principal.keyId)) throw unauthenticated('The API key this stream was opened with, or its ticket taken with, has been revoked; open it with a key in use.');
  }

  /** the stream's caller: a ticket for this workspace, or the API key with X-Actor-Id */
  private async streamCaller(req: FastifyRequest, ws: string, ticket: string | undefined): Promise<{ principal: Principal; actorId: string }> {
    if (ticket !== undefined) {
      const holder = this.tickets.verify(ticket, ws, Date.now());
      if (!holder) throw unauthenticated('The stream ticket is not valid for this workspace or has expired; ask for a new one.');
      return { principal: { kind: 'organization', organizationId: holder.organizationId, keyId: holder.keyId }, actorId: holder.actorId };
    }
    const key = bearerKey(req);
    if (!key) throw unauthenticated('Send your API key as `Authorization: Bearer <api key>`, or a stream ticket as `?ticket=`.');
    const principal = await this.auth.identify(key);
    if (principal.kind !== 'organization') throw systemKeyRefused();
    return { principal, actorId: actorIdFromHeader(req.headers['x-actor-id']) };
  }
}
