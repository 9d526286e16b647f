import { ApiPropertyOptional } from '@nestjs/swagger';
import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsIn, IsOptional, IsString, Matches, MaxLength, IsInt, Max, Min } from 'class-validator';
import { ACCESS_MODEL_PRESETS } from '@rollcall/domain';
import { CsvBom, FoldsIdCase, ID_PATTERN, WholeNumber } from '../shared/http/dtos';
import { INSTANT_PATTERN, IsInstant, STATUSES } from '../shared/http/query-validation';
import { Omittable } from '../shared/http/omittable';

export class RevokeDto {
  @ApiPropertyOptional({ description: 'an active member to receive the revoked member\'s contacts; by default they are unassigned' })
  // left out is "unassigned"; a null is refused naming the field, as over TCP (not taken as left out, nor as a user)
  @Omittable()
  @IsString()
  @Matches(ID_PATTERN, { message: 'must be a user id' })
  @FoldsIdCase()
  reassignContactsTo?: string;
}

/** every role of every preset */
const ROLE_NAMES = [...new Set(Object.values(ACCESS_MODEL_PRESETS).flatMap((model) => Object.keys(model.roles)))].sort();

/** The user list's filters and order: the list (paged) and its CSV export (the whole of it) take the same. */
/**
 * A search's text (`q`): at most 200 characters, no control characters — a NUL cut the search short in the embedded
 * store (a leading one matched everyone); names and addresses hold none. The organization's user search too (probe
 * 81 F6: a newline matched every user there).
 */
export const SearchText = () =>
  applyDecorators(
    IsOptional(),
    IsString(),
    MaxLength(200),
    // eslint-disable-next-line no-control-regex
    Matches(/^[^\u0000-\u001f\u007f]*$/u, { message: 'must not contain control characters' }),
  );

export class MemberFilterQuery {
  @ApiPropertyOptional({ description: 'search email, display name and alias: text anywhere in one of them, case and accents set aside ("emile" finds "Émile", "strasse" "Straße", "bücher" an address at bücher.example); no control characters, which no name or address holds' })
  @SearchText()
  q?: string;

  @ApiPropertyOptional({ description: 'comma-separated: pending, active, revoked (default pending,active)', example: 'pending,active' })
  @IsOptional()
  @Transform(({ value }) => (typeof value === 'string' ? value.split(',').map((s) => s.trim()) : value))
  @IsIn(STATUSES, { each: true, message: 'must be pending, active or revoked' })
  status?: ('pending' | 'active' | 'revoked')[];

  // a role of no preset matches nobody anywhere: refused as another filter's unknown value is (probe 26); one of
  // another preset than the workspace's is a well-formed filter that matches nobody there
  // several, comma-separated, any of them: "who has an owner's authority" across presets is `owner,environment_manager`
  // in one filter (probe 82 F2)
  // (one comma-separated string, as `status`; a repeated `role=` is taken too: probe 98 F9. A role named twice counts
  // once, so a valid list holds at most every role; a long one of other words is refused as any word that is no role)
  @ApiPropertyOptional({ type: String, description: `comma-separated: members holding any of these roles (the workspace's preset names which exist there): ${ROLE_NAMES.join(', ')}`, example: 'owner,manager' })
  @IsOptional()
  @Transform(({ value }) => (typeof value === 'string' || Array.isArray(value) ? [...new Set([value].flat().flatMap((v) => String(v).split(',').map((s) => s.trim())))] : value))
  @IsIn(ROLE_NAMES, { each: true, message: `must list roles only: ${ROLE_NAMES.join(', ')}` })
  role?: string[];
  @ApiPropertyOptional() @IsOptional() @IsString() @Matches(ID_PATTERN) @FoldsIdCase() team?: string;
  @ApiPropertyOptional({ enum: ['online', 'away', 'offline'], description: 'members with this presence (pending invitations have none: left out)' }) @IsOptional() @IsIn(['online', 'away', 'offline']) presence?: 'online' | 'away' | 'offline';
  @ApiPropertyOptional({ enum: ['name', 'email', 'lastSeen', 'joined'] }) @IsOptional() @IsIn(['name', 'email', 'lastSeen', 'joined']) sort?: 'name' | 'email' | 'lastSeen' | 'joined';
  @ApiPropertyOptional({ enum: ['asc', 'desc'], description: 'default: asc for name and email, desc for lastSeen and joined (the latest first)' }) @IsOptional() @IsIn(['asc', 'desc']) direction?: 'asc' | 'desc';
}

export class ListMembersQuery extends MemberFilterQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 50 })
  @IsOptional()
  @WholeNumber()
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page of this list, with the same filters and search (another workspace\'s, or another filter\'s, is 400 on the field cursor). Each page is read when it is asked for: a member whose sort key changed since the page before (a rename, a status change under lastSeen) may be on both pages or on neither; the CSV download is the whole list at one point of the log' }) @IsOptional() @IsString() @MaxLength(1000) cursor?: string;
}

/** the CSV export: the list's filters and order, all of it (the export of a team, of who is online…) */
export class ExportMembersQuery extends MemberFilterQuery {
  @CsvBom() bom?: 'true' | 'false';
}

export class AsOfQuery {
  @ApiPropertyOptional({ description: "ISO-8601 date-time with a time zone, or a date: its first instant (00:00 UTC), as the history's `from`; default now. Not in the future (400): past both the server's clock and every change the log holds (a log dated ahead of this clock, by another replica's, is asked up to its latest change); up to a minute ahead of the server's clock is taken as now", example: '2026-03-01T09:00:00Z', pattern: INSTANT_PATTERN })
  @IsOptional()
  @IsInstant()
  asOf?: string;
}
