import { type Access, effectivePermissions, restrictionOf, roleOf } from './access';
import type { AccessModel, Plan } from './catalog';

/** Where a permission came from (`role:<name>`, `grant:<name>`) or what took it away (`restriction:<name>`). */
export type AccessSource = `role:${string}` | `grant:${string}` | `restriction:${string}`;

export interface AccessExplanation {
  /** every effective permission, with each role or grant that gives it */
  granted: { permission: string; from: AccessSource[] }[];
  /**
   * every permission of the access model the member lacks: `removed` by restrictions (with what had given it), or
   * `not_given` by any role or grant they hold (with the roles or grants of the model that would give it)
   */
  missing: ({ permission: string; reason: 'removed'; by: AccessSource[]; from: AccessSource[] } | { permission: string; reason: 'not_given'; givenBy: AccessSource[] })[];
  /** restrictions held that have no effect: not valid for the member's roles, or not offered on the workspace's plan */
  ignored: { restriction: string; reason: 'role' | 'plan'; detail: string }[];
  /** the data scopes and the restriction that set each (none: the default) */
  scopes: { contact_visibility: { value: string; by: AccessSource | null }; mask_contact_info: { value: boolean; by: AccessSource | null } };
}

/**
 * Why a member has each permission and lacks the others, by the same steps as effectivePermissions
 * (docs/rules.md#effective-permissions): roles, then grants, then restrictions, then scopes. The permissions it
 * lists as granted are exactly effectivePermissions' (explain.spec.ts checks it for every preset).
 */
export function explainPermissions(access: Access, model: AccessModel, plan: Plan): AccessExplanation {
  const sources = new Map<string, AccessSource[]>();
  const give = (p: string, s: AccessSource) => sources.set(p, [...(sources.get(p) ?? []), s]);
  for (const role of access.roles) for (const p of roleOf(model, role)?.permissions ?? []) give(p, `role:${role}`);
  for (const grant of access.grants) if (model.grantable.includes(grant)) give(grant, `grant:${grant}`);

  const removedBy = new Map<string, AccessSource[]>();
  const ignored: AccessExplanation['ignored'] = [];
  const scopes: AccessExplanation['scopes'] = { contact_visibility: { value: 'all', by: null }, mask_contact_info: { value: false, by: null } };
  for (const [name, value] of Object.entries(access.restrictions)) {
    const def = restrictionOf(model, name);
    if (!def) continue;
    if (!def.roles.some((r) => access.roles.includes(r))) {
      ignored.push({ restriction: name, reason: 'role', detail: `applies only to ${def.roles.join(', ')}` });
      continue;
    }
    if (def.plans && !def.plans.includes(plan)) {
      ignored.push({ restriction: name, reason: 'plan', detail: `needs the ${def.plans.join(' or ')} plan; the workspace is on ${plan}` });
      continue;
    }
    if (def.kind === 'flag') {
      for (const p of def.removes) if (sources.has(p)) removedBy.set(p, [...(removedBy.get(p) ?? []), `restriction:${name}`]);
      if (def.scope === 'mask_contact_info') scopes.mask_contact_info = { value: true, by: `restriction:${name}` };
    } else if (name === 'contact_visibility' && typeof value === 'string' && def.values.includes(value)) {
      scopes.contact_visibility = { value, by: `restriction:${name}` };
    }
  }

  const effective = new Set(effectivePermissions(access, model, plan).permissions);
  const universe = new Set<string>([...Object.values(model.roles).flatMap((r) => r.permissions), ...model.grantable]);
  const granted = [...sources.keys()].filter((p) => effective.has(p)).sort().map((permission) => ({ permission, from: sources.get(permission)! }));
  const missing: AccessExplanation['missing'] = [...universe]
    .filter((p) => !effective.has(p))
    .sort()
    .map((permission) =>
      removedBy.has(permission)
        ? { permission, reason: 'removed' as const, by: removedBy.get(permission)!, from: sources.get(permission)! }
        : { permission, reason: 'not_given' as const, givenBy: giversOf(model, permission) },
    );
  return { granted, missing, ignored, scopes };
}

const giversOf = (model: AccessModel, permission: string): AccessSource[] => [
  ...Object.entries(model.roles)
    .filter(([, def]) => def.permissions.includes(permission))
    .map(([name]) => `role:${name}` as const),
  ...(model.grantable.includes(permission) ? [`grant:${permission}` as const] : []),
];
