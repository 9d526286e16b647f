import { ApiExtraModels, ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import type { Restrictions } from '@rollcall/domain';
import type { MemberListItem, MemberPage as MemberDocPage, MemberWithPermissions } from '@rollcall/read-store';
import { Access, EffectivePermissions, RESTRICTIONS_SCHEMA, Scopes, nullableString, ADDRESS_FORMAT } from '../shared/http/resources';
import { WriteAnswer } from '../shared/http/openapi';
import { Invitation, toInvitation } from '../invitations/resources';

/** A user's place in one workspace (docs/rules.md#concepts): profile, access and status. */
export class Member {
  @ApiProperty({ example: 'b5e0f4a2-6c1d-5f3e-9a7b-2d4c6e8f0a1b' })
  userId!: string;
  @ApiProperty({ example: '7c9e6679-7425-5de3-944b-e07fc1f90ae7' })
  workspaceId!: string;
  @ApiProperty(nullableString('the profile email (the organization\'s, the same in every workspace)', 'jane@acme.test', ADDRESS_FORMAT))
  email!: string | null;
  @ApiProperty(nullableString('display name', 'Jane Doe'))
  displayName!: string | null;
  @ApiProperty(nullableString('alias shown to contacts', 'Jane'))
  alias!: string | null;
  @ApiProperty(nullableString('avatar URL', 'https://cdn.acme.test/jane.png', 'uri'))
  avatarUrl!: string | null;
  @ApiProperty({ enum: ['active', 'revoked'], description: 'revoked members are listed with `status=revoked` only', example: 'active' })
  status!: 'active' | 'revoked';
  @ApiProperty({ type: [String], example: ['agent'] })
  roles!: string[];
  @ApiProperty(RESTRICTIONS_SCHEMA)
  restrictions!: Restrictions;
  @ApiProperty({ type: [String], example: [] })
  grants!: string[];
  @ApiProperty({ ...nullableString('when the invitation that made the member was sent; null for the workspace\'s creator', '2026-03-01T09:00:00.000Z'), format: 'date-time' })
  invitedAt!: string | null;
  @ApiProperty({ format: 'date-time', example: '2026-03-01T09:05:00.000Z' })
  joinedAt!: string;
  @ApiProperty({ ...nullableString('when access was revoked', null), format: 'date-time' })
  revokedAt!: string | null;
  @ApiProperty(nullableString('who revoked it (a member manager or an org admin: their user id); null while active', null))
  revokedBy!: string | null;
  @ApiProperty({ ...nullableString('when the user was last seen (presence)', null), format: 'date-time' })
  lastSeenAt!: string | null;
  @ApiProperty({ enum: ['online', 'away', 'offline'], example: 'offline' })
  presence!: 'online' | 'away' | 'offline';
  @ApiProperty({
    ...nullableString(
      'when a member manager set the member offline in a way that holds (rule 13): their heartbeats are refused `409 FORCED_OFFLINE` until one says `"resume": true`; null when not held',
      null,
    ),
    format: 'date-time',
  })
  heldOfflineSince!: string | null;
  @ApiProperty(nullableString('who set the member offline so (a user id: the member manager, or an org admin); null when not held', null))
  heldOfflineBy!: string | null;
  @ApiProperty({ type: [String], example: [], description: 'the teams of the workspace the member is in' })
  teamIds!: string[];
  @ApiProperty({ description: "an org admin: an owner's authority in every workspace of the organization besides the access above (rule 5)", example: false })
  orgAdmin!: boolean;
}

/** One member with what they can do now ("view as"). */
export class MemberDetail extends Member {
  @ApiProperty({ type: EffectivePermissions, nullable: true, description: 'null unless the member is active' })
  effectivePermissions!: EffectivePermissions | null;
}

const LIST_ITEM = {
  oneOf: [{ $ref: getSchemaPath(Member) }, { $ref: getSchemaPath(Invitation) }],
  discriminator: { propertyName: 'status', mapping: { active: getSchemaPath(Member), revoked: getSchemaPath(Member), pending: getSchemaPath(Invitation) } },
};

/** A page of the user list: members and pending invitations (told apart by `status`). */
@ApiExtraModels(Member, Invitation)
export class MemberPage {
  @ApiProperty({ type: 'array', items: LIST_ITEM, description: 'members (`active`, `revoked`) and pending invitations (`pending`)' })
  items!: (Member | Invitation)[];
  @ApiPropertyOptional({ description: 'pass as `cursor` for the next page; absent on the last page', example: 'eyJ2IjoiamFuZSBkb2UiLCJpZCI6…' })
  nextCursor?: string;
}

export const toMember = (doc: MemberListItem): Member => ({
  userId: doc.userId!,
  workspaceId: doc.workspaceId,
  email: doc.email,
  displayName: doc.displayName,
  alias: doc.alias,
  avatarUrl: doc.avatarUrl,
  status: doc.status as Member['status'],
  roles: doc.roles,
  restrictions: doc.restrictions,
  grants: doc.grants,
  invitedAt: doc.invitedAt,
  joinedAt: doc.joinedAt!,
  revokedAt: doc.revokedAt,
  // a document projected before members version 11 has none (the first start after the upgrade replays them)
  revokedBy: doc.revokedBy ?? null,
  lastSeenAt: doc.lastSeenAt,
  presence: doc.presence,
  // a document projected before members version 9 has none (the first start after the upgrade replays them)
  heldOfflineSince: doc.heldOfflineSince ?? null,
  heldOfflineBy: doc.heldOfflineBy ?? null,
  teamIds: doc.teamIds,
  orgAdmin: doc.orgAdmin === true,
});

/** A read-model document of the user list as its public resource (no storage key, kind, link version or sort key). */
export const toListItem = (doc: MemberListItem): Member | Invitation => (doc.kind === 'invitation' ? toInvitation(doc) : toMember(doc));

/**
 * Who a pending invitation is bound to is the organization's to know (its users are the org admins' to read: rule 5,
 * ADR 0023): to another reader (a member manager) it is null, as for an address no user held (probe 84 F2: a manager
 * learned from the list which addresses are the organization's users, and their ids, by inviting them). A member's
 * own row keeps its id: the member is the workspace's.
 */
export const withoutInvitee = (item: Member | Invitation): Member | Invitation => (item.status === 'pending' ? { ...item, userId: null } : item);
/** the same for the read model's documents (the CSV's rows) */
export const withoutInviteeDoc = <T extends { inviteeUserId?: string | null }>(doc: T): T => (doc.inviteeUserId ? { ...doc, inviteeUserId: null } : doc);

export const toMemberPage = (page: MemberDocPage): MemberPage => ({
  items: page.items.map(toListItem),
  ...(page.nextCursor !== undefined && { nextCursor: page.nextCursor }),
});

export const toMemberDetail = (doc: MemberWithPermissions): MemberDetail => ({ ...toMember(doc), effectivePermissions: doc.effectivePermissions });

/** Edit access (rule 10): what changed and the access now. */
export class AccessChanged extends WriteAnswer {
  @ApiProperty({ example: 'b5e0f4a2-6c1d-5f3e-9a7b-2d4c6e8f0a1b' })
  userId!: string;
  @ApiProperty({
    type: 'array',
    items: { type: 'string', enum: ['AccessLevelChanged', 'RestrictionsChanged', 'GrantsChanged'] },
    description: 'the kinds of change recorded, each once, in the order of their first event (none when the access was already so)',
    example: ['AccessLevelChanged'],
  })
  changed!: string[];
  @ApiProperty({ type: Access })
  access!: Access;
}

export class ReassignedContacts {
  @ApiProperty({ enum: ['unassigned', 'reassigned'], example: 'reassigned' })
  mode!: 'unassigned' | 'reassigned';
  @ApiPropertyOptional({ description: 'with `reassigned`: who received the contacts', example: 'c8e4b2a0-3d5f-5a6b-8c9d-0e1f2a3b4c5d' })
  toUserId?: string;
}

/** Revoke (rule 11): the member is gone from the workspace; their contacts went where this says. */
export class AccessRevoked extends WriteAnswer {
  @ApiProperty({ example: 'b5e0f4a2-6c1d-5f3e-9a7b-2d4c6e8f0a1b' })
  userId!: string;
  @ApiProperty({ type: ReassignedContacts })
  contacts!: ReassignedContacts;
}

export class ReplayBasis {
  @ApiProperty({ type: 'integer', example: 12 })
  eventsReplayed!: number;
  @ApiProperty({ ...nullableString("the position of the last event folded: what this answer rests on (the workspace's last event by then, not the change behind one member's access: the permission history names those)", '1042') })
  lastPosition!: string | null;
}

export class TeamAtTheTime {
  @ApiProperty({ example: '5f0c7a3e-2b1d-5c4e-8f9a-0b1c2d3e4f5a' })
  teamId!: string;
  @ApiProperty({ description: 'its name at that time', example: 'Tier 1' })
  name!: string;
}

/** The access a user had at a time, replayed from the event streams (rule 17). */
export class AccessAsOf {
  @ApiProperty({ example: 'b5e0f4a2-6c1d-5f3e-9a7b-2d4c6e8f0a1b' })
  userId!: string;
  @ApiProperty({ example: '7c9e6679-7425-5de3-944b-e07fc1f90ae7' })
  workspaceId!: string;
  @ApiProperty({ format: 'date-time', example: '2026-03-01T12:00:00.000Z' })
  asOf!: string;
  @ApiProperty({ enum: ['active', 'revoked', 'deleted', 'none'], description: '`none`: never a member by then', example: 'active' })
  status!: 'active' | 'revoked' | 'deleted' | 'none';
  @ApiProperty({ example: false })
  orgAdmin!: boolean;
  @ApiProperty({ type: [String], example: ['agent'] })
  roles!: string[];
  @ApiProperty(RESTRICTIONS_SCHEMA)
  restrictions!: Restrictions;
  @ApiProperty({ type: [String], example: [] })
  grants!: string[];
  @ApiProperty({ type: [String], example: ['messages', 'profile'] })
  permissions!: string[];
  @ApiProperty({ type: Scopes, nullable: true, description: 'the data scopes of an active member; null for one who held no access then (revoked, deleted, none)' })
  scopes!: Scopes | null;
  @ApiProperty({ type: [TeamAtTheTime], description: 'the teams the user was in at that time (team membership is access too, rule 14)' })
  teams!: TeamAtTheTime[];
  @ApiProperty({ type: ReplayBasis })
  basedOn!: ReplayBasis;
}
