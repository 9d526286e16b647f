import { Controller, Get, Inject, Param, Query, Req } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { MessageRoute } from '../shared/http/message-route';
import { ApiBearerAuth, ApiExcludeEndpoint, ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';
import type { OrganizationState } from '@rollcall/domain';
import type { EventStore } from '@rollcall/event-store';
import type { IntegrationEvent } from '../infrastructure/integration-events';
import { OrganizationReads } from '../organizations/organization-reads';
import { type AuthedRequest, Authenticator, SystemOrOrganization } from '../shared/auth';
import { FoldsIdCase, ID_PATTERN } from '../shared/http/dtos';
import { withEnvelope } from '../shared/http/messages';
import { AUTH_PROBLEMS, ApiProblems, NO_BODY_PROBLEMS, SYSTEM_KEY_SCHEME } from '../shared/http/openapi';
import { IdPipe } from '../shared/http/path-params';
import { OPERATOR_READ_ACTOR_HEADER, type Reader, messageReaderOf, readerOf } from '../shared/reads/read-access';
import { EVENT_STORE } from '../shared/tokens';
import { EventsQuery } from './dtos';
import { organizationStreams, readFeedPage, workspaceOfEvent } from './feed-page';
import { EventPage } from './resources';

/**
 * How many events of the log one page of an organization's feed reads at most looking for the organization's: the log
 * is every organization's, and a page must end in bounded time whatever the others write — at most what a page of the
 * operator's feed reads (its `limit` is 1,000 at most). Measured (session 58, the embedded store, a page over 10,000
 * invitations of another organization, load ~6 beside a CI run): 1,000 events read 23–156 ms a page (median ~65),
 * 5,000 108–904 ms (median ~320) — the event loop's, as the operator's feed's reads are.
 */
export const ORGANIZATION_FEED_SCAN = 1000;

/** `organizations.events`: an organization's feed over TCP or NATS */
class OrganizationEventsMessage extends withEnvelope(EventsQuery) {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() organizationId!: string;
}

/**
 * An organization's integration events (probe 87 F2; ADR 0021, "Session 58"): the operator's feed (`GET /v1/events`)
 * read for the events of one organization — its own stream's, its mail ledger's, its workspaces' and their members'
 * presence — for the organization's own integrations (a CRM kept in sync), with its API key. Org admins only, as the
 * organization's users are: the events carry their names and addresses. The embedded log is indexed by organization
 * (ADR 0021, "Session 63"); over EventStoreDB, or before an embedded log's last event that names no organization, a
 * page reads at most ORGANIZATION_FEED_SCAN events of the log, and may end with fewer items than `limit` — even none —
 * before the head: the consumer asks again from `next` until `next` is `head`.
 */
@ApiTags('events')
@ApiBearerAuth()
@Controller('v1/organizations/:org/events')
export class OrganizationEventsController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(OrganizationReads) private readonly reads: OrganizationReads,
    @Inject(Authenticator) private readonly auth: Authenticator,
  ) {}

  @Get()
  @SystemOrOrganization()
  @ApiBearerAuth(SYSTEM_KEY_SCHEME)
  @ApiOperation({
    summary: "The organization's integration events after a position, in log order (org admins; the system key too, without X-Actor-Id): what the organization's own integration keeps in sync from.",
    description: `The operator's feed (\`GET /v1/events\`) for this organization's events alone: its own (API keys, org admins, users, workspaces created), its mail ledger's, and every event of its workspaces and of their members' presence, in the same envelope (\`organizationId\` names the organization on each). Keep the \`position\` of the last event applied (your cursor) and ask \`?after=<cursor>\`; the log holds every organization's events: the embedded store reads this one's by an index; over EventStoreDB (and in an embedded log before its last event that names no organization, written before session 58) the log is read at most ${ORGANIZATION_FEED_SCAN} events a page looking for this one's, so a page can hold fewer items than \`limit\` — even none — before the end: either way, go on from \`next\` (past what the page read, its own or not) until \`next\` equals \`head\` (caught up, for now). Events of a partner workspace of another organization are that organization's. An event this version of Rollcall cannot read ends the page before it, as in the operator's feed.`,
  })
  @ApiHeader(OPERATOR_READ_ACTOR_HEADER)
  @ApiResponse({ status: 200, type: EventPage, description: 'EventPage' })
  @ApiProblems(...AUTH_PROBLEMS, 'VALIDATION_FAILED', 'ORGANIZATION_NOT_FOUND', 'WRITTEN_BY_LATER_VERSION', ...NO_BODY_PROBLEMS)
  list(@Req() req: AuthedRequest, @Param('org', IdPipe) org: string, @Query() query: EventsQuery): Promise<EventPage> {
    return this.page(readerOf(req, org), query);
  }

  @MessageRoute('organizations.events')
  @SystemOrOrganization()
  @ApiExcludeEndpoint()
  async listMessage(@Payload() m: OrganizationEventsMessage): Promise<EventPage> {
    return this.page(messageReaderOf(await this.auth.identify(m.apiKey), m), m);
  }

  private async page(reader: Reader, query: EventsQuery): Promise<EventPage> {
    // org admins only (a closed organization: 410), as its users' list
    const org = await this.reads.asOrgAdmin(reader.organizationId, reader.actorId);
    return readFeedPage(this.store, {
      // (a message's null is a field left out, as in the operator's feed)
      after: typeof query.after === 'string' ? query.after : undefined,
      limit: query.limit ?? 100,
      only: { belongs: belongsTo(org), scanned: ORGANIZATION_FEED_SCAN, organizationId: org.organizationId, streams: organizationStreams(org.organizationId, org.workspaces.keys()) },
    });
  }
}

/**
 * Whether an event is the organization's: as its envelope names it (integration-event.ts: the metadata since session
 * 58, the stream's name, the data); an event that names none (a workspace's or a presence stream's, written before)
 * by its workspace, one of the organization's (its workspaces are the state's, from WorkspaceCreated) — and then its
 * envelope names the organization here, as every item of this feed does (probe 93 F5: absent from those).
 */
export const belongsTo =
  (org: OrganizationState) =>
  (event: IntegrationEvent): boolean => {
    if (event.organizationId !== undefined) return event.organizationId === org.organizationId;
    const workspaceId = workspaceOfEvent(event);
    const belongs = workspaceId !== undefined && org.workspaces.has(workspaceId);
    // (the envelope is this page's own: read for it)
    if (belongs) (event as { organizationId?: string }).organizationId = org.organizationId;
    return belongs;
  };
