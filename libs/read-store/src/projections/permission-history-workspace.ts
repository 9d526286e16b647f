import type { DomainEvent } from '@rollcall/domain';
import type { ProjectedEvent, ProjectionReader, ProjectionWrite } from './projection';
import { remove, upsert } from './projection';
import { type HistoryEntryDoc, PERMISSION_HISTORY, entry } from './permission-history-entries';
import { S, type TeamName, teamKey } from './permission-history-state';

/** the event types whose entries this file makes: what a workspace changes besides its members' access */
export const WORKSPACE_CHANGE_TYPES = [
  'TeamCreated',
  'TeamRenamed',
  'TeamDeleted',
  'TeamShared',
  'TeamUnshared',
  'PartnerTeamVisibilityChanged',
  'WorkspacesNetworked',
  'WorkspacesUnnetworked',
  'WorkspacePlanChanged',
] as const;

/**
 * Rule 17 (docs/rules.md, "What the history records"): the workspace's own changes that are not one member's access —
 * its teams (created, renamed, deleted, shared with partners or no longer), the partner teams it chose to see, its
 * partner links, its plan (which decides which restrictions apply) — each an entry naming no member (probe 69 F6: none
 * of them could be asked by an organization). Their `organizationId` is null where the event does not name it (teams).
 * The team's name is kept in the state for the entries of a team's later changes.
 */
export async function workspaceChangeEntries(e: ProjectedEvent, read: ProjectionReader): Promise<ProjectionWrite[]> {
  const event: DomainEvent = e.event;
  const make = (at: string, fields: Pick<HistoryEntryDoc, 'workspaceId' | 'organizationId' | 'change' | 'details'>) =>
    upsert(PERMISSION_HISTORY, entry(e, at, { ...fields, before: null, after: null }));
  const nameOf = async (teamId: string) => (await read.get<TeamName>(S, teamKey(teamId)))?.name ?? null;
  switch (event.type) {
    case 'TeamCreated': {
      const d = event.data;
      return [upsert(S, { _id: teamKey(d.teamId), name: d.name } satisfies TeamName), make(d.createdAt, { workspaceId: d.workspaceId, organizationId: null, change: 'team_created', details: { teamId: d.teamId, teamName: d.name } })];
    }
    case 'TeamRenamed': {
      const d = event.data;
      return [
        upsert(S, { _id: teamKey(d.teamId), name: d.name } satisfies TeamName),
        make(d.renamedAt, { workspaceId: d.workspaceId, organizationId: null, change: 'team_renamed', details: { teamId: d.teamId, teamName: d.name, previousName: d.before } }),
      ];
    }
    case 'TeamDeleted': {
      const d = event.data;
      return [remove(S, teamKey(d.teamId)), make(d.deletedAt, { workspaceId: d.workspaceId, organizationId: null, change: 'team_deleted', details: { teamId: d.teamId, teamName: d.name } })];
    }
    case 'TeamShared':
    case 'TeamUnshared': {
      const d = event.data;
      const shared = event.type === 'TeamShared';
      const at = event.type === 'TeamShared' ? event.data.sharedAt : event.data.unsharedAt;
      // the partners it reached (events since session 62: docs/adr/0040; before, with or from every partner)
      const partners = d.partnerWorkspaceIds !== undefined && { partnerWorkspaceIds: d.partnerWorkspaceIds };
      return [make(at, { workspaceId: d.workspaceId, organizationId: null, change: shared ? 'team_shared' : 'team_unshared', details: { teamId: d.teamId, teamName: await nameOf(d.teamId), ...partners } })];
    }
    case 'PartnerTeamVisibilityChanged': {
      // the viewer's choice, in the viewer's history; the team is the partner's: its name as the choice saw it (events
      // since session 58: probe 91 F4), never what the partner made of it since
      const d = event.data;
      return [
        make(d.changedAt, {
          workspaceId: d.workspaceId,
          organizationId: null,
          change: d.visible ? 'partner_team_shown' : 'partner_team_hidden',
          details: { teamId: d.teamId, ...(d.teamName !== undefined && { teamName: d.teamName }), partnerWorkspaceId: d.partnerWorkspaceId },
        }),
      ];
    }
    case 'WorkspacesNetworked':
    case 'WorkspacesUnnetworked': {
      // each side's copy of the link, in that side's history
      const d = event.data;
      const linked = event.type === 'WorkspacesNetworked';
      const at = event.type === 'WorkspacesNetworked' ? event.data.networkedAt : event.data.unnetworkedAt;
      return [
        make(at, {
          workspaceId: d.workspaceId,
          organizationId: d.organizationId,
          change: linked ? 'partner_linked' : 'partner_unlinked',
          details: { partnerWorkspaceId: d.partnerWorkspaceId, partnerOrganizationId: d.partnerOrganizationId },
        }),
      ];
    }
    case 'WorkspacePlanChanged': {
      const d = event.data;
      return [make(d.changedAt, { workspaceId: d.workspaceId, organizationId: d.organizationId, change: 'plan_changed', details: { before: d.before, plan: d.plan } })];
    }
    default:
      return [];
  }
}
