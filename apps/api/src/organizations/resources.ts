import { QuotaUse } from '../shared/quota-use';
import { ApiProperty } from '@nestjs/swagger';
import { WriteAnswer } from '../shared/http/openapi';
import type { OrgUserInvitationView, OrgUserView, OrgUserWorkspaceView, OrgWorkspaceView } from './organization-reads';
import { ORG_CHANGES, type OrgChangeKind, type OrgChangeView } from './organization-changes';
import type { Restrictions } from '@rollcall/domain';
import { ADDRESS_FORMAT, RESTRICTIONS_SCHEMA, nullableString } from '../shared/http/resources';

export class OrganizationCreated extends WriteAnswer {
  @ApiProperty({ example: '1b671a64-40d5-591e-99b1-2c3b3a4f2d10' })
  organizationId!: string;
  @ApiProperty({ description: 'the first org admin', example: 'e2d1c0b9-a8f7-5e6d-9c4b-3a2f1e0d9c8b' })
  adminUserId!: string;
  @ApiProperty({
    description: "the organization's API key, shown only in this answer (a retry with the same Idempotency-Key answers it again); send it as `Authorization: Bearer <key>`",
    example: 'rk_1b671a64-40d5-591e-99b1-2c3b3a4f2d10_5d0e2f7a-1c3b-5e4d-8f6a-9b0c1d2e3f4a_…',
  })
  apiKey!: string;
}

class PendingEmailChange {
  @ApiProperty({ format: ADDRESS_FORMAT, example: 'ada.new@acme.test', description: 'the address the change would move to, once its link is opened' })
  email!: string;
  @ApiProperty({ format: 'date-time', description: 'when its link stops working' })
  expiresAt!: string;
  @ApiProperty({ description: 'its link has expired (as of the read): the change is requested again to send a link that works (probe 89 F4)', example: false })
  expired!: boolean;
  @ApiProperty({
    type: Boolean,
    nullable: true,
    description:
      "another user of the organization holds that address since (they confirmed it first): its link can only answer EMAIL_TAKEN; withdraw it, or ask for another address (probe 94 F4). null to the user reading their own entry: which addresses are the organization's users is the org admins' to know (probe 98 F1; the link's EMAIL_TAKEN tells the user once they open it)",
    example: false,
  })
  taken!: boolean | null;
  @ApiProperty(
    nullableString(
      "when the mail with its link was handed to the mail relay, as the read models know it (the mail's record follows the change in the log, and reaches this read a moment later: the change's answer said at once what became of it, as `mail`); null: not yet, or not known — the relay refused it or is unreachable (the mail dispatcher tries again), or it was refused for good (`mailRefusedAt`) (probe 106 F5)",
      '2026-03-01T09:00:01.000Z',
      'date-time',
    ),
  )
  mailedAt!: string | null;
  @ApiProperty(nullableString("when the mail relay refused its link's mail for good (a 5xx reply, such as an unknown address): not tried again — ask for another address; null: it did not (probe 101 F4)", null, 'date-time'))
  mailRefusedAt!: string | null;
}

/** An organization's user, as its org admins see them (rule 5); a deleted user's personal fields are null (rule 12). */
export class OrgUser implements OrgUserView {
  @ApiProperty({ example: 'e2d1c0b9-a8f7-5e6d-9c4b-3a2f1e0d9c8b' })
  userId!: string;
  @ApiProperty({ type: String, nullable: true, format: ADDRESS_FORMAT, example: 'ada@acme.test' })
  email!: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'Ada Lovelace' })
  displayName!: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'Ada' })
  alias!: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'https://cdn.acme.test/ada.png' })
  avatarUrl!: string | null;
  @ApiProperty({ description: 'an org admin (rule 5)' })
  orgAdmin!: boolean;
  @ApiProperty({ description: 'deleted (rule 12): kept under their pseudonymous id, every personal field null' })
  deleted!: boolean;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'when they were deleted; null while they are not' })
  deletedAt!: string | null;
  @ApiProperty({ type: String, nullable: true, description: "who deleted them: an org admin's user id, or `system` (the operator, the organization's closing); null while they are not, and for deletions recorded before 2026-12-07 (the organization's changes, `user_deleted`, name who)", example: null })
  deletedBy!: string | null;
  @ApiProperty({ format: 'date-time' })
  joinedAt!: string;
  @ApiProperty({ type: PendingEmailChange, nullable: true, description: 'an email change requested and not confirmed yet (rule 10)' })
  pendingEmail!: PendingEmailChange | null;
  @ApiProperty({
    type: String,
    format: 'date',
    nullable: true,
    description:
      'the last day (UTC) a request made in their name (X-Actor-Id, or a message\'s actorId, with an organization key) succeeded — any read or write, over HTTP or a message pattern; an org admin with no membership and a user acting only through the API too. null: never since session 54. Kept to the day, beside the log (docs/adr/0036); chat presence is the member list\'s `lastSeenAt`',
    example: '2026-12-06',
  })
  lastActiveOn!: string | null;
}

export class OrgUserList {
  @ApiProperty({ type: [OrgUser], description: 'in the order they joined the organization' })
  items!: OrgUser[];
  @ApiProperty({ type: String, nullable: true, description: 'send it as `after` for the next page; null: this was the last' })
  next!: string | null;
}

class OrgUserWorkspace implements OrgUserWorkspaceView {
  @ApiProperty({ example: '7c9e6679-7425-5de3-944b-e07fc1f90ae7' })
  workspaceId!: string;
  @ApiProperty({ example: 'Support' })
  name!: string;
  @ApiProperty({ enum: ['active', 'revoked', 'deleted'], description: "a deleted user's memberships read `deleted`, with no roles (rule 12), as the access at T tells it" })
  status!: 'active' | 'revoked' | 'deleted';
  @ApiProperty({ type: [String], example: ['agent'] })
  roles!: string[];
  @ApiProperty({ ...RESTRICTIONS_SCHEMA, description: 'the restrictions of the membership (rule 1); none once deleted' })
  restrictions!: Restrictions;
  @ApiProperty({ type: [String], example: [], description: "the grants of the membership: under the `permissions` model every member's role reads `member`, and the grants say what they may do (`users`: an owner, rule 4); none once deleted" })
  grants!: string[];
  @ApiProperty({ format: 'date-time' })
  joinedAt!: string;
  @ApiProperty(nullableString("a revoked membership's: when it was revoked; null while active, and for a membership the user's deletion ended (`deletedAt`)", '2026-03-05T09:00:00.000Z', 'date-time'))
  revokedAt!: string | null;
  @ApiProperty(nullableString("a revoked membership's: who revoked it (a user id, or 'system'); null as revokedAt", '7c1e4b2a-9d3f-4e5a-8b6c-1d2e3f4a5b6c'))
  revokedBy!: string | null;
}

class OrgUserInvitation implements OrgUserInvitationView {
  @ApiProperty({ example: '7c9e6679-7425-5de3-944b-e07fc1f90ae7' })
  workspaceId!: string;
  @ApiProperty({ example: 'Sales' })
  name!: string;
  @ApiProperty({ example: '0b7e2d5c-1f4a-5e6b-8c9d-0e1f2a3b4c5d', description: 'GET /v1/workspaces/{workspaceId}/invitations/{invitationId} reads it; its history: …/history?invitationId=' })
  invitationId!: string;
  @ApiProperty({ type: [String], example: ['agent'], description: 'the access they get by accepting it' })
  roles!: string[];
  @ApiProperty({ ...RESTRICTIONS_SCHEMA, description: 'the restrictions they get by accepting it' })
  restrictions!: Restrictions;
  @ApiProperty({ type: [String], example: [] })
  grants!: string[];
  @ApiProperty({ format: 'date-time' })
  invitedAt!: string;
  @ApiProperty({ format: 'date-time', description: 'when its current link stops working' })
  expiresAt!: string;
  @ApiProperty({ description: 'its current link is past expiresAt: resend it, or cancel it' })
  expired!: boolean;
  @ApiProperty(nullableString("who sent it: a user id, or 'system' (the system key)", '7c1e4b2a-9d3f-4e5a-8b6c-1d2e3f4a5b6c'))
  invitedBy!: string | null;
}

export class OrgUserDetail extends OrgUser {
  @ApiProperty({ type: [OrgUserWorkspace], description: 'each workspace they are (active) or were (revoked) a member of; pending invitations are not memberships (`invitations`)' })
  workspaces!: OrgUserWorkspace[];
  @ApiProperty({ type: String, nullable: true, description: 'with `limit`: when the page is full and workspaces of the organization are left to look through, send it as `after` for the next page (which may be empty); null: none are left (always null without `limit`)' })
  workspacesNext!: string | null;
  @ApiProperty({
    type: [OrgUserInvitation],
    description:
      "the invitations pending for them (expired ones included) in workspaces they are no active member of: an invitation to an existing user's address is bound to them (rule 8), whatever address they hold since. With `limit`, those of the workspaces this page looked through (up to its last membership; to the end on the last page); none for a deleted user (their deletion cancelled them)",
  })
  invitations!: OrgUserInvitation[];
}

class OrgWorkspace implements OrgWorkspaceView {
  @ApiProperty({ example: '7c9e6679-7425-5de3-944b-e07fc1f90ae7' })
  workspaceId!: string;
  @ApiProperty({ example: 'Support' })
  name!: string;
  @ApiProperty({ enum: ['standard', 'advanced', 'enterprise'] })
  plan!: string;
  @ApiProperty({ enum: ['levels', 'permissions', 'studio'] })
  accessModel!: string;
  @ApiProperty({ format: 'date-time' })
  createdAt!: string;
}

export class OrgWorkspaceList {
  @ApiProperty({ type: [OrgWorkspace], description: 'oldest first' })
  items!: OrgWorkspace[];
  @ApiProperty({ type: String, nullable: true, description: 'with `limit`: send it as `after` for the next page; null: this was the last (always null without `limit`)' })
  next!: string | null;
  @ApiProperty({ type: QuotaUse, description: "the organization's workspaces and their quota (ROLLCALL_MAX_WORKSPACES_PER_ORGANIZATION)" })
  quota!: QuotaUse;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'when the operator began closing the organization (docs/rules.md "Closing an organization"); null: open' })
  closingSince!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'when it was closed; null: open, or being closed' })
  closedAt!: string | null;
}

/** One change of the organization's own stream (docs/rules.md "The organization's changes"). */
class OrgChange implements OrgChangeView {
  @ApiProperty({ enum: ORG_CHANGES, example: 'api_key_revoked' })
  change!: OrgChangeKind;
  @ApiProperty({ format: 'date-time', description: 'when the change was decided' })
  at!: string;
  @ApiProperty({ type: String, nullable: true, description: 'who made it: the X-Actor-Id of its request (an invitee accepting, the user themselves); `system` for a change made with the system key (the organization\'s creation, its first key); null where nobody is named', example: 'e2d1c0b9-a8f7-5e6d-9c4b-3a2f1e0d9c8b' })
  actorId!: string | null;
  @ApiProperty({ type: String, nullable: true, description: "the organization API key of its request; null: the system key, an invitation or email-change link, or a change made before session 52", example: 'k_2f9c1d7e' })
  apiKeyId!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'its request: the X-Request-Id (or the id the server gave it), as the permission history has it' })
  correlationId!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'the user it is about: user_joined, profile_updated, email_change_*, org_admin_*, user_deleted' })
  userId!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'the workspace it is about: workspace_created, user_joined through an invitation to it (since session 61; null before), and data_exported of a workspace\'s download (its user list, history or presence report); null otherwise (an organization\'s download: its users, its members)' })
  workspaceId!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'api_key_issued, api_key_revoked, api_key_label_changed: the key (as the key list names it; a revoked key is listed with `include=revoked`)' })
  keyId!: string | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description:
      'organization_created {name}; user_joined {orgAdmin, invitationId: the invitation accepted, null for the first admin and before session 61}; workspace_created {name, plan, accessModel, ownerUserId}; profile_updated {fields}: the names of the fields changed, not their values; email_change_requested {version, expiresAt}; email_change_confirmed, email_change_withdrawn {version}; user_deleted {workspaceIds}; address_erased {erasureId, workspaceIds}; api_key_issued {label}; api_key_label_changed {label, previousLabel}; data_exported {what: members, history, presence, org_users or personal_data} (with workspaceId or userId); null otherwise. Nothing personal: names and addresses are the user\'s profile (GET …/users/{userId}), erased with them',
  })
  details!: Record<string, unknown> | null;
  @ApiProperty()
  eventId!: string;
  @ApiProperty({ type: String, description: "the event's position in the log: GET /v1/audit/proofs/inclusion?position= proves it", example: '1042' })
  position!: string;
  @ApiProperty({ type: String, description: "its revision in the organization's stream", example: '17' })
  revision!: string;
}

export class OrgChangeList {
  @ApiProperty({ type: [OrgChange], description: 'in the order of the organization\'s stream (`direction`)' })
  items!: OrgChange[];
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'send it as `after` for the next page; null: none left as of this read. With `change`, a page looks through at most 5,000 changes: it may hold fewer items than `limit`, or none, and a `next`',
  })
  next!: string | null;
}
