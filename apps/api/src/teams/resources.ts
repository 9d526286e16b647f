import { QuotaUse } from '../shared/quota-use';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { WriteAnswer } from '../shared/http/openapi';
import { nullableString } from '../shared/http/resources';

const TEAM_ID = { example: '3f6c2a1e-9b7d-5c4e-8a2f-1d0e9c8b7a65' };
const USER_ID = { example: 'b5e0f4a2-6c1d-5f3e-9a7b-2d4c6e8f0a1b' };
const WORKSPACE_ID = { example: '7c9e6679-7425-5de3-944b-e07fc1f90ae7' };

/** Whose a partner team is: a networked workspace, possibly of another organization (rule 16). */
export class PartnerWorkspace {
  @ApiProperty(WORKSPACE_ID)
  workspaceId!: string;
  @ApiProperty(nullableString("the partner workspace's name", 'Partner support'))
  workspaceName!: string | null;
}

/** A team in the team list (rule 15): an own team, or a visible partner team (with `partner`). */
export class Team {
  @ApiProperty(TEAM_ID)
  teamId!: string;
  @ApiProperty({ example: 'Night shift' })
  name!: string;
  @ApiProperty({ type: 'integer', example: 12 })
  memberCount!: number;
  @ApiProperty({ description: 'own teams: offered to at least one network partner; partner teams: always true', example: false })
  shared!: boolean;
  @ApiPropertyOptional({
    type: [PartnerWorkspace],
    description: "own teams only: the network partners it is offered to now, in the order they got it (rule 16); never on a partner's team",
  })
  sharedWith?: PartnerWorkspace[];
  @ApiPropertyOptional({
    enum: [true],
    description: 'own teams shared before session 62 with every partner, present and future: a partner linked later is offered it too, until its sharing is next changed',
  })
  sharedWithEveryPartner?: true;
  @ApiPropertyOptional({ type: PartnerWorkspace, description: 'present on a partner team' })
  partner?: PartnerWorkspace;
}

export class TeamList {
  @ApiProperty({ type: [Team], description: 'own teams by name (`limit` a page, 500 unless fewer asked), then, on the last page, the visible partner teams by name' })
  items!: Team[];
  @ApiPropertyOptional({ description: 'the `cursor` of the next page; absent on the last one (since session 49: the list was one answer, 27,000 teams held the event loop ~1.5 s: probe 59)' })
  nextCursor?: string;
  @ApiProperty({ type: QuotaUse, description: "the workspace's own teams and their quota (ROLLCALL_MAX_TEAMS_PER_WORKSPACE)" })
  quota!: QuotaUse;
}

/** A team a partner shares with the workspace, and whether the workspace chose to see it (rule 16). */
export class OfferedTeam {
  @ApiProperty(TEAM_ID)
  teamId!: string;
  @ApiProperty({ example: 'Experts' })
  name!: string;
  @ApiProperty({ type: 'integer', example: 4 })
  memberCount!: number;
  @ApiProperty({ description: 'the workspace chose to see it', example: true })
  visible!: boolean;
  @ApiProperty({
    description:
      'the partner shares it now. A team the workspace chose and the partner unshared since is listed with `shared: false`: the choice outlives the unsharing (it shows again once shared again) and can be withdrawn meanwhile',
    example: true,
  })
  shared!: boolean;
  @ApiProperty({ type: PartnerWorkspace })
  partner!: PartnerWorkspace;
}

export class OfferedTeamList {
  @ApiProperty({ type: [OfferedTeam] })
  items!: OfferedTeam[];
}

/** A team member as the invite lookup gives them (rule 15): who and their presence; never an email or access. */
export class Invitee {
  @ApiProperty(USER_ID)
  userId!: string;
  @ApiProperty(nullableString('display name', 'Jane Doe'))
  displayName!: string | null;
  @ApiProperty(nullableString('alias', 'JD'))
  alias!: string | null;
  @ApiProperty(nullableString('avatar URL', 'https://cdn.acme.test/jane.png'))
  avatarUrl!: string | null;
  @ApiProperty({ enum: ['online', 'away', 'offline'], example: 'online' })
  presence!: 'online' | 'away' | 'offline';
  @ApiProperty(nullableString('when the member was last seen (null: never)', '2026-03-01T09:05:00.000Z', 'date-time'))
  lastSeenAt!: string | null;
}

/** The team invite lookup: the team's active members with presence, for a chat router to notify (rule 15). */
export class TeamInvitees {
  @ApiProperty(TEAM_ID)
  teamId!: string;
  @ApiProperty({ example: 'Night shift' })
  name!: string;
  @ApiPropertyOptional({ type: PartnerWorkspace, description: 'present when the team is a partner\'s' })
  partner?: PartnerWorkspace;
  @ApiProperty({ type: [Invitee], description: 'by display name' })
  items!: Invitee[];
  @ApiPropertyOptional({ description: 'asked in pages (`limit`): the `cursor` of the next page; absent on the last one' })
  nextCursor?: string;
}

export class TeamCreated extends WriteAnswer {
  @ApiProperty(TEAM_ID)
  teamId!: string;
  @ApiProperty({ description: 'the name as stored (trimmed)', example: 'Night shift' })
  name!: string;
  @ApiProperty({ example: true })
  changed!: boolean;
}

/** A team command's answer: `changed` is false when things already were as asked (PUT and DELETE are idempotent). */
export class TeamChanged extends WriteAnswer {
  @ApiProperty(TEAM_ID)
  teamId!: string;
  @ApiProperty({ example: true })
  changed!: boolean;
  @ApiPropertyOptional({ description: 'rename: the name now', example: 'Night shift' })
  name?: string;
  @ApiPropertyOptional({ description: 'member commands: the member', ...USER_ID })
  userId?: string;
  @ApiPropertyOptional({ description: 'sharing: shared (true) or not (false) with the partners asked', example: true })
  shared?: boolean;
  @ApiPropertyOptional({ type: [String], description: 'sharing: the partners this change reached (empty when nothing changed, or when a team shared before session 62 with every partner stops being so where no partner is linked now)', example: ['9b2e4c6d-8f1a-5b3c-9d5e-7f0a1b2c3d4e'] })
  partnerWorkspaceIds?: string[];
  @ApiPropertyOptional({ description: 'partner team visibility: visible now', example: true })
  visible?: boolean;
}

export class NetworkChanged extends WriteAnswer {
  @ApiProperty(WORKSPACE_ID)
  workspaceId!: string;
  @ApiProperty({ example: 'a3bb189e-8bf9-5888-9912-ace4e6543002' })
  partnerWorkspaceId!: string;
  @ApiProperty({ description: 'linked (true) or unlinked (false) now', example: true })
  networked!: boolean;
}
