import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { ID_PATTERN } from './dtos';

const STATUSES = ['pending', 'active', 'revoked'] as const;

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
  @ApiPropertyOptional({ description: 'ISO-8601, inclusive' }) @IsOptional() @IsISO8601() from?: string;
  @ApiPropertyOptional({ description: 'ISO-8601, inclusive' }) @IsOptional() @IsISO8601() to?: string;
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
  @ApiPropertyOptional({ description: 'ISO-8601 time; default now' }) @IsOptional() @IsISO8601() asOf?: string;
}
