import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import {
  type OrganizationEvent,
  type WorkspaceEvent,
  accessModel,
  activeMember,
  domainError,
  effectivePermissions,
  evolveOrganization,
  evolveWorkspace,
  fromStored,
  initialOrganizationState,
  initialWorkspaceState,
  isOrgAdmin,
  teamsOf,
  validationFailed,
} from '@rollcall/domain';
import type { EventStore } from '@rollcall/event-store';
import { EVENT_STORE } from '../shared/tokens';
import { DomainException } from '../shared/stream-handler';
import { organizationStream, workspaceStream } from '../shared/stream-states';

export class AccessAsOfQuery {
  constructor(
    readonly organizationId: string,
    readonly workspaceId: string,
    readonly userId: string,
    readonly asOf: Date,
  ) {}
}

export interface AccessAsOf {
  userId: string;
  workspaceId: string;
  asOf: string;
  /** the member's status at that time: never a member, active, or revoked/deleted */
  status: 'active' | 'revoked' | 'deleted' | 'none';
  orgAdmin: boolean;
  roles: string[];
  restrictions: Record<string, true | string>;
  grants: string[];
  permissions: string[];
  scopes: { contact_visibility: string; mask_contact_info: boolean };
  /** the teams the user was in at that time, with their names then: team membership is access too (rule 14) */
  teams: { teamId: string; name: string }[];
  /** the last event folded, for the auditor to cite */
  basedOn: { eventsReplayed: number; lastPosition: string | null };
}

/**
 * "What access did user X have in workspace W at time T?" — answered by replaying the organization's and
 * the workspace's streams up to T (events recorded at or before T), never from a stored answer.
 */
@QueryHandler(AccessAsOfQuery)
export class AccessAsOfHandler implements IQueryHandler<AccessAsOfQuery, AccessAsOf> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute(q: AccessAsOfQuery): Promise<AccessAsOf> {
    if (!(q.asOf instanceof Date) || Number.isNaN(q.asOf.getTime()))
      throw new DomainException(validationFailed([{ field: 'asOf', message: 'must be a valid date' }]));
    let replayed = 0;
    let last: bigint | null = null;
    const org = initialOrganizationState();
    for await (const e of this.store.readStream(organizationStream(q.organizationId), { until: q.asOf })) {
      const event = fromStored(e);
      if (event) evolveOrganization(org, event as OrganizationEvent);
      replayed++;
      last = last === null || e.position > last ? e.position : last;
    }
    const info = org.workspaces.get(q.workspaceId);
    if (!info)
      throw new DomainException(domainError('WORKSPACE_NOT_FOUND', `Workspace ${q.workspaceId} did not exist at ${q.asOf.toISOString()}.`));
    const ws = initialWorkspaceState(info);
    for await (const e of this.store.readStream(workspaceStream(q.workspaceId), { until: q.asOf })) {
      const event = fromStored(e);
      if (event) evolveWorkspace(ws, event as WorkspaceEvent);
      replayed++;
      last = last === null || e.position > last ? e.position : last;
    }
    const ctx = { org, ws };
    const member = ws.members.get(q.userId);
    const active = activeMember(ctx, q.userId);
    const status = active ? 'active' : org.users.get(q.userId)?.deleted && member ? 'deleted' : member ? 'revoked' : 'none';
    const access = active?.access ?? { roles: [], restrictions: {}, grants: [] };
    const eff = effectivePermissions(access, accessModel(info.accessModel), info.plan);
    return {
      userId: q.userId,
      workspaceId: q.workspaceId,
      asOf: q.asOf.toISOString(),
      status,
      orgAdmin: isOrgAdmin(org, q.userId),
      roles: access.roles,
      restrictions: access.restrictions,
      grants: access.grants,
      permissions: eff.permissions,
      scopes: eff.scopes,
      teams: teamsOf(ws.teams, q.userId).map((t) => ({ teamId: t.teamId, name: t.name })),
      basedOn: { eventsReplayed: replayed, lastPosition: last === null ? null : last.toString() },
    };
  }
}
