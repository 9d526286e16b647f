import { ApiProperty } from '@nestjs/swagger';
import type { IntegrationEvent } from '../infrastructure/integration-events';

/**
 * One integration event, as NATS and TCP carry it in Nest's envelope's `data` (AsyncAPI: IntegrationEvent): the
 * publisher's IntegrationEvent, documented for OpenAPI (`implements`: the two cannot drift apart).
 */
export class IntegrationEventItem implements IntegrationEvent {
  @ApiProperty({ description: 'the event id: the same on every delivery (deduplicate by it)', example: '0195a1c2-7d4e-7c1a-9b1e-3f1d2c4b5a69' })
  eventId!: string;
  @ApiProperty({ example: 'AccessRevoked' })
  type!: string;
  @ApiProperty({ example: 'workspace-7c9e6679-7425-5de3-944b-e07fc1f90ae7' })
  stream!: string;
  @ApiProperty({
    required: false,
    description:
      "the organization whose stream holds the event — also a workspace's or a presence stream's, whose names do not say it (a partner link's two events: each its own workspace's organization). On events of a workspace's or a presence stream written before session 58 whose data does not name it, the feeds name it from the workspace (its WorkspaceCreated; since session 61); absent there only in the push (NATS, TCP) of such an old event",
    example: '3f2b8c1e-5a7d-5e9f-8b1c-2d4e6f8a0b1c',
  })
  organizationId?: string;
  @ApiProperty({ description: "the event's global position in the log (decimal)", example: '1043' })
  position!: string;
  @ApiProperty({ format: 'date-time', description: 'when the change was decided (every event the API appends has it; the AsyncAPI document requires it too: probe 87 F5)' })
  occurredAt?: string;
  @ApiProperty({ required: false, description: 'the acting user (or `system`); absent where the log names none' })
  actorId?: string;
  @ApiProperty({ required: false, description: "the request that appended it (its X-Request-Id, or the id made for it): the same on every event one request appended — group them by it, or know your own request's echo (probe 87 F3)", example: 'TICKET-77' })
  correlationId?: string;
  @ApiProperty({ required: false, description: "the organization API key's id the request came with; absent for the system key and an invitation's link", example: '5d0e2f7a-1c3b-5e4d-8f6a-9b0c1d2e3f4a' })
  apiKeyId?: string;
  @ApiProperty({
    type: 'integer',
    minimum: 1,
    example: 1,
    description: "the schema version of `data`: the newest this version of Rollcall writes for the type (older events are upcast to it); refuse a version you do not know rather than misread it",
  })
  schemaVersion!: number;
  @ApiProperty({ type: 'object', additionalProperties: true, description: "the event's data (docs/rules.md, Events); personal fields of an erased subject are null" })
  data!: unknown;
}

export class EventPage {
  @ApiProperty({ type: [IntegrationEventItem], description: 'in log order; fewer than `limit`: the feed is caught up (for now)' })
  items!: IntegrationEventItem[];
  @ApiProperty({ type: String, nullable: true, description: 'ask `after=<next>` for what follows: the last item\'s position; on a page shorter than `limit` (caught up), the log\'s head as it was read, past records the feed leaves out, so that `next` reaches `head` on a quiet log (an `after` past `head` is refused: 400); before an event this version cannot read (a later version wrote it), the position before it', example: '1143' })
  next!: string | null;
  @ApiProperty({ description: "the log's last position when the page was read", example: '52001' })
  head!: string;
}
