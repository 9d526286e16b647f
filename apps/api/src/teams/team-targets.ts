import { type NetworkContext, type TeamsContext, type WorkspaceState, chosenPartnerTeam, sharedPartnerTeam } from '@rollcall/domain';
import type { Target } from '../shared/command-path/stream-handler';
import { inOrganization } from '../shared/command-path/command-target';
import { type Loaded, type StreamStates, workspaceStream } from '../shared/command-path/stream-states';
import { type ActedBy, type WorkspaceRef, checkingOrgAdmin, loadWorkspace, orgAdminTurn } from '../shared/command-path/targets';

/**
 * The states of a workspace's network partners, possibly of other organizations (rule 16). Read to decide and to
 * answer reads, never appended to: a partner's later change (unsharing, deleting a team) needs no re-decision
 * here, as visibility is computed from both sides whenever it is asked (docs/adr/0009).
 */
export async function loadPartners(states: StreamStates, ws: WorkspaceState): Promise<WorkspaceState[]> {
  return (await loadedPartners(states, ws)).map((partner) => partner.state);
}

/** the same, as loaded streams (their revisions: a command checks the one it rests on) */
async function loadedPartners(states: StreamStates, ws: WorkspaceState): Promise<Loaded<WorkspaceState>[]> {
  const partners: Loaded<WorkspaceState>[] = [];
  for (const partner of ws.teams.partners.values()) {
    const org = await states.organization(partner.organizationId);
    const loaded = await states.workspace(org.state, partner.workspaceId);
    if (loaded) partners.push(loaded);
  }
  return partners;
}

/**
 * A workspace stream, decided with its partners' states (choosing partner team `teamId`). Only the workspace is
 * appended to; the organization's stream is checked too when the decision rests on its actor being an org admin
 * (targets.ts `workspace`), and so is the stream of the partner that holds the team, at the revision it was read at
 * (the command passes `checkLoaded`): its unsharing or deleting the team committed meanwhile sends the choice back,
 * to be refused (probe 91 F3: the choice was appended after the unshare, in 2 of 6 races).
 */
export const workspaceWithPartners = (ref: WorkspaceRef, teamId: string, actedBy?: ActedBy<TeamsContext>, states?: StreamStates): Target<TeamsContext> => ({
  lock: workspaceStream(ref.workspaceId),
  organizationOf: inOrganization(ref.organizationId),
  ...orgAdminTurn(ref, actedBy, states),
  load: async (loading) => {
    const { ws, org, context } = await loadWorkspace(loading, ref);
    const partners = await loadedPartners(loading, context.ws);
    const decided = { ...context, partners: partners.map((partner) => partner.state) };
    const holder = partners.filter((partner) => partner.state.teams.teams.has(teamId));
    return { context: decided, streams: [...checkingOrgAdmin(decided, actedBy, ws, org), ...holder] };
  },
});

/**
 * Two workspaces, of the same or of different organizations, both appended to atomically (each at its expected
 * revision): linking or unlinking them writes one event into each stream (docs/adr/0009).
 */
export const workspacePair = (a: WorkspaceRef, b: WorkspaceRef): Target<NetworkContext> => ({
  lock: workspaceStream(a.workspaceId),
  // each workspace's event names its own organization: a partner may be another organization's (docs/adr/0009)
  organizationOf: (stream) => (stream === workspaceStream(b.workspaceId) ? b.organizationId : a.organizationId),
  load: async (states) => {
    const first = await loadWorkspace(states, a);
    const second = b.workspaceId === a.workspaceId ? first : await loadWorkspace(states, b);
    const streams = second === first ? [first.ws] : [first.ws, second.ws];
    return { context: { ws: first.context, partner: second.context }, streams };
  },
});

/**
 * Why a team that is not this workspace's own is "not found" here, when it is a partner's this workspace knows of (probe
 * 120 F2: a partner team in the list was said "does not exist in this workspace"): shared with it, or chosen here.
 * undefined: no partner shares it here and it was not chosen (the plain sentence stands, as for an unknown team).
 */
export function partnerTeamSentence(ws: WorkspaceState, partners: readonly WorkspaceState[], teamId: string, asked: 'manage' | 'look up'): string | undefined {
  const shared = sharedPartnerTeam(ws, partners, teamId);
  const known = shared ?? chosenPartnerTeam(ws, partners, teamId);
  if (!known) return undefined;
  const name = partners.find((p) => p.info.workspaceId === known.workspaceId)?.info.name;
  const owner = `workspace ${known.workspaceId}${name ? ` ("${name}")` : ''}`;
  if (asked === 'manage') return `Team ${teamId} is ${owner}'s, a network partner's: only that workspace manages it (this one chooses whether it sees it: PUT /v1/workspaces/{ws}/partner-teams/${teamId}/visibility).`;
  // (the lookup asks this only of a team it may not show: shared and not chosen, or chosen and no longer shared)
  return shared
    ? `Team ${teamId} is one ${owner}, a network partner, shares with this workspace, not chosen here: choose it first (PUT /v1/workspaces/{ws}/partner-teams/${teamId}/visibility with {"visible": true}).`
    : `Team ${teamId}, chosen here, is no longer shared with this workspace by ${owner}: its members are not shown until it is shared again.`;
}
