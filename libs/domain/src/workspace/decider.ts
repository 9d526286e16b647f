import {
  type Access,
  type Restrictions,
  grantWarnings,
  isOwner,
  normalizeAccess,
  restrictionsValidFor,
  sameList,
  sameRestrictions,
  validateAccess,
} from '../access-model';
import { domainError, validationFailed } from '../shared/errors';
import { addSeconds, isAtOrAfter } from '../shared/events';
import { type Decision, accept, reject } from '../shared/result';
import { organizationClosed } from '../organization/state';
import { checkEmail, emailKey, normalizeEmail } from '../shared/validation';
import { userIdForEmail } from '../organization/decider';
import { authorizeMemberManagement, checkAssignment, checkNotSelf, isActor } from './authority';
import type { ContactsDisposition, WorkspaceEvent } from './events';
import { expiredLinkMessage } from './expiry';
import { removalsFromTeams } from '../teams/state';
import { addresseeErased, alreadyInvited, alreadyInvitedElsewhere, invalidReassignment, invitationNotFound, inviteeAddressChanged, movedAddress, notAMember, notPending } from './refusals';
import { activeMember, addressKeyFields, hasAddress, isLastOwner, modelOf, planOf, type Invitation, type WorkspaceContext } from './state';
import { anotherOwnerFirst, ownerWayOut } from './owner-way-out';

interface Base {
  workspaceId: string;
  actorId: string;
  /** ISO time of the command: the domain never reads a clock */
  now: string;
}

export interface InviteMember extends Base {
  type: 'InviteMember';
  invitationId: string;
  email: string;
  roles?: string[];
  restrictions?: Restrictions;
  grants?: string[];
  /** how long the link is valid: 48 h by default (configuration) */
  ttlSeconds: number;
}
export interface ResendInvitation extends Base {
  type: 'ResendInvitation';
  invitationId: string;
  ttlSeconds: number;
}
export interface CancelInvitation extends Base {
  type: 'CancelInvitation';
  invitationId: string;
}
/** Authenticated by the link alone: the app verified the link's HMAC and passes its invitation id and version. */
export interface AcceptInvitation extends Omit<Base, 'actorId'> {
  type: 'AcceptInvitation';
  invitationId: string;
  linkVersion: number;
  /** the id the user gets if the email is new to the organization */
  newUserId: string;
  displayName?: string;
}
export interface ChangeAccess extends Base {
  type: 'ChangeAccess';
  userId: string;
  roles?: string[];
  restrictions?: Restrictions;
  grants?: string[];
}
export interface RevokeAccess extends Base {
  type: 'RevokeAccess';
  userId: string;
  reassignContactsTo?: string;
}

export type WorkspaceCommand =
  | InviteMember
  | ResendInvitation
  | CancelInvitation
  | AcceptInvitation
  | ChangeAccess
  | RevokeAccess;

/** rule 3: no one gives themself access, by an invitation to their own address either */
const selfInvitation = () => domainError('CANNOT_MODIFY_SELF', 'You cannot invite yourself; ask another member with the authority to do it.');

/**
 * `mailable`: the action needs the invitation's address (copy the link, resend); cancelling does not. Neither of the
 * first two for an invitation to the actor's own address (rule 3: a revoked org admin could otherwise revive one
 * another owner once sent them; a review of session 22). Copying the link and resending hand out the invited access
 * again, checked as giving it; cancelling takes it away, checked as a revoke is (rule 2: under `permissions` and
 * `studio` any member manager may cancel, as they may revoke the member it would make; under `levels` the rank check
 * is the same either way; review, session 26).
 */
function authorizeInvitation(ctx: WorkspaceContext, actorId: string, invitationId: string, mailable = true) {
  const inv = ctx.ws.invitations.get(invitationId);
  if (!inv) return { error: invitationNotFound(invitationId) };
  const actor = authorizeMemberManagement(ctx, actorId);
  if (!isActor(actor)) return { error: actor! };
  const rank = mailable ? checkAssignment(ctx, actor, undefined, inv.access) : checkAssignment(ctx, actor, inv.access, undefined);
  if (rank) return { error: rank };
  if (mailable && (inv.inviteeUserId === actorId || (hasAddress(inv) && ctx.org.byEmail.get(emailKey(inv.email)) === actorId))) return { error: selfInvitation() };
  if (inv.status !== 'pending') return { error: notPending(inv) };
  // rule 12: the address was erased (its owner deleted in another organization): no link to copy, nobody to mail
  if (mailable && !hasAddress(inv)) return { error: addresseeErased() };
  return { inv };
}

/**
 * "Copy invitation link" (rule 7): the current link's version while the invitation is pending and its link has not
 * expired at `now` (probe 89 F5: an expired link was handed out, and recorded as handed out, though nobody can use it:
 * it is resent instead, which gives a new one).
 */
export function invitationLink(
  ctx: WorkspaceContext,
  actorId: string,
  invitationId: string,
  now?: string,
): { ok: true; invitation: Invitation } | { ok: false; error: ReturnType<typeof domainError> } {
  const { inv, error } = authorizeInvitation(ctx, actorId, invitationId);
  if (!inv) return { ok: false, error: error! };
  if (now !== undefined && isAtOrAfter(now, inv.expiresAt)) {
    // bound to a user who holds another address now, it cannot be resent either (INVITEE_ADDRESS_CHANGED: probe 121 F4)
    const wayOut = movedAddress(ctx, inv) ? `, and the user it is bound to has changed their address since it was sent to ${inv.email}: cancel it and invite their current address.` : undefined;
    return { ok: false, error: domainError('INVITATION_EXPIRED', expiredLinkMessage(inv, wayOut)) };
  }
  return { ok: true, invitation: inv };
}

/**
 * A pending invitation of the workspace to an address `userId` held (org state's knownEmails): bound to them, or sent
 * while nobody held it and held by no other user now (probe 26b: sent before they held it, it was accepted after
 * their email change by a second user at that address, beside their own membership by a second invitation).
 */
const pendingInvitationOfUser = (ctx: WorkspaceContext, userId: string): string | undefined => {
  for (const address of ctx.org.users.get(userId)?.knownEmails ?? []) {
    const id = ctx.ws.pendingByEmail.get(emailKey(address));
    if (id === undefined) continue;
    const invitee = ctx.ws.invitations.get(id)?.inviteeUserId;
    const holder = ctx.org.byEmail.get(emailKey(address));
    if (invitee === userId || (!invitee && (holder === undefined || holder === userId))) return id;
  }
  return undefined;
};

function invite(cmd: InviteMember, ctx: WorkspaceContext): Decision<WorkspaceEvent> {
  const emailError = checkEmail('email', cmd.email);
  if (emailError) return reject(validationFailed([emailError]));
  const actor = authorizeMemberManagement(ctx, cmd.actorId);
  if (!isActor(actor)) return reject(actor!);
  const model = modelOf(ctx);
  const requested: Access = {
    // no roles given: the preset's default; an empty list is refused like an edit to no roles (rule 6)
    roles: cmd.roles ?? model.defaultRoles,
    restrictions: cmd.restrictions ?? {},
    grants: cmd.grants ?? [],
  };
  const invalid = validateAccess(requested, model, planOf(ctx));
  if (invalid) return reject(invalid);
  const access = normalizeAccess(requested, model);
  const authority = checkAssignment(ctx, actor, undefined, access);
  if (authority) return reject(authority);

  // stored and mailed as typed (lower-cased); compared case-folded (emailKey: ADR 0017)
  const typed = normalizeEmail(cmd.email);
  const existingUser = ctx.org.byEmail.get(emailKey(typed));
  // bound to a user (rule 8), it goes to the address they hold, not to another form of it that folds alike: a mail
  // server may keep `strasse` and `straße` apart, and the link admits whoever reads it as that user (probe 121 F6)
  const email = (existingUser !== undefined && ctx.org.users.get(existingUser)?.email) || typed;
  if (existingUser && activeMember(ctx, existingUser))
    return reject(domainError('ALREADY_MEMBER', `${email} is already an active member of this workspace.`));
  // rule 3 (session 22's probe: an org admin revoked by another owner invited themself back as owner)
  if (existingUser === cmd.actorId) return reject(selfInvitation());
  const pendingId = ctx.ws.pendingByEmail.get(emailKey(email));
  if (pendingId !== undefined) return reject(alreadyInvited(ctx, email, pendingId, cmd.now));
  // rule 6, for the person: the user an invitation to this address would link may hold a pending one here, sent to an
  // address they held before; two would make them a member by one and leave the other pending (review, session 26)
  const pendingForUser = existingUser && pendingInvitationOfUser(ctx, existingUser);
  if (pendingForUser) return reject(alreadyInvitedElsewhere(ctx, email, pendingForUser, cmd.now));
  if (ctx.ws.invitations.has(cmd.invitationId))
    return reject(domainError('ALREADY_INVITED', `Invitation ${cmd.invitationId} already exists.`));
  return accept(
    [
      {
        type: 'UserInvited',
        version: 2,
        data: {
          workspaceId: cmd.workspaceId,
          organizationId: ctx.org.organizationId,
          invitationId: cmd.invitationId,
          email,
          access,
          invitedAt: cmd.now,
          expiresAt: addSeconds(cmd.now, cmd.ttlSeconds),
          linkVersion: 1,
          inviteeUserId: existingUser ?? null,
          // sealed under its own key: no erasure elsewhere reaches it, none links it to another (rule 12; ADR 0024)
          addressKey: 'invitation',
          invitedBy: cmd.actorId,
        },
      },
    ],
    grantWarnings(access, model),
  );
}

function resend(cmd: ResendInvitation, ctx: WorkspaceContext): Decision<WorkspaceEvent> {
  const { inv, error } = authorizeInvitation(ctx, cmd.actorId, cmd.invitationId);
  if (!inv) return reject(error!);
  // bound to a user (rule 8) who holds another address now: not mailed to the one they gave up
  if (movedAddress(ctx, inv)) return reject(inviteeAddressChanged(inv, cmd.now));
  return accept([
    {
      type: 'InvitationResent',
      version: 1,
      data: {
        workspaceId: cmd.workspaceId,
        invitationId: inv.invitationId,
        linkVersion: inv.linkVersion + 1,
        resentAt: cmd.now,
        expiresAt: addSeconds(cmd.now, cmd.ttlSeconds),
        // the address it is mailed to, copied from the invitation (sealed under the address's own key): a resend
        // appended after a deletion that erased it is refused by the store and decided again (rule 12)
        email: inv.email,
        ...addressKeyFields(inv, ctx.org.organizationId),
      },
    },
  ]);
}

function cancel(cmd: CancelInvitation, ctx: WorkspaceContext): Decision<WorkspaceEvent> {
  const { inv, error } = authorizeInvitation(ctx, cmd.actorId, cmd.invitationId, false);
  if (!inv) return reject(error!);
  return accept([
    {
      type: 'InvitationCancelled',
      version: 1,
      data: { workspaceId: cmd.workspaceId, invitationId: inv.invitationId, email: inv.email, cancelledAt: cmd.now, ...addressKeyFields(inv, ctx.org.organizationId), cancelledBy: cmd.actorId },
    },
  ]);
}

/**
 * Rule 8 (docs/rules.md#rule-8): who accepts. An invitation sent to an org user's address binds to that user, whatever
 * address they or anyone else hold now; one sent to a new address links whoever holds it now (only possible after
 * they proved they read it: by accepting another invitation to it or confirming an email change), else a new user.
 * undefined: the addressee was erased (deleted since).
 */
function inviteeOf(ctx: WorkspaceContext, inv: Invitation, newUserId: string): string | undefined {
  if (inv.inviteeUserId) {
    const invitee = ctx.org.users.get(inv.inviteeUserId);
    return invitee && !invitee.deleted ? invitee.userId : undefined;
  }
  if (!hasAddress(inv)) return undefined;
  return userIdForEmail(ctx.org, inv.email, newUserId);
}

/** Rules 7 and 8: a pending, current, unexpired link makes the (new or existing) org user an active member. */
function acceptInvitation(cmd: AcceptInvitation, ctx: WorkspaceContext): Decision<WorkspaceEvent> {
  const inv = ctx.ws.invitations.get(cmd.invitationId);
  if (!inv) return reject(invitationNotFound(cmd.invitationId));
  if (inv.status !== 'pending') return reject(notPending(inv));
  if (cmd.linkVersion !== inv.linkVersion)
    return reject(
      domainError('INVITATION_LINK_SUPERSEDED', 'This link was replaced by a newer one; use the link from the latest email.'),
    );
  if (isAtOrAfter(cmd.now, inv.expiresAt))
    return reject(
      domainError('INVITATION_EXPIRED', expiredLinkMessage(inv)),
    );
  // an address erased since (a deletion in another organization, for an invitation sent before session 24: its key
  // was shared) is refused whoever the invitation binds to, as its link and its resend are (probe 23c: a bound one went on to a join with no address, 400)
  const userId = hasAddress(inv) ? inviteeOf(ctx, inv, cmd.newUserId) : undefined;
  if (!userId) return reject(addresseeErased());
  if (activeMember(ctx, userId))
    return reject(domainError('ALREADY_MEMBER', `${inv.email} is already an active member of this workspace.`));
  return accept([
    {
      type: 'InvitationAccepted',
      version: 1,
      data: {
        workspaceId: cmd.workspaceId,
        organizationId: ctx.org.organizationId,
        invitationId: inv.invitationId,
        userId,
        email: inv.email,
        access: inv.access,
        acceptedAt: cmd.now,
        ...(inv.addressKey && { addressKey: inv.addressKey }),
      },
    },
  ]);
}

/** the restrictions `before` holds with the same value in `after` */
const keptRestrictions = (before: Restrictions, after: Restrictions): Restrictions =>
  Object.fromEntries(Object.entries(before).filter(([name, value]) => after[name] === value));

/** Rule 10: edit access changes roles, restrictions and grants, nothing else. */
function changeAccess(cmd: ChangeAccess, ctx: WorkspaceContext): Decision<WorkspaceEvent> {
  const self = checkNotSelf(cmd.actorId, cmd.userId);
  if (self) return reject(self);
  const actor = authorizeMemberManagement(ctx, cmd.actorId);
  if (!isActor(actor)) return reject(actor!);
  const member = activeMember(ctx, cmd.userId);
  if (!member) return reject(notAMember(ctx, cmd.userId));
  const model = modelOf(ctx);
  const current = member.access;
  const roles = cmd.roles ?? current.roles;
  const rolesChanged = !sameList(roles, current.roles);
  const requested: Access = {
    roles,
    grants: cmd.grants ?? current.grants,
    // a new access level drops the restrictions that no longer apply to it
    restrictions: cmd.restrictions ?? (rolesChanged ? restrictionsValidFor(current.restrictions, roles, model) : current.restrictions),
  };
  const invalid = validateAccess(requested, model, planOf(ctx));
  if (invalid) return reject(invalid);
  const next = normalizeAccess(requested, model);
  const authority = checkAssignment(ctx, actor, current, next);
  if (authority) return reject(authority);
  if (isLastOwner(ctx, cmd.userId) && !isOwner(next, model, planOf(ctx)))
    return reject(domainError('LAST_OWNER', `This is the last owner of the workspace; ${anotherOwnerFirst([ownerWayOut(ctx, cmd.userId, cmd.actorId)], '')}`));

  const base = { workspaceId: cmd.workspaceId, userId: cmd.userId, changedAt: cmd.now };
  const events: WorkspaceEvent[] = [];
  const restrictionsChanged = (before: Restrictions, after: Restrictions) => {
    // (a member stored with a data scope at its default, before such a scope was dropped, has nothing to change)
    if (!sameRestrictions(before, after, model)) events.push({ type: 'RestrictionsChanged', version: 1, data: { ...base, before, after } });
  };
  // Each event's access is one the rules allow (rule 17: the history shows it as a step): with a new level, the
  // restrictions it does not keep go first (on the old level), then the level, then the ones it adds (on the new).
  // Kept restrictions are valid for both levels: a restriction's validity depends on the roles alone.
  const kept = rolesChanged ? keptRestrictions(current.restrictions, next.restrictions) : next.restrictions;
  restrictionsChanged(current.restrictions, kept);
  if (rolesChanged)
    events.push({ type: 'AccessLevelChanged', version: 1, data: { ...base, before: current.roles, after: next.roles } });
  restrictionsChanged(kept, next.restrictions);
  if (!sameList(current.grants, next.grants))
    events.push({ type: 'GrantsChanged', version: 1, data: { ...base, before: current.grants, after: next.grants } });
  return accept(events, cmd.grants ? grantWarnings(next, model) : []);
}

/** Rule 11: revoke removes the member from the workspace and its teams; contacts are unassigned or reassigned to another active member. */
function revoke(cmd: RevokeAccess, ctx: WorkspaceContext): Decision<WorkspaceEvent> {
  const self = checkNotSelf(cmd.actorId, cmd.userId);
  if (self) return reject(self);
  const actor = authorizeMemberManagement(ctx, cmd.actorId);
  if (!isActor(actor)) return reject(actor!);
  const member = activeMember(ctx, cmd.userId);
  if (!member) return reject(notAMember(ctx, cmd.userId));
  const authority = checkAssignment(ctx, actor, member.access, undefined);
  if (authority) return reject(authority);
  if (isLastOwner(ctx, cmd.userId))
    return reject(domainError('LAST_OWNER', `This is the last owner of the workspace and cannot be revoked; ${anotherOwnerFirst([ownerWayOut(ctx, cmd.userId, cmd.actorId)], '')}`));
  let contacts: ContactsDisposition = { mode: 'unassigned' };
  if (cmd.reassignContactsTo !== undefined) {
    if (cmd.reassignContactsTo === cmd.userId || !activeMember(ctx, cmd.reassignContactsTo)) return reject(invalidReassignment(ctx, cmd.userId, cmd.reassignContactsTo));
    contacts = { mode: 'reassigned', toUserId: cmd.reassignContactsTo };
  }
  // rule 11: out of every team first, in the same decision (docs/adr/0009): no log prefix shows a revoked team member
  return accept([
    ...removalsFromTeams(ctx.ws.teams, cmd.workspaceId, cmd.userId, 'revoke', cmd.now),
    {
      type: 'AccessRevoked',
      version: 1,
      data: {
        workspaceId: cmd.workspaceId,
        organizationId: ctx.org.organizationId,
        userId: cmd.userId,
        before: member.access,
        contacts,
        revokedAt: cmd.now,
        revokedBy: cmd.actorId,
      },
    },
  ]);
}

export function decideWorkspace(command: WorkspaceCommand, ctx: WorkspaceContext): Decision<WorkspaceEvent> {
  // an organization being closed decides nothing in its workspaces (an invitation accepted by its link among them)
  if (ctx.org.closingSince !== undefined) return reject(organizationClosed(ctx.org));
  switch (command.type) {
    case 'InviteMember':
      return invite(command, ctx);
    case 'ResendInvitation':
      return resend(command, ctx);
    case 'CancelInvitation':
      return cancel(command, ctx);
    case 'AcceptInvitation':
      return acceptInvitation(command, ctx);
    case 'ChangeAccess':
      return changeAccess(command, ctx);
    case 'RevokeAccess':
      return revoke(command, ctx);
  }
}
