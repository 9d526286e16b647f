import type { WorkspaceState } from '../workspace/state';
import { type Team, sharesWith } from './state';

/** A partner's team as another workspace may see it. */
export interface PartnerTeam {
  /** the partner workspace the team belongs to */
  workspaceId: string;
  team: Team;
}

/**
 * The team `teamId` when one of `viewer`'s network partners shares it with `viewer` now (rule 16): the partners are
 * networked with the viewer and the team is shared with it (not only with another partner: docs/adr/0040). `partners`
 * are the partners' states (any others are ignored).
 */
export function sharedPartnerTeam(viewer: WorkspaceState, partners: readonly WorkspaceState[], teamId: string): PartnerTeam | undefined {
  for (const partner of partners) {
    const workspaceId = partner.info.workspaceId;
    if (!viewer.teams.partners.has(workspaceId) || !partner.teams.partners.has(viewer.info.workspaceId)) continue;
    const team = partner.teams.teams.get(teamId);
    if (team && sharesWith(partner.teams, team, viewer.info.workspaceId)) return { workspaceId, team };
  }
  return undefined;
}

/**
 * Rule 16 (docs/rules.md#rule-16): a partner team is visible to `viewer` only while the workspaces are networked, the
 * partner shares it, and the viewer chose to see it. Unsharing or unlinking hides it at once.
 */
export function visiblePartnerTeam(viewer: WorkspaceState, partners: readonly WorkspaceState[], teamId: string): PartnerTeam | undefined {
  const chosen = chosenWithOwner(viewer, partners, teamId);
  return chosen && sharesWith(chosen.owner.teams, chosen.team, viewer.info.workspaceId) ? { workspaceId: chosen.workspaceId, team: chosen.team } : undefined;
}

/**
 * A partner team `viewer` chose to see, shared now or not, while the workspaces are networked: the choice outlives
 * the partner's unsharing (rule 16), and may be withdrawn meanwhile, so the partner-teams list shows it (probe 30).
 */
export function chosenPartnerTeam(viewer: WorkspaceState, partners: readonly WorkspaceState[], teamId: string): PartnerTeam | undefined {
  const chosen = chosenWithOwner(viewer, partners, teamId);
  return chosen && { workspaceId: chosen.workspaceId, team: chosen.team };
}

/** chosenPartnerTeam, with the state of the partner that owns the team (whether it shares it with `viewer` is there) */
function chosenWithOwner(viewer: WorkspaceState, partners: readonly WorkspaceState[], teamId: string): (PartnerTeam & { owner: WorkspaceState }) | undefined {
  const ownerId = viewer.teams.chosenPartnerTeams.get(teamId);
  if (ownerId === undefined) return undefined;
  const owner = partners.find((p) => p.info.workspaceId === ownerId);
  if (!owner || !viewer.teams.partners.has(ownerId) || !owner.teams.partners.has(viewer.info.workspaceId)) return undefined;
  const team = owner.teams.teams.get(teamId);
  return team ? { workspaceId: ownerId, team, owner } : undefined;
}

/** Every partner team visible to `viewer` now (rule 16), by team id. */
export function visiblePartnerTeams(viewer: WorkspaceState, partners: readonly WorkspaceState[]): Map<string, PartnerTeam> {
  const visible = new Map<string, PartnerTeam>();
  for (const teamId of viewer.teams.chosenPartnerTeams.keys()) {
    const team = visiblePartnerTeam(viewer, partners, teamId);
    if (team) visible.set(teamId, team);
  }
  return visible;
}
