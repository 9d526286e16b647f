import type { OrganizationEvent } from './organization/events';
import type { UserInvited, UserInvitedV1, WorkspaceEvent } from './workspace/events';
import type { PresenceEvent } from './presence/events';
import { type InvitationLinkCopied, LINK_RECORD_TYPES, MAIL_EVENT_TYPES, type MailEvent } from './mail/events';
import { TEAM_EVENT_TYPES } from './teams/events';
import { asciiDomain, undottedAddress } from './shared/validation';

export type DomainEvent = OrganizationEvent | WorkspaceEvent | PresenceEvent | MailEvent | InvitationLinkCopied;

export const ORGANIZATION_EVENT_TYPES = [
  'OrganizationCreated',
  'ApiKeyIssued',
  'ApiKeyRevoked',
  'ApiKeyLabelChanged',
  'UserJoinedOrganization',
  'WorkspaceCreated',
  'UserProfileUpdated',
  'EmailChangeRequested',
  'EmailChangeConfirmed',
  'EmailChangeWithdrawn',
  'OrgAdminChanged',
  'UserDeleted',
  'AddressErased',
  'OrganizationClosing',
  'OrganizationClosed',
  'DataExported',
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
  'InvitationAddressErased',
  'WorkspacePlanChanged',
  // teams and networking live in the workspace streams (docs/adr/0009)
  ...TEAM_EVENT_TYPES,
] as const;
/** one presence stream per user and workspace (docs/rules.md#presence-details) */
export const PRESENCE_EVENT_TYPES = ['PresenceChanged', 'MembershipEnded'] as const;
export const DOMAIN_EVENT_TYPES: readonly string[] = [...ORGANIZATION_EVENT_TYPES, ...WORKSPACE_EVENT_TYPES, ...PRESENCE_EVENT_TYPES, ...MAIL_EVENT_TYPES, ...LINK_RECORD_TYPES];
/** the same, to look up (every event read passes through it) */
const KNOWN_TYPES: ReadonlySet<string> = new Set(DOMAIN_EVENT_TYPES);

const upcastUserInvitedV1 = (e: UserInvitedV1): UserInvited => {
  const { role, ...rest } = e.data;
  return {
    type: 'UserInvited',
    version: 2,
    data: { ...rest, access: { roles: [role], restrictions: {}, grants: [] }, linkVersion: 1 },
  };
};

/**
 * The newest schema version of each type that this code reads (and writes): 1 unless named here. A type whose version
 * goes up must be named here in the same change, or this version refuses its own events as a later version's
 * (checkReadable below); every end-to-end suite writing one would answer 503 WRITTEN_BY_LATER_VERSION.
 */
const NEWEST_VERSION: Readonly<Partial<Record<string, number>>> = { UserInvited: 2, TeamShared: 2, TeamUnshared: 2 };
/** the newest schema version of `type` this code reads and writes (the data format pins them: data-format.spec.ts) */
export const newestVersionOf = (type: string): number => NEWEST_VERSION[type] ?? 1;

/** The streams the domain's events are appended to (the others hold the application's records: snapshots, erasures). */
export const DOMAIN_STREAM_PREFIXES: readonly string[] = ['organization-', 'workspace-', 'presence-', 'mail-'];

/**
 * An event on one of the domain's streams that this version cannot read: a type it does not know, or a schema version
 * newer than it reads. A later version of Rollcall wrote it (replicas of two versions over one log: a rolling upgrade
 * over EventStoreDB and MongoDB, which no data-format mark guards, or a downgrade). Folding past it would decide, or
 * project, as if it had not happened (probe 37b: an org admin demoted on the new replica still invited through the
 * old one; its projector skipped the event and moved the checkpoint past it for good), so whoever meets it stops
 * (docs/adr/0020 point 4).
 */
export class EventFromLaterVersion extends Error {
  readonly code = 'WRITTEN_BY_LATER_VERSION';
  constructor(
    readonly stream: string,
    readonly type: string,
    readonly version: number,
  ) {
    super(`${stream} holds an event this version of Rollcall cannot read (${type}, schema version ${version}): a later version wrote it`);
    this.name = 'EventFromLaterVersion';
  }
}

const versionOf = (metadata: Record<string, unknown>): number => (typeof metadata.schemaVersion === 'number' ? metadata.schemaVersion : 1);

type Recorded = { stream: string; type: string; metadata: Record<string, unknown> };

/** The EventFromLaterVersion an event of the domain's streams is (above), or undefined when this version reads it. */
export function laterVersionOf(recorded: Recorded): EventFromLaterVersion | undefined {
  if (!DOMAIN_STREAM_PREFIXES.some((prefix) => recorded.stream.startsWith(prefix))) return undefined;
  const version = versionOf(recorded.metadata);
  if (!KNOWN_TYPES.has(recorded.type) || version > (NEWEST_VERSION[recorded.type] ?? 1)) return new EventFromLaterVersion(recorded.stream, recorded.type, version);
  return undefined;
}

/** Throws EventFromLaterVersion for an event of the domain's streams that this version cannot read (above). */
export function checkReadable(recorded: Recorded): void {
  const later = laterVersionOf(recorded);
  if (later) throw later;
}

/**
 * An address stored before session 53 with a Turkish `İ` lower-cased as `i` and a dot above (`i̇rem@…`, which nobody
 * types), or before session 69 with one in its domain (`xn--gmail-bgd.test` for `GMAİL.TEST`): read as rule 6
 * normalizes it now (`irem@…`, `…@gmail.test`), so that it is compared, listed, mailed and corrected as that address
 * (probe 74 F1: it could not be changed to `irem@`, and a resend still mailed `i̇layda@`; probe 121 F7). Same schema
 * version: only the normalization moved. Personal fields read sealed (ciphertext) hold neither and pass as they are.
 */
const ADDRESS_FIELDS: Readonly<Partial<Record<string, 'email' | 'changes.email'>>> = {
  UserInvited: 'email',
  UserJoinedOrganization: 'email',
  EmailChangeRequested: 'email',
  EmailChangeConfirmed: 'email',
  UserProfileUpdated: 'changes.email',
};
const undotted = (value: unknown): string | undefined => {
  if (typeof value !== 'string') return undefined;
  const address = undottedAddress(value);
  return address === value ? undefined : address;
};
function upcastDottedAddress<E extends { type: string; data: unknown }>(event: E): E {
  const field = ADDRESS_FIELDS[event.type];
  if (!field) return event;
  const data = event.data as Record<string, unknown>;
  if (field === 'email') {
    const email = undotted(data.email);
    return email === undefined ? event : { ...event, data: { ...data, email } };
  }
  const changes = data.changes as Record<string, unknown> | undefined;
  const email = undotted(changes?.email);
  return email === undefined ? event : { ...event, data: { ...data, changes: { ...changes, email } } };
}

/**
 * Who sent an invitation, who cancelled one and who revoked a member are in the events' data since session 63
 * (`invitedBy`, `cancelledBy`, `revokedBy`: the invitation's and the org user's reads show them). An earlier event names
 * them only as its metadata's actor — the same person: the sender of an invitation, the canceller (or who deleted the
 * user or erased the address that cancelled it), who revoked — and is read with it. Same schema versions: the fields
 * are optional.
 */
const ACTOR_FIELDS: Readonly<Partial<Record<string, 'invitedBy' | 'cancelledBy' | 'revokedBy' | 'requestedBy'>>> = {
  UserInvited: 'invitedBy',
  InvitationCancelled: 'cancelledBy',
  AccessRevoked: 'revokedBy',
  // who asked for an email change, since session 69 (probe 121 F9)
  EmailChangeRequested: 'requestedBy',
};
function withActorField<E extends { type: string; data: unknown }>(event: E, metadata: Record<string, unknown>): E {
  const field = ACTOR_FIELDS[event.type];
  if (!field) return event;
  const data = event.data as Record<string, unknown>;
  return data[field] === undefined && typeof metadata.actorId === 'string' ? { ...event, data: { ...data, [field]: metadata.actorId } } : event;
}

/** Every upcaster (add new ones here too): snapshots of decision states hash their code (docs/adr/0008-snapshots.md). */
export const UPCASTERS: readonly ((event: never, metadata: never) => unknown)[] = [upcastUserInvitedV1, upcastDottedAddress, undottedAddress, asciiDomain, withActorField];

/**
 * The one place where old event versions become current ones. Events are never rewritten in the store;
 * they are upcast when read. Unknown types are returned as undefined; a fold of the domain's streams checks each
 * event first (checkReadable) and stops at one it cannot read.
 */
export function upcast(event: { type: string; version?: number; data: unknown }): DomainEvent | undefined {
  if (!KNOWN_TYPES.has(event.type)) return undefined;
  const version = event.version ?? 1;
  if (event.type === 'UserInvited' && version === 1) return upcastDottedAddress(upcastUserInvitedV1(event as UserInvitedV1));
  return upcastDottedAddress({ ...event, version }) as DomainEvent;
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
export function fromStored(stored: StoredEventShape): DomainEvent | undefined {
  const event = upcast({ type: stored.type, version: versionOf(stored.metadata), data: stored.data });
  return event && withActorField(event, stored.metadata);
}

/** Does this event belong to an organization stream (else to a workspace stream)? For commands that write both. */
export const isOrganizationEvent = (event: { type: string }): boolean => (ORGANIZATION_EVENT_TYPES as readonly string[]).includes(event.type);
