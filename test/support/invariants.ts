// The decided state, checked event by event from the log itself: a model of the rules written here, independent of
// the deciders' own evolve, so that a state the deciders would hide (a Map keeps one entry per key; a second
// pending invitation overwrites the first in `pendingByEmail`) is still seen.
import { type Access, type AccessModelName, type Plan, accessModel, fromStored, isOwner, normalizeEmail } from '@rollcall/domain';
import { type RecordedEvent, createRollcallEventStore } from '@rollcall/event-store';

export interface WorkspaceModel {
  organizationId: string;
  accessModel: AccessModelName;
  plan: Plan;
  /** userId → access, for active members */
  active: Map<string, Access>;
  /** invitationId → normalised email, for pending invitations */
  pending: Map<string, string>;
  /** teamId → member user ids (teams: docs/rules.md#rule-14) */
  teams: Map<string, Set<string>>;
}

interface OrgModel {
  /** userId → normalised email (null once erased), for users not deleted */
  users: Map<string, string | null>;
}

export interface DecidedState {
  workspaces: Map<string, WorkspaceModel>;
  /** every violation found, with the position of the event that caused it */
  violations: string[];
  /** invariant checks evaluated (one per rule per event it applies to) */
  checks: number;
  events: number;
}

/** Every event of the data dir's embedded log, decrypted as the application reads it. */
export async function readLog(dataDir: string): Promise<RecordedEvent[]> {
  const { store } = await createRollcallEventStore({ dataDir, durability: 'normal' });
  try {
    const events: RecordedEvent[] = [];
    for await (const e of store.readAll()) events.push(e);
    return events;
  } finally {
    await store.close();
  }
}

const email = (raw: unknown): string | null => (typeof raw === 'string' && raw !== '' ? normalizeEmail(raw) : null);

/**
 * Folds the log in global order and checks, after every event it concerns:
 * - one active membership per user and workspace: an invitation is accepted only by a user not active there, and
 *   never twice (rule 8);
 * - no second pending invitation for an address, and none for an active member's address (rule 6);
 * - access changes, revokes and link actions only on what exists (an active member, a pending invitation);
 * - the workspace keeps an owner after every event (rule 4);
 * - one org user per address (rules 8 and 10, docs/rules.md#email-change);
 * - only active members join a team, and a team holds no one who is not an active member: a revoke or deletion
 *   decides the removals from every team in its own append (rules 11 and 14, docs/adr/0009).
 */
export function checkDecidedState(log: readonly RecordedEvent[]): DecidedState {
  const orgs = new Map<string, OrgModel>();
  const workspaces = new Map<string, WorkspaceModel>();
  const violations: string[] = [];
  let checks = 0;
  const check = (ok: boolean, at: RecordedEvent, what: string) => {
    checks++;
    if (!ok) violations.push(`${what} (${at.type} at ${at.position} in ${at.stream})`);
  };
  const owners = (ws: WorkspaceModel) => [...ws.active.values()].filter((a) => isOwner(a, accessModel(ws.accessModel), ws.plan)).length;

  for (const recorded of log) {
    const event = fromStored(recorded) as { type: string; data: Record<string, any> } | undefined;
    if (!event) continue;
    const d = event.data;
    const org = d.organizationId ? orgs.get(d.organizationId) : undefined;
    const ws: WorkspaceModel | undefined = d.workspaceId ? workspaces.get(d.workspaceId) : undefined;
    const sameEmail = (userId: string | undefined, address: string | null) =>
      [...(org?.users ?? [])].filter(([id, e]) => id !== userId && address !== null && e === address).map(([id]) => id);
    switch (event.type) {
      case 'OrganizationCreated':
        orgs.set(d.organizationId, { users: new Map() });
        break;
      case 'UserJoinedOrganization': {
        const address = email(d.email);
        check(sameEmail(d.userId, address).length === 0, recorded, `a second org user for ${address}`);
        org?.users.set(d.userId, address);
        break;
      }
      case 'EmailChangeConfirmed': {
        const address = email(d.email);
        check(sameEmail(d.userId, address).length === 0, recorded, `email change to ${address}, which another user holds`);
        if (org?.users.has(d.userId)) org.users.set(d.userId, address);
        break;
      }
      case 'UserProfileUpdated':
        if (typeof d.changes?.email === 'string' && org?.users.has(d.userId)) org.users.set(d.userId, email(d.changes.email));
        break;
      case 'UserDeleted':
        org?.users.delete(d.userId);
        break;
      case 'WorkspaceCreated': {
        const model = accessModel(d.accessModel);
        const creator: Access = { roles: [...model.ownerAccess.roles], grants: [...model.ownerAccess.grants], restrictions: {} };
        workspaces.set(d.workspaceId, {
          organizationId: d.organizationId,
          accessModel: d.accessModel,
          plan: d.plan,
          active: new Map([[d.ownerUserId, creator]]),
          pending: new Map(),
          teams: new Map(),
        });
        break;
      }
      case 'UserInvited': {
        if (!ws) break;
        const address = email(d.email);
        // an address erased since (a deletion forgot its key) reads null: two of them are not one address
        check(address === null || ![...ws.pending.values()].includes(address), recorded, `a second pending invitation for ${address}`);
        const wsOrg = orgs.get(ws.organizationId);
        const memberWithAddress = [...ws.active.keys()].some((userId) => address !== null && wsOrg?.users.get(userId) === address);
        check(!memberWithAddress, recorded, `an invitation for ${address}, an active member's address`);
        ws.pending.set(d.invitationId, address!);
        break;
      }
      case 'InvitationResent':
      case 'InvitationCancelled':
        if (!ws) break;
        check(ws.pending.has(d.invitationId), recorded, `${event.type} of invitation ${d.invitationId}, which is not pending`);
        if (event.type === 'InvitationCancelled') ws.pending.delete(d.invitationId);
        break;
      case 'InvitationAccepted':
        if (!ws) break;
        check(ws.pending.has(d.invitationId), recorded, `acceptance of invitation ${d.invitationId}, which is not pending`);
        check(!ws.active.has(d.userId), recorded, `a second active membership of ${d.userId}`);
        ws.pending.delete(d.invitationId);
        ws.active.set(d.userId, d.access);
        break;
      case 'AccessLevelChanged':
      case 'RestrictionsChanged':
      case 'GrantsChanged': {
        if (!ws) break;
        const access = ws.active.get(d.userId);
        check(access !== undefined, recorded, `${event.type} of ${d.userId}, who is not an active member`);
        if (!access) break;
        const field = event.type === 'AccessLevelChanged' ? 'roles' : event.type === 'GrantsChanged' ? 'grants' : 'restrictions';
        ws.active.set(d.userId, { ...access, [field]: d.after });
        break;
      }
      case 'AccessRevoked':
      case 'UserDeletedFromWorkspace':
        if (!ws) break;
        if (event.type === 'AccessRevoked') check(ws.active.has(d.userId), recorded, `revoke of ${d.userId}, who is not an active member`);
        ws.active.delete(d.userId);
        for (const id of d.invitationIds ?? []) ws.pending.delete(id);
        break;
      default:
        if (ws && event.type.startsWith('Team')) foldTeamEvent(ws, event, recorded, check);
    }
    if (ws && recorded.stream.startsWith('workspace-')) {
      check(owners(ws) > 0, recorded, `workspace ${d.workspaceId} left without an owner`);
      // rules 11 and 14: the removals from teams are decided with the revoke or deletion, before it (docs/adr/0009)
      for (const [teamId, members] of ws.teams) for (const userId of members) check(ws.active.has(userId), recorded, `${userId}, no longer an active member, still in team ${teamId}`);
    }
  }
  return { workspaces, violations, checks, events: log.length };
}

/** Teams (rule 14), as far as the events carry `teamId` and `userId`: only active members join. */
function foldTeamEvent(ws: WorkspaceModel, event: { type: string; data: Record<string, any> }, at: RecordedEvent, check: (ok: boolean, at: RecordedEvent, what: string) => void) {
  const { teamId, userId } = event.data;
  if (typeof teamId !== 'string') return;
  if (event.type === 'TeamCreated') ws.teams.set(teamId, new Set());
  else if (event.type === 'TeamDeleted') ws.teams.delete(teamId);
  else if (event.type === 'TeamMemberAdded' && typeof userId === 'string') {
    check(ws.active.has(userId), at, `${userId}, who is not an active member, added to team ${teamId}`);
    (ws.teams.get(teamId) ?? ws.teams.set(teamId, new Set()).get(teamId)!).add(userId);
  } else if (event.type === 'TeamMemberRemoved' && typeof userId === 'string') ws.teams.get(teamId)?.delete(userId);
}

/** Team members who are not active members of their workspace (must be none: rule 11). */
export const revokedInTeams = (state: DecidedState): string[] =>
  [...state.workspaces].flatMap(([wsId, ws]) => [...ws.teams].flatMap(([teamId, members]) => [...members].filter((u) => !ws.active.has(u)).map((u) => `${u} in ${wsId}/${teamId}`)));
