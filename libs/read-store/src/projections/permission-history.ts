import { accessModel, type Access, type DomainEvent } from '@rollcall/domain';
import {
  type Doc,
  type ProjectedEvent,
  type Projection,
  type ProjectionReader,
  type ProjectionWrite,
  occurredAt,
  remove,
  upsert,
} from './projection';

/**
 * `permission_history/${eventId}:${workspaceId}`: one entry per access change (rule 17), in log order (`position`).
 * The id comes from the event, so re-applying an event rewrites the same entry.
 *
 * `permission_history_state`: what the entries need to know and the events do not carry:
 *  - `m:${workspaceId}:${userId}` the member's current access (so `roles_changed` can show the whole before/after)
 *  - `inv:${workspaceId}:${invitationId}` a pending invitation's email and access
 *  - `e:${organizationId}:${email}` the entries that carry this email (invitation entries)
 *  - `u:${organizationId}:${userId}` every email the user had, so deleting the user (rule 12) erases the email
 *    from those entries; the entries keep the pseudonymous user id.
 */
export const PERMISSION_HISTORY = 'permission_history';
export const PERMISSION_HISTORY_STATE = 'permission_history_state';

export type HistoryChange =
  | 'invited'
  | 'invitation_resent'
  | 'invitation_cancelled'
  | 'joined'
  | 'roles_changed'
  | 'restrictions_changed'
  | 'grants_changed'
  | 'revoked'
  | 'deleted';

export interface HistoryEntryDoc extends Doc {
  workspaceId: string;
  organizationId: string | null;
  /** null for an invitation not (yet) accepted: then invitationId and email say who */
  userId: string | null;
  invitationId: string | null;
  /** the invited email, on invitation entries only; erased (null) when that user is deleted */
  email: string | null;
  change: HistoryChange;
  before: Access | null;
  after: Access | null;
  /** change-specific facts: `{linkVersion, expiresAt}` for invitations, `{contacts}` for a revoke */
  details: Record<string, unknown> | null;
  actorId: string | null;
  /** metadata.occurredAt (ISO) */
  at: string;
  eventId: string;
  /** global position of the event (a number: exact below 2^53) */
  position: number;
}

interface MemberState extends Doc {
  organizationId: string;
  access: Access;
}
interface InvitationState extends Doc {
  organizationId: string;
  email: string;
  access: Access;
}
interface EntryList extends Doc {
  entryIds: string[];
}
interface UserEmails extends Doc {
  emails: string[];
}

const S = PERMISSION_HISTORY_STATE;
const memberKey = (ws: string, user: string) => `m:${ws}:${user}`;
const invitationKey = (ws: string, inv: string) => `inv:${ws}:${inv}`;
const emailKey = (org: string, email: string) => `e:${org}:${email}`;
const userKey = (org: string, user: string) => `u:${org}:${user}`;

const addUnique = (list: string[], value: string): string[] => (list.includes(value) ? list : [...list, value]);

type EntryFields = Pick<HistoryEntryDoc, 'workspaceId' | 'organizationId' | 'change' | 'before' | 'after'> &
  Partial<Pick<HistoryEntryDoc, 'userId' | 'invitationId' | 'email' | 'details'>>;

function entry(e: ProjectedEvent, at: string, fields: EntryFields): HistoryEntryDoc {
  return {
    _id: `${e.eventId}:${fields.workspaceId}`,
    workspaceId: fields.workspaceId,
    organizationId: fields.organizationId,
    userId: fields.userId ?? null,
    invitationId: fields.invitationId ?? null,
    email: fields.email ?? null,
    change: fields.change,
    before: fields.before,
    after: fields.after,
    details: fields.details ?? null,
    actorId: typeof e.metadata.actorId === 'string' ? e.metadata.actorId : null,
    at: occurredAt(e, at),
    eventId: e.eventId,
    position: Number(e.position),
  };
}

/** the entry, and its id remembered under the email it carries (for erasure) */
async function withEmail(read: ProjectionReader, organizationId: string, doc: HistoryEntryDoc): Promise<ProjectionWrite[]> {
  if (doc.email === null) return [upsert(PERMISSION_HISTORY, doc)];
  const key = emailKey(organizationId, doc.email);
  const list = await read.get<EntryList>(S, key);
  return [upsert(PERMISSION_HISTORY, doc), upsert(S, { _id: key, entryIds: addUnique(list?.entryIds ?? [], doc._id) })];
}

async function rememberEmail(read: ProjectionReader, org: string, user: string, email: string): Promise<ProjectionWrite[]> {
  const key = userKey(org, user);
  const known = await read.get<UserEmails>(S, key);
  return [upsert(S, { _id: key, emails: addUnique(known?.emails ?? [], email) })];
}

/** rule 12: the deleted user's emails are erased from the entries that carry them */
async function eraseEmails(read: ProjectionReader, org: string, user: string): Promise<ProjectionWrite[]> {
  const known = await read.get<UserEmails>(S, userKey(org, user));
  const writes: ProjectionWrite[] = [remove(S, userKey(org, user))];
  for (const email of known?.emails ?? []) {
    const list = await read.get<EntryList>(S, emailKey(org, email));
    for (const id of list?.entryIds ?? []) {
      const doc = await read.get<HistoryEntryDoc>(PERMISSION_HISTORY, id);
      if (doc && doc.email !== null) writes.push(upsert(PERMISSION_HISTORY, { ...doc, email: null }));
    }
    writes.push(remove(S, emailKey(org, email)));
  }
  return writes;
}

async function applyHistory(e: ProjectedEvent, read: ProjectionReader): Promise<ProjectionWrite[]> {
  const event: DomainEvent = e.event;
  switch (event.type) {
    case 'UserJoinedOrganization':
      return rememberEmail(read, event.data.organizationId, event.data.userId, event.data.email);
    case 'UserProfileUpdated': {
      const d = event.data;
      return d.changes.email === undefined ? [] : rememberEmail(read, d.organizationId, d.userId, d.changes.email);
    }
    case 'WorkspaceCreated': {
      const d = event.data;
      const owner = accessModel(d.accessModel).ownerAccess;
      const access: Access = { roles: [...owner.roles], restrictions: {}, grants: [...owner.grants] };
      return [
        upsert(S, { _id: memberKey(d.workspaceId, d.ownerUserId), organizationId: d.organizationId, access }),
        upsert(
          PERMISSION_HISTORY,
          entry(e, d.createdAt, {
            workspaceId: d.workspaceId,
            organizationId: d.organizationId,
            userId: d.ownerUserId,
            change: 'joined',
            before: null,
            after: access,
          }),
        ),
      ];
    }
    case 'UserInvited': {
      const d = event.data;
      const state: InvitationState = {
        _id: invitationKey(d.workspaceId, d.invitationId),
        organizationId: d.organizationId,
        email: d.email,
        access: d.access,
      };
      const doc = entry(e, d.invitedAt, {
        workspaceId: d.workspaceId,
        organizationId: d.organizationId,
        invitationId: d.invitationId,
        email: d.email,
        change: 'invited',
        before: null,
        after: d.access,
        details: { linkVersion: d.linkVersion, expiresAt: d.expiresAt },
      });
      return [upsert(S, state), ...(await withEmail(read, d.organizationId, doc))];
    }
    case 'InvitationResent': {
      const d = event.data;
      const inv = await read.get<InvitationState>(S, invitationKey(d.workspaceId, d.invitationId));
      const doc = entry(e, d.resentAt, {
        workspaceId: d.workspaceId,
        organizationId: inv?.organizationId ?? null,
        invitationId: d.invitationId,
        email: inv?.email ?? null,
        change: 'invitation_resent',
        before: null,
        after: null,
        details: { linkVersion: d.linkVersion, expiresAt: d.expiresAt },
      });
      return inv ? withEmail(read, inv.organizationId, doc) : [upsert(PERMISSION_HISTORY, doc)];
    }
    case 'InvitationCancelled': {
      const d = event.data;
      const key = invitationKey(d.workspaceId, d.invitationId);
      const inv = await read.get<InvitationState>(S, key);
      const doc = entry(e, d.cancelledAt, {
        workspaceId: d.workspaceId,
        organizationId: inv?.organizationId ?? null,
        invitationId: d.invitationId,
        email: d.email,
        change: 'invitation_cancelled',
        before: inv?.access ?? null,
        after: null,
      });
      return [remove(S, key), ...(inv ? await withEmail(read, inv.organizationId, doc) : [upsert(PERMISSION_HISTORY, doc)])];
    }
    case 'InvitationAccepted': {
      const d = event.data;
      return [
        remove(S, invitationKey(d.workspaceId, d.invitationId)),
        upsert(S, { _id: memberKey(d.workspaceId, d.userId), organizationId: d.organizationId, access: d.access }),
        upsert(
          PERMISSION_HISTORY,
          entry(e, d.acceptedAt, {
            workspaceId: d.workspaceId,
            organizationId: d.organizationId,
            userId: d.userId,
            invitationId: d.invitationId,
            change: 'joined',
            before: null,
            after: d.access,
          }),
        ),
      ];
    }
    case 'AccessLevelChanged':
    case 'RestrictionsChanged':
    case 'GrantsChanged': {
      const d = event.data;
      const key = memberKey(d.workspaceId, d.userId);
      const member = await read.get<MemberState>(S, key);
      const before: Access = member?.access ?? { roles: [], restrictions: {}, grants: [] };
      let after: Access;
      let change: HistoryChange;
      if (event.type === 'AccessLevelChanged') [after, change] = [{ ...before, roles: event.data.after }, 'roles_changed'];
      else if (event.type === 'GrantsChanged') [after, change] = [{ ...before, grants: event.data.after }, 'grants_changed'];
      else [after, change] = [{ ...before, restrictions: event.data.after }, 'restrictions_changed'];
      const organizationId = member?.organizationId ?? null;
      const doc = entry(e, d.changedAt, { workspaceId: d.workspaceId, organizationId, userId: d.userId, change, before, after });
      const writes = [upsert(PERMISSION_HISTORY, doc)];
      if (member) writes.push(upsert(S, { ...member, access: after }));
      return writes;
    }
    case 'AccessRevoked': {
      const d = event.data;
      return [
        remove(S, memberKey(d.workspaceId, d.userId)),
        upsert(
          PERMISSION_HISTORY,
          entry(e, d.revokedAt, {
            workspaceId: d.workspaceId,
            organizationId: d.organizationId,
            userId: d.userId,
            change: 'revoked',
            before: d.before,
            after: null,
            details: { contacts: d.contacts },
          }),
        ),
      ];
    }
    case 'UserDeleted': {
      const d = event.data;
      const writes: ProjectionWrite[] = [];
      for (const workspaceId of d.workspaceIds) {
        const key = memberKey(workspaceId, d.userId);
        const member = await read.get<MemberState>(S, key);
        writes.push(
          remove(S, key),
          upsert(
            PERMISSION_HISTORY,
            entry(e, d.deletedAt, {
              workspaceId,
              organizationId: d.organizationId,
              userId: d.userId,
              change: 'deleted',
              before: member?.access ?? null,
              after: null,
            }),
          ),
        );
      }
      return [...writes, ...(await eraseEmails(read, d.organizationId, d.userId))];
    }
    default:
      return [];
  }
}

export const permissionHistoryProjection: Projection = {
  name: 'permission_history',
  collections: {
    [PERMISSION_HISTORY]: { indexes: ['workspaceId', 'userId', 'actorId', 'position', 'at'] },
    [PERMISSION_HISTORY_STATE]: { indexes: [] },
  },
  eventTypes: [
    'UserJoinedOrganization',
    'UserProfileUpdated',
    'UserDeleted',
    'WorkspaceCreated',
    'UserInvited',
    'InvitationResent',
    'InvitationCancelled',
    'InvitationAccepted',
    'AccessLevelChanged',
    'RestrictionsChanged',
    'GrantsChanged',
    'AccessRevoked',
  ],
  apply: applyHistory,
};
