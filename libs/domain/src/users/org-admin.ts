import { domainError } from '../shared/errors';
import { SYSTEM_ACTOR } from '../shared/events';
import { type Decision, accept, reject } from '../shared/result';
import type { OrganizationEvent } from '../organization/events';
import { activeUser, isOrgAdmin, type OrganizationState, userNotFound } from '../organization/state';

/** Rule 5 (docs/rules.md#rule-5): an org admin makes another user of the organization an org admin, or no longer one. */
export interface ChangeOrgAdmin {
  type: 'ChangeOrgAdmin';
  organizationId: string;
  actorId: string;
  now: string;
  userId: string;
  orgAdmin: boolean;
}

/**
 * Only an org admin decides who else is one (an org admin acts as an owner in every workspace: rule 5), never for
 * themself (rule 3: nobody changes their own access), so an organization always keeps an org admin: the one deciding.
 * The operator (SYSTEM_ACTOR, the system key) makes one too — its way back into an organization whose org admins have
 * all left (probe 80 F1: support acted in a departed admin's name) — but takes it from nobody: that stays an org
 * admin's decision. A deleted user is nobody's to change. Asking for what already holds appends nothing.
 */
export function decideChangeOrgAdmin(command: ChangeOrgAdmin, state: OrganizationState): Decision<OrganizationEvent> {
  if (!state.exists) return reject(domainError('ORGANIZATION_NOT_FOUND', `Organization ${command.organizationId} does not exist.`));
  if (command.actorId === SYSTEM_ACTOR && !command.orgAdmin)
    return reject(domainError('INSUFFICIENT_AUTHORITY', "The operator makes organization admins, to recover an organization whose admins have left; taking that away is an organization admin's decision."));
  if (command.actorId !== SYSTEM_ACTOR && !isOrgAdmin(state, command.actorId))
    return reject(domainError('INSUFFICIENT_AUTHORITY', 'Only an organization admin can make users organization admins or take that away.'));
  const user = activeUser(state, command.userId);
  if (!user) return reject(userNotFound(state, command.userId));
  if (command.userId === command.actorId)
    return reject(domainError('CANNOT_MODIFY_SELF', 'You cannot change your own organization-level access; ask another organization admin.'));
  if (user.orgAdmin === command.orgAdmin) return accept([]);
  return accept([
    {
      type: 'OrgAdminChanged',
      version: 1,
      data: { organizationId: command.organizationId, userId: command.userId, orgAdmin: command.orgAdmin, changedAt: command.now },
    },
  ]);
}
