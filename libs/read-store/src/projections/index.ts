export * from './projection';
export * from './members';
export * from './org-users';
export * from './permission-history';
export * from './workspaces';
export * from './presence-daily';
export * from './teams';
// the user list's folding of a search, for a search over the decision state's users too (the organization's users)
export { searchKey } from './sort-key';

import { membersProjection } from './members';
import { orgUsersProjection } from './org-users';
import { permissionHistoryProjection } from './permission-history';
import type { Projection } from './projection';
import { workspacesProjection } from './workspaces';
import { presenceDailyProjection } from './presence-daily';
import { teamsProjection } from './teams';

/** Every projection the projector runs, by name. */
export const PROJECTIONS: readonly Projection[] = [membersProjection, orgUsersProjection, permissionHistoryProjection, workspacesProjection, teamsProjection, presenceDailyProjection];

export const projectionNamed = (name: string): Projection | undefined => PROJECTIONS.find((p) => p.name === name);
