import { ACCESS_MODELS, PLANS, type AccessModelName, type Plan } from '../access-model';
import { domainError, validationFailed, type FieldError } from '../shared/errors';
import { SYSTEM_ACTOR } from '../shared/events';
import { DEFAULT_QUOTAS, quotaExceeded } from '../shared/quotas';
import { type Decision, accept, reject } from '../shared/result';
import { checkEmail, checkText, cleanName, emailKey, normalizeEmail } from '../shared/validation';
import { type ConfirmEmailChange, type ProfileContext, decideConfirmEmailChange, decideUpdateProfile, type UpdateProfile } from '../users/profile';
import type { OrganizationEvent, UserJoinedOrganization } from './events';
import { type ChangeOrgAdmin, decideChangeOrgAdmin } from '../users/org-admin';
import { type IssueApiKey, type LabelApiKey, type RevokeApiKey, decideIssueApiKey, decideLabelApiKey, decideRevokeApiKey } from './api-keys';
import { type FinishClosingOrganization, type StartClosingOrganization, decideFinishClosing, decideStartClosing } from './close';
import { activeUser, isOrgAdmin, organizationClosed, type OrganizationState } from './state';

export interface CreateOrganization {
  type: 'CreateOrganization';
  organizationId: string;
  actorId: string;
  now: string;
  name: string;
  admin: { userId: string; email: string; displayName: string };
  /** the organization's first API key: its id and the SHA-256 of its secret (the secret never reaches the domain) */
  apiKey: { keyId: string; secretHash: string };
}

export interface CreateWorkspace {
  type: 'CreateWorkspace';
  organizationId: string;
  actorId: string;
  now: string;
  workspaceId: string;
  name: string;
  plan?: Plan;
  accessModel?: AccessModelName;
  /** the organization's quota of workspaces (shared/quotas.ts): the operator's setting, the default without it */
  maxWorkspaces?: number;
}

/** Issued when an invitation is accepted: links the existing org user with that email, or creates one (rule 8). */
export interface JoinOrganization {
  type: 'JoinOrganization';
  organizationId: string;
  actorId: string;
  now: string;
  /** the id the user gets if the email is new to the organization */
  newUserId: string;
  email: string;
  displayName?: string;
  /** the invitation accepted, recorded on the user's joining (probe 82 F7: the organization's changes said not where) */
  invitation?: { workspaceId: string; invitationId: string };
}

export type OrganizationCommand = CreateOrganization | CreateWorkspace | JoinOrganization | UpdateProfile | ConfirmEmailChange | ChangeOrgAdmin | IssueApiKey | RevokeApiKey | LabelApiKey | StartClosingOrganization | FinishClosingOrganization;

/**
 * What the profile decider needs beside the organization: the pending invitations of its workspaces, by email
 * (email → the invited user's id, or null for an address new to the organization). Workspace streams hold them,
 * so the caller gathers them; without it no invitation is pending.
 */
export interface PendingInvitations {
  pendingInvitations?: ReadonlyMap<string, string | null>;
  /** where each of them is (the same keys): a refusal names the invitation to cancel (probe 80 F2) */
  pendingInvitationsWhere?: ReadonlyMap<string, { workspaceId: string; invitationId: string }>;
  /**
   * whether a user is an active member of a workspace of the organization (workspace streams hold memberships, so the
   * caller answers it from the workspaces it loaded); absent: not known, not asked
   */
  activeMemberSomewhere?: (userId: string) => boolean;
}

const profileContext = (state: OrganizationState, userId: string, actorId: string, extra: PendingInvitations): ProfileContext => ({
  user: state.users.get(userId),
  actor: activeUser(state, actorId),
  emailOwner: (email) => state.byEmail.get(emailKey(email)),
  pendingInvitee: (email) => extra.pendingInvitations?.get(emailKey(email)),
  pendingInvitationWhere: (email) => extra.pendingInvitationsWhere?.get(emailKey(email)),
  activeMemberSomewhere: extra.activeMemberSomewhere,
});

const notFound = (organizationId: string) =>
  domainError('ORGANIZATION_NOT_FOUND', `Organization ${organizationId} does not exist.`);

/** The user id an email resolves to in the organization: the existing user's, or the new one (rule 8). */
export const userIdForEmail = (state: OrganizationState, email: string, newUserId: string): string =>
  state.byEmail.get(emailKey(normalizeEmail(email))) ?? newUserId;

const defaultDisplayName = (email: string) => email.split('@')[0] ?? email;

export function decideOrganization(
  command: OrganizationCommand,
  state: OrganizationState,
  extra: PendingInvitations = {},
): Decision<OrganizationEvent> {
  // an organization being closed decides nothing but its closing (its users' deletions and its addresses' erasures are
  // decided apart: users/delete-user.ts, users/erase-address.ts)
  if (state.closingSince !== undefined && command.type !== 'CreateOrganization' && command.type !== 'StartClosingOrganization' && command.type !== 'FinishClosingOrganization')
    return reject(organizationClosed(state));
  switch (command.type) {
    case 'StartClosingOrganization':
      return decideStartClosing(command, state);
    case 'FinishClosingOrganization':
      return decideFinishClosing(command, state);
    case 'CreateOrganization': {
      if (state.exists)
        return reject(domainError('ORGANIZATION_EXISTS', `Organization ${command.organizationId} already exists.`));
      if (command.actorId !== SYSTEM_ACTOR)
        return reject(domainError('INSUFFICIENT_AUTHORITY', 'Only a system key can create organizations.'));
      const fields = [
        checkText('name', command.name, 200),
        checkEmail('admin.email', command.admin.email),
        checkText('admin.displayName', command.admin.displayName, 200),
      ].filter((f): f is FieldError => f !== undefined);
      if (fields.length > 0) return reject(validationFailed(fields));
      return accept([
        {
          type: 'OrganizationCreated',
          version: 1,
          data: { organizationId: command.organizationId, name: cleanName(command.name), createdAt: command.now },
        },
        {
          type: 'ApiKeyIssued',
          version: 1,
          // the organization's first key: the operator's, who creates organizations with the system key
          data: { organizationId: command.organizationId, ...command.apiKey, issuedAt: command.now, issuedBy: SYSTEM_ACTOR },
        },
        {
          type: 'UserJoinedOrganization',
          version: 1,
          data: {
            organizationId: command.organizationId,
            userId: command.admin.userId,
            email: normalizeEmail(command.admin.email),
            displayName: cleanName(command.admin.displayName),
            orgAdmin: true,
            joinedAt: command.now,
          },
        },
      ]);
    }
    case 'CreateWorkspace': {
      if (!state.exists) return reject(notFound(command.organizationId));
      if (!isOrgAdmin(state, command.actorId))
        return reject(domainError('INSUFFICIENT_AUTHORITY', 'Only an organization admin can create workspaces.'));
      if (state.workspaces.has(command.workspaceId))
        return reject(domainError('WORKSPACE_EXISTS', `Workspace ${command.workspaceId} already exists.`));
      const maxWorkspaces = command.maxWorkspaces ?? DEFAULT_QUOTAS.workspacesPerOrganization;
      if (state.workspaces.size >= maxWorkspaces) return reject(quotaExceeded('workspacesPerOrganization', 'This organization', state.workspaces.size, maxWorkspaces, ['workspace', 'workspaces']));
      const plan = command.plan ?? 'standard';
      const model = command.accessModel ?? 'levels';
      const fields = [
        checkText('name', command.name, 200),
        PLANS.includes(plan) ? undefined : { field: 'plan', message: `must be one of ${PLANS.join(', ')}` },
        ACCESS_MODELS.includes(model)
          ? undefined
          : { field: 'accessModel', message: `must be one of ${ACCESS_MODELS.join(', ')}` },
      ].filter((f): f is FieldError => f !== undefined);
      if (fields.length > 0) return reject(validationFailed(fields));
      return accept([
        {
          type: 'WorkspaceCreated',
          version: 1,
          data: {
            organizationId: command.organizationId,
            workspaceId: command.workspaceId,
            name: cleanName(command.name),
            plan,
            accessModel: model,
            ownerUserId: command.actorId,
            createdAt: command.now,
          },
        },
      ]);
    }
    case 'JoinOrganization': {
      if (!state.exists) return reject(notFound(command.organizationId));
      const emailError = checkEmail('email', command.email);
      if (emailError) return reject(validationFailed([emailError]));
      const email = normalizeEmail(command.email);
      // an invitation bound to an existing user (rule 8) joins nobody new, whatever address it was sent to; the
      // display name sent is then ignored, and so not checked
      if (state.users.has(command.newUserId) || state.byEmail.has(emailKey(email))) return accept([]);
      // rule 6's checks of a name; a blank one counts as none (a console's empty field): the address's local part
      const nameError = command.displayName === undefined ? undefined : checkText('displayName', command.displayName, 200, true);
      if (nameError) return reject(validationFailed([nameError]));
      const joined: UserJoinedOrganization = {
        type: 'UserJoinedOrganization',
        version: 1,
        data: {
          organizationId: command.organizationId,
          userId: command.newUserId,
          email,
          displayName: (command.displayName !== undefined && cleanName(command.displayName)) || defaultDisplayName(email),
          orgAdmin: false,
          joinedAt: command.now,
          ...(command.invitation && { workspaceId: command.invitation.workspaceId, invitationId: command.invitation.invitationId }),
        },
      };
      return accept([joined]);
    }
    case 'UpdateProfile': {
      if (!state.exists) return reject(notFound(command.organizationId));
      return decideUpdateProfile(command, profileContext(state, command.userId, command.actorId, extra));
    }
    case 'ConfirmEmailChange': {
      if (!state.exists) return reject(notFound(command.organizationId));
      return decideConfirmEmailChange(command, profileContext(state, command.userId, command.userId, extra));
    }
    case 'ChangeOrgAdmin':
      return decideChangeOrgAdmin(command, state);
    case 'IssueApiKey':
    case 'RevokeApiKey':
    case 'LabelApiKey':
      if (!state.exists) return reject(notFound(command.organizationId));
      return command.type === 'IssueApiKey' ? decideIssueApiKey(command, state) : command.type === 'RevokeApiKey' ? decideRevokeApiKey(command, state) : decideLabelApiKey(command, state);
  }
}

