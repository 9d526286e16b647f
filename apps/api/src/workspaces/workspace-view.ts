import { type AccessModel, type OrganizationState, type Plan, type WorkspaceState, accessModel } from '@rollcall/domain';

/** A role of the catalog: its permissions, and its rank under `levels` (higher outranks lower). */
export interface CatalogRoleView {
  name: string;
  permissions: string[];
  rank?: number;
}

/** A restriction of the catalog: on which roles, what it removes or which values it takes, on which plans. */
export interface CatalogRestrictionView {
  name: string;
  kind: 'flag' | 'scope';
  roles: string[];
  /** a flag: the permissions it removes */
  removes?: string[];
  /** a flag that turns on a data scope of the effective permissions (`mask_contact_info`) */
  scope?: string;
  /** a scope: its values, from the least restricted (its default) to the most */
  values?: string[];
  defaultValue?: string;
  /** the plans that accept it (absent: every plan) */
  plans?: Plan[];
  /** whether this workspace's plan accepts it (else `PLAN_REQUIRED`) */
  availableOnPlan: boolean;
}

/** What a console draws its "add user" and "edit access" dialogs from: the workspace's access model, as data. */
export interface CatalogView {
  roles: CatalogRoleView[];
  /** `one`: exactly one role per member (levels); `many`: one or more */
  cardinality: 'one' | 'many';
  /** the roles an invitation without roles gives */
  defaultRoles: string[];
  /** permissions granted one by one on top of the roles */
  grantable: string[];
  restrictions: CatalogRestrictionView[];
  /** rule 1: the permission that manages members; rule 18: exports them; the presence report's */
  memberManagementPermission: string;
  exportPermission: string;
  reportsPermission: string;
  /** rule 4: who counts as an owner */
  owner: { role: string } | { permission: string };
  /** rule 2: `rank` (levels), `no-escalation` (a member gives only what they hold) or `owner-gives-any` (studio) */
  authority: 'rank' | 'no-escalation' | 'owner-gives-any';
  /** grants that warn when given without another */
  grantAdvice: { grant: string; needs: string; warning: string }[];
}

export interface WorkspaceView {
  workspaceId: string;
  organizationId: string;
  name: string;
  plan: Plan;
  accessModel: AccessModel['name'];
  createdAt: string;
  catalog: CatalogView;
  /** the workspaces linked to this one (rule 16), of this organization or another */
  partners: { workspaceId: string; name: string }[];
  /** when its organization began closing, and was closed (ADR 0035): only the system key reads a closing one */
  organizationClosingSince: string | null;
  organizationClosedAt: string | null;
}

/** The catalog of a preset, for a plan: the data the engine decides with (docs/rules.md "Access model"), never hard-coded in a console. */
export function catalogView(model: AccessModel, plan: Plan): CatalogView {
  return {
    roles: Object.entries(model.roles).map(([name, role]) => ({ name, permissions: [...role.permissions], ...(role.rank !== undefined && { rank: role.rank }) })),
    cardinality: model.cardinality,
    defaultRoles: [...model.defaultRoles],
    grantable: [...model.grantable],
    restrictions: Object.entries(model.restrictions).map(([name, def]) => ({
      name,
      kind: def.kind,
      roles: [...def.roles],
      ...(def.kind === 'flag' ? { removes: [...def.removes], ...(def.scope && { scope: def.scope }) } : { values: [...def.values], defaultValue: def.defaultValue }),
      ...(def.plans && { plans: [...def.plans] }),
      availableOnPlan: !def.plans || def.plans.includes(plan),
    })),
    memberManagementPermission: model.manageMembers,
    exportPermission: model.exportMembers,
    reportsPermission: model.readReports,
    owner: { ...model.owner },
    authority: model.authority,
    grantAdvice: model.grantAdvice.map((a) => ({ ...a })),
  };
}

/** The workspace as its decision state says now, with its partners' names (their states, loaded by the caller). */
export function workspaceView(ws: WorkspaceState, partners: readonly WorkspaceState[], org: Pick<OrganizationState, 'closingSince' | 'closedAt'>): WorkspaceView {
  const { workspaceId, organizationId, name, plan, accessModel: model, createdAt } = ws.info;
  return {
    workspaceId,
    organizationId,
    name,
    plan,
    accessModel: model,
    createdAt,
    catalog: catalogView(accessModel(model), plan),
    partners: partners.map((p) => ({ workspaceId: p.info.workspaceId, name: p.info.name })).sort((a, b) => a.workspaceId.localeCompare(b.workspaceId)),
    organizationClosingSince: org.closingSince ?? null,
    organizationClosedAt: org.closedAt ?? null,
  };
}
