import type { RecordedEvent } from '@rollcall/event-store';
import { type DomainEvent, toStored } from '../../libs/domain/src';
import { ORGANIZATION, WORKSPACE } from './query-members';

export const PARTNER_ORGANIZATION = 'org-partner';
export const PARTNER_WORKSPACE = 'ws-partner';
export const BIG_TEAM = 'team-big';

/**
 * The team events of the query benchmark, as the deciders decide them (same types, shapes and versions), appended
 * after the members of `generateWorkspace` (from `position`): in WORKSPACE a team of `teamSize` active members plus
 * `ownTeams` small teams; a partner workspace of another organization, networked with it, sharing `partnerTeams`
 * teams, all of which WORKSPACE chose to see. Written directly rather than decided: the deciders would need the
 * 100,000-member workspace state that the members generator does not keep.
 */
export function teamEvents(start: bigint, o: { teamSize: number; members: number; ownTeams: number; partnerTeams: number }): RecordedEvent[] {
  const events: RecordedEvent[] = [];
  let position = start;
  const revisions = new Map<string, bigint>();
  const at = '2026-03-02T09:00:00.000Z';
  const add = (stream: string, event: DomainEvent) => {
    const revision = (revisions.get(stream) ?? 99_999n) + 1n;
    revisions.set(stream, revision);
    const stored = toStored(event, { actorId: 'owner', occurredAt: at, idempotencyKey: `bench-${position}` });
    events.push({ id: `bench-team-${position}`, stream, type: stored.type, data: stored.data, metadata: stored.metadata, revision, position: ++position, created: new Date(at) });
  };
  const ws = `workspace-${WORKSPACE}`;
  const partner = `workspace-${PARTNER_WORKSPACE}`;
  add(`organization-${PARTNER_ORGANIZATION}`, {
    type: 'WorkspaceCreated',
    version: 1,
    data: { organizationId: PARTNER_ORGANIZATION, workspaceId: PARTNER_WORKSPACE, name: 'Partner support', plan: 'enterprise', accessModel: 'levels', ownerUserId: 'partner-owner', createdAt: at },
  });
  // the big team: active members spread over the workspace (generateWorkspace leaves i % 20 == 19 pending and
  // revokes i % 30 == 7)
  add(ws, { type: 'TeamCreated', version: 1, data: { workspaceId: WORKSPACE, teamId: BIG_TEAM, name: 'Everyone on call', createdAt: at } });
  const step = Math.max(1, Math.floor(o.members / (o.teamSize * 1.2)));
  for (let i = 0, added = 0; added < o.teamSize && i < o.members; i += step) {
    if (i % 20 === 19 || i % 30 === 7) continue;
    add(ws, { type: 'TeamMemberAdded', version: 1, data: { workspaceId: WORKSPACE, teamId: BIG_TEAM, userId: `user-${i}`, addedAt: at } });
    added++;
  }
  for (let t = 0; t < o.ownTeams; t++)
    add(ws, { type: 'TeamCreated', version: 1, data: { workspaceId: WORKSPACE, teamId: `own-${t}`, name: `Own team ${t}`, createdAt: at } });
  const link = { networkedAt: at };
  add(ws, { type: 'WorkspacesNetworked', version: 1, data: { workspaceId: WORKSPACE, organizationId: ORGANIZATION, partnerWorkspaceId: PARTNER_WORKSPACE, partnerOrganizationId: PARTNER_ORGANIZATION, ...link } });
  add(partner, { type: 'WorkspacesNetworked', version: 1, data: { workspaceId: PARTNER_WORKSPACE, organizationId: PARTNER_ORGANIZATION, partnerWorkspaceId: WORKSPACE, partnerOrganizationId: ORGANIZATION, ...link } });
  for (let t = 0; t < o.partnerTeams; t++) {
    const teamId = `partner-${t}`;
    add(partner, { type: 'TeamCreated', version: 1, data: { workspaceId: PARTNER_WORKSPACE, teamId, name: `Partner team ${t}`, createdAt: at } });
    add(partner, { type: 'TeamShared', version: 1, data: { workspaceId: PARTNER_WORKSPACE, teamId, sharedAt: at } });
    add(ws, { type: 'PartnerTeamVisibilityChanged', version: 1, data: { workspaceId: WORKSPACE, partnerWorkspaceId: PARTNER_WORKSPACE, teamId, visible: true, changedAt: at } });
  }
  return events;
}
