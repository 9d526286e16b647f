import type { AccessModel } from '../access-model';
import { type DomainError, type FieldError, domainError, validationFailed } from '../shared/errors';
import { DEFAULT_QUOTAS, quotaExceeded } from '../shared/quotas';
import { type Decision, accept, reject } from '../shared/result';
import { characterCount, cleanName, nameProblem } from '../shared/validation';
import { type Actor, holds, resolveActor, whyNotHeld } from '../workspace/authority';
import { activeMember, modelOf, type WorkspaceContext, type WorkspaceState } from '../workspace/state';
import { notAMember, standingHere } from '../workspace/refusals';
import type { TeamEvent } from './events';
import { type Team, sharesWith, teamNameKey } from './state';
import { sharedPartnerTeam } from './visibility';

interface Base {
  workspaceId: string;
  actorId: string;
  /** ISO time of the command: the domain never reads a clock */
  now: string;
}

export interface CreateTeam extends Base {
  type: 'CreateTeam';
  teamId: string;
  name: string;
  /** the workspace's quota of teams (shared/quotas.ts): the operator's setting, the default without it */
  maxTeams?: number;
}
export interface RenameTeam extends Base {
  type: 'RenameTeam';
  teamId: string;
  name: string;
}
export interface DeleteTeam extends Base {
  type: 'DeleteTeam';
  teamId: string;
}
export interface AddTeamMember extends Base {
  type: 'AddTeamMember';
  teamId: string;
  userId: string;
}
export interface RemoveTeamMember extends Base {
  type: 'RemoveTeamMember';
  teamId: string;
  userId: string;
}
/**
 * Rule 16: offer one of the workspace's own teams to a network partner, or stop offering it (docs/adr/0040); without
 * `partnerWorkspaceId`, to (or from) every partner linked now: one linked later is not offered it.
 */
export interface SetTeamSharing extends Base {
  type: 'SetTeamSharing';
  teamId: string;
  shared: boolean;
  partnerWorkspaceId?: string;
}
/** Rule 16: see (or stop seeing) a team a partner shares. */
export interface SetPartnerTeamVisibility extends Base {
  type: 'SetPartnerTeamVisibility';
  teamId: string;
  visible: boolean;
}

export type TeamCommand =
  | CreateTeam
  | RenameTeam
  | DeleteTeam
  | AddTeamMember
  | RemoveTeamMember
  | SetTeamSharing
  | SetPartnerTeamVisibility;

/** What team commands decide on: the workspace's context and, for choosing partner teams, its partners' states. */
export interface TeamsContext extends WorkspaceContext {
  /** the states of the workspace's network partners (read, never appended to): where their shared teams are */
  partners?: readonly WorkspaceState[];
}

export const TEAM_NAME_MAX = 80;
const TEAM_SETTINGS = 'settings.teams';

/**
 * Rule 14: the permission that manages teams. A catalog with a team-settings permission uses it (`settings.teams`
 * in preset levels: owners and managers, not a manager restricted by `workspace_settings`); a catalog without one
 * leaves teams to whoever manages its members (`users`: the grant of preset permissions, the environment_manager
 * role of preset studio). Read from the catalog, never from the preset's name.
 */
export const teamPermission = (model: AccessModel): string =>
  Object.values(model.roles).some((role) => role.permissions.includes(TEAM_SETTINGS)) ? TEAM_SETTINGS : model.manageMembers;

/** Rule 14 (docs/rules.md#rule-14), and rule 5: org admins always may. */
export function authorizeTeamManagement(ctx: WorkspaceContext, actorId: string): Actor | DomainError {
  const actor = resolveActor(ctx, actorId);
  if (!actor) return domainError('INSUFFICIENT_AUTHORITY', 'You are not an active member of this workspace, so you cannot manage its teams.');
  const model = modelOf(ctx);
  const needed = teamPermission(model);
  if (!holds(actor, needed)) return domainError('INSUFFICIENT_AUTHORITY', `Managing teams needs ${whyNotHeld(ctx, actor, needed)}`);
  return actor;
}

/** A team name as stored: trimmed, composed (NFC), 1 to 80 characters, on one line. */
export function checkTeamName(raw: unknown): { name: string } | { error: FieldError } {
  if (typeof raw !== 'string') return { error: { field: 'name', message: 'must be text' } };
  const name = cleanName(raw);
  if (name.length === 0) return { error: { field: 'name', message: 'must not be empty' } };
  if (characterCount(name) > TEAM_NAME_MAX) return { error: { field: 'name', message: `must be at most ${TEAM_NAME_MAX} characters` } };
  const problem = nameProblem(name);
  if (problem) return { error: { field: 'name', message: problem } };
  return { name };
}

const teamNotFound = (teamId: string) => domainError('TEAM_NOT_FOUND', `Team ${teamId} does not exist in this workspace.`);
/** a partner team's visibility: the team is not one a partner shares here (this workspace's own teams included: probe 15) */
const partnerTeamNotFound = (teamId: string, own: boolean) =>
  domainError(
    'TEAM_NOT_FOUND',
    own
      ? `Team ${teamId} is this workspace's own team, not a partner's: its visibility here is not a choice; share it with partners instead.`
      : `Team ${teamId} is not a team a partner workspace shares with this one.`,
  );
/** the team that holds the name, by the name the list shows (probe 73 F3: "STRASSE" was quoted where the list read "Straße") */
const nameTaken = (existing: string) => domainError('TEAM_NAME_TAKEN', `A team named "${existing}" already exists in this workspace (names ignore case, width and spacing).`);

/** Rule 14: only an active member can join a team; the error says why someone is not one. */
function whyNotActive(ctx: WorkspaceContext, userId: string): DomainError {
  const inactive = (why: string) => domainError('MEMBER_NOT_ACTIVE', `User ${userId} ${why}; only active members can be in a team.`);
  const standing = standingHere(ctx, userId);
  if (standing.is === 'deleted') return inactive('was deleted');
  if (standing.is === 'invited') return inactive('is invited but has not accepted yet');
  if (standing.is === 'revoked') return inactive('was revoked from this workspace');
  // an invitation's id, or no one: as every member command says it (probe 98 F6)
  return notAMember(ctx, userId);
}

type Decide<C extends TeamCommand> = (cmd: C, ctx: TeamsContext, team: Team | undefined) => Decision<TeamEvent>;

function createTeam(cmd: CreateTeam, ctx: TeamsContext): Decision<TeamEvent> {
  const checked = checkTeamName(cmd.name);
  if ('error' in checked) return reject(validationFailed([checked.error]));
  if (ctx.ws.teams.teams.has(cmd.teamId)) return reject(domainError('TEAM_EXISTS', `Team ${cmd.teamId} already exists.`));
  const holder = ctx.ws.teams.byName.get(teamNameKey(checked.name));
  if (holder !== undefined) return reject(nameTaken(ctx.ws.teams.teams.get(holder)?.name ?? checked.name));
  const maxTeams = cmd.maxTeams ?? DEFAULT_QUOTAS.teamsPerWorkspace;
  if (ctx.ws.teams.teams.size >= maxTeams) return reject(quotaExceeded('teamsPerWorkspace', 'This workspace', ctx.ws.teams.teams.size, maxTeams, ['team', 'teams'], 'delete those it no longer uses'));
  return accept([{ type: 'TeamCreated', version: 1, data: { workspaceId: cmd.workspaceId, teamId: cmd.teamId, name: checked.name, createdAt: cmd.now } }]);
}

const renameTeam: Decide<RenameTeam> = (cmd, ctx, team) => {
  if (!team) return reject(teamNotFound(cmd.teamId));
  // its own name again is no change, also one stored before a rule that refuses it now (probe 74 F4)
  if (typeof cmd.name === 'string' && cleanName(cmd.name) === team.name) return accept([]);
  const checked = checkTeamName(cmd.name);
  if ('error' in checked) return reject(validationFailed([checked.error]));
  const key = teamNameKey(checked.name);
  const holder = ctx.ws.teams.byName.get(key);
  // a new spelling of its own name is its own (of two teams whose names fold alike from before, either may respell
  // its name: probe 74 F5 found only the one holding the key could)
  if (holder !== undefined && holder !== team.teamId && key !== teamNameKey(team.name)) return reject(nameTaken(ctx.ws.teams.teams.get(holder)?.name ?? checked.name));
  return accept([
    { type: 'TeamRenamed', version: 1, data: { workspaceId: cmd.workspaceId, teamId: team.teamId, before: team.name, name: checked.name, renamedAt: cmd.now } },
  ]);
};

/** Its members leave it first (each a TeamMemberRemoved: the history shows who lost the team), then it goes. */
const deleteTeam: Decide<DeleteTeam> = (cmd, _ctx, team) => {
  if (!team) return reject(teamNotFound(cmd.teamId));
  const base = { workspaceId: cmd.workspaceId, teamId: team.teamId };
  return accept([
    ...[...team.members].map((userId): TeamEvent => ({
      type: 'TeamMemberRemoved',
      version: 1,
      data: { ...base, userId, reason: 'team_deleted', removedAt: cmd.now },
    })),
    { type: 'TeamDeleted', version: 1, data: { ...base, name: team.name, deletedAt: cmd.now } },
  ]);
};

/** PUT semantics: adding a member already in the team changes nothing. */
const addMember: Decide<AddTeamMember> = (cmd, ctx, team) => {
  if (!team) return reject(teamNotFound(cmd.teamId));
  if (!activeMember(ctx, cmd.userId)) return reject(whyNotActive(ctx, cmd.userId));
  if (team.members.has(cmd.userId)) return accept([]);
  return accept([{ type: 'TeamMemberAdded', version: 1, data: { workspaceId: cmd.workspaceId, teamId: team.teamId, userId: cmd.userId, addedAt: cmd.now } }]);
};

/**
 * DELETE semantics: removing someone who is not in the team changes nothing (a retry, a member revoked or deleted
 * since). An id the workspace never had as a member is 404, as adding it is (probe 36 F4: 200 "unchanged"), whether
 * or not it names a user of the organization (probe 99 F3: that told a workspace's managers which ids are the
 * organization's users), an invitation's id said as one.
 */
const removeMember: Decide<RemoveTeamMember> = (cmd, ctx, team) => {
  if (!team) return reject(teamNotFound(cmd.teamId));
  if (!team.members.has(cmd.userId))
    return ctx.ws.members.has(cmd.userId) ? accept([]) : reject(notAMember(ctx, cmd.userId));
  return accept([
    { type: 'TeamMemberRemoved', version: 1, data: { workspaceId: cmd.workspaceId, teamId: team.teamId, userId: cmd.userId, reason: 'command', removedAt: cmd.now } },
  ]);
};

/**
 * Rule 16 (docs/adr/0040): sharing is per partner. PUT semantics: a team already shared (or not) with the partners
 * named changes nothing. Sharing needs a partner linked now: with one that is not, or with "every partner" where there
 * is none, it is NOT_NETWORKED (nothing would be offered to anyone, and no partner linked later gets it). Every event
 * names the partners it reaches.
 */
const setSharing: Decide<SetTeamSharing> = (cmd, ctx, team) => {
  if (!team) return reject(teamNotFound(cmd.teamId));
  const teams = ctx.ws.teams;
  const partner = cmd.partnerWorkspaceId;
  if (cmd.shared && partner !== undefined && !teams.partners.has(partner))
    return reject(domainError('NOT_NETWORKED', `Workspace ${partner} is not a network partner of this workspace: a team is shared only with a partner the operator linked.`));
  if (cmd.shared && teams.partners.size === 0)
    return reject(domainError('NOT_NETWORKED', `This workspace has no network partner to share team ${team.teamId} with: the operator links workspaces first.`));
  const named = partner !== undefined ? [partner] : [...teams.partners.keys()];
  const reached = named.filter((p) => sharesWith(teams, team, p) !== cmd.shared);
  // unsharing a team shared before session 62 with every partner ends that too, even with no partner linked now
  if (reached.length === 0 && !(!cmd.shared && partner === undefined && team.sharedWithEveryPartner)) return accept([]);
  const base = { workspaceId: cmd.workspaceId, teamId: team.teamId, partnerWorkspaceIds: reached };
  return accept([cmd.shared ? { type: 'TeamShared', version: 2, data: { ...base, sharedAt: cmd.now } } : { type: 'TeamUnshared', version: 2, data: { ...base, unsharedAt: cmd.now } }]);
};

/**
 * Rule 16: a workspace chooses among the teams its partners share. A team that no partner shares with it is
 * TEAM_NOT_FOUND, as it is to every read (the partner's other teams do not exist for it). Hiding a team chosen
 * earlier always works, even once it is no longer shared; hiding one not chosen changes nothing.
 */
function setVisibility(cmd: SetPartnerTeamVisibility, ctx: TeamsContext): Decision<TeamEvent> {
  const chosen = ctx.ws.teams.chosenPartnerTeams.get(cmd.teamId);
  // PUT semantics: hiding a team not chosen (never, or forgotten by an unlink, or hidden already) changes nothing,
  // whatever the id names, so the answer tells nothing of other workspaces' teams (probe 91 F5: a second hide of a
  // deleted team was TEAM_NOT_FOUND)
  if (!cmd.visible && chosen === undefined) return accept([]);
  const offered = sharedPartnerTeam(ctx.ws, ctx.partners ?? [], cmd.teamId);
  if (!offered && !(chosen !== undefined && !cmd.visible)) return reject(partnerTeamNotFound(cmd.teamId, ctx.ws.teams.teams.has(cmd.teamId)));
  if ((chosen !== undefined) === cmd.visible) return accept([]);
  const partnerWorkspaceId = offered?.workspaceId ?? chosen!;
  // its name as shared (a hidden team no longer shared: as its partner holds it, if it still does)
  const teamName = offered?.team.name ?? ctx.partners?.find((p) => p.info.workspaceId === partnerWorkspaceId)?.teams.teams.get(cmd.teamId)?.name;
  return accept([
    {
      type: 'PartnerTeamVisibilityChanged',
      version: 1,
      data: { workspaceId: cmd.workspaceId, partnerWorkspaceId, teamId: cmd.teamId, visible: cmd.visible, changedAt: cmd.now, ...(teamName !== undefined && { teamName }) },
    },
  ]);
}

/** Rules 14 and 16 (docs/rules.md#teams): managing teams, sharing them, choosing partner teams. */
export function decideTeams(command: TeamCommand, ctx: TeamsContext): Decision<TeamEvent> {
  const authority = authorizeTeamManagement(ctx, command.actorId);
  if ('code' in authority) return reject(authority);
  const team = 'teamId' in command ? ctx.ws.teams.teams.get(command.teamId) : undefined;
  switch (command.type) {
    case 'CreateTeam':
      return createTeam(command, ctx);
    case 'RenameTeam':
      return renameTeam(command, ctx, team);
    case 'DeleteTeam':
      return deleteTeam(command, ctx, team);
    case 'AddTeamMember':
      return addMember(command, ctx, team);
    case 'RemoveTeamMember':
      return removeMember(command, ctx, team);
    case 'SetTeamSharing':
      return setSharing(command, ctx, team);
    case 'SetPartnerTeamVisibility':
      return setVisibility(command, ctx);
  }
}
