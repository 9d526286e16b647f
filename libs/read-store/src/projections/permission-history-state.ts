// The projection's own state (`permission_history_state`) and the helpers that keep it: see the comment below.
import type { Access } from '@rollcall/domain';
import { type Doc, type ProjectedEvent, type ProjectionReader, type ProjectionWrite, remove, upsert } from './projection';
import { PERMISSION_HISTORY, PERMISSION_HISTORY_STATE, entry } from './permission-history-entries';

/**
 * `permission_history/${position}:${workspaceId}`: one entry per access change (rule 17), in log order (`position`).
 * The id comes from the event's global position, so re-applying an event rewrites the same entry; and as
 * positions grow, new entries land at the end of the id index (an event id, random, would land anywhere). A
 * workspace's creation writes one more per org admin then: `${position}:${workspaceId}:${userId}`.
 *
 * `permission_history_state`: what entries need to know and events do not carry:
 *  - `m:${workspaceId}:${userId}` an active member's current access (so `roles_changed` shows the whole
 *    before/after), gone once revoked or deleted (no access change of theirs can follow);
 *  - `inv:${workspaceId}:${invitationId}` an invitation: email, access and the entries that carry its email
 *    (kept after accept or cancel, found by `email`; whether it was accepted or cancelled matters to no entry, so
 *    it is not written: a rebuild writes each of these once, plus once per resend or cancel);
 *  - `u:${organizationId}:${userId}` every email address the user had;
 *  - `r:${organizationId}:${userId}` the workspaces where the user was revoked (and did not join again): their
 *    deletion gets an entry there too (rule 17: every workspace where they were a member);
 *  - `team:${teamId}` a team's current name (team entries name the team as it was called then);
 *  - `o:${organizationId}` the organization's workspaces (a change of org admin has an entry in each: rule 5);
 *  - `a:${organizationId}:${userId}` an org admin (their deletion ends that authority in every workspace: an entry
 *    in each they were no member of; those they were a member of get `deleted`).
 * Deleting a user (rule 12) erases, as the event store's crypto-shredding does, every email address the user had
 * from the entries of the invitations sent to it (in the user's organization; in any, for invitations sent before
 * session 24); the entries keep the pseudonymous user id.
 */
export interface MemberState extends Doc {
  userId: string;
  organizationId: string;
  access: Access;
}
export interface InvitationState extends Doc {
  organizationId: string;
  /** UserInvited's: which subject seals the address (erased-addresses.ts `reaches`) */
  addressKey?: 'organization' | 'invitation';
  /** null once erased */
  email: string | null;
  access: Access;
  /** the entries that carry the email */
  entryIds: string[];
  /** the user it is bound to (rule 8: their address when it was sent), absent when none: their deletion names them on its entries */
  inviteeUserId?: string;
  /** who sent it and with which key (UserInvited's metadata): the `joined` entry names them (version 11) */
  invitedBy?: string | null;
  invitedWithKey?: string | null;
}
export interface RevokedIn extends Doc {
  workspaceIds: string[];
}
export interface TeamName extends Doc {
  name: string;
}
export interface OrganizationWorkspaces extends Doc {
  workspaceIds: string[];
  /** its org admins (6): a workspace created later has an entry for each (probe 33 F9) */
  orgAdmins?: string[];
}

export const S = PERMISSION_HISTORY_STATE;
export const memberKey = (ws: string, user: string) => `m:${ws}:${user}`;
export const invitationKey = (ws: string, inv: string) => `inv:${ws}:${inv}`;
export const teamKey = (team: string) => `team:${team}`;
export const revokedKey = (org: string, user: string) => `r:${org}:${user}`;
export const organizationKey = (org: string) => `o:${org}`;
export const orgAdminKey = (org: string, user: string) => `a:${org}:${user}`;

/** The org-admin entries of an organization's workspaces (but `except`): rule 5's authority given or taken in each. */
export async function orgAdminEntries(read: ProjectionReader, e: ProjectedEvent, fields: { organizationId: string; userId: string; at: string; granted: boolean; reason?: string }, except: readonly string[] = []) {
  const workspaces = (await read.get<OrganizationWorkspaces>(S, organizationKey(fields.organizationId)))?.workspaceIds ?? [];
  return workspaces
    .filter((workspaceId) => !except.includes(workspaceId))
    .map((workspaceId) =>
      upsert(
        PERMISSION_HISTORY,
        entry(e, fields.at, {
          workspaceId,
          organizationId: fields.organizationId,
          userId: fields.userId,
          change: fields.granted ? 'org_admin_granted' : 'org_admin_revoked',
          before: null,
          after: null,
          ...(fields.reason && { details: { reason: fields.reason } }),
        }),
      ),
    );
}

/** The organization's record (`o:`) with `userId` made an org admin or no longer one. */
export async function withOrgAdmin(read: ProjectionReader, organizationId: string, userId: string, admin: boolean): Promise<ProjectionWrite> {
  const known = await read.get<OrganizationWorkspaces>(S, organizationKey(organizationId));
  const orgAdmins = (known?.orgAdmins ?? []).filter((id) => id !== userId);
  return upsert(S, { _id: organizationKey(organizationId), workspaceIds: known?.workspaceIds ?? [], orgAdmins: admin ? [...orgAdmins, userId] : orgAdmins } satisfies OrganizationWorkspaces);
}

/** The user's record of workspaces they were revoked from, with `workspaceId` added or taken out (removed once empty). */
export async function revokedIn(read: ProjectionReader, org: string, user: string, workspaceId: string, revoked: boolean): Promise<ProjectionWrite[]> {
  const key = revokedKey(org, user);
  const known = (await read.get<RevokedIn>(S, key))?.workspaceIds ?? [];
  if (known.includes(workspaceId) === revoked) return [];
  const workspaceIds = revoked ? [...known, workspaceId] : known.filter((id) => id !== workspaceId);
  return [workspaceIds.length > 0 ? upsert(S, { _id: key, workspaceIds } satisfies RevokedIn) : remove(S, key)];
}
