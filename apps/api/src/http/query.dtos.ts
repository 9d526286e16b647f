import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, ValidateBy } from 'class-validator';
import { ID_PATTERN } from './dtos';

const STATUSES = ['pending', 'active', 'revoked'] as const;

/** A calendar date, or a date-time with a time zone (a time without one would mean the server's local time). */
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:[Zz]|[+-](\d{2}):(\d{2})))?$/;

/**
 * An instant a query can be asked about. ISO-8601 has forms that are valid syntax but no instant for
 * `new Date()` (week dates 2021-W01, ordinal dates 2021-366, basic format 20210101) and Date.parse rolls
 * impossible days over (2021-02-30 is March 2nd): each field is checked against the calendar.
 */
export function isInstant(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const m = INSTANT.exec(value);
  if (!m) return false;
  const [year, month, day, hour = 0, minute = 0, second = 0, offsetHours = 0, offsetMinutes = 0] = m.slice(1).map((f) => (f === undefined ? undefined : Number(f))) as number[];
  const lastDay = new Date(0);
  lastDay.setUTCFullYear(year!, month!, 0);
  return (
    month! >= 1 && month! <= 12 && day! >= 1 && day! <= lastDay.getUTCDate() &&
    hour <= 23 && minute <= 59 && second <= 59 && offsetHours <= 23 && offsetMinutes <= 59 &&
    Number.isFinite(Date.parse(value))
  );
}

const IsInstant = () =>
  ValidateBy({
    name: 'isInstant',
    validator: {
      validate: isInstant,
      defaultMessage: () => 'must be an ISO-8601 date (2026-03-01) or date-time with a time zone (2026-03-01T09:00:00Z)',
    },
  });

export class ListMembersQuery {
  @ApiPropertyOptional({ description: 'search email, display name and alias (case-insensitive)' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  q?: string;

  @ApiPropertyOptional({ description: 'comma-separated: pending, active, revoked (default pending,active)', example: 'pending,active' })
  @IsOptional()
  @Transform(({ value }) => (typeof value === 'string' ? value.split(',').map((s) => s.trim()) : value))
  @IsIn(STATUSES, { each: true, message: 'must be pending, active or revoked' })
  status?: ('pending' | 'active' | 'revoked')[];

  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) role?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @Matches(ID_PATTERN) team?: string;
  @ApiPropertyOptional({ enum: ['online', 'away', 'offline'] }) @IsOptional() @IsIn(['online', 'away', 'offline']) presence?: 'online' | 'away' | 'offline';
  @ApiPropertyOptional({ enum: ['name', 'email', 'lastSeen', 'joined'] }) @IsOptional() @IsIn(['name', 'email', 'lastSeen', 'joined']) sort?: 'name' | 'email' | 'lastSeen' | 'joined';
  @ApiPropertyOptional({ enum: ['asc', 'desc'] }) @IsOptional() @IsIn(['asc', 'desc']) direction?: 'asc' | 'desc';

  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' }) @IsOptional() @IsString() @MaxLength(1000) cursor?: string;
}

export class ExportMembersQuery {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(200) q?: string;
  @ApiPropertyOptional({ example: 'pending,active' })
  @IsOptional()
  @Transform(({ value }) => (typeof value === 'string' ? value.split(',').map((s) => s.trim()) : value))
  @IsIn(STATUSES, { each: true, message: 'must be pending, active or revoked' })
  status?: ('pending' | 'active' | 'revoked')[];
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) role?: string;
  @ApiPropertyOptional({ enum: ['name', 'email', 'lastSeen', 'joined'] }) @IsOptional() @IsIn(['name', 'email', 'lastSeen', 'joined']) sort?: 'name' | 'email' | 'lastSeen' | 'joined';
}

export class HistoryQuery {
  @ApiPropertyOptional() @IsOptional() @IsString() @Matches(ID_PATTERN) userId?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @Matches(ID_PATTERN) actorId?: string;
  @ApiPropertyOptional({ description: 'ISO-8601 date or date-time with a time zone, inclusive' }) @IsOptional() @IsInstant() from?: string;
  @ApiPropertyOptional({ description: 'ISO-8601 date or date-time with a time zone, inclusive' }) @IsOptional() @IsInstant() to?: string;
  @ApiPropertyOptional({ enum: ['asc', 'desc'] }) @IsOptional() @IsIn(['asc', 'desc']) direction?: 'asc' | 'desc';
  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(1000) cursor?: string;
  @ApiPropertyOptional({ enum: ['json', 'csv'], default: 'json' }) @IsOptional() @IsIn(['json', 'csv']) format?: 'json' | 'csv';
}

export class AsOfQuery {
  @ApiPropertyOptional({ description: 'ISO-8601 date or date-time with a time zone; default now', example: '2026-03-01T09:00:00Z' })
  @IsOptional()
  @IsInstant()
  asOf?: string;
}
