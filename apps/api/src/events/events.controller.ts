import { Controller, Get, Inject, Query } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { ApiExcludeEndpoint, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { DOMAIN_STREAM_PREFIXES, type EventFromLaterVersion, laterVersionOf } from '@rollcall/domain';
import type { EventStore } from '@rollcall/event-store';
import { toIntegrationEvent } from '../infrastructure/integration-events';
import { SystemOnly } from '../shared/auth';
import { ProblemException, problem } from '../shared/problem';
import { withEnvelope } from '../shared/messages';
import { AUTH_PROBLEMS, NO_BODY_PROBLEMS, ApiProblems, SystemKeyOperation } from '../shared/openapi';
import { EVENT_STORE } from '../shared/tokens';
import { EventsQuery } from './dtos';
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
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

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

  @MessagePattern('events.list')
  @SystemOnly()
  @ApiExcludeEndpoint()
  listMessage(@Payload() m: EventsMessage): Promise<EventPage> {
    return this.page(m);
  }

  private async page(query: EventsQuery): Promise<EventPage> {
    // (a message's null is a field left out, as for limit: probe 88 F1, a 500)
    const asked = typeof query.after === 'string' ? query.after : undefined;
    const after = asked === undefined ? undefined : BigInt(asked);
    const limit = query.limit ?? 100;
    const items = [];
    // the head before the read: a page that ends short read every event up to it at least
    const headBefore = await this.store.headPosition();
    // a position past the log's head was never a `next` of this log: a consumer's checkpoint from another log, or from
    // before a restore; answered empty, it would wait there and skip every event up to it once the log grew past
    // (probe 47 F4). Refused as `X-Min-Position` past the end is (checkMinPositionInLog)
    if (after !== undefined && after > headBefore)
      throw new ProblemException(
        problem(400, 'VALIDATION_FAILED', headBefore < 0n
          ? 'after is beyond the end of the event log, which is empty: leave after out to read from the start (after=0 would skip an event at position 0, where the embedded store\'s log begins).'
          : `after is beyond the end of the event log (its head is ${headBefore}): a position this feed never gave; read from your last applied position of this log, or leave after out to read from the start.`, [
          { field: 'after', message: 'is beyond the end of the event log' },
        ]),
      );
    let read = 0;
    // every event of the domain's streams, also of a type this version does not know (not only the types it knows:
    // the feed skipped those, and `next` went past them for good: probe 67 F4); the log's own records are elsewhere
    let laterVersion: EventFromLaterVersion | undefined;
    for await (const recorded of this.store.readAll({ ...(after !== undefined && { fromPosition: after }), filter: { streamPrefixes: [...DOMAIN_STREAM_PREFIXES] }, maxCount: limit })) {
      read++;
      laterVersion = laterVersionOf(recorded);
      if (laterVersion) break;
      const event = toIntegrationEvent(recorded);
      if (event) items.push(event);
    }
    // an event a later version of Rollcall wrote (docs/adr/0020 point 4): the page ends before it, and `next` stays
    // there, as the projector stops there; with nothing before it to give, the feed answers what a read that meets
    // one answers (503 WRITTEN_BY_LATER_VERSION: this process must be upgraded)
    if (laterVersion && items.length === 0) throw laterVersion;
    let next = items.at(-1)?.position ?? asked ?? null;
    // caught up: past the log's own records too (PersonalDataErased, never published), so that `next` reaches `head`
    // on a quiet log (probe 45 F9: it stayed one below after every deletion)
    if (!laterVersion && read < limit && headBefore > 0n && (next === null || headBefore > BigInt(next))) next = headBefore.toString();
    return { items, next, head: (await this.store.headPosition()).toString() };
  }
}
