import { domainError, withFacts } from '../shared/errors';
import { SYSTEM_ACTOR } from '../shared/events';
import { emailKey } from '../shared/validation';
import { type Decision, accept, reject } from '../shared/result';
import type { UserDeleted } from '../organization/events';
import type { InvitationCancelled, UserDeletedFromWorkspace } from '../workspace/events';
import type { TeamMemberRemoved } from '../teams/events';
import { removalsFromTeams } from '../teams/state';
import { activeUser, isOrgAdmin, type OrganizationState, userNotFound } from '../organization/state';
import { hasAddress, isLastOwner, type WorkspaceState } from '../workspace/state';
import { anotherOwnerFirst, ownerWayOut } from '../workspace/owner-way-out';

export interface DeleteUser {
  type: 'DeleteUser';
  organizationId: string;
  actorId: string;
  now: string;
  userId: string;
}

export type DeletionEvent = UserDeleted | UserDeletedFromWorkspace | InvitationCancelled | TeamMemberRemoved;

/**
 * Rule 12 (docs/rules.md#rule-12): an org admin deletes a user from the organization and every workspace. Rule 4
 * holds on this path too: the last owner of any workspace cannot be deleted. Decided over the organization and all
 * its workspaces' states. Besides UserDeleted (organization stream), every workspace where the user was a member or
 * was invited gets UserDeletedFromWorkspace (and InvitationCancelled for a pending invitation to them): the app
 * appends them all atomically with each stream's expected revision, so a racing revoke, demotion or acceptance in
 * any of those workspaces makes one of the two re-decide (docs/adr/0004).
 */
export function decideDeleteUser(
  command: DeleteUser,
  ctx: { org: OrganizationState; workspaces: WorkspaceState[] },
): Decision<DeletionEvent> {
  const { org } = ctx;
  if (!org.exists)
    return reject(domainError('ORGANIZATION_NOT_FOUND', `Organization ${command.organizationId} does not exist.`));
  // the system too: re-applying a journaled deletion after a restore, its admin maybe not one in the restored state
  if (command.actorId !== SYSTEM_ACTOR && !isOrgAdmin(org, command.actorId))
    return reject(domainError('INSUFFICIENT_AUTHORITY', 'Only an organization admin can delete users.'));
  const user = activeUser(org, command.userId);
  if (!user) return reject(userNotFound(org, command.userId));
  // (so the organization keeps an org admin: the one deleting)
  if (command.userId === command.actorId)
    return reject(domainError('CANNOT_MODIFY_SELF', 'You cannot delete yourself; ask another organization admin.'));
  const memberOf: string[] = [];
  const inWorkspaces: DeletionEvent[] = [];
  const addresses = addressesErasedWith(org, ctx.workspaces, user.userId);
  // every workspace they are the last owner of, named in one refusal (probe 80 F6: one a call, by a name that need not
  // be unique); closing the organization deletes every user: its workspaces go with it (docs/adr/0035)
  const ownerless = org.closingSince === undefined ? ctx.workspaces.filter((ws) => isLastOwner({ org, ws }, user.userId)) : [];
  if (ownerless.length > 0) {
    const named = ownerless.map((ws) => `${ws.info.name} (${ws.info.workspaceId})`);
    // where no one the actor may make owner is active, another owner first takes an invitation (probes 97 F1, 98 F4)
    const ways = ownerless.map((ws) => ({ ...ownerWayOut({ org, ws }, user.userId, command.actorId), workspace: ws.info.name }));
    return reject(
      withFacts(
        domainError(
          'LAST_OWNER',
          ownerless.length === 1
            ? `This user is the last owner of workspace ${named[0]}; ${anotherOwnerFirst(ways, ' there')}`
            : `This user is the last owner of ${ownerless.length} workspaces: ${named.join(', ')}; ${anotherOwnerFirst(ways, ' in each')}`,
        ),
        { workspaceIds: ownerless.map((ws) => ws.info.workspaceId) },
      ),
    );
  }
  for (const ws of ctx.workspaces) {
    const workspaceId = ws.info.workspaceId;
    const member = ws.members.get(user.userId)?.status === 'active';
    if (member) memberOf.push(workspaceId);
    // the invitations that admit(ted) them, and those to an address erased with them that admit nobody yet; not
    // another user's, whatever address it went to (probe 23: a pending invitation of the address's holder now was
    // cancelled)
    const theirs = [...ws.invitations.values()].filter((i) => i.inviteeUserId === user.userId || (i.inviteeUserId === null && addresses.has(i.email)));
    if (!member && theirs.length === 0) continue;
    // without the address: it is one of the user's, erased with them; sealed in this event, it reached whoever read
    // the event between the append and the forgetting of its key (the integration events published it, probe 13)
    for (const inv of theirs)
      if (inv.status === 'pending')
        inWorkspaces.push({
          type: 'InvitationCancelled',
          version: 1,
          data: { workspaceId, invitationId: inv.invitationId, email: null, cancelledAt: command.now, cancelledBy: command.actorId },
        });
    // out of every team there first, in the same atomic append (docs/adr/0009)
    inWorkspaces.push(...removalsFromTeams(ws.teams, workspaceId, user.userId, 'deletion', command.now));
    inWorkspaces.push({
      type: 'UserDeletedFromWorkspace',
      version: 1,
      data: {
        workspaceId,
        organizationId: org.organizationId,
        userId: user.userId,
        invitationIds: theirs.map((i) => i.invitationId),
        deletedAt: command.now,
        wasMember: member,
      },
    });
  }
  return accept([
    ...inWorkspaces,
    {
      type: 'UserDeleted',
      version: 1,
      data: { organizationId: org.organizationId, userId: user.userId, workspaceIds: memberOf, deletedAt: command.now, deletedBy: command.actorId },
    },
  ]);
}

/**
 * Rule 12: the addresses a user's deletion erases (their keys are forgotten): every address they held, except one
 * that is another living user's too — held now or earlier (an address passed on: a shared mailbox, a reused one), or
 * the address of a pending invitation bound to another user. Erasing it would erase that user's data: their
 * invitations' and history's addresses, sealed under the address's key (probe 23: a deletion cancelled the pending
 * invitation of the user who held the deleted user's former address, and blanked their history). What stays readable
 * of the deleted user then: that address in the log's events of their own invitations; every read model blanks it
 * (the deletion names those invitations: UserDeletedFromWorkspace.invitationIds). docs/rules.md#rule-12.
 */
export function addressesErasedWith(org: OrganizationState, workspaces: readonly WorkspaceState[], userId: string): Set<string> {
  const own = org.users.get(userId)?.knownEmails ?? [];
  // the user's addresses, and the other forms of them (typed otherwise, compared alike: emailKey) their organization's
  // invitations went to, unbound or bound to them: each form is its own data key subject (ADR 0017)
  const keys = new Set(own.map(emailKey));
  const erased = new Set(own);
  for (const ws of workspaces)
    for (const inv of ws.invitations.values())
      if (hasAddress(inv) && (inv.inviteeUserId === null || inv.inviteeUserId === userId) && keys.has(emailKey(inv.email))) erased.add(inv.email);
  // never a form another living user holds or held, exactly: two users created before session 27 may hold two forms
  // that fold alike (probe 27), and each one's deletion erases its own (review, session 27)
  for (const other of org.users.values()) {
    if (other.userId === userId || other.deleted) continue;
    erased.delete(other.email);
    for (const address of other.knownEmails) erased.delete(address);
  }
  for (const ws of workspaces)
    for (const inv of ws.invitations.values())
      if (inv.status === 'pending' && inv.inviteeUserId !== null && inv.inviteeUserId !== userId && hasAddress(inv)) erased.delete(inv.email);
  return erased;
}

/**
 * Of the addresses a deletion erases, those an invitation of the organization sealed under an address's subject went
 * to (any status, its address still held: one an earlier erasure erased sealed nothing under the key made since), by
 * `key`: `'organization'`, the address's subject within the organization (invitations of sessions 24–40); undefined,
 * the subject every organization shares (invitations sent before session 24: docs/adr/0003, "Session 24"). The
 * deletion forgets those subjects, and no other address subject: for the others such a subject seals nothing of this
 * organization's (forgetting the shared one would only erase other organizations' older invitations to the address:
 * review, session 24), and naming it in the deletion's `erasedSubjects` would confirm a guessed address to whoever
 * holds the pepper (probe 33 F2). Invitations sent since session 41 are under their own subjects (erasedInvitationSubjects).
 */
export function addressesSealedUnder(workspaces: readonly WorkspaceState[], erased: ReadonlySet<string>, key: 'organization' | undefined): Set<string> {
  const sealed = new Set<string>();
  for (const ws of workspaces)
    for (const inv of ws.invitations.values()) if (inv.addressKey === key && hasAddress(inv) && erased.has(inv.email)) sealed.add(inv.email);
  return sealed;
}
