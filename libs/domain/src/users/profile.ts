import type { ProfileChanges, UserProfileUpdated } from '../organization/events';
import { type Decision, accept, reject } from '../shared/result';
import { domainError, validationFailed, type FieldError } from '../shared/errors';
import { checkEmail, checkText, checkUrl, normalizeEmail } from '../shared/validation';

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
}

export interface UpdateProfile {
  type: 'UpdateProfile';
  organizationId: string;
  actorId: string;
  now: string;
  userId: string;
  changes: ProfileChanges;
}

export interface ProfileContext {
  user: UserProfile | undefined;
  actor: UserProfile | undefined;
  /** the user id holding an email in the organization, if any */
  emailOwner: (email: string) => string | undefined;
}

export const evolveProfile = (profile: UserProfile, changes: ProfileChanges): UserProfile => ({
  ...profile,
  ...(changes.displayName !== undefined && { displayName: changes.displayName }),
  ...(changes.alias !== undefined && { alias: changes.alias }),
  ...(changes.avatarUrl !== undefined && { avatarUrl: changes.avatarUrl }),
  ...(typeof changes.email === 'string' && { email: changes.email, knownEmails: [...new Set([...profile.knownEmails, changes.email])] }),
});

/** The user profile decider: the user themself or an org admin edits display name, alias, avatar URL and email. */
export function decideUpdateProfile(command: UpdateProfile, ctx: ProfileContext): Decision<UserProfileUpdated> {
  const { user, actor } = ctx;
  if (!user || user.deleted)
    return reject(domainError('USER_NOT_FOUND', `User ${command.userId} is not a user of this organization.`));
  const actorMayEdit = actor && !actor.deleted && (actor.userId === user.userId || actor.orgAdmin);
  if (!actorMayEdit)
    return reject(
      domainError(
        'INSUFFICIENT_AUTHORITY',
        'Only the user themself or an organization admin can change a profile.',
      ),
    );

  const fields: FieldError[] = [];
  const c = command.changes;
  const check = (error: FieldError | undefined) => error && fields.push(error);
  if (c.displayName !== undefined) check(checkText('displayName', c.displayName, 200));
  if (c.alias !== undefined && c.alias !== null) check(checkText('alias', c.alias, 200, true));
  if (c.avatarUrl !== undefined && c.avatarUrl !== null) check(checkUrl('avatarUrl', c.avatarUrl));
  if (c.email !== undefined) check(checkEmail('email', c.email));
  if (fields.length > 0) return reject(validationFailed(fields));

  const next: ProfileChanges = {};
  if (c.displayName !== undefined && c.displayName.trim() !== user.displayName) next.displayName = c.displayName.trim();
  if (c.alias !== undefined && (c.alias?.trim() || null) !== user.alias) next.alias = c.alias?.trim() || null;
  if (c.avatarUrl !== undefined && c.avatarUrl !== user.avatarUrl) next.avatarUrl = c.avatarUrl;
  if (c.email !== undefined && normalizeEmail(c.email) !== user.email) {
    const email = normalizeEmail(c.email);
    const owner = ctx.emailOwner(email);
    if (owner && owner !== user.userId)
      return reject(domainError('EMAIL_TAKEN', `Another user of this organization already uses ${email}.`));
    next.email = email;
  }
  if (Object.keys(next).length === 0) return accept([]);
  return accept([
    {
      type: 'UserProfileUpdated',
      version: 1,
      data: { organizationId: command.organizationId, userId: user.userId, changes: next, updatedAt: command.now },
    },
  ]);
}
