import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { HISTORY_CHANGES, type HistoryEntryDoc, type HistoryPage as HistoryDocPage, publicDetails } from '@rollcall/read-store';
import { Access, nullableString, ADDRESS_FORMAT } from '../shared/http/resources';
import { ReassignedContacts } from '../members/resources';

/** Change-specific facts: the link's expiry for invitations, where the contacts went for a revoke, the team for team changes, the partner, the plan. */
export class HistoryDetails {
  @ApiPropertyOptional({ format: 'date-time', description: 'invited, invitation_resent, invitation_link_copied: when that link expires', example: '2026-03-03T09:00:00.000Z' })
  expiresAt?: string;
  @ApiPropertyOptional({ type: ReassignedContacts, description: 'revoked: where the member\'s contacts went' })
  contacts?: ReassignedContacts;
  @ApiPropertyOptional({ description: 'added_to_team, removed_from_team, team_*, partner_team_shown, partner_team_hidden: the team', example: '5f0c7a3e-2b1d-5c4e-8f9a-0b1c2d3e4f5a' })
  teamId?: string;
  @ApiPropertyOptional({ type: String, nullable: true, description: "added_to_team, removed_from_team, team_*: the team's name then (team_renamed: the new one); partner_team_shown, partner_team_hidden: the partner team's name as shared then (absent on entries before session 58, and on hiding a team its partner no longer has: probe 91 F4)", example: 'Tier 1' })
  teamName?: string | null;
  @ApiPropertyOptional({ description: 'team_renamed: the name before', example: 'Tier one' })
  previousName?: string;
  @ApiPropertyOptional({ description: 'partner_linked, partner_unlinked, partner_team_shown, partner_team_hidden: the partner workspace', example: '9a8b7c6d-5e4f-5a3b-8c2d-1e0f9a8b7c6d' })
  partnerWorkspaceId?: string;
  @ApiPropertyOptional({ description: "partner_linked, partner_unlinked: the partner workspace's organization", example: '3c2b1a09-8f7e-5d6c-9b5a-4f3e2d1c0b9a' })
  partnerOrganizationId?: string;
  @ApiPropertyOptional({
    type: [String],
    description: 'team_shared, team_unshared: the partner workspaces the change reached (since session 62: docs/adr/0040; absent before, when a team was shared with every partner, present and future)',
    example: ['9a8b7c6d-5e4f-5a3b-8c2d-1e0f9a8b7c6d'],
  })
  partnerWorkspaceIds?: string[];
  @ApiPropertyOptional({ enum: ['standard', 'advanced', 'enterprise'], description: 'plan_changed: the plan before' })
  before?: string;
  @ApiPropertyOptional({ enum: ['standard', 'advanced', 'enterprise'], description: 'plan_changed: the plan since' })
  plan?: string;
  @ApiPropertyOptional({
    enum: ['command', 'revoke', 'deletion', 'team_deleted', 'workspace_created', 'address_erased'],
    description:
      "added_to_team, removed_from_team: why (a team command, or as a consequence of a revoke, a user deletion or the team deleted); org_admin_revoked: `deletion` when the org admin was deleted; org_admin_granted: `workspace_created` for each org admin when the workspace was created; joined: `workspace_created` for its creator (since permission_history version 11); invitation_cancelled: `command` (a member manager's cancel), `deletion` (the user it was bound to, or whose address it went to, deleted: rule 12) or `address_erased` (its address erased), since permission_history version 9",
    example: 'command',
  })
  reason?: string;
  @ApiPropertyOptional({ type: String, nullable: true, description: "joined: who sent the invitation (its `invited` entry's actorId; a resend by another member is its own `invitation_resent` entry, with their key): the joiner is the entry's actor, as they used the link; null when the system key sent it (since permission_history version 11)", example: 'e2d1c0b9-a8f7-5e6d-9c4b-3a2f1e0d9c8b' })
  invitedBy?: string | null;
  @ApiPropertyOptional({ type: String, nullable: true, description: "joined: the organization API key the invitation was sent with (its `invited` entry's apiKeyId); null for the system key (since permission_history version 11)", example: 'k_2f9c1d7e' })
  invitedWithKey?: string | null;
}

/** One change of the permission history (docs/rules.md#rule-17): who, what before and after, by whom, when. */
export class HistoryEntry {
  @ApiProperty({ description: 'the position of the event in the global log (log order; usable as X-Min-Position)', example: '1042' })
  position!: string;
  @ApiProperty({ format: 'uuid', description: 'the event recorded', example: '0195a1c2-7d4e-7c1a-9b1e-3f1d2c4b5a69' })
  eventId!: string;
  @ApiProperty({ format: 'date-time', description: 'when it happened', example: '2026-03-01T09:05:00.000Z' })
  at!: string;
  @ApiProperty({
    enum: HISTORY_CHANGES,
    example: 'roles_changed',
    description: "a member's access (invited … org_admin_revoked), or the workspace's own changes, which name no member: team_created, team_renamed, team_deleted, team_shared, team_unshared, partner_team_shown, partner_team_hidden, partner_linked, partner_unlinked, plan_changed (since permission_history version 8)",
  })
  change!: string;
  @ApiProperty({ example: '7c9e6679-7425-5de3-944b-e07fc1f90ae7' })
  workspaceId!: string;
  @ApiProperty(nullableString('the member; on invitation entries the user who accepted the invitation, null while none did (then invitationId and email say who) — but once the user an invitation was bound to (rule 8: their address when it was sent) is deleted, them: its address is erased with them, and their id is what finds it (probe 33 F10); null on the workspace\'s own changes (team_*, partner_*, plan_changed)', 'b5e0f4a2-6c1d-5f3e-9a7b-2d4c6e8f0a1b'))
  userId!: string | null;
  @ApiProperty(nullableString('the invitation, on invitation entries and on the join it led to', null))
  invitationId!: string | null;
  @ApiProperty({ ...nullableString('the invited address, on invitation entries only; erased (null) when that user is deleted', null), format: ADDRESS_FORMAT })
  email!: string | null;
  @ApiProperty(nullableString('who made the change (null when the system did)', 'e2d1c0b9-a8f7-5e6d-9c4b-3a2f1e0d9c8b'))
  actorId!: string | null;
  @ApiProperty(
    nullableString(
      "the request that made the change: its `X-Request-Id` (or the id the server gave it, echoed in the answer's `X-Request-Id`), the same on every entry of one request (so one edit's several entries are told apart from separate changes); null on entries recorded before session 52's version of the read model replayed them",
      'req-bob-reporting-s02',
    ),
  )
  correlationId!: string | null;
  @ApiProperty(nullableString('the id of the organization API key the request was made with (`GET /v1/organizations/{org}/api-keys` lists the keys not revoked: a revoked key leaves that list, its id stays here); null for the system key, an invitation link, or a change made before session 52', 'k_2f9c1d7e'))
  apiKeyId!: string | null;
  @ApiProperty({ type: Access, nullable: true, description: 'the access before (null: none)' })
  before!: Access | null;
  @ApiProperty({ type: Access, nullable: true, description: 'the access after (null: none, e.g. revoked)' })
  after!: Access | null;
  @ApiProperty({ type: HistoryDetails, nullable: true })
  details!: HistoryDetails | null;
}

export class HistoryPage {
  @ApiProperty({ type: [HistoryEntry] })
  items!: HistoryEntry[];
  @ApiPropertyOptional({ description: 'pass as `cursor` for the next page; absent on the last page', example: 'eyJ2IjoxMDQyLCJpZCI6…' })
  nextCursor?: string;
}

/** A permission-history document as its public resource (no storage key, time-order key or organization). */
export const toHistoryEntry = (doc: HistoryEntryDoc): HistoryEntry => ({
  position: String(doc.position),
  eventId: doc.eventId,
  at: doc.at,
  change: doc.change,
  workspaceId: doc.workspaceId,
  userId: doc.userId,
  invitationId: doc.invitationId,
  email: doc.email,
  actorId: doc.actorId,
  // documents projected before version 7 have neither (the first start after the upgrade replays them)
  correlationId: doc.correlationId ?? null,
  apiKeyId: doc.apiKeyId ?? null,
  before: doc.before,
  after: doc.after,
  details: publicDetails(doc.details) as HistoryDetails | null,
});

export const toHistoryPage = (page: HistoryDocPage): HistoryPage => ({
  items: page.items.map(toHistoryEntry),
  ...(page.nextCursor !== undefined && { nextCursor: page.nextCursor }),
});
