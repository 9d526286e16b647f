import type { OrganizationEvent } from './organization/events';
import type { UserInvited, UserInvitedV1, WorkspaceEvent } from './workspace/events';
import type { PresenceEvent } from './presence/events';
import { MAIL_EVENT_TYPES, type MailEvent } from './mail/events';
import { TEAM_EVENT_TYPES } from './teams/events';

export type DomainEvent = OrganizationEvent | WorkspaceEvent | PresenceEvent | MailEvent;
/** Every version ever written: what the store may hand back. */
export type StoredDomainEvent = DomainEvent | UserInvitedV1;

export const ORGANIZATION_EVENT_TYPES = [
  'OrganizationCreated',
  'ApiKeyIssued',
  'ApiKeyRevoked',
  'UserJoinedOrganization',
  'WorkspaceCreated',
  'UserProfileUpdated',
  'EmailChangeRequested',
  'EmailChangeConfirmed',
  'EmailChangeWithdrawn',
  'OrgAdminChanged',
  'UserDeleted',
] as const;
export const WORKSPACE_EVENT_TYPES = [
  'UserInvited',
  'InvitationResent',
  'InvitationCancelled',
  'InvitationAccepted',
  'AccessLevelChanged',
  'RestrictionsChanged',
  'GrantsChanged',
  'AccessRevoked',
  'UserDeletedFromWorkspace',
  // teams and networking live in the workspace streams (docs/adr/0009)
  ...TEAM_EVENT_TYPES,
] as const;
/** one presence stream per user and workspace (docs/rules.md#presence-details) */
export const PRESENCE_EVENT_TYPES = ['PresenceChanged', 'MembershipEnded'] as const;
export const DOMAIN_EVENT_TYPES: readonly string[] = [...ORGANIZATION_EVENT_TYPES, ...WORKSPACE_EVENT_TYPES, ...PRESENCE_EVENT_TYPES, ...MAIL_EVENT_TYPES];

const upcastUserInvitedV1 = (e: UserInvitedV1): UserInvited => {
  const { role, ...rest } = e.data;
  return {
    type: 'UserInvited',
    version: 2,
    data: { ...rest, access: { roles: [role], restrictions: {}, grants: [] }, linkVersion: 1 },
  };
};

/** Every upcaster (add new ones here too): snapshots of decision states hash their code (docs/adr/0008-snapshots.md). */
export const UPCASTERS: readonly ((event: never) => unknown)[] = [upcastUserInvitedV1];

/**
 * The one place where old event versions become current ones. Events are never rewritten in the store;
 * they are upcast when read. Unknown types or versions are returned as undefined (and skipped by folds).
 */
export function upcast(event: { type: string; version?: number; data: unknown }): DomainEvent | undefined {
  if (!DOMAIN_EVENT_TYPES.includes(event.type)) return undefined;
  const version = event.version ?? 1;
  if (event.type === 'UserInvited' && version === 1) return upcastUserInvitedV1(event as UserInvitedV1);
  return { ...event, version } as DomainEvent;
}

/** How a domain event is stored: type and data as they are, the schema version in the metadata. */
export interface StoredEventShape {
  type: string;
  data: unknown;
  metadata: Record<string, unknown>;
}

export const toStored = (event: DomainEvent, metadata: object): StoredEventShape => ({
  type: event.type,
  data: event.data,
  metadata: { ...metadata, schemaVersion: event.version },
});

/** Reads a stored event back as a current-version domain event (undefined for types the domain does not know). */
export const fromStored = (stored: StoredEventShape): DomainEvent | undefined =>
  upcast({
    type: stored.type,
    version: typeof stored.metadata.schemaVersion === 'number' ? stored.metadata.schemaVersion : 1,
    data: stored.data,
  });

/** Does this event belong to an organization stream (else to a workspace stream)? For commands that write both. */
export const isOrganizationEvent = (event: { type: string }): boolean => (ORGANIZATION_EVENT_TYPES as readonly string[]).includes(event.type);
