import type { Event } from '../shared/events';
import type { Access, Restrictions } from '../access-model';
import type { TeamEvent } from '../teams/events';
import type { AddressKey } from '../personal-data';
import type { WorkspacePlanChanged } from './plan';

/** v1 (first release) carried a single `role`; v2 carries the whole access. Upcast in ../upcasting.ts. */
export type UserInvitedV1 = Event<
  'UserInvited',
  {
    workspaceId: string;
    organizationId: string;
    invitationId: string;
    email: string;
    role: string;
    invitedAt: string;
    expiresAt: string;
  },
  1
>;

export type UserInvited = Event<
  'UserInvited',
  {
    workspaceId: string;
    organizationId: string;
    invitationId: string;
    email: string;
    access: Access;
    invitedAt: string;
    expiresAt: string;
    /**
     * The link's version. The link itself is `invitationId.linkVersion.HMAC(server secret)`: the server can
     * recompute it ("copy link") and verify it, and no secret is ever stored in an event.
     */
    linkVersion: number;
    /**
     * The org user the address belonged to when the invitation was sent, if any: acceptance binds to them, never
     * to whoever holds the address later (docs/rules.md#rule-8). Absent in events written before this field.
     */
    inviteeUserId?: string | null;
    /**
     * `'invitation'`: the address is sealed under this invitation's own key (docs/adr/0024, "Session 41");
     * `'organization'` (sessions 24–40): under the address's key within this organization (docs/adr/0003, "Session 24");
     * absent (invitations sent before): under the key of the address shared by every organization. The invitation's
     * later events that carry the address say the same.
     */
    addressKey?: AddressKey;
    /**
     * Who sent it: the acting user ('system' with the system key). Written since session 63; an earlier event is read
     * with its metadata's actor, who is the same person (../upcasting.ts).
     */
    invitedBy?: string;
  },
  2
>;

export type InvitationResent = Event<
  'InvitationResent',
  /**
   * `email`: the address the new link is mailed to, copied from the invitation (personal data, sealed under the
   * address's own key; absent from resends written before session 18)
   */
  {
    workspaceId: string;
    invitationId: string;
    linkVersion: number;
    resentAt: string;
    expiresAt: string;
    email?: string | null;
    /** as the invitation's UserInvited: with `organizationId`, the subject the address is sealed under */
    addressKey?: AddressKey;
    organizationId?: string;
  }
>;

export type InvitationCancelled = Event<
  'InvitationCancelled',
  /**
   * `email`: the invited address; null when a user's deletion cancels the invitation (rule 12: the address is erased
   * with the user, and the deletion's own events must not carry it to a reader that gets them before the keys go)
   */
  {
    workspaceId: string;
    invitationId: string;
    email: string | null;
    cancelledAt: string;
    /** as the invitation's UserInvited: with `organizationId`, the subject the address is sealed under */
    addressKey?: AddressKey;
    organizationId?: string;
    /**
     * Who cancelled it: the acting user of the cancel, or of the user's deletion or the address's erasure that
     * cancelled it ('system' with the system key). Written since session 63; an earlier event is read with its
     * metadata's actor, who is the same person (../upcasting.ts).
     */
    cancelledBy?: string;
  }
>;

export type InvitationAccepted = Event<
  'InvitationAccepted',
  {
    workspaceId: string;
    organizationId: string;
    invitationId: string;
    userId: string;
    email: string;
    access: Access;
    acceptedAt: string;
    /** as the invitation's UserInvited (the subject whose key must still exist: the address is copied from it) */
    addressKey?: AddressKey;
  }
>;

export type AccessLevelChanged = Event<
  'AccessLevelChanged',
  { workspaceId: string; userId: string; before: string[]; after: string[]; changedAt: string }
>;

export type RestrictionsChanged = Event<
  'RestrictionsChanged',
  { workspaceId: string; userId: string; before: Restrictions; after: Restrictions; changedAt: string }
>;

export type GrantsChanged = Event<
  'GrantsChanged',
  { workspaceId: string; userId: string; before: string[]; after: string[]; changedAt: string }
>;

export type ContactsDisposition = { mode: 'unassigned' } | { mode: 'reassigned'; toUserId: string };

export type AccessRevoked = Event<
  'AccessRevoked',
  {
    workspaceId: string;
    organizationId: string;
    userId: string;
    before: Access;
    contacts: ContactsDisposition;
    revokedAt: string;
    /**
     * Who revoked it: the acting user ('system' with the system key). Written since session 63; an earlier event is read
     * with its metadata's actor, who is the same person (../upcasting.ts).
     */
    revokedBy?: string;
  }
>;

/**
 * The user was deleted from the organization (docs/rules.md#rule-12): appended to every workspace where they were
 * a member or had invitations, in the same atomic append as UserDeleted, so that no interleaving leaves a deleted
 * user in a workspace or a workspace without an owner. `invitationIds`: their invitations here, whose addresses
 * the decision state forgets.
 */
export type UserDeletedFromWorkspace = Event<
  'UserDeletedFromWorkspace',
  {
    workspaceId: string;
    organizationId: string;
    userId: string;
    invitationIds: string[];
    deletedAt: string;
    /**
     * Whether the deletion ended their membership here (an active member until it); false: they had left before (a
     * revoke, whose AccessRevoked said what became of their contacts) and the event erases their invitations only.
     * Written since session 68 (probe 119 F2); absent before, read as unknown.
     */
    wasMember?: boolean;
  }
>;

/**
 * An address that no user holds or held was erased on an org admin's request (docs/rules.md#rule-12, "An address
 * only invited"): its invitations here, whose addresses the decision state forgets (a pending one was cancelled by an
 * InvitationCancelled of the same append). Appended with AddressErased, atomically.
 */
export type InvitationAddressErased = Event<
  'InvitationAddressErased',
  { workspaceId: string; organizationId: string; invitationIds: string[]; erasedAt: string }
>;

export type WorkspaceEvent =
  | UserDeletedFromWorkspace
  | InvitationAddressErased
  | UserInvited
  | InvitationResent
  | InvitationCancelled
  | InvitationAccepted
  | AccessLevelChanged
  | RestrictionsChanged
  | GrantsChanged
  | AccessRevoked
  | WorkspacePlanChanged
  | TeamEvent;
