import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { REPORT_PAGE_MAX, REPORT_WHOLE_MAX } from '@rollcall/read-store';
import { CsvBom, WholeNumber } from '../shared/http/dtos';

export class HeartbeatDto {
  @ApiProperty({ enum: ['online', 'away'], description: 'the status the user reports; silence makes them offline' })
  @IsIn(['online', 'away'], { message: 'must be online or away' })
  status!: 'online' | 'away';

  @ApiPropertyOptional({
    description:
      'true when the user chose to be online again after someone else set them offline: until a heartbeat says so, their heartbeats are refused with 409 FORCED_OFFLINE (docs/adr/0032). Ignored otherwise.',
  })
  @IsOptional()
  @IsBoolean()
  resume?: boolean;
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

  @CsvBom() bom?: 'true' | 'false';

  @ApiPropertyOptional({
    minimum: 1,
    maximum: REPORT_PAGE_MAX,
    description: `rows per JSON page, reached at the end of a day: a page holds whole days (one day of more rows is one page), with \`nextCursor\` while days are left that have begun (none for days still to come, which hold nothing yet). Without it the whole range, refused (400, field \`limit\`) past ${REPORT_WHOLE_MAX} rows. Not with format=csv (the CSV holds the whole range).`,
  })
  @IsOptional()
  @WholeNumber()
  @IsInt()
  @Min(1)
  @Max(REPORT_PAGE_MAX)
  limit?: number;

  @ApiPropertyOptional({ description: "nextCursor of the previous page of this workspace's report, with the same from and to (not with format=csv); another workspace's or range's is 400 on the field cursor" }) @IsOptional() @IsString() @MaxLength(1000) cursor?: string;
}

export class PresenceStreamQuery {
  @ApiPropertyOptional({ description: 'a ticket from `POST …/presence/stream-tickets`, for clients that cannot send headers (EventSource)' })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  ticket?: string;

  // checked by the stream's handler with the header, whichever of the two it resumes from (probe 118 F6: a malformed
  // query was refused beside a header that won, with another sentence than the handler's)
  @ApiPropertyOptional({ description: 'resume after this event id (as the `Last-Event-ID` header does; the header wins when both are sent)', example: '1042', pattern: '^\\d{1,19}$' })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  lastEventId?: string;
}
