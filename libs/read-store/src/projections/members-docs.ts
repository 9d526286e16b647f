import type { Restrictions } from '@rollcall/domain';
import type { Doc } from './projection';

/** The documents of the `members` projection (members.ts): the user list's rows and the profiles they copy. */

export type MemberStatus = 'pending' | 'active' | 'revoked';

/** a member or pending invitation, as queries hand it out */
export interface MemberView {
  _id: string;
  workspaceId: string;
  organizationId: string;
  kind: 'member' | 'invitation';
  /** null for a pending invitation */
  userId: string | null;
  /** the invitation that made the member (null for the workspace's creator) */
  invitationId: string | null;
  /**
   * Invitations only: the org user the address belonged to when it was sent (UserInvited's `inviteeUserId`): acceptance
   * binds to them (docs/rules.md#rule-8); null for an address no user holds. Absent on documents projected before
   * members version 11.
   */
  inviteeUserId?: string | null;
  email: string | null;
  displayName: string | null;
  alias: string | null;
  avatarUrl: string | null;
  status: MemberStatus;
  roles: string[];
  restrictions: Restrictions;
  grants: string[];
  invitedAt: string | null;
  joinedAt: string | null;
  revokedAt: string | null;
  /** who revoked it: AccessRevoked's actor (its metadata: a user id, or `system`); absent before members version 11 */
  revokedBy?: string | null;
  /** invitations only: when the current link expires, its version, and when its mail was handed over (null: not yet) */
  expiresAt: string | null;
  linkVersion: number | null;
  mailedAt?: string | null;
  /** invitations only: when the relay refused the current link's mail for good (InvitationMailRefused); null: it did not */
  mailRefusedAt?: string | null;
  /** invitations only: who sent it (UserInvited's `invitedBy`: a user id, or `system`); absent before members version 13 */
  invitedBy?: string | null;
  /**
   * Rule 13, from PresenceChanged: the last heartbeat the log knows of (exact once offline: a timeout carries the
   * lapsed lease's time; while online or away, the heartbeat of the latest transition), and the status; null and
   * `offline` until the first heartbeat. Kept on the document for the team invite lookup (rule 15).
   */
  lastSeenAt: string | null;
  presence: 'online' | 'away' | 'offline';
  /**
   * Rule 13 (docs/adr/0032): when a member manager set the member offline in a way that holds (a PresenceChanged with
   * reason `forced`): their heartbeats are refused until one resumes; null when not held (members version 9)
   */
  heldOfflineSince: string | null;
  /** who set them offline so (the transition's actor); null when not held */
  heldOfflineBy: string | null;
  teamIds: string[];
}

/** the stored document: the view plus its sort and search keys */
export interface MemberDoc extends Doc, MemberView {
  /** invitations: UserInvited's, which subject seals the address (erased-addresses.ts `reaches`); not shown */
  addressKey?: 'organization' | 'invitation';
  /** sort key of `sort=name`: the lower-cased display name, or the email when there is none */
  sortName: string;
  /** what `q` matches: the folded address, name and alias (sort-key.ts searchTextOf; members version 3) */
  searchText: string;
  /** sort key of `sort=lastSeen` (presenceFields; members version 6) */
  seenOrder: string;
}

export interface MemberUserDoc extends Doc {
  organizationId: string;
  userId: string;
  email: string | null;
  displayName: string | null;
  alias: string | null;
  avatarUrl: string | null;
}

