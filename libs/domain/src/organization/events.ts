import type { Event } from '../shared/events';
import type { AccessModelName, Plan } from '../access-model';

export type OrganizationCreated = Event<'OrganizationCreated', { organizationId: string; name: string; createdAt: string }>;

/** A person becomes an org user: on organization creation (first admin) or when accepting an invitation with a new email. */
export type UserJoinedOrganization = Event<
  'UserJoinedOrganization',
  {
    organizationId: string;
    userId: string;
    email: string;
    displayName: string;
    orgAdmin: boolean;
    joinedAt: string;
    /** the workspace and invitation they joined through (absent: the organization's first admin, or before session 61) */
    workspaceId?: string;
    invitationId?: string;
  }
>;

/**
 * A workspace is created inside its organization's stream: the organization is the consistency boundary
 * that knows its workspaces (so deleting a user can check every one) and its admins (rule 5).
 */
export type WorkspaceCreated = Event<
  'WorkspaceCreated',
  {
    organizationId: string;
    workspaceId: string;
    name: string;
    plan: Plan;
    accessModel: AccessModelName;
    /** the creating org admin, who becomes the workspace's first owner */
    ownerUserId: string;
    createdAt: string;
  }
>;

export interface ProfileChanges {
  displayName?: string;
  alias?: string | null;
  avatarUrl?: string | null;
  email?: string;
}

export type UserProfileUpdated = Event<
  'UserProfileUpdated',
  { organizationId: string; userId: string; changes: ProfileChanges; updatedAt: string }
>;

/**
 * A user (or an org admin for them) asked to change the user's email. It takes effect only when the link mailed to
 * the new address is opened (EmailChangeConfirmed), so nobody can claim an address they cannot read
 * (docs/rules.md#rule-10). `version` numbers the requests of one user: only the latest link works.
 */
export type EmailChangeRequested = Event<
  'EmailChangeRequested',
  /**
   * `requestedBy`: who asked (the user themself, or an org admin); absent in requests recorded before session 69, read
   * then as the metadata's actor (upcasting.ts)
   */
  { organizationId: string; userId: string; email: string; version: number; requestedAt: string; expiresAt: string; requestedBy?: string }
>;

/** The new address was confirmed through its link: the user's email changes. */
export type EmailChangeConfirmed = Event<
  'EmailChangeConfirmed',
  { organizationId: string; userId: string; email: string; version: number; confirmedAt: string }
>;

/**
 * A pending email change was withdrawn: its user (or an org admin) asked for the address the user has. `version`
 * numbers it among the user's email changes, so the withdrawn change's link no longer works (docs/rules.md#rule-10).
 * No personal data: the address is the one the user keeps.
 */
export type EmailChangeWithdrawn = Event<'EmailChangeWithdrawn', { organizationId: string; userId: string; version: number; withdrawnAt: string }>;

/**
 * A user becomes an org admin (`orgAdmin: true`), with an owner's authority in every workspace of the organization
 * (rule 5), or is no longer one. Decided by another org admin (users/org-admin.ts).
 */
export type OrgAdminChanged = Event<'OrgAdminChanged', { organizationId: string; userId: string; orgAdmin: boolean; changedAt: string }>;

/** The user leaves the organization and every workspace; their personal data is erased (crypto-shredding). */
export type UserDeleted = Event<
  'UserDeleted',
  /** `deletedBy`: who deleted them (an org admin's id, or `system`); absent in deletions recorded before 2026-12-07 */
  { organizationId: string; userId: string; workspaceIds: string[]; deletedAt: string; deletedBy?: string }
>;

/**
 * An address only invited (never a user's) erased on an org admin's request, with its invitations in `workspaceIds`
 * (each gets an InvitationAddressErased in the same atomic append): its data key is forgotten (crypto-shredding), as a
 * deletion forgets a user's. `erasureId` names the erasure (its record, PersonalDataErased); nothing personal here.
 */
export type AddressErased = Event<'AddressErased', { organizationId: string; erasureId: string; workspaceIds: string[]; erasedAt: string }>;

/**
 * An organization API key. Only a SHA-256 hash of the key's 256-bit random secret is recorded: the key itself is
 * returned once to the caller and never stored. Keeping the hash in the log makes keys survive read-model rebuilds.
 */
export type ApiKeyIssued = Event<
  'ApiKeyIssued',
  // label: what the key is for, named by its issuer (probe 37's "which key is which"); absent: none (and before session 38).
  // issuedBy: the org admin who issued it, or `system` (the operator, and every organization's first key); absent before
  // session 54 (probe 75 F4), where the event's metadata still names the actor (`…/changes`)
  { organizationId: string; keyId: string; secretHash: string; issuedAt: string; label?: string; issuedBy?: string }
>;

/**
 * An organization API key withdrawn (a leaked one, or the old one of a rotation): it authenticates nothing from then on.
 * `revokedBy`: the org admin, or `system`; absent before session 54 (the metadata names the actor).
 */
export type ApiKeyRevoked = Event<'ApiKeyRevoked', { organizationId: string; keyId: string; revokedAt: string; revokedBy?: string }>;

/**
 * A key's label set again (probe 75 F4: the first key had none, and no key's could be changed): what it is for, as an
 * org admin now names it; `previousLabel` null when it had none.
 */
export type ApiKeyLabelChanged = Event<
  'ApiKeyLabelChanged',
  { organizationId: string; keyId: string; label: string; previousLabel: string | null; changedAt: string }
>;

/**
 * The operator began closing the organization (the customer's contract ended: docs/adr/0035): from here on nothing is
 * decided in it but the deletions of its users and the erasures of its invited addresses that close it; every API key
 * is revoked in the same append.
 */
export type OrganizationClosing = Event<'OrganizationClosing', { organizationId: string; startedAt: string }>;

/** Every user of the organization deleted and every invited address erased: the organization is closed for good. */
export type OrganizationClosed = Event<'OrganizationClosed', { organizationId: string; closedAt: string }>;

/** what a download held (probe 69 F9: "who downloaded our user list?" had no answer the customer could read) */
export type ExportedData = 'members' | 'history' | 'presence' | 'org_users' | 'personal_data';

/**
 * A download of personal data was handed out: a workspace's user list, history or presence report as CSV, the
 * organization's users as CSV, or one user's personal data file. Not a decision: a record appended with no expected
 * revision before the download's first byte (none is handed out unrecorded), listed by the organization's changes with
 * who (metadata) and which workspace or user it held. Nothing personal: ids only.
 */
export type DataExported = Event<
  'DataExported',
  { organizationId: string; what: ExportedData; workspaceId?: string; userId?: string; exportedAt: string }
>;

export type OrganizationEvent =
  | OrganizationCreated
  | ApiKeyIssued
  | ApiKeyRevoked
  | ApiKeyLabelChanged
  | UserJoinedOrganization
  | WorkspaceCreated
  | UserProfileUpdated
  | EmailChangeRequested
  | EmailChangeConfirmed
  | EmailChangeWithdrawn
  | OrgAdminChanged
  | UserDeleted
  | AddressErased
  | OrganizationClosing
  | OrganizationClosed
  | DataExported;
