import { domainError, validationFailed } from '../shared/errors';
import { SYSTEM_ACTOR } from '../shared/events';
import { type Decision, accept, reject } from '../shared/result';
import type { WorkspaceContext } from '../workspace/state';
import { organizationClosed } from '../organization/state';
import type { WorkspacesNetworked, WorkspacesUnnetworked } from './events';

interface NetworkBase {
  /** only the system (a system admin with the system key) links workspaces */
  actorId: string;
  now: string;
  workspaceId: string;
  partnerWorkspaceId: string;
}
export interface NetworkWorkspaces extends NetworkBase {
  type: 'NetworkWorkspaces';
}
export interface UnnetworkWorkspaces extends NetworkBase {
  type: 'UnnetworkWorkspaces';
}
export type NetworkCommand = NetworkWorkspaces | UnnetworkWorkspaces;
export type NetworkEvent = WorkspacesNetworked | WorkspacesUnnetworked;

/** Both workspaces' contexts: they may belong to different organizations. */
export interface NetworkContext {
  ws: WorkspaceContext;
  partner: WorkspaceContext;
}

/**
 * Rule 16 (docs/rules.md#rule-16): a system admin links two workspaces as network partners, or unlinks them. The
 * decision yields one event for each workspace's stream (each from its own side); the app appends both atomically,
 * each at its expected revision (docs/adr/0009).
 */
export function decideNetwork(cmd: NetworkCommand, ctx: NetworkContext): Decision<NetworkEvent> {
  if (cmd.actorId !== SYSTEM_ACTOR) return reject(domainError('INSUFFICIENT_AUTHORITY', 'Only a system admin can link or unlink workspaces.'));
  if (cmd.workspaceId === cmd.partnerWorkspaceId)
    return reject(validationFailed([{ field: 'partnerWorkspaceId', message: 'must be another workspace' }]));
  const [a, b] = [ctx.ws.ws.info, ctx.partner.ws.info];
  const linked = ctx.ws.ws.teams.partners.has(b.workspaceId);
  const sides = [
    { workspaceId: a.workspaceId, organizationId: ctx.ws.org.organizationId, partnerWorkspaceId: b.workspaceId, partnerOrganizationId: ctx.partner.org.organizationId },
    { workspaceId: b.workspaceId, organizationId: ctx.partner.org.organizationId, partnerWorkspaceId: a.workspaceId, partnerOrganizationId: ctx.ws.org.organizationId },
  ];
  if (cmd.type === 'NetworkWorkspaces') {
    // a closed organization's workspace is linked to no one again (docs/adr/0035); unlinking it still is allowed
    for (const { org } of [ctx.ws, ctx.partner]) if (org.closingSince !== undefined) return reject(organizationClosed(org));
    if (linked) return reject(domainError('ALREADY_NETWORKED', `Workspaces ${a.workspaceId} and ${b.workspaceId} are already networked.`));
    return accept(sides.map((side): NetworkEvent => ({ type: 'WorkspacesNetworked', version: 1, data: { ...side, networkedAt: cmd.now } })));
  }
  if (!linked) return reject(domainError('NOT_NETWORKED', `Workspaces ${a.workspaceId} and ${b.workspaceId} are not networked.`));
  return accept(sides.map((side): NetworkEvent => ({ type: 'WorkspacesUnnetworked', version: 1, data: { ...side, unnetworkedAt: cmd.now } })));
}
