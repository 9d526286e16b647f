import { domainError } from '../shared/errors';
import { emailKey, normalizeEmail } from '../shared/validation';
import { type Decision, accept, reject } from '../shared/result';
import type { AddressErased } from '../organization/events';
import type { InvitationAddressErased, InvitationCancelled } from '../workspace/events';
import { isOrgAdmin, type OrganizationState } from '../organization/state';
import { SYSTEM_ACTOR } from '../shared/events';
import { hasAddress, type WorkspaceState } from '../workspace/state';

export interface EraseAddress {
  type: 'EraseAddress';
  organizationId: string;
  actorId: string;
  now: string;
  email: string;
  /** the erasure's id (AddressErased.erasureId): derived from the request's key by the handler */
  erasureId: string;
}

export type AddressErasureEvent = AddressErased | InvitationAddressErased | InvitationCancelled;

/**
 * Rule 12 for a person who was only invited (docs/rules.md#rule-12, "An address only invited"; probe 40 F3): an org
 * admin erases an address that no user of the organization holds or held. Every invitation of the organization to it
 * (in any form that folds alike: ADR 0017), whatever its status, loses its address: a pending one is cancelled, and the
 * address's data key is forgotten by the handler (crypto-shredding), so the log, the history, the feed and the read
 * models read it as null from then on. An address that is (or was) a user's is erased with that user (DeleteUser):
 * erasing it here would blank a living user's invitations and history. Decided over the organization and all its
 * workspaces, appended atomically, as a deletion is.
 */
export function decideEraseAddress(command: EraseAddress, ctx: { org: OrganizationState; workspaces: WorkspaceState[] }): Decision<AddressErasureEvent> {
  const { org } = ctx;
  if (!org.exists) return reject(domainError('ORGANIZATION_NOT_FOUND', `Organization ${command.organizationId} does not exist.`));
  // the system too: re-applying a journaled erasure after a restore, its admin maybe not one in the restored state
  if (command.actorId !== SYSTEM_ACTOR && !isOrgAdmin(org, command.actorId)) return reject(domainError('INSUFFICIENT_AUTHORITY', 'Only an organization admin can erase an address.'));
  const key = emailKey(normalizeEmail(command.email));
  for (const user of org.users.values()) {
    if (user.deleted) continue;
    if ([user.email, ...user.knownEmails].some((address) => emailKey(address) === key))
      return reject(domainError('ADDRESS_IS_A_USERS', 'This address is (or was) a user\'s: delete that user instead, which erases it with them.'));
  }
  const inWorkspaces: AddressErasureEvent[] = [];
  const workspaceIds: string[] = [];
  for (const ws of ctx.workspaces) {
    const workspaceId = ws.info.workspaceId;
    const invitations = [...ws.invitations.values()].filter((i) => hasAddress(i) && emailKey(i.email) === key);
    // bound to a living user (rule 8), or accepted by one: theirs, erased with them
    if (invitations.some((i) => i.inviteeUserId !== null))
      return reject(domainError('ADDRESS_IS_A_USERS', 'An invitation to this address is bound to a user: delete that user instead, which erases it with them.'));
    if (invitations.length === 0) continue;
    workspaceIds.push(workspaceId);
    for (const inv of invitations)
      if (inv.status === 'pending')
        // without the address: sealed in this event, it would reach whoever read it before its key is forgotten
        inWorkspaces.push({ type: 'InvitationCancelled', version: 1, data: { workspaceId, invitationId: inv.invitationId, email: null, cancelledAt: command.now, cancelledBy: command.actorId } });
    inWorkspaces.push({
      type: 'InvitationAddressErased',
      version: 1,
      data: { workspaceId, organizationId: org.organizationId, invitationIds: invitations.map((i) => i.invitationId), erasedAt: command.now },
    });
  }
  if (workspaceIds.length === 0)
    return reject(domainError('ADDRESS_NOT_FOUND', 'No invitation of this organization holds this address (never invited here, or erased already).'));
  return accept([
    ...inWorkspaces,
    { type: 'AddressErased', version: 1, data: { organizationId: org.organizationId, erasureId: command.erasureId, workspaceIds, erasedAt: command.now } },
  ]);
}

/**
 * The forms of the address (each form an invitation went to is its own data key subject: ADR 0017) whose subjects the
 * erasure forgets, as a deletion does (addressesSealedUnder): those invitations of sessions 24–40 went to (the
 * address's subject within the organization), and those invitations sent before session 24 went to (the subject every
 * organization shares). Invitations sent since session 41 are under their own subjects (erasedInvitationSubjects).
 */
export function addressFormsErased(workspaces: readonly WorkspaceState[], email: string): { withinOrganization: Set<string>; shared: Set<string> } {
  const key = emailKey(normalizeEmail(email));
  const withinOrganization = new Set<string>();
  const shared = new Set<string>();
  for (const ws of workspaces)
    for (const inv of ws.invitations.values())
      if (hasAddress(inv) && emailKey(inv.email) === key) {
        if (inv.addressKey === 'organization') withinOrganization.add(inv.email);
        if (inv.addressKey === undefined) shared.add(inv.email);
      }
  return { withinOrganization, shared };
}
