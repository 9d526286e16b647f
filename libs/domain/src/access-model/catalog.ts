/**
 * Access is data, not code (docs/rules.md#access-model). An access model is a catalog of roles (each a set of permissions),
 * grantable permissions and restrictions. The engine (effectivePermissions, authority checks) never asks
 * which preset it is looking at.
 */
export type Plan = 'standard' | 'advanced' | 'enterprise';
export const PLANS: readonly Plan[] = ['standard', 'advanced', 'enterprise'];

export type AccessModelName = 'levels' | 'permissions' | 'studio';
export const ACCESS_MODELS: readonly AccessModelName[] = ['levels', 'permissions', 'studio'];

/** A restriction either removes permissions (flag) or sets a data scope (scope). Valid only on its roles. */
export type RestrictionDef =
  /** a switch: removes permissions, and may turn on a data scope (mask_contact_info) */
  | { kind: 'flag'; roles: string[]; removes: string[]; plans?: Plan[]; scope?: 'mask_contact_info' }
  /** a data scope with a value (contact_visibility) */
  | { kind: 'scope'; roles: string[]; values: string[]; defaultValue: string; plans?: Plan[] };

export interface RoleDef {
  permissions: string[];
  /** preset `levels` only: higher outranks lower */
  rank?: number;
}

export interface AccessModel {
  name: AccessModelName;
  roles: Record<string, RoleDef>;
  /** 'one': exactly one role (levels); 'many': one or more */
  cardinality: 'one' | 'many';
  /** roles given when an invitation names none */
  defaultRoles: string[];
  /** permissions that may be granted on top of the roles */
  grantable: string[];
  restrictions: Record<string, RestrictionDef>;
  /** the permission needed to manage members (rule 1) */
  manageMembers: string;
  /** the permission needed to export the user list (rule 18) */
  exportMembers: string;
  /** the permission needed to read reports, such as the presence report (docs/rules.md#rule-13) */
  readReports: string;
  /** the access given to an owner: the workspace creator, and what org admins act as (rule 5) */
  ownerAccess: { roles: string[]; grants: string[] };
  /** who counts as an owner for last-owner protection (rule 4): a role, or a permission */
  owner: { role: string } | { permission: string };
  /**
   * rule 2: rank rules (levels); no-escalation (a member gives only permissions they hold: permissions); or
   * owner-gives-any (an owner, as `owner` says, gives any access of the preset; anyone else no-escalation: studio, whose
   * page has the first customer user, an environment manager, invite their colleagues — operators first — themself)
   */
  authority: 'rank' | 'no-escalation' | 'owner-gives-any';
  /** pairs of grants where the first needs the second to be useful: a warning, not an error */
  grantAdvice: { grant: string; needs: string; warning: string }[];
}

const SETTINGS = [
  'settings.general',
  'settings.users',
  'settings.teams',
  'settings.channels',
  'settings.contact_fields',
  'settings.integrations',
  'settings.snippets',
  'settings.files',
  'settings.data_export',
];
const EVERYONE = ['messages', 'profile', 'notification_preferences', 'shortcuts'];
const MODULES = ['dashboard', 'contacts', 'broadcasts', 'reports'];

/** Preset `levels` (seed 003): exactly one of owner, manager, agent. Owners have everything but billing. */
export const LEVELS: AccessModel = {
  name: 'levels',
  roles: {
    owner: {
      rank: 3,
      permissions: [
        ...MODULES,
        ...EVERYONE,
        ...SETTINGS,
        'contacts.delete',
        'data.export',
        'integrations.connect',
        'channels.connect',
      ],
    },
    manager: {
      rank: 2,
      permissions: [...MODULES, ...EVERYONE, ...SETTINGS, 'contacts.delete', 'data.export', 'integrations.connect'],
    },
    agent: { rank: 1, permissions: [...EVERYONE] },
  },
  cardinality: 'one',
  defaultRoles: ['agent'],
  grantable: [],
  restrictions: {
    workspace_settings: { kind: 'flag', roles: ['manager'], removes: SETTINGS },
    contact_deletion: { kind: 'flag', roles: ['manager'], removes: ['contacts.delete'] },
    // "not allowed to perform any data export from any modules": the Data Export settings page too (probe 97 F5)
    data_export: { kind: 'flag', roles: ['manager'], removes: ['data.export', 'settings.data_export'] },
    integrations: { kind: 'flag', roles: ['manager'], removes: ['integrations.connect'] },
    workflows: { kind: 'flag', roles: ['agent'], removes: ['shortcuts'] },
    contact_visibility: {
      kind: 'scope',
      roles: ['agent'],
      values: ['all', 'team_and_self', 'self_only'],
      defaultValue: 'all',
    },
    mask_contact_info: {
      kind: 'flag',
      roles: ['agent'],
      removes: [],
      scope: 'mask_contact_info',
      plans: ['advanced', 'enterprise'],
    },
  },
  manageMembers: 'settings.users',
  exportMembers: 'data.export',
  readReports: 'reports',
  ownerAccess: { roles: ['owner'], grants: [] },
  owner: { role: 'owner' },
  authority: 'rank',
  grantAdvice: [],
};

/** Preset `permissions` (seed 000): everyone can chat; toggles are granted one by one. */
const TOGGLES = ['reporting', 'users', 'settings', 'ib_designer', 'ib_publisher', 'ib_data', 'wfb_user'];
export const PERMISSIONS: AccessModel = {
  name: 'permissions',
  roles: { member: { permissions: ['chat'] } },
  cardinality: 'one',
  defaultRoles: ['member'],
  grantable: TOGGLES,
  restrictions: {},
  manageMembers: 'users',
  exportMembers: 'users',
  readReports: 'reporting',
  ownerAccess: { roles: ['member'], grants: TOGGLES },
  owner: { permission: 'users' },
  authority: 'no-escalation',
  grantAdvice: [
    {
      grant: 'ib_publisher',
      needs: 'settings',
      warning:
        'ib_publisher was granted without settings: the user can publish interactions but cannot configure publishing settings until settings is granted too.',
    },
  ],
};

/** Preset `studio` (seed 001): one or more roles. */
export const STUDIO: AccessModel = {
  name: 'studio',
  roles: {
    operator: { permissions: ['live_support', 'inbox'] },
    content_manager: { permissions: ['cms'] },
    analyst: { permissions: ['analytics.read', 'crm.read'] },
    producer: { permissions: ['crm', 'crm.read', 'cms', 'analytics', 'analytics.read'] },
    environment_manager: { permissions: ['environment', 'users'] },
    developer: { permissions: ['bot.development', 'bot.configuration'] },
  },
  cardinality: 'many',
  defaultRoles: ['operator'],
  grantable: [],
  restrictions: {},
  manageMembers: 'users',
  exportMembers: 'users',
  // analysts and producers (read-only analytics, or analytics with CRM and CMS)
  readReports: 'analytics.read',
  ownerAccess: {
    roles: ['environment_manager', 'operator', 'content_manager', 'analyst', 'producer', 'developer'],
    grants: [],
  },
  owner: { role: 'environment_manager' },
  authority: 'owner-gives-any',
  grantAdvice: [],
};

export const ACCESS_MODEL_PRESETS: Record<AccessModelName, AccessModel> = {
  levels: LEVELS,
  permissions: PERMISSIONS,
  studio: STUDIO,
};

/** The preset of that name; only the presets' own names count (never `constructor` or `__proto__`). */
export const accessModel = (name: AccessModelName): AccessModel => {
  if (!Object.hasOwn(ACCESS_MODEL_PRESETS, name)) throw new RangeError(`Unknown access model ${String(name)}; expected one of ${ACCESS_MODELS.join(', ')}.`);
  return ACCESS_MODEL_PRESETS[name];
};
