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

export const workspacesProjection: Projection = documentProjection<WorkspaceDoc, 'WorkspaceCreated' | 'WorkspacePlanChanged'>({
  collection: WORKSPACES,
  // read by id only (queries/members.ts)
  spec: { indexes: [] },
  eventTypes: ['WorkspaceCreated', 'WorkspacePlanChanged'],
  id: (event) => event.data.workspaceId,
  evolve: (current, event) => {
    if (event.type === 'WorkspacePlanChanged') return current && { ...current, plan: event.data.plan };
    const d = event.data;
    return {
      _id: d.workspaceId,
      workspaceId: d.workspaceId,
      organizationId: d.organizationId,
      name: d.name,
      plan: d.plan,
      accessModel: d.accessModel,
      ownerUserId: d.ownerUserId,
      createdAt: d.createdAt,
    };
  },
});
