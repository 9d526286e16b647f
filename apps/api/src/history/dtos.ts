import { ApiPropertyOptional } from '@nestjs/swagger';
import { HISTORY_CHANGES, type HistoryChange } from '@rollcall/read-store';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { CsvBom, FoldsIdCase, ID_PATTERN, KindsOfChange, WholeNumber } from '../shared/http/dtos';
import { INSTANT_PATTERN, IsInstant } from '../shared/http/query-validation';
import { SANE_REQUEST_ID } from '../shared/http/request-id';

export class HistoryQuery {
  @ApiPropertyOptional({ description: "the member's entries, the invitations they accepted included" }) @IsOptional() @IsString() @Matches(ID_PATTERN) @FoldsIdCase() userId?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @Matches(ID_PATTERN) @FoldsIdCase() actorId?: string;
  @ApiPropertyOptional({ description: "one invitation's entries: sent, resent, its link copied, cancelled (`details.reason`: by a command, a deletion or an address's erasure), accepted" })
  @IsOptional()
  @IsString()
  @Matches(ID_PATTERN)
  @FoldsIdCase()
  invitationId?: string;
  @ApiPropertyOptional({ description: "the entries written with one of the organization's API keys (the entries' `apiKeyId`: the part of the key after the organization id)" })
  @IsOptional()
  @IsString()
  @Matches(ID_PATTERN)
  @FoldsIdCase()
  apiKeyId?: string;
  @ApiPropertyOptional({ description: "one request's entries: its request id (`X-Request-Id`, the entries' `correlationId`)", pattern: SANE_REQUEST_ID.source })
  @IsOptional()
  @IsString()
  @Matches(SANE_REQUEST_ID)
  correlationId?: string;
  @ApiPropertyOptional({
    description: `comma-separated kinds of change, any of them (the entries' \`change\`): ${HISTORY_CHANGES.join(', ')}`,
    example: 'roles_changed,grants_changed',
  })
  @KindsOfChange(HISTORY_CHANGES)
  change?: HistoryChange[];
  @ApiPropertyOptional({ description: 'ISO-8601 date or date-time with a time zone, inclusive', pattern: INSTANT_PATTERN }) @IsOptional() @IsInstant() from?: string;
  @ApiPropertyOptional({ description: 'ISO-8601 date or date-time with a time zone, inclusive (a date: through the end of that day, UTC)', pattern: INSTANT_PATTERN }) @IsOptional() @IsInstant() to?: string;
  @ApiPropertyOptional({
    enum: ['asc', 'desc'],
    description:
      'the order of the JSON pages: without `from` or `to`, log order (`position`); with either, time order (`at`, then `position`): entries of different streams may be dated against log order (rule 17), so the two orders can differ, and a cursor keeps to the order it was made in. CSV is always in log order.',
  })
  @IsOptional()
  @IsIn(['asc', 'desc'])
  direction?: 'asc' | 'desc';
  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 50 })
  @IsOptional()
  @WholeNumber()
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;
  @ApiPropertyOptional({ description: 'nextCursor of the previous page, with the same filters (another list\'s is 400 on the field cursor)' }) @IsOptional() @IsString() @MaxLength(1000) cursor?: string;
  @ApiPropertyOptional({ enum: ['json', 'csv'], default: 'json' }) @IsOptional() @IsIn(['json', 'csv']) format?: 'json' | 'csv';
  @CsvBom() bom?: 'true' | 'false';
}
