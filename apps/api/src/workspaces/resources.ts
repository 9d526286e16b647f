import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { Plan } from '@rollcall/domain';
import type { CatalogRestrictionView, CatalogRoleView, CatalogView, WorkspaceView } from './workspace-view';
import { WriteAnswer } from '../shared/http/openapi';

export class WorkspaceCreated extends WriteAnswer {
  @ApiProperty({ example: '7c9e6679-7425-5de3-944b-e07fc1f90ae7' })
  workspaceId!: string;
}

class CatalogRole implements CatalogRoleView {
  @ApiProperty({ example: 'manager' })
  name!: string;
  @ApiProperty({ type: [String], example: ['dashboard', 'contacts', 'settings.users'] })
  permissions!: string[];
  @ApiPropertyOptional({ type: 'integer', example: 2, description: '`levels` only: a higher rank outranks a lower one (rule 2)' })
  rank?: number;
}

class CatalogRestriction implements CatalogRestrictionView {
  @ApiProperty({ example: 'mask_contact_info' })
  name!: string;
  @ApiProperty({ enum: ['flag', 'scope'], description: '`flag`: on or off (`true` in `restrictions`); `scope`: one of `values`' })
  kind!: 'flag' | 'scope';
  @ApiProperty({ type: [String], example: ['agent'], description: 'the roles it may be put on (else `INVALID_RESTRICTION`)' })
  roles!: string[];
  @ApiPropertyOptional({ type: [String], example: ['shortcuts'], description: 'a flag: the permissions it removes' })
  removes?: string[];
  @ApiPropertyOptional({ example: 'mask_contact_info', description: 'a flag that turns on a data scope of the effective permissions (`scopes`)' })
  scope?: string;
  @ApiPropertyOptional({ type: [String], example: ['all', 'team_and_self', 'self_only'], description: 'a scope: its values, from the least restricted (its default) to the most' })
  values?: string[];
  @ApiPropertyOptional({ example: 'all' })
  defaultValue?: string;
  @ApiPropertyOptional({ type: [String], enum: ['standard', 'advanced', 'enterprise'], description: 'the plans that accept it; absent: every plan' })
  plans?: Plan[];
  @ApiProperty({ description: "whether this workspace's plan accepts it (else `PLAN_REQUIRED`)" })
  availableOnPlan!: boolean;
}

class GrantAdvice {
  @ApiProperty({ example: 'ib_publisher' })
  grant!: string;
  @ApiProperty({ example: 'settings' })
  needs!: string;
  @ApiProperty()
  warning!: string;
}

class Catalog implements CatalogView {
  @ApiProperty({ type: [CatalogRole] })
  roles!: CatalogRole[];
  @ApiProperty({ enum: ['one', 'many'], description: '`one`: exactly one role per member (`levels`); `many`: one or more' })
  cardinality!: 'one' | 'many';
  @ApiProperty({ type: [String], example: ['agent'], description: 'what an invitation naming no roles gives' })
  defaultRoles!: string[];
  @ApiProperty({ type: [String], example: [], description: 'permissions granted one by one on top of the roles (`grants`)' })
  grantable!: string[];
  @ApiProperty({ type: [CatalogRestriction] })
  restrictions!: CatalogRestriction[];
  @ApiProperty({ example: 'settings.users', description: 'rule 1: the permission that manages members' })
  memberManagementPermission!: string;
  @ApiProperty({ example: 'data.export', description: "rule 18: the permission the user list's export needs besides" })
  exportPermission!: string;
  @ApiProperty({ example: 'reports', description: 'the permission the presence report needs' })
  reportsPermission!: string;
  @ApiProperty({
    type: 'object',
    properties: { role: { type: 'string' }, permission: { type: 'string' } },
    example: { role: 'owner' },
    description: 'rule 4: who counts as an owner: `{role}` (a role) or `{permission}` (a permission)',
  })
  owner!: { role: string } | { permission: string };
  @ApiProperty({ enum: ['rank', 'no-escalation', 'owner-gives-any'], description: 'rule 2: `rank` (levels); `no-escalation` (a member gives only permissions they hold: permissions); `owner-gives-any` (an owner — see `owner` — gives any role of the preset, anyone else only what they hold: studio)' })
  authority!: 'rank' | 'no-escalation' | 'owner-gives-any';
  @ApiProperty({ type: [GrantAdvice], description: 'grants that are answered with a warning when given without another' })
  grantAdvice!: GrantAdvice[];
}

/** A workspace linked to this one (rule 16). Not the teams' PartnerWorkspace: OpenAPI names schemas by class. */
class NetworkPartner {
  @ApiProperty({ example: '9b2c6f7e-1d2a-5b7c-8e9f-0a1b2c3d4e5f' })
  workspaceId!: string;
  @ApiProperty({ example: 'Partner support' })
  name!: string;
}

/** A workspace: its plan and access model, the catalog its access is described by, its network partners. */
export class Workspace implements WorkspaceView {
  @ApiProperty({ example: '7c9e6679-7425-5de3-944b-e07fc1f90ae7' })
  workspaceId!: string;
  @ApiProperty({ example: '1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed' })
  organizationId!: string;
  @ApiProperty({ example: 'Support' })
  name!: string;
  @ApiProperty({ enum: ['standard', 'advanced', 'enterprise'] })
  plan!: Plan;
  @ApiProperty({ enum: ['levels', 'permissions', 'studio'] })
  accessModel!: WorkspaceView['accessModel'];
  @ApiProperty({ format: 'date-time' })
  createdAt!: string;
  @ApiProperty({ type: Catalog, description: 'the access model as data: what to offer in the dialogs that give access (docs/rules.md "Access model")' })
  catalog!: Catalog;
  @ApiProperty({ type: [NetworkPartner], description: 'the workspaces linked to this one (rule 16), of this organization or another' })
  partners!: NetworkPartner[];
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: "when the workspace's organization began closing (docs/adr/0035): its keys are revoked, so only the system key reads it then; null while it is open",
  })
  organizationClosingSince!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: "when the workspace's organization was closed; null until then" })
  organizationClosedAt!: string | null;
}

export class PlanChangedAnswer extends WriteAnswer {
  @ApiProperty({ example: '7c9e6679-7425-5de3-944b-e07fc1f90ae7' })
  workspaceId!: string;
  @ApiProperty({ enum: ['standard', 'advanced', 'enterprise'] })
  plan!: Plan;
  @ApiProperty({ description: 'false: the workspace was on that plan already (nothing written)' })
  changed!: boolean;
}
