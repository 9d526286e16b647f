import type { TeamEvent, TeamMemberRemovalReason, TeamMemberRemoved } from './events';
import { nameKey } from '../shared/validation';

export interface Team {
  teamId: string;
  name: string;
  /** user ids; only active members of the workspace (rule 14) */
  members: Set<string>;
  /**
   * the partner workspaces it is offered to (rule 16, docs/adr/0040): each chosen by the owner, until the owner stops or
   * the two are unlinked; with `sharedWithEveryPartner`, every partner linked now
   */
  sharedWith: Set<string>;
  /**
   * shared before session 62 (a TeamShared naming no partner): offered to every partner, present and future, until its
   * sharing is next changed, which names partners
   */
  sharedWithEveryPartner: boolean;
  createdAt: string;
}

export interface Partner {
  workspaceId: string;
  organizationId: string;
  since: string;
}

/** The teams part of a workspace's decision state (docs/adr/0009: teams live in the workspace stream). */
export interface TeamsState {
  teams: Map<string, Team>;
  /** nameKey(name) → teamId: names are unique in a workspace, ignoring case */
  byName: Map<string, string>;
  /** the workspaces this one is networked with, by id */
  partners: Map<string, Partner>;
  /** partner team id → its workspace: the partner teams this workspace chose to see (seen while shared) */
  chosenPartnerTeams: Map<string, string>;
}

export const initialTeamsState = (): TeamsState => ({
  teams: new Map(),
  byName: new Map(),
  partners: new Map(),
  chosenPartnerTeams: new Map(),
});

/**
 * Who a team's name is, to keep names unique in a workspace: compatibility-composed (NFKC), its spaces as one, and
 * case-folded as addresses are
 * (shared/validation.ts caseFold: "Straße" and "STRASSE", "ſam" and "sam", "ﬁle" and "FILE" are one name). Lower-casing
 * alone kept those apart while the refusal said names ignore case (probe 34 F5; ADR 0009, session 34). Two teams whose
 * names fold alike from before keep both, and the name stays taken while either has it (evolveTeams). Part of the
 * snapshots' version (snapshots.ts FOLD_CODE): a state snapshotted with another key function is replayed instead.
 */
/** a team's name as its workspace's names are told apart (shared/validation.ts nameKey) */
export const teamNameKey = nameKey;

/**
 * A team renamed or deleted lets go of its name's key, unless another team's name folds to it as well (two such teams
 * from before names were case-folded: probe 34 F5): that one keeps the name taken. Part of the snapshots' version
 * (snapshots.ts FOLD_CODE hashes its source with evolveTeams's).
 */
export function releaseTeamName(state: TeamsState, team: Team): void {
  const key = teamNameKey(team.name);
  if (state.byName.get(key) !== team.teamId) return;
  state.byName.delete(key);
  for (const other of state.teams.values())
    if (other.teamId !== team.teamId && teamNameKey(other.name) === key) {
      state.byName.set(key, other.teamId);
      return;
    }
}

/** Folds one team event into the state, in place. */
export function evolveTeams(state: TeamsState, event: TeamEvent): TeamsState {
  switch (event.type) {
    case 'TeamCreated': {
      const d = event.data;
      state.teams.set(d.teamId, { teamId: d.teamId, name: d.name, members: new Set(), sharedWith: new Set(), sharedWithEveryPartner: false, createdAt: d.createdAt });
      state.byName.set(teamNameKey(d.name), d.teamId);
      return state;
    }
    case 'TeamRenamed': {
      const team = state.teams.get(event.data.teamId);
      if (!team) return state;
      releaseTeamName(state, team);
      team.name = event.data.name;
      state.byName.set(teamNameKey(team.name), team.teamId);
      return state;
    }
    case 'TeamDeleted': {
      const team = state.teams.get(event.data.teamId);
      if (!team) return state;
      releaseTeamName(state, team);
      state.teams.delete(team.teamId);
      return state;
    }
    case 'TeamMemberAdded':
      state.teams.get(event.data.teamId)?.members.add(event.data.userId);
      return state;
    case 'TeamMemberRemoved':
      state.teams.get(event.data.teamId)?.members.delete(event.data.userId);
      return state;
    case 'TeamShared': {
      const team = state.teams.get(event.data.teamId);
      const partners = event.data.partnerWorkspaceIds;
      if (!team) return state;
      if (partners === undefined) team.sharedWithEveryPartner = true;
      else if (!team.sharedWithEveryPartner) for (const partner of partners) team.sharedWith.add(partner);
      return state;
    }
    case 'TeamUnshared': {
      const team = state.teams.get(event.data.teamId);
      const partners = event.data.partnerWorkspaceIds;
      if (!team) return state;
      if (partners === undefined) team.sharedWith.clear();
      else if (team.sharedWithEveryPartner) team.sharedWith = new Set([...state.partners.keys()].filter((p) => !partners.includes(p)));
      else for (const partner of partners) team.sharedWith.delete(partner);
      team.sharedWithEveryPartner = false;
      return state;
    }
    case 'PartnerTeamVisibilityChanged': {
      const d = event.data;
      if (d.visible) state.chosenPartnerTeams.set(d.teamId, d.partnerWorkspaceId);
      else state.chosenPartnerTeams.delete(d.teamId);
      return state;
    }
    case 'WorkspacesNetworked': {
      const d = event.data;
      state.partners.set(d.partnerWorkspaceId, { workspaceId: d.partnerWorkspaceId, organizationId: d.partnerOrganizationId, since: d.networkedAt });
      return state;
    }
    case 'WorkspacesUnnetworked': {
      const d = event.data;
      state.partners.delete(d.partnerWorkspaceId);
      // the unlink ends the sharing with that partner: a later link starts with nothing shared (docs/adr/0040)
      for (const team of state.teams.values()) team.sharedWith.delete(d.partnerWorkspaceId);
      // a later link starts with no choices: each side chooses the other's teams again
      for (const [teamId, ws] of state.chosenPartnerTeams) if (ws === d.partnerWorkspaceId) state.chosenPartnerTeams.delete(teamId);
      return state;
    }
  }
}

/** Rule 16: `team` is offered to `partnerWorkspaceId` now (a partner linked now, shared with by the owner). */
export const sharesWith = (state: TeamsState, team: Team, partnerWorkspaceId: string): boolean =>
  state.partners.has(partnerWorkspaceId) && (team.sharedWithEveryPartner || team.sharedWith.has(partnerWorkspaceId));

/** The teams a user is in, in creation order. */
export const teamsOf = (state: TeamsState, userId: string): Team[] => [...state.teams.values()].filter((t) => t.members.has(userId));

/**
 * Rules 11 and 12 (docs/rules.md#rule-11): the events that take a user out of every team, decided in the same decision
 * (and appended in the same atomic append) as the revoke or deletion that makes them leave.
 */
export const removalsFromTeams = (
  state: TeamsState,
  workspaceId: string,
  userId: string,
  reason: TeamMemberRemovalReason,
  now: string,
): TeamMemberRemoved[] =>
  teamsOf(state, userId).map((team) => ({
    type: 'TeamMemberRemoved',
    version: 1,
    data: { workspaceId, teamId: team.teamId, userId, reason, removedAt: now },
  }));
