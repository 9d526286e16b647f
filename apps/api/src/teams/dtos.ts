import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, Matches, MaxLength, ValidateIf } from 'class-validator';
import { FoldsIdCase, ID_PATTERN, PageLimit } from '../shared/http/dtos';

/** The name is checked by the domain after trimming (1 to 80 characters, unique ignoring case); here only its type and a bound. */
export class TeamNameDto {
  // the document says the domain's limit (a generated client then checks it; the pipe's bound below is looser: probe 45b F2)
  @ApiProperty({ description: 'trimmed; 1 to 80 characters; unique in the workspace ignoring case', example: 'Night shift', minLength: 1, maxLength: 80 })
  @IsString()
  // a bound before the domain's check (80 after trimming), which it names (probe 36b: "at most 1000 characters")
  @MaxLength(1000, { message: 'name must be at most 80 characters (after trimming)' })
  name!: string;
}

export class TeamSharingDto {
  @ApiProperty({ description: 'offer the team to the partner named, or to every partner linked now (true), or stop (false)', example: true })
  @IsBoolean()
  shared!: boolean;

  @ApiPropertyOptional({
    description:
      'the network partner to share it with or stop sharing it with; omitted: every partner linked now (a partner the operator links later is not offered it until shared with)',
    example: '9b2e4c6d-8f1a-5b3c-9d5e-7f0a1b2c3d4e',
  })
  // null is refused, not read as "every partner" (probe 102 F1: it was taken as a workspace named "null")
  @ValidateIf((_, value) => value !== undefined)
  @IsString({ message: 'partnerWorkspaceId must be a workspace id (omit it for every partner)' })
  @Matches(ID_PATTERN, { message: 'must be a workspace id' })
  @FoldsIdCase()
  partnerWorkspaceId?: string;
}

export class PartnerTeamVisibilityDto {
  @ApiProperty({ description: 'see this shared partner team in the team list and invite lookup (true) or not (false)', example: true })
  @IsBoolean()
  visible!: boolean;
}

export class NetworkDto {
  @ApiProperty({ description: 'the workspace to link with; it may belong to another organization', example: '7c9e6679-7425-5de3-944b-e07fc1f90ae7' })
  @IsString()
  @Matches(ID_PATTERN, { message: 'must be a workspace id' })
  @FoldsIdCase()
  partnerWorkspaceId!: string;
}

/** The team list in pages (probe 59): 500 own teams a page unless fewer are asked, the visible partner teams on the last. */
export class TeamsQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 500, description: 'own teams per page (default 500)' })
  @PageLimit(500)
  limit?: number;

  @ApiPropertyOptional({ description: "nextCursor of the previous page of this workspace's team list" }) @IsOptional() @IsString() @MaxLength(1000) cursor?: string;
}

/** The invite lookup in pages (probe 42 F5): without `limit`, the whole team in one answer, as before. */
export class InviteesQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 1000, description: 'invitees per page; without it, every one in one answer' })
  @PageLimit(1000)
  limit?: number;

  @ApiPropertyOptional({ description: "nextCursor of the previous page of this team's lookup (with `limit`); another team's is 400 on the field cursor" }) @IsOptional() @IsString() @MaxLength(1000) cursor?: string;
}
