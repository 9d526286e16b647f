// The workspace decider's refusals that name what became of an invitation or a member: sentences a console user can
// act on (README "Errors").
import { domainError, withFacts } from '../shared/errors';
import type { Invitation, WorkspaceContext } from './state';

export const invitationNotFound = (id: string) =>
  domainError('INVITATION_NOT_FOUND', `Invitation ${id} does not exist in this workspace.`);
export const notPending = (inv: Invitation) =>
  domainError(
    'INVITATION_NOT_PENDING',
    inv.status === 'accepted'
      ? 'This invitation has already been accepted; the link works only once.'
      : 'This invitation was cancelled: its link no longer works, and only a new invitation can be sent.',
  );

/**
 * A resend of an invitation bound to a user (rule 8) who no longer holds the address it was sent to: the mail would go
 * to the address they gave up (probe 80 F5: "resend" mailed it there again). Their current address is not named: the
 * one resending may manage this workspace only, and the user may be no member of it.
 */
export const inviteeAddressChanged = (inv: Invitation) =>
  withFacts(
    domainError(
      'INVITEE_ADDRESS_CHANGED',
      `This invitation is bound to a user who has changed their address since it was sent to ${inv.email}: a resend would mail the address they gave up. Cancel it and invite their current address, or copy its link to them.`,
    ),
    { invitationId: inv.invitationId },
  );
/** a sentence a console user can act on: what became of the member, not only their id (probe 71 F4) */
export const notAMember = (ctx: WorkspaceContext, userId: string) => {
  const member = ctx.ws.members.get(userId);
  if (member && ctx.org.users.get(userId)?.deleted) return domainError('NOT_A_MEMBER', 'This user was deleted from the organization: they are no longer a member.');
  if (member?.status === 'revoked') return domainError('NOT_A_MEMBER', "This member's access to the workspace was already revoked.");
  return domainError('NOT_A_MEMBER', `User ${userId} is not a member of this workspace.`);
};

export const addresseeErased = () =>
  domainError('INVITATION_ADDRESSEE_ERASED', 'The person this invitation was sent to was deleted; ask for a new invitation.');
