import { formatDuration } from '../shared/durations';
import type { EmailChangeConfirmed, EmailChangeRequested, EmailChangeWithdrawn, ProfileChanges, UserProfileUpdated } from '../organization/events';
import { addSeconds, isAtOrAfter } from '../shared/events';
import { type Decision, accept, reject } from '../shared/result';
import { type DomainError, domainError, validationFailed, withFacts, type FieldError } from '../shared/errors';
import { checkEmail, checkText, checkUrl, cleanName, emailKey, normalizeEmail, normalizeUrl } from '../shared/validation';

/** A user's profile lives at the organization level and shows in every workspace (rule 10). */
export interface UserProfile {
  userId: string;
  email: string;
  displayName: string;
  alias: string | null;
  avatarUrl: string | null;
  orgAdmin: boolean;
  deleted: boolean;
  joinedAt: string;
  /** every email the user has had in this organization (their personal data to erase on deletion) */
  knownEmails: string[];
  /** an email change waiting for its confirmation link to be opened (docs/rules.md#rule-10) */
  pendingEmail: PendingEmail | null;
  /** how many email changes were requested: numbers the confirmation links, so only the latest works */
  emailChangeVersion: number;
  /** when they were deleted, and by whom (an org admin's id or `system`; absent for deletions recorded before 2026-12-07: probe 80 F7) */
  deletedAt?: string;
  deletedBy?: string;
  /** the version of the latest email change confirmed (its link used): a second use says so (probe 65 F6); absent: none since session 51 */
  confirmedEmailChangeVersion?: number;
}

export interface PendingEmail {
  email: string;
  version: number;
  expiresAt: string;
  /** when it was requested (its link's lifetime is from then: the refusal of an expired one names it); absent in states kept before session 58 */
  requestedAt?: string;
  /** who asked: the user themself, or an org admin (absent in states kept before session 69: not checked then) */
  requestedBy?: string;
}

export interface UpdateProfile {
  type: 'UpdateProfile';
  organizationId: string;
  actorId: string;
  now: string;
  userId: string;
  changes: ProfileChanges;
  /** how long the confirmation link of a new email is valid (default 48 hours) */
  confirmationTtlSeconds?: number;
}

/** Opening the confirmation link mailed to the new address. Authenticated by the link alone. */
export interface ConfirmEmailChange {
  type: 'ConfirmEmailChange';
  organizationId: string;
  userId: string;
  version: number;
  now: string;
}

export interface ProfileContext {
  user: UserProfile | undefined;
  actor: UserProfile | undefined;
  /** the user id holding an email in the organization, if any */
  emailOwner: (email: string) => string | undefined;
  /**
   * Who a pending invitation to this email (in any workspace of the organization) was sent to: the invited user's
   * id, null for an address that was new to the organization, undefined when no invitation is pending.
   */
  pendingInvitee: (email: string) => string | null | undefined;
  /** where that pending invitation is; absent or undefined: not known */
  pendingInvitationWhere?: (email: string) => { workspaceId: string; invitationId: string } | undefined;
  /** whether a user is an active member of a workspace of the organization; absent: not known (not checked) */
  activeMemberSomewhere?: (userId: string) => boolean;
}

/** Rule 10 (docs/rules.md#rule-10): nobody may claim an address that someone else was invited at. */
const claimError = (ctx: ProfileContext, user: UserProfile, email: string) => {
  const owner = ctx.emailOwner(email);
  if (owner && owner !== user.userId)
    return domainError('EMAIL_TAKEN', `Another user of this organization already uses ${email}.`);
  const invitee = ctx.pendingInvitee(email);
  if (invitee !== undefined && invitee !== user.userId) {
    // named to an org admin, who may cancel it; not to a user changing their own address (another workspace's invitation)
    const where = ctx.actor?.orgAdmin ? ctx.pendingInvitationWhere?.(email) : undefined;
    const refusal = domainError(
      'EMAIL_PENDING_INVITATION',
      `${email} has a pending invitation for someone else${where ? ` (${where.invitationId}, in workspace ${where.workspaceId})` : ''}; it cannot become another user's address until that invitation is accepted or cancelled.`,
    );
    return where ? withFacts(refusal, where) : refusal;
  }
  return undefined;
};

export const evolveProfile = (profile: UserProfile, changes: ProfileChanges): UserProfile => ({
  ...profile,
  ...(changes.displayName !== undefined && { displayName: changes.displayName }),
  ...(changes.alias !== undefined && { alias: changes.alias }),
  ...(changes.avatarUrl !== undefined && { avatarUrl: changes.avatarUrl }),
  // events written before email changes needed a confirmation carry the email here (docs/adr/0004)
  ...(typeof changes.email === 'string' && { email: changes.email, knownEmails: [...new Set([...profile.knownEmails, changes.email])] }),
});

export type ProfileEvent = UserProfileUpdated | EmailChangeRequested | EmailChangeConfirmed | EmailChangeWithdrawn;

/**
 * The refusal of a command on no living user: one deleted says so, and that it is for good (probe 80 F7: a retried
 * deletion without its key read "not a user of this organization", while the user's detail said `deleted`).
 */
export const noLivingUser = (userId: string, deleted: boolean): DomainError =>
  deleted
    ? domainError('USER_NOT_FOUND', `User ${userId} was deleted from this organization; a deletion cannot be undone, and nothing more is decided about them.`)
    : domainError('USER_NOT_FOUND', `User ${userId} is not a user of this organization.`);

/** The user profile decider: the user themself or an org admin edits display name, alias, avatar URL and email. */
export function decideUpdateProfile(command: UpdateProfile, ctx: ProfileContext): Decision<ProfileEvent> {
  const { user, actor } = ctx;
  if (!user || user.deleted)
    return reject(noLivingUser(command.userId, user !== undefined));
  const actorMayEdit = actor && !actor.deleted && (actor.userId === user.userId || actor.orgAdmin);
  if (!actorMayEdit)
    return reject(
      domainError(
        'INSUFFICIENT_AUTHORITY',
        'Only the user themself or an organization admin can change a profile.',
      ),
    );
  // an actor is an active member or an org admin (docs/rules.md "HTTP API"): a user revoked from every workspace is
  // still an org user (rule 11), but no longer changes how every workspace shows them, nor has the product mail
  // confirmation links for them (probe 37 F1); an org admin changes it for them
  if (!actor.orgAdmin && ctx.activeMemberSomewhere && !ctx.activeMemberSomewhere(actor.userId))
    return reject(
      domainError(
        'INSUFFICIENT_AUTHORITY',
        'You are not an active member of any workspace of this organization, so you cannot change your profile; an organization admin can.',
      ),
    );

  const fields: FieldError[] = [];
  const c = command.changes;
  const check = (error: FieldError | undefined) => error && fields.push(error);
  // a value sent back as it is stored is no change, and not checked again: a name stored before a rule that refuses it
  // now (six combining marks on a letter: probe 73 F4) must not keep a console that saves the whole form from saving
  // the rest (probe 74 F4)
  const unchanged = (value: string, stored: string | null) => typeof value === 'string' && cleanName(value) === stored;
  if (c.displayName !== undefined && !unchanged(c.displayName, user.displayName)) check(checkText('displayName', c.displayName, 200));
  if (c.alias !== undefined && c.alias !== null && !unchanged(c.alias, user.alias)) check(checkText('alias', c.alias, 200, true));
  if (c.avatarUrl !== undefined && c.avatarUrl !== null) check(checkUrl('avatarUrl', c.avatarUrl));
  if (c.email !== undefined) check(checkEmail('email', c.email));
  if (fields.length > 0) return reject(validationFailed(fields));

  const next: ProfileChanges = {};
  if (c.displayName !== undefined && cleanName(c.displayName) !== user.displayName) next.displayName = cleanName(c.displayName);
  const alias = c.alias === undefined || c.alias === null ? c.alias : cleanName(c.alias) || null;
  if (alias !== undefined && alias !== user.alias) next.alias = alias;
  const avatarUrl = c.avatarUrl === undefined || c.avatarUrl === null ? c.avatarUrl : normalizeUrl(c.avatarUrl);
  if (avatarUrl !== undefined && avatarUrl !== user.avatarUrl) next.avatarUrl = avatarUrl;
  const events: ProfileEvent[] = [];
  if (Object.keys(next).length > 0)
    events.push({
      type: 'UserProfileUpdated',
      version: 1,
      data: { organizationId: command.organizationId, userId: user.userId, changes: next, updatedAt: command.now },
    });
  // A new email takes effect only once confirmed through the link mailed to it (docs/rules.md#rule-10). Asking again
  // for the address pending mails a new link (the earlier one lost, or expired); asking for the address the user
  // has withdraws what is pending. Either way the earlier link stops working.
  if (c.email !== undefined && emailKey(normalizeEmail(c.email)) === emailKey(user.email) && user.pendingEmail)
    events.push({
      type: 'EmailChangeWithdrawn',
      version: 1,
      data: { organizationId: command.organizationId, userId: user.userId, version: user.emailChangeVersion + 1, withdrawnAt: command.now },
    });
  if (c.email !== undefined && emailKey(normalizeEmail(c.email)) !== emailKey(user.email)) {
    const email = normalizeEmail(c.email);
    // An org admin, who reads every user's address anyway, is told at once that the address is taken or invited. A user
    // changing their own address is not: refusing them would tell any member which addresses are the organization's
    // users, and which are invited to workspaces they cannot see (probe 83 F1: an agent's address oracle, leaving no
    // trace). Their link is mailed, and its confirmation refuses the address then (decideConfirmEmailChange), to the
    // holder of the mailbox, who proves the address is theirs.
    const error = actor.orgAdmin ? claimError(ctx, user, email) : undefined;
    if (error) return reject(error);
    events.push({
      type: 'EmailChangeRequested',
      version: 1,
      data: {
        organizationId: command.organizationId,
        userId: user.userId,
        email,
        version: user.emailChangeVersion + 1,
        requestedAt: command.now,
        expiresAt: addSeconds(command.now, command.confirmationTtlSeconds ?? 48 * 3600),
        requestedBy: actor.userId,
      },
    });
  }
  return accept(events);
}

/** The confirmation link of the latest, unexpired email change makes the new address the user's. */
export function decideConfirmEmailChange(command: ConfirmEmailChange, ctx: ProfileContext): Decision<EmailChangeConfirmed> {
  const { user } = ctx;
  if (!user || user.deleted)
    return reject(domainError('EMAIL_CHANGE_NOT_PENDING', 'This confirmation link is no longer valid: the user does not exist.'));
  const pending = user.pendingEmail;
  // the link of the change confirmed last, used again (a double click, a mail scanner's replay): it worked (probe 65 F6)
  if ((!pending || pending.version !== command.version) && user.confirmedEmailChangeVersion === command.version)
    return reject(domainError('EMAIL_CHANGE_NOT_PENDING', 'This confirmation link was already used: the new email address is confirmed, nothing more to do.'));
  if (!pending || pending.version !== command.version)
    return reject(
      domainError('EMAIL_CHANGE_NOT_PENDING', 'This confirmation link was replaced or already used; request the email change again.'),
    );
  if (isAtOrAfter(command.now, pending.expiresAt))
    return reject(domainError('EMAIL_CHANGE_EXPIRED', expiredConfirmationMessage(pending)));
  // a change the user asked for themself counts while they may change their profile (rule 10): revoked from every
  // workspace since, they no longer change how the workspaces show them (probe 121 F9: a departing employee's link,
  // followed after their revoke, re-addressed the profile the organization keeps). One an org admin asked stands.
  if (pending.requestedBy === user.userId && !user.orgAdmin && ctx.activeMemberSomewhere && !ctx.activeMemberSomewhere(user.userId))
    return reject(
      domainError(
        'EMAIL_CHANGE_NOT_PENDING',
        'This email change was asked by the user themself, who is no longer an active member of any workspace of this organization: it no longer applies. An organization admin can change the address.',
      ),
    );
  const error = claimError(ctx, user, pending.email);
  if (error) return reject(error);
  return accept([
    {
      type: 'EmailChangeConfirmed',
      version: 1,
      data: { organizationId: command.organizationId, userId: user.userId, email: pending.email, version: pending.version, confirmedAt: command.now },
    },
  ]);
}

/**
 * A change of a user's profile as read models apply it: an email change counts once confirmed
 * (EmailChangeConfirmed); UserProfileUpdated written before confirmations existed may carry the email itself.
 */
export const profileChangeOf = (
  event: { type: string; data: unknown },
): { organizationId: string; userId: string; changes: ProfileChanges } | undefined => {
  if (event.type === 'UserProfileUpdated') return (event as UserProfileUpdated).data;
  if (event.type === 'EmailChangeConfirmed') {
    const d = (event as EmailChangeConfirmed).data;
    return { organizationId: d.organizationId, userId: d.userId, changes: { email: d.email } };
  }
  return undefined;
};

/** The refusal of an expired confirmation link names the lifetime it was given, as an invitation's does (probe 89 F4). */
const expiredConfirmationMessage = (pending: PendingEmail): string => {
  const lifetime = pending.requestedAt === undefined ? '' : ` (links are valid for ${formatDuration((Date.parse(pending.expiresAt) - Date.parse(pending.requestedAt)) / 1000)})`;
  return `This confirmation link has expired${lifetime}; request the email change again.`;
};
