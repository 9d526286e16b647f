import type { AccessModelName, Plan } from '../access-model';
import { indexAddress, unindexAddress } from '../shared/address-index';
import { emailKey } from '../shared/validation';
import { evolveProfile, noLivingUser, type UserProfile } from '../users/profile';
import type { OrganizationEvent } from './events';
import { type DomainError, domainError } from '../shared/errors';

export interface WorkspaceInfo {
  workspaceId: string;
  /** the organization the workspace belongs to (an invitation's address is sealed under a key of this organization's) */
  organizationId: string;
  name: string;
  plan: Plan;
  accessModel: AccessModelName;
  ownerUserId: string;
  createdAt: string;
}

export interface OrganizationState {
  exists: boolean;
  organizationId: string;
  name: string;
  users: Map<string, UserProfile>;
  /** address (its emailKey: stored forms of before session 27 folded) → userId, for users not deleted */
  byEmail: Map<string, string>;
  /** the keys of byEmail two users hold (address-index.ts: only from before session 27) */
  byEmailShared: Map<string, string[]>;
  workspaces: Map<string, WorkspaceInfo>;
  /** keyId → the key as the log has it (never its secret) */
  apiKeys: Map<string, ApiKeyOnFile>;
  /** keyId → a key revoked since, for the list of keys with `include=revoked` (probe 75 F4); its secret's hash dropped */
  revokedApiKeys: Map<string, RevokedApiKey>;
  /**
   * how many addresses were erased alone (AddressErased): with the deleted users, the epoch of the organization's
   * snapshots' key (each erasure forgets the key of the epoch it ends); absent in snapshots written before (none then)
   */
  addressErasures?: number;
  /**
   * how many of `users` are deleted: with addressErasures, that epoch (kept by the fold, not counted over the users at
   * each load: a 100,000-user organization's snapshot builds its users when first read, docs/adr/0013 "Session 59");
   * absent while none is
   */
  deletedUsers?: number;
  /** when the operator began closing the organization (OrganizationClosing: docs/adr/0035); absent: open */
  closingSince?: string;
  /** when it was closed: every user deleted, every invited address erased */
  closedAt?: string;
}

/** An organization API key not revoked: the SHA-256 of its secret, when it was issued, and the label it was given. */
export interface ApiKeyOnFile {
  secretHash: string;
  issuedAt: string;
  /** what the key is for, as its issuer or an org admin since named it (keys issued without one, and every key of before session 38: null) */
  label: string | null;
  /** the org admin who issued it, or `system`; null for keys issued before session 54 (their ApiKeyIssued's metadata names the actor) */
  issuedBy: string | null;
}

/** A key revoked: what the list of keys says of it (never its secret's hash: it authenticates nothing). */
export interface RevokedApiKey extends Omit<ApiKeyOnFile, 'secretHash'> {
  revokedAt: string;
  /** the org admin who revoked it, or `system`; null for revocations before session 54 */
  revokedBy: string | null;
}

export const initialOrganizationState = (): OrganizationState => ({
  exists: false,
  organizationId: '',
  name: '',
  users: new Map(),
  byEmail: new Map(),
  byEmailShared: new Map(),
  workspaces: new Map(),
  apiKeys: new Map(),
  revokedApiKeys: new Map(),
});

/**
 * Folds one event into the state. The state is owned by whoever folds it: evolve updates it in place and
 * returns it, so replaying a large organization is linear (deciders only read it).
 */
export function evolveOrganization(state: OrganizationState, event: OrganizationEvent): OrganizationState {
  switch (event.type) {
    case 'OrganizationCreated':
      state.exists = true;
      state.organizationId = event.data.organizationId;
      state.name = event.data.name;
      return state;
    case 'ApiKeyIssued': {
      const { keyId, secretHash, issuedAt, label, issuedBy } = event.data;
      state.apiKeys.set(keyId, { secretHash, issuedAt, label: label ?? null, issuedBy: issuedBy ?? null });
      return state;
    }
    case 'ApiKeyLabelChanged': {
      const key = state.apiKeys.get(event.data.keyId);
      if (key) state.apiKeys.set(event.data.keyId, { ...key, label: event.data.label });
      return state;
    }
    case 'ApiKeyRevoked': {
      const key = state.apiKeys.get(event.data.keyId);
      state.apiKeys.delete(event.data.keyId);
      if (key) {
        const { secretHash: _dropped, ...kept } = key;
        state.revokedApiKeys.set(event.data.keyId, { ...kept, revokedAt: event.data.revokedAt, revokedBy: event.data.revokedBy ?? null });
      }
      return state;
    }
    case 'UserJoinedOrganization': {
      const d = event.data;
      state.users.set(d.userId, {
        userId: d.userId,
        email: d.email,
        displayName: d.displayName,
        alias: null,
        avatarUrl: null,
        orgAdmin: d.orgAdmin,
        deleted: false,
        joinedAt: d.joinedAt,
        knownEmails: typeof d.email === 'string' ? [d.email] : [],
        pendingEmail: null,
        emailChangeVersion: 0,
      });
      // a deleted user's email reads as null once their key is forgotten (crypto-shredding)
      if (typeof d.email === 'string') indexAddress(state.byEmail, state.byEmailShared, emailKey(d.email), d.userId, holdsAddress, state);
      return state;
    }
    case 'WorkspaceCreated': {
      state.workspaces.set(event.data.workspaceId, { ...event.data });
      return state;
    }
    case 'UserProfileUpdated': {
      const user = state.users.get(event.data.userId);
      if (!user) return state;
      if (typeof event.data.changes.email === 'string') {
        unindexAddress(state.byEmail, state.byEmailShared, emailKey(user.email), user.userId);
        indexAddress(state.byEmail, state.byEmailShared, emailKey(event.data.changes.email), user.userId, holdsAddress, state);
      }
      state.users.set(user.userId, evolveProfile(user, event.data.changes));
      return state;
    }
    case 'EmailChangeRequested': {
      const user = state.users.get(event.data.userId);
      if (!user) return state;
      const { email, version, expiresAt, requestedAt, requestedBy } = event.data;
      // an erased request (the user was deleted since) reads as null: nothing is pending then
      const pendingEmail = typeof email === 'string' ? { email, version, expiresAt, requestedAt, ...(requestedBy !== undefined && { requestedBy }) } : null;
      state.users.set(user.userId, { ...user, pendingEmail, emailChangeVersion: Math.max(user.emailChangeVersion, version) });
      return state;
    }
    case 'EmailChangeWithdrawn': {
      const user = state.users.get(event.data.userId);
      if (!user) return state;
      state.users.set(user.userId, { ...user, pendingEmail: null, emailChangeVersion: Math.max(user.emailChangeVersion, event.data.version) });
      return state;
    }
    case 'EmailChangeConfirmed': {
      const user = state.users.get(event.data.userId);
      if (!user) return state;
      const email = event.data.email;
      const next = { ...user, pendingEmail: null, confirmedEmailChangeVersion: event.data.version };
      if (typeof email === 'string') {
        unindexAddress(state.byEmail, state.byEmailShared, emailKey(user.email), user.userId);
        indexAddress(state.byEmail, state.byEmailShared, emailKey(email), user.userId, holdsAddress, state);
        next.email = email;
        next.knownEmails = [...new Set([...user.knownEmails, email])];
      }
      state.users.set(user.userId, next);
      return state;
    }
    case 'OrgAdminChanged': {
      const user = state.users.get(event.data.userId);
      if (!user || user.deleted) return state;
      state.users.set(user.userId, { ...user, orgAdmin: event.data.orgAdmin });
      return state;
    }
    case 'UserDeleted': {
      const user = state.users.get(event.data.userId);
      if (!user) return state;
      if (!user.deleted) state.deletedUsers = (state.deletedUsers ?? 0) + 1;
      unindexAddress(state.byEmail, state.byEmailShared, emailKey(user.email), user.userId);
      // The decision state keeps nothing personal of a deleted user (docs/rules.md#rule-12): what this process
      // decrypted before the erasure must not be served after it.
      state.users.set(user.userId, {
        ...user,
        email: '',
        displayName: '',
        alias: null,
        avatarUrl: null,
        knownEmails: [],
        pendingEmail: null,
        deleted: true,
        orgAdmin: false,
        deletedAt: event.data.deletedAt,
        ...(event.data.deletedBy !== undefined && { deletedBy: event.data.deletedBy }),
      });
      return state;
    }
    case 'AddressErased':
      // the invitations it erased are the workspaces' (InvitationAddressErased): the organization only counts it
      state.addressErasures = (state.addressErasures ?? 0) + 1;
      return state;
    case 'OrganizationClosing':
      state.closingSince = event.data.startedAt;
      return state;
    case 'OrganizationClosed':
      state.closedAt = event.data.closedAt;
      return state;
    case 'DataExported':
      // a record of a download: nothing decided depends on it
      return state;
  }
}

/** The refusal of anything but the closing's own deletions and erasures in an organization being closed or closed. */
export const organizationClosed = (state: OrganizationState): DomainError =>
  domainError(
    'ORGANIZATION_CLOSED',
    state.closedAt
      ? `Organization ${state.organizationId} was closed on ${state.closedAt}: its users were deleted and nothing more is decided in it.`
      : `Organization ${state.organizationId} is being closed (since ${state.closingSince}): nothing more is decided in it.`,
  );

/** An active (not deleted) org user. */
export const activeUser = (state: OrganizationState, userId: string): UserProfile | undefined => {
  const user = state.users.get(userId);
  return user && !user.deleted ? user : undefined;
};

/** USER_NOT_FOUND for `userId`, saying whether they were deleted (noLivingUser) */
export const userNotFound = (state: Pick<OrganizationState, 'users'>, userId: string): DomainError => noLivingUser(userId, state.users.get(userId)?.deleted === true);

/** Rule 5: org admins may do everything an owner may, in every workspace of their organization. */
export const isOrgAdmin = (state: OrganizationState, userId: string): boolean =>
  activeUser(state, userId)?.orgAdmin === true;

/** whether a user found in byEmail still holds an address there (not deleted) */
export const holdsAddress = (state: OrganizationState, userId: string): boolean => activeUser(state, userId) !== undefined;
