// The workspace decider's refusals that name what became of an invitation or a member: sentences a console user can
// act on (docs/api.md, errors).
import { domainError, withFacts } from '../shared/errors';
import { hasAddress, type Invitation, type WorkspaceContext } from './state';
import { emailKey } from '../shared/validation';
import { isAtOrAfter } from '../shared/events';

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
 * one resending may manage this workspace only, and the user may be no member of it. Its link is offered only while it
 * works (probe 121 F4: an expired one is not handed out, and a resend is this refusal: the advice went in a circle).
 */
export const inviteeAddressChanged = (inv: Invitation, now: string) =>
  withFacts(
    domainError(
      'INVITEE_ADDRESS_CHANGED',
      `This invitation is bound to a user who has changed their address since it was sent to ${inv.email}: a resend would mail the address they gave up. ${isAtOrAfter(now, inv.expiresAt) ? 'Its link has expired: cancel it' : 'Cancel it'} and invite their current address${copyWhileValid(inv, now)}.`,
    ),
    { invitationId: inv.invitationId },
  );

/** the way out besides cancelling an invitation bound to a user who holds another address now: its link, while it works */
const copyWhileValid = (inv: Invitation, now: string) => (isAtOrAfter(now, inv.expiresAt) ? '' : ', or copy its link to them');

/**
 * What a user id names in this workspace when it names no active member, most recent first — deleted, invited again
 * (after a revoke, or a user of another workspace invited here), revoked, an invitation's own id, no one — for the
 * refusals that say why (NOT_A_MEMBER, INVALID_REASSIGNMENT, the teams' MEMBER_NOT_ACTIVE), each in its own words: one
 * order for the three (they had three). Nothing of a user deleted, or known, in another workspace only: `stranger` here
 * (probe 98 F6).
 */
export type Standing =
  | { is: 'active' }
  | { is: 'deleted'; at: string | undefined }
  | { is: 'invited' }
  | { is: 'revoked'; at: string | undefined }
  | { is: 'invitation'; invitation: Invitation }
  | { is: 'stranger' };

export function standingHere(ctx: WorkspaceContext, userId: string): Standing {
  const member = ctx.ws.members.get(userId);
  const user = member ? ctx.org.users.get(userId) : undefined;
  if (user?.deleted) return { is: 'deleted', at: user.deletedAt };
  if (member?.status === 'active') return { is: 'active' };
  for (const inv of ctx.ws.invitations.values()) if (inv.status === 'pending' && inv.inviteeUserId === userId) return { is: 'invited' };
  if (member?.status === 'revoked') return { is: 'revoked', at: member.revokedAt };
  const invitation = ctx.ws.invitations.get(userId);
  return invitation ? { is: 'invitation', invitation } : { is: 'stranger' };
}

const on = (at: string | undefined) => (at ? ` on ${at}` : '');

/** a sentence a console user can act on: what became of the member, not only their id (probe 71 F4) */
export const notAMember = (ctx: WorkspaceContext, userId: string) => {
  const standing = standingHere(ctx, userId);
  switch (standing.is) {
    // a deleted member of this workspace, and when (probe 97 F3)
    case 'deleted':
      return domainError('NOT_A_MEMBER', `This user was deleted from the organization${on(standing.at)}: they are no longer a member.`);
    case 'invited':
      return domainError('NOT_A_MEMBER', `User ${userId} is invited to this workspace and has not accepted yet: they are a member once they accept.`);
    case 'revoked':
      return domainError('NOT_A_MEMBER', "This member's access to the workspace was already revoked.");
    // the user list shows pending invitations beside members, each with its own id: a member's action sent with an
    // invitation's id says what to do with an invitation instead (probe 97 F3), whatever the action (probe 98 F6)
    case 'invitation': {
      const inv = standing.invitation;
      if (inv.status === 'pending')
        return domainError('NOT_A_MEMBER', `${userId} is a pending invitation, not a member: it can be resent or cancelled (DELETE …/invitations/${userId}); the access it gives changes by cancelling it and inviting again.`);
      if (inv.status === 'accepted' && inv.inviteeUserId)
        return domainError('NOT_A_MEMBER', `${userId} is an invitation, accepted by user ${inv.inviteeUserId}: a member is named by their user id.`);
      return domainError('NOT_A_MEMBER', `${userId} is an invitation (${inv.status}), not a member: a member is named by their user id.`);
    }
    default:
      return domainError('NOT_A_MEMBER', `User ${userId} is not a member of this workspace.`);
  }
};

/**
 * INVALID_REASSIGNMENT, saying what is wrong with the heir (probe 119 F3: one sentence for nine causes; a support lead
 * could not tell "pick someone else" from "refresh, they left"), as NOT_A_MEMBER says it of a member.
 */
export const invalidReassignment = (ctx: WorkspaceContext, revokedUserId: string, heirId: string) => {
  const standing = standingHere(ctx, heirId);
  const why =
    heirId === revokedUserId
      ? 'they are the member being revoked'
      : standing.is === 'deleted'
        ? `user ${heirId} was deleted from the organization${on(standing.at)}`
        : standing.is === 'invited'
          ? `user ${heirId} is invited here and has not accepted yet`
          : standing.is === 'revoked'
            ? `user ${heirId}'s access to this workspace was revoked${on(standing.at)}`
            : standing.is === 'invitation'
              ? `${heirId} is an invitation's id, not a user's`
              : `user ${heirId} is not a member of this workspace`;
  return domainError('INVALID_REASSIGNMENT', `Contacts can only be reassigned to another active member of this workspace: ${why}. Name another, or leave them unassigned.`, [
    { field: 'reassignContactsTo', message: 'must be another active member' },
  ]);
};

export const addresseeErased = () =>
  domainError('INVITATION_ADDRESSEE_ERASED', 'The person this invitation was sent to was deleted; ask for a new invitation.');

/** whether the invitation is bound to a living user (rule 8) who holds another address than the one it was sent to */
export const movedAddress = (ctx: WorkspaceContext, inv: Invitation): boolean => {
  const invitee = inv.inviteeUserId === null ? undefined : ctx.org.users.get(inv.inviteeUserId);
  return invitee !== undefined && !invitee.deleted && hasAddress(inv) && emailKey(invitee.email) !== emailKey(inv.email);
};

/**
 * ALREADY_INVITED for an address with a pending invitation (rule 6), with its id (probe 80 F9); one bound to a user who
 * holds another address now is not to be resent (INVITEE_ADDRESS_CHANGED), so not advised (probe 81 F4)
 */
export const alreadyInvited = (ctx: WorkspaceContext, email: string, pendingId: string, now: string) => {
  const pending = ctx.ws.invitations.get(pendingId);
  return withFacts(
    domainError(
      'ALREADY_INVITED',
      pending !== undefined && movedAddress(ctx, pending)
        ? `${email} already has a pending invitation (${pendingId}), bound to a user who has changed their address since${isAtOrAfter(now, pending.expiresAt) ? ', and its link has expired' : ''}: cancel it and invite their current address${copyWhileValid(pending, now)}.`
        : `${email} already has a pending invitation (${pendingId}); resend it instead of inviting again.`,
    ),
    { invitationId: pendingId },
  );
};

/**
 * ALREADY_INVITED for the user at `email`, who holds a pending invitation here sent to an address they held before: a
 * resend mails that address, which they no longer hold (probe 80 F5: "resend" sent it there again). One sent to the
 * address before anyone held it is bound to no one: its link makes whoever opens it a new user, not them (probe 121 F3:
 * "copy its link to them" made a second user of the same person), so only cancelling it is advised.
 */
export const alreadyInvitedElsewhere = (ctx: WorkspaceContext, email: string, pendingId: string, now: string) => {
  const pending = ctx.ws.invitations.get(pendingId);
  const why =
    pending !== undefined && pending.inviteeUserId === null
      ? `The user at ${email} held the address a pending invitation here (${pendingId}) was sent to before they held it: cancel it and invite ${email}. Its link admits whoever opens it as a new user, not them; a resend mails the address it was sent to.`
      : `The user at ${email} already has a pending invitation here (${pendingId}), sent to an address they held before${pending && isAtOrAfter(now, pending.expiresAt) ? ', and its link has expired' : ''}: cancel it and invite ${email}${pending ? copyWhileValid(pending, now) : ''}; a resend mails the address it was sent to.`;
  return withFacts(domainError('ALREADY_INVITED', why), { invitationId: pendingId });
};
