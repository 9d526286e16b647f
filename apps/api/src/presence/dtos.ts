import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

export class HeartbeatDto {
  @ApiProperty({ enum: ['online', 'away'], description: 'the status the user reports; silence makes them offline' })
  @IsIn(['online', 'away'], { message: 'must be online or away' })
  status!: 'online' | 'away';
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export class PresenceReportQuery {
  @ApiProperty({ description: 'first UTC day, inclusive', example: '2026-03-01' })
  @IsString()
  @Matches(DATE, { message: 'must be a date YYYY-MM-DD' })
  from!: string;

  @ApiProperty({ description: 'last UTC day, inclusive: the report covers at most 366 days, `from` and `to` included (so `to` is at most 365 days after `from`)', example: '2026-03-31' })
  @IsString()
  @Matches(DATE, { message: 'must be a date YYYY-MM-DD' })
  to!: string;

  @ApiPropertyOptional({ enum: ['json', 'csv'], default: 'json' })
  @IsOptional()
  @IsIn(['json', 'csv'])
  format?: 'json' | 'csv';
}

export class PresenceStreamQuery {
  @ApiPropertyOptional({ description: 'a ticket from `POST …/presence/stream-tickets`, for clients that cannot send headers (EventSource)' })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  ticket?: string;

  @ApiPropertyOptional({ description: 'resume after this event id (as the `Last-Event-ID` header does)', example: '1042' })
  @IsOptional()
  @IsString()
  @Matches(/^\d{1,19}$/, { message: 'must be an event id from this stream' })
  lastEventId?: string;
}
