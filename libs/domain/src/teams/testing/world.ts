import type { AccessModelName, Plan, Restrictions } from '../../access-model';
import { decideOrganization, type OrganizationCommand } from '../../organization/decider';
import { evolveOrganization, initialOrganizationState, type OrganizationState } from '../../organization/state';
import { SYSTEM_ACTOR, addSeconds } from '../../shared/events';
import type { Decision } from '../../shared/result';
import { decideDeleteUser } from '../../users/delete-user';
import { decideWorkspace, type WorkspaceCommand } from '../../workspace/decider';
import type { WorkspaceEvent } from '../../workspace/events';
import { evolveWorkspace, initialWorkspaceState, type WorkspaceState } from '../../workspace/state';
import { decideTeams, type TeamCommand, type TeamsContext } from '../decider';
import type { TeamEvent } from '../events';
import { decideNetwork } from '../network';

export const T0 = '2026-03-01T09:00:00.000Z';
const HOURS_48 = 48 * 3600;
type AccessInput = { roles?: string[]; restrictions?: Restrictions; grants?: string[] };

const must = <E>(d: Decision<E>): E[] => {
  if (!d.ok) throw new Error(`given step refused: ${d.error.code}: ${d.error.message}`);
  return d.events;
};

/**
 * Several organizations and their workspaces, driven through the real deciders (a given step the domain refuses
 * throws): what team and network specs need, since networked workspaces may belong to different organizations.
 * Each organization `o` has the org admin `${o}-admin`, owner of every workspace it creates.
 */
export class World {
  readonly orgs = new Map<string, OrganizationState>();
  readonly workspaces = new Map<string, { organizationId: string; state: WorkspaceState }>();
  now = T0;
  private seq = 0;

  static admin = (organizationId: string) => `${organizationId}-admin`;

  /** an organization with one workspace of that preset */
  constructor(organizationId = 'org-1', workspaceId = 'ws-1', model: AccessModelName = 'levels', plan: Plan = 'standard') {
    this.organization(organizationId).workspace(organizationId, workspaceId, model, plan);
  }

  advance(seconds: number): this {
    this.now = addSeconds(this.now, seconds);
    return this;
  }

  organization(organizationId: string): this {
    const admin = { userId: World.admin(organizationId), email: `admin@${organizationId}.test`, displayName: 'Admin' };
    const command: OrganizationCommand = {
      type: 'CreateOrganization',
      organizationId,
      actorId: SYSTEM_ACTOR,
      now: this.now,
      name: organizationId,
      admin,
      apiKey: { keyId: `key-${organizationId}`, secretHash: 'f'.repeat(64) },
    };
    return this.givenOrg(command);
  }

  workspace(organizationId: string, workspaceId: string, model: AccessModelName = 'levels', plan: Plan = 'standard'): this {
    return this.givenOrg({ type: 'CreateWorkspace', organizationId, actorId: World.admin(organizationId), now: this.now, workspaceId, name: `Workspace ${workspaceId}`, plan, accessModel: model });
  }

  givenOrg(command: OrganizationCommand): this {
    const org = this.org(command.organizationId);
    for (const e of must(decideOrganization(command, org))) {
      evolveOrganization(org, e);
      if (e.type === 'WorkspaceCreated')
        this.workspaces.set(e.data.workspaceId, { organizationId: e.data.organizationId, state: initialWorkspaceState(org.workspaces.get(e.data.workspaceId)!) });
    }
    return this;
  }

  /** the workspace's decision context, with the states of its network partners */
  ctx(workspaceId: string): TeamsContext {
    const ws = this.workspaces.get(workspaceId);
    if (!ws) throw new Error(`unknown workspace ${workspaceId}`);
    const partners = [...ws.state.teams.partners.keys()].map((id) => this.workspaces.get(id)!.state);
    return { org: this.org(ws.organizationId), ws: ws.state, partners };
  }

  state(workspaceId: string): WorkspaceState {
    return this.ctx(workspaceId).ws;
  }

  given(command: WorkspaceCommand): this {
    this.apply(command.workspaceId, must(decideWorkspace(command, this.ctx(command.workspaceId))));
    return this;
  }

  /** invites and accepts: `userId` becomes an active member of the workspace */
  member(workspaceId: string, userId: string, access: AccessInput = {}): this {
    const invitationId = this.invited(workspaceId, `${userId}@${this.workspaces.get(workspaceId)!.organizationId}.test`, access);
    return this.accepted(workspaceId, invitationId, userId);
  }

  invited(workspaceId: string, email: string, access: AccessInput = {}): string {
    const invitationId = `inv-${++this.seq}`;
    const organizationId = this.workspaces.get(workspaceId)!.organizationId;
    this.given({ type: 'InviteMember', workspaceId, actorId: World.admin(organizationId), now: this.now, invitationId, email, ttlSeconds: HOURS_48, ...access });
    return invitationId;
  }

  accepted(workspaceId: string, invitationId: string, newUserId: string): this {
    const { organizationId, state } = this.workspaces.get(workspaceId)!;
    const inv = state.invitations.get(invitationId)!;
    this.givenOrg({ type: 'JoinOrganization', organizationId, actorId: newUserId, now: this.now, newUserId, email: inv.email });
    return this.given({ type: 'AcceptInvitation', workspaceId, now: this.now, invitationId, linkVersion: inv.linkVersion, newUserId });
  }

  revoke(workspaceId: string, userId: string): this {
    const organizationId = this.workspaces.get(workspaceId)!.organizationId;
    return this.given({ type: 'RevokeAccess', workspaceId, actorId: World.admin(organizationId), now: this.now, userId });
  }

  /** a team command decided, not applied */
  teams(command: TeamCommand): Decision<TeamEvent> {
    return decideTeams(command, this.ctx(command.workspaceId));
  }

  givenTeams(command: TeamCommand): this {
    this.apply(command.workspaceId, must(this.teams(command)));
    return this;
  }

  /** creates a team (as the workspace's org admin unless `by`) and returns its id */
  team(workspaceId: string, name: string, members: string[] = [], by?: string): string {
    const teamId = `team-${++this.seq}`;
    const actorId = by ?? World.admin(this.workspaces.get(workspaceId)!.organizationId);
    this.givenTeams({ type: 'CreateTeam', workspaceId, actorId, now: this.now, teamId, name });
    for (const userId of members) this.givenTeams({ type: 'AddTeamMember', workspaceId, actorId, now: this.now, teamId, userId });
    return teamId;
  }

  network(type: 'NetworkWorkspaces' | 'UnnetworkWorkspaces', workspaceId: string, partnerWorkspaceId: string, actorId = SYSTEM_ACTOR) {
    return decideNetwork(
      { type, actorId, now: this.now, workspaceId, partnerWorkspaceId },
      { ws: this.ctx(workspaceId), partner: this.ctx(partnerWorkspaceId) },
    );
  }

  /** applies the two sides of a (un)link, each to its own workspace, as the app's atomic append does */
  givenNetwork(type: 'NetworkWorkspaces' | 'UnnetworkWorkspaces', workspaceId: string, partnerWorkspaceId: string): this {
    for (const e of must(this.network(type, workspaceId, partnerWorkspaceId))) this.apply(e.data.workspaceId, [e]);
    return this;
  }

  deleteUser(organizationId: string, userId: string) {
    const org = this.org(organizationId);
    const workspaces = [...this.workspaces.values()].filter((w) => w.organizationId === organizationId).map((w) => w.state);
    return decideDeleteUser({ type: 'DeleteUser', organizationId, actorId: World.admin(organizationId), now: this.now, userId }, { org, workspaces });
  }

  givenDeleted(organizationId: string, userId: string): this {
    for (const e of must(this.deleteUser(organizationId, userId)))
      if (e.type === 'UserDeleted') evolveOrganization(this.org(organizationId), e);
      else this.apply(e.data.workspaceId, [e]);
    return this;
  }

  /** events appended as they are, e.g. as an earlier version wrote them (no decider asked) */
  givenEvents(workspaceId: string, events: WorkspaceEvent[]): this {
    this.apply(workspaceId, events);
    return this;
  }

  private apply(workspaceId: string, events: WorkspaceEvent[]): void {
    const ws = this.workspaces.get(workspaceId)!.state;
    for (const e of events) evolveWorkspace(ws, e);
  }

  private org(organizationId: string): OrganizationState {
    let org = this.orgs.get(organizationId);
    if (!org) this.orgs.set(organizationId, (org = initialOrganizationState()));
    return org;
  }
}
