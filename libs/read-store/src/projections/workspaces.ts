import type { AccessModelName, Plan } from '@rollcall/domain';
import { type Doc, type Projection, documentProjection } from './projection';

/** `workspaces/${workspaceId}`: what queries need to compute effective permissions (access model and plan). */
export const WORKSPACES = 'workspaces';

export interface WorkspaceDoc extends Doc {
  workspaceId: string;
  organizationId: string;
  name: string;
  plan: Plan;
  accessModel: AccessModelName;
  ownerUserId: string;
  createdAt: string;
}

export const workspacesProjection: Projection = documentProjection<WorkspaceDoc, 'WorkspaceCreated'>({
  collection: WORKSPACES,
  // read by id only (queries/members.ts)
  spec: { indexes: [] },
  eventTypes: ['WorkspaceCreated'],
  id: (event) => event.data.workspaceId,
  evolve: (_current, { data: d }) => ({
    _id: d.workspaceId,
    workspaceId: d.workspaceId,
    organizationId: d.organizationId,
    name: d.name,
    plan: d.plan,
    accessModel: d.accessModel,
    ownerUserId: d.ownerUserId,
    createdAt: d.createdAt,
  }),
});
