import { type AccessModel, type Plan, type RestrictionDef, type RoleDef } from './catalog';
import { type FieldError, type DomainError, domainError, validationFailed } from '../shared/errors';

/** Restrictions: flags are `true`, scopes carry their value, e.g. `{ data_export: true }`, `{ contact_visibility: 'self_only' }`. */
export type Restrictions = Record<string, true | string>;

/** The access a member holds in one workspace. */
export interface Access {
  roles: string[];
  restrictions: Restrictions;
  grants: string[];
}

export interface EffectivePermissions {
  permissions: string[];
  scopes: { contact_visibility: string; mask_contact_info: boolean };
}

const sorted = (values: Iterable<string>): string[] => [...new Set(values)].sort();

/**
 * The access model is data: a role or restriction exists only as an own property of the catalog, never
 * through the prototype (`constructor`, `__proto__`, `toString` are names a client can send).
 */
export const roleOf = (model: AccessModel, name: string): RoleDef | undefined =>
  Object.hasOwn(model.roles, name) ? model.roles[name] : undefined;
export const restrictionOf = (model: AccessModel, name: string): RestrictionDef | undefined =>
  Object.hasOwn(model.restrictions, name) ? model.restrictions[name] : undefined;

/** Effective permissions = union of the roles' permissions + grants − what restrictions remove, plus data scopes. */
export function effectivePermissions(access: Access, model: AccessModel, plan: Plan): EffectivePermissions {
  const held = new Set<string>();
  for (const role of access.roles) for (const p of roleOf(model, role)?.permissions ?? []) held.add(p);
  for (const grant of access.grants) if (model.grantable.includes(grant)) held.add(grant);
  const scopes = { contact_visibility: 'all', mask_contact_info: false };
  for (const [name, value] of Object.entries(access.restrictions)) {
    const def = restrictionOf(model, name);
    if (!def || !appliesTo(def, access.roles, plan)) continue;
    if (def.kind === 'flag') {
      for (const p of def.removes) held.delete(p);
      if (def.scope === 'mask_contact_info') scopes.mask_contact_info = true;
    } else if (name === 'contact_visibility' && typeof value === 'string' && def.values.includes(value)) {
      scopes.contact_visibility = value;
    }
  }
  return { permissions: sorted(held), scopes };
}

/**
 * The restrictions that `next` lifts or loosens from `current` (docs/rules.md rule 2: under \`levels\` that is an owner's
 * act): a flag `current` carries and `next` does not, a data scope `next` sets to a value listed before `current`'s
 * (a scope's values run from the least restricted, its default, to the most).
 */
export function liftedRestrictions(model: AccessModel, current: Access, next: Access): string[] {
  const lifted: string[] = [];
  for (const [name, def] of Object.entries(model.restrictions)) {
    const before = current.restrictions[name];
    const after = next.restrictions[name];
    if (def.kind === 'flag') {
      if (before === true && after !== true) lifted.push(name);
    } else {
      const rank = (value: true | string | undefined) => Math.max(0, def.values.indexOf(typeof value === 'string' ? value : def.defaultValue));
      if (rank(after) < rank(before)) lifted.push(name);
    }
  }
  return lifted;
}

const appliesTo = (def: RestrictionDef, roles: string[], plan: Plan): boolean =>
  def.roles.some((r) => roles.includes(r)) && (!def.plans || def.plans.includes(plan));

/** a restriction that restricts something: a data scope at its default value restricts nothing (normalizeAccess) */
const restricts = (name: string, value: true | string, model?: AccessModel): boolean => {
  const def = model && restrictionOf(model, name);
  return !(def && def.kind === 'scope' && value === def.defaultValue);
};

/**
 * Sorted lists and restrictions; with the model, a data scope set to its default value is dropped: it restricts
 * nothing, and kept it made `{contact_visibility: "all"}` a change from `{}` with the same permissions (probe 26).
 */
export const normalizeAccess = (access: Access, model?: AccessModel): Access => ({
  roles: sorted(access.roles),
  grants: sorted(access.grants),
  restrictions: Object.fromEntries(
    Object.entries(access.restrictions)
      .filter(([name, value]) => restricts(name, value, model))
      .sort(([a], [b]) => a.localeCompare(b)),
  ),
});

/** The same values, in any order (each list sorted once: every command compares its roles and grants). */
export const sameList = (a: string[], b: string[]): boolean => {
  if (a.length !== b.length) return false;
  const sortedA = sorted(a);
  const sortedB = sorted(b);
  return sortedA.length === sortedB.length && sortedA.every((v, i) => v === sortedB[i]);
};

/**
 * The same restrictions; with the model, a data scope at its default counts as none (normalizeAccess). Compared
 * name by name, without building the normalized copies (every change of access compares two or three pairs).
 */
export const sameRestrictions = (a: Restrictions, b: Restrictions, model?: AccessModel): boolean => {
  let restrictingInA = 0;
  for (const name in a) {
    if (!Object.hasOwn(a, name) || !restricts(name, a[name]!, model)) continue;
    restrictingInA++;
    if (!Object.hasOwn(b, name) || b[name] !== a[name]) return false;
  }
  let restrictingInB = 0;
  for (const name in b) if (Object.hasOwn(b, name) && restricts(name, b[name]!, model)) restrictingInB++;
  return restrictingInA === restrictingInB;
};

/** Drops restrictions that do not apply to the given roles (used when an access level changes). */
export const restrictionsValidFor = (restrictions: Restrictions, roles: string[], model: AccessModel): Restrictions =>
  Object.fromEntries(
    Object.entries(restrictions).filter(([name]) => {
      const def = restrictionOf(model, name);
      return def !== undefined && def.roles.some((r) => roles.includes(r));
    }),
  );

/** names a client sent, quoted (JSON), so that an empty one or one with spaces shows */
const quoted = (names: readonly string[]): string => names.map((n) => JSON.stringify(n)).join(', ');

/**
 * Validates an access against the model and the workspace's plan. Roles: known, and exactly one for
 * cardinality 'one'. Restrictions: known, valid for one of the roles, right value, and allowed on the plan.
 */
export function validateAccess(access: Access, model: AccessModel, plan: Plan): DomainError | undefined {
  const fields: FieldError[] = [];
  const unknownRoles = access.roles.filter((r) => roleOf(model, r) === undefined);
  if (unknownRoles.length > 0)
    return domainError(
      'INVALID_ROLE',
      // quoted: an empty name read "Unknown role  in …" (probe 90 F1)
      `Unknown role ${quoted(unknownRoles)} in access model ${model.name}; choose from ${Object.keys(model.roles).join(', ')}.`,
      [{ field: 'roles', message: `contains unknown role ${quoted(unknownRoles)}` }],
    );
  if (access.roles.length === 0 || (model.cardinality === 'one' && access.roles.length !== 1))
    fields.push({
      field: 'roles',
      message: model.cardinality === 'one' ? 'must hold exactly one role' : 'must hold at least one role',
    });
  if (new Set(access.roles).size !== access.roles.length) fields.push({ field: 'roles', message: 'must not repeat a role' });
  if (new Set(access.grants).size !== access.grants.length) fields.push({ field: 'grants', message: 'must not repeat a grant' });
  if (fields.length > 0) return validationFailed(fields);

  const badGrants = access.grants.filter((g) => !model.grantable.includes(g));
  if (badGrants.length > 0)
    return domainError(
      'INVALID_GRANT',
      model.grantable.length === 0
        ? `Access model ${model.name} has no grantable permissions; remove ${badGrants.join(', ')}.`
        : `Cannot grant ${quoted(badGrants)}; grantable permissions are ${model.grantable.join(', ')}.`,
      [{ field: 'grants', message: `contains ${quoted(badGrants)}` }],
    );

  for (const [name, value] of Object.entries(access.restrictions)) {
    const def = restrictionOf(model, name);
    if (!def)
      // quoted, as a role is: an empty name read "Unknown restriction  in …" (probe 121 F8)
      return domainError('INVALID_RESTRICTION', `Unknown restriction "${name}" in access model ${model.name}.`, [
        { field: `restrictions.${name}`, message: 'is not a known restriction' },
      ]);
    if (!def.roles.some((r) => access.roles.includes(r)))
      return domainError(
        'INVALID_RESTRICTION',
        `Restriction ${name} applies only to ${def.roles.join(', ')}, not to ${access.roles.join(', ')}.`,
        [{ field: `restrictions.${name}`, message: `is valid only for ${def.roles.join(', ')}` }],
      );
    const valueOk = def.kind === 'flag' ? value === true : typeof value === 'string' && def.values.includes(value);
    if (!valueOk)
      return domainError(
        'INVALID_RESTRICTION',
        def.kind === 'flag'
          ? `Restriction ${name} is a switch: set it to true or leave it out.`
          : `Restriction ${name} must be one of ${def.values.join(', ')}.`,
        [{ field: `restrictions.${name}`, message: 'has an invalid value' }],
      );
    if (def.plans && !def.plans.includes(plan))
      return domainError(
        'PLAN_REQUIRED',
        `Restriction ${name} is available only on the ${def.plans.join(' and ')} plans; this workspace is on ${plan}.`,
        [{ field: `restrictions.${name}`, message: `needs plan ${def.plans.join(' or ')}` }],
      );
  }
  return undefined;
}

/** Warnings for grants that work better together (preset `permissions`: ib_publisher without settings). */
export const grantWarnings = (access: Access, model: AccessModel): string[] =>
  model.grantAdvice
    .filter((a) => access.grants.includes(a.grant) && !access.grants.includes(a.needs))
    .map((a) => a.warning);

export const isOwner = (access: Access, model: AccessModel, plan: Plan): boolean =>
  'role' in model.owner
    ? access.roles.includes(model.owner.role)
    : effectivePermissions(access, model, plan).permissions.includes(model.owner.permission);

export const rankOf = (access: Access, model: AccessModel): number =>
  Math.max(0, ...access.roles.map((r) => roleOf(model, r)?.rank ?? 0));
