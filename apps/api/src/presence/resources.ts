import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { nullableString, ADDRESS_FORMAT } from '../shared/http/resources';

const STATUSES = ['online', 'away', 'offline'];

/** A heartbeat's answer (rule 13). */
export class HeartbeatAccepted {
  @ApiProperty({ example: '6f1c2d3e-4a5b-5c6d-8e7f-9a0b1c2d3e4f' })
  userId!: string;
  @ApiProperty({ enum: ['online', 'away'], example: 'online' })
  status!: 'online' | 'away';
  @ApiProperty({ enum: STATUSES, example: 'offline' })
  previous!: 'online' | 'away' | 'offline';
  @ApiProperty({ description: 'true when the status changed (a PresenceChanged was appended); a repeated status changes nothing', example: true })
  changed!: boolean;
  @ApiProperty({ format: 'date-time', example: '2026-03-01T09:00:00.000Z' })
  lastSeenAt!: string;
  @ApiProperty({ format: 'date-time', description: 'without another heartbeat by then the user becomes offline', example: '2026-03-01T09:01:00.000Z' })
  expiresAt!: string;
  @ApiPropertyOptional({ description: 'only when the status changed: the position of the transition (`X-Min-Position`)', example: '1042' })
  position?: string;
}

/** Forced offline (rule 13). */
export class PresenceSetOffline {
  @ApiProperty({ example: '6f1c2d3e-4a5b-5c6d-8e7f-9a0b1c2d3e4f' })
  userId!: string;
  @ApiProperty({ enum: ['offline'], example: 'offline' })
  status!: 'offline';
  @ApiProperty({ enum: STATUSES, example: 'online' })
  previous!: 'online' | 'away' | 'offline';
  @ApiProperty({ description: 'false when the user was offline already', example: true })
  changed!: boolean;
  @ApiProperty({ ...nullableString('the user\'s last heartbeat', '2026-03-01T09:00:00.000Z'), format: 'date-time' })
  lastSeenAt!: string | null;
  @ApiProperty({ description: 'position of the write in the event store (`X-Min-Position`)', example: '1042' })
  position!: string;
}

/** A ticket for `GET …/presence/stream?ticket=` (EventSource cannot send headers). */
export class StreamTicket {
  @ApiProperty({ description: 'signed; valid for this workspace and actor only', example: 'b3JnXG53c1xu….Zk9x…' })
  ticket!: string;
  @ApiProperty({ format: 'date-time', description: '60 seconds from now; connect before then (the open stream is not cut)', example: '2026-03-01T09:01:00.000Z' })
  expiresAt!: string;
}

export class PresenceReportRow {
  @ApiProperty({ description: 'UTC day', example: '2026-03-01' })
  date!: string;
  @ApiProperty({ description: 'a deleted user keeps their pseudonymous id here (rule 12)', example: '6f1c2d3e-4a5b-5c6d-8e7f-9a0b1c2d3e4f' })
  userId!: string;
  @ApiProperty(nullableString('null once the user is deleted, and for a reader who may not read the user list (rule 1)', 'jane@acme.test', ADDRESS_FORMAT))
  email!: string | null;
  @ApiProperty(nullableString('null once the user is deleted', 'Jane Doe'))
  displayName!: string | null;
  @ApiProperty({ example: false })
  deleted!: boolean;
  @ApiProperty({ type: 'integer', example: 27000 })
  onlineSeconds!: number;
  @ApiProperty({ type: 'integer', example: 1800 })
  awaySeconds!: number;
  @ApiProperty({ description: "the report's workspace: reports of several workspaces put together keep where each row came from (probe 85 F1)", example: '7c9e6679-7425-5de3-944b-e07fc1f90ae7' })
  workspaceId!: string;
}

/** Seconds online and away per user per UTC day; intervals still open count up to now less the presence timeout. */
export class PresenceReport {
  @ApiProperty({ example: '2026-03-01' })
  from!: string;
  @ApiProperty({ example: '2026-03-31' })
  to!: string;
  @ApiProperty({ type: [PresenceReportRow], description: 'by day, then user id; whole days, at least `limit` rows unless the range ends' })
  items!: PresenceReportRow[];
  @ApiPropertyOptional({ description: 'present when days of the range are left: send it as `cursor` (same from and to) for the next page' })
  nextCursor?: string;
}
