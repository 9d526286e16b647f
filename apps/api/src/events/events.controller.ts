import { Controller, Get, Inject, Query } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { MessageRoute } from '../shared/http/message-route';
import { ApiExcludeEndpoint, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { EventStore } from '@rollcall/event-store';
import { SystemOnly } from '../shared/auth';
import { withEnvelope } from '../shared/http/messages';
import { AUTH_PROBLEMS, NO_BODY_PROBLEMS, ApiProblems, SystemKeyOperation } from '../shared/http/openapi';
import { EVENT_STORE } from '../shared/tokens';
import { EventsQuery } from './dtos';
import { readFeedPage, workspaceOfEvent } from './feed-page';
import { WorkspaceDirectory } from '../teams/workspace-directory';
import { EventPage } from './resources';

/**
 * The integration events as a feed (ADR 0021): every domain event after a position, in log order, as the publisher
 * sends them (`{eventId, type, stream, position, occurredAt, actorId, data}`), read from the log at the time of the
 * request (an erased subject's fields are null). The push transports (NATS, TCP) reach the consumers connected when an
 * event is sent; this is how a consumer gets what it missed (probe 38 F1, F5, F6): it keeps the last `position` it
 * applied and asks for what follows. System key only: the feed is every organization's, for the platform's services.
 */
/** `events.list`: the feed over TCP or NATS (a consumer of the NATS push gets what it missed without HTTP) */
class EventsMessage extends withEnvelope(EventsQuery) {}

@ApiTags('events')
@Controller('v1/events')
export class EventsController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(WorkspaceDirectory) private readonly directory: WorkspaceDirectory,
  ) {}

  @Get()
  @SystemKeyOperation()
  @ApiOperation({
    summary: "Every organization's integration events after a position, in log order (system key): what a consumer missed while it was away.",
    description:
      'Keep the `position` of the last event applied (your cursor). Subscribe to the push (NATS or TCP) first, holding what it delivers; then ask `?after=<cursor>` and apply `items` until fewer than `limit` come back; then apply the pushed events whose `position` is past the cursor, skipping the others (duplicates, re-sends, copies read before a deletion), and read the feed again from the cursor when a pushed event\'s `previousPosition` is past it. Not the log: the records the log keeps for itself (PersonalDataErased) are left out, and an API key\'s issue comes without the hash of its secret. An event this version of Rollcall cannot read (a later version wrote it) ends the page before it, `next` staying there; with nothing before it, 503 WRITTEN_BY_LATER_VERSION.',
  })
  @ApiResponse({ status: 200, type: EventPage, description: 'EventPage' })
  @ApiProblems(...AUTH_PROBLEMS, 'VALIDATION_FAILED', 'WRITTEN_BY_LATER_VERSION', ...NO_BODY_PROBLEMS)
  list(@Query() query: EventsQuery): Promise<EventPage> {
    return this.page(query);
  }

  @MessageRoute('events.list')
  @SystemOnly()
  @ApiExcludeEndpoint()
  listMessage(@Payload() m: EventsMessage): Promise<EventPage> {
    return this.page(m);
  }

  private async page(query: EventsQuery): Promise<EventPage> {
    // (a message's null is a field left out, as for limit: probe 88 F1, a 500)
    const page = await readFeedPage(this.store, { after: typeof query.after === 'string' ? query.after : undefined, limit: query.limit ?? 100 });
    // an event written before session 58 whose data names no organization (a workspace's access change, a team's):
    // named from its workspace, as an organization's own feed names it (the log's WorkspaceCreated; a workspace never
    // moves), so that an operator fanning the feed out per organization needs no call back
    for (const event of page.items) {
      const workspaceId = event.organizationId === undefined ? workspaceOfEvent(event) : undefined;
      const organizationId = workspaceId === undefined ? undefined : await this.directory.organizationOf(workspaceId);
      if (organizationId !== undefined) (event as { organizationId?: string }).organizationId = organizationId;
    }
    return page;
  }
}
