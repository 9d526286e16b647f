import fc from 'fast-check';
import { effectivePermissions, isOwner, normalizeAccess, rankOf, restrictionsValidFor, validateAccess, type Restrictions } from './access';
import { LEVELS, PERMISSIONS, STUDIO, accessModel, type AccessModelName, type Plan } from './catalog';

/**
 * The access model's table (docs/rules.md#preset-levels) for preset `levels`, written out independently of the catalog: for every permission,
 * what owner / manager / agent hold and which restriction takes it away.
 */
/** `unless`: held unless the member carries one of these restrictions */
type Cell = 'yes' | 'no' | { unless: string[] };
const TABLE: Record<string, [owner: Cell, manager: Cell, agent: Cell]> = {
  dashboard: ['yes', 'yes', 'no'],
  contacts: ['yes', 'yes', 'no'],
  broadcasts: ['yes', 'yes', 'no'],
  reports: ['yes', 'yes', 'no'],
  messages: ['yes', 'yes', 'yes'],
  profile: ['yes', 'yes', 'yes'],
  notification_preferences: ['yes', 'yes', 'yes'],
  shortcuts: ['yes', 'yes', { unless: ['workflows'] }],
  ...Object.fromEntries(
    ['general', 'users', 'teams', 'channels', 'contact_fields', 'integrations', 'snippets', 'files'].map((s) => [
      `settings.${s}`,
      ['yes', { unless: ['workspace_settings'] }, 'no'] as [Cell, Cell, Cell],
    ]),
  ),
  // a workspace setting, and "any data export from any modules" (probe 97 F5)
  'settings.data_export': ['yes', { unless: ['workspace_settings', 'data_export'] }, 'no'],
  'contacts.delete': ['yes', { unless: ['contact_deletion'] }, 'no'],
  'data.export': ['yes', { unless: ['data_export'] }, 'no'],
  'integrations.connect': ['yes', { unless: ['integrations'] }, 'no'],
  'channels.connect': ['yes', 'no', 'no'],
  billing: ['no', 'no', 'no'],
};
const ROLE_INDEX = { owner: 0, manager: 1, agent: 2 } as const;
const RESTRICTIONS_OF = {
  owner: [] as string[],
  manager: ['workspace_settings', 'contact_deletion', 'data_export', 'integrations'],
  agent: ['workflows', 'mask_contact_info'],
};

const expected = (role: keyof typeof ROLE_INDEX, restrictions: string[]): string[] =>
  Object.entries(TABLE)
    .filter(([, cells]) => {
      const cell = cells[ROLE_INDEX[role]];
      return cell === 'yes' || (typeof cell === 'object' && !cell.unless.some((r) => restrictions.includes(r)));
    })
    .map(([p]) => p)
    .sort();

const subsets = <T>(items: T[]): T[][] => items.reduce<T[][]>((acc, x) => [...acc, ...acc.map((s) => [...s, x])], [[]]);

describe('effectivePermissions matches the access model table of docs/rules.md', () => {
  for (const role of ['owner', 'manager', 'agent'] as const) {
    for (const restrictions of subsets(RESTRICTIONS_OF[role])) {
      for (const visibility of role === 'agent' ? ['all', 'team_and_self', 'self_only'] : [undefined]) {
        it(`levels: ${role} restricted by [${restrictions.join(', ')}]${visibility ? ` with contact_visibility ${visibility}` : ''}`, () => {
          const r: Restrictions = Object.fromEntries(restrictions.map((x) => [x, true as const]));
          if (visibility) r.contact_visibility = visibility;
          const plan: Plan = 'enterprise';
          expect(validateAccess({ roles: [role], restrictions: r, grants: [] }, LEVELS, plan)).toBeUndefined();
          const eff = effectivePermissions({ roles: [role], restrictions: r, grants: [] }, LEVELS, plan);
          expect(eff.permissions).toEqual(expected(role, restrictions));
          expect(eff.scopes).toEqual({
            contact_visibility: visibility ?? 'all',
            mask_contact_info: restrictions.includes('mask_contact_info'),
          });
        });
      }
    }
  }

  it('no role ever holds billing', () => {
    for (const role of Object.keys(LEVELS.roles))
      expect(effectivePermissions({ roles: [role], restrictions: {}, grants: [] }, LEVELS, 'enterprise').permissions).not.toContain('billing');
  });

  it('a restriction of another role or of an unavailable plan removes nothing', () => {
    const eff = effectivePermissions({ roles: ['owner'], restrictions: { data_export: true }, grants: [] }, LEVELS, 'standard');
    expect(eff.permissions).toContain('data.export');
    const masked = effectivePermissions({ roles: ['agent'], restrictions: { mask_contact_info: true }, grants: [] }, LEVELS, 'standard');
    expect(masked.scopes.mask_contact_info).toBe(false);
  });

  it('preset permissions: everyone chats, each toggle adds exactly itself', () => {
    fc.assert(
      fc.property(fc.subarray(PERMISSIONS.grantable), (grants) => {
        const eff = effectivePermissions({ roles: ['member'], restrictions: {}, grants }, PERMISSIONS, 'standard');
        expect(eff.permissions).toEqual(['chat', ...grants].sort());
      }),
    );
  });

  it('preset studio: the union of the roles\' permissions', () => {
    fc.assert(
      fc.property(fc.subarray(Object.keys(STUDIO.roles), { minLength: 1 }), (roles) => {
        const eff = effectivePermissions({ roles, restrictions: {}, grants: [] }, STUDIO, 'standard');
        const union = new Set(roles.flatMap((r) => STUDIO.roles[r]!.permissions));
        expect(eff.permissions).toEqual([...union].sort());
      }),
    );
  });
});

describe('access model: prototype names are not roles, restrictions or grants', () => {
  const PROTO_NAMES = ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__'];
  /** restrictions as a client's JSON makes them: `__proto__` is an own key, not the prototype */
  const restriction = (name: string): Restrictions => JSON.parse(`{"${name}": true}`);

  it.each(PROTO_NAMES)('%s is an unknown role in every preset: INVALID_ROLE', (name) => {
    for (const model of [LEVELS, PERMISSIONS, STUDIO]) {
      const refused = validateAccess({ roles: [name], restrictions: {}, grants: [] }, model, 'enterprise');
      expect(refused?.code).toBe('INVALID_ROLE');
      expect(refused?.message).toContain(name);
    }
  });

  it('probe 90 F1: an unknown role or grant is quoted in the refusal, so an empty name shows', () => {
    expect(validateAccess({ roles: [''], restrictions: {}, grants: [] }, LEVELS, 'enterprise')).toMatchObject({
      code: 'INVALID_ROLE',
      message: 'Unknown role "" in access model levels; choose from owner, manager, agent.',
      fields: [{ field: 'roles', message: 'contains unknown role ""' }],
    });
    expect(validateAccess({ roles: ['member'], restrictions: {}, grants: ['x y'] }, PERMISSIONS, 'enterprise')?.fields).toEqual([{ field: 'grants', message: 'contains "x y"' }]);
    // a restriction too (probe 121 F8: "Unknown restriction  in access model levels.")
    expect(validateAccess({ roles: ['agent'], restrictions: { '': true }, grants: [] }, LEVELS, 'enterprise')?.message).toBe('Unknown restriction "" in access model levels.');
  });

  it.each(PROTO_NAMES)('%s is an unknown restriction: INVALID_RESTRICTION, not dropped', (name) => {
    for (const role of ['owner', 'manager', 'agent']) {
      const refused = validateAccess({ roles: [role], restrictions: restriction(name), grants: [] }, LEVELS, 'enterprise');
      expect(refused?.code).toBe('INVALID_RESTRICTION');
      expect(refused?.fields).toEqual([{ field: `restrictions.${name}`, message: 'is not a known restriction' }]);
    }
  });

  it.each(PROTO_NAMES)('%s as a grant is INVALID_GRANT', (name) => {
    expect(validateAccess({ roles: ['member'], restrictions: {}, grants: [name] }, PERMISSIONS, 'standard')?.code).toBe('INVALID_GRANT');
  });

  it.each(PROTO_NAMES)('effective permissions ignore %s as a role or a restriction (no throw, nothing held)', (name) => {
    expect(effectivePermissions({ roles: [name], restrictions: restriction(name), grants: [name] }, LEVELS, 'enterprise')).toEqual({
      permissions: [],
      scopes: { contact_visibility: 'all', mask_contact_info: false },
    });
    const manager = effectivePermissions({ roles: ['manager'], restrictions: restriction(name), grants: [] }, LEVELS, 'enterprise');
    expect(manager.permissions).toEqual(effectivePermissions({ roles: ['manager'], restrictions: {}, grants: [] }, LEVELS, 'enterprise').permissions);
  });

  it.each(PROTO_NAMES)('rank, restrictionsValidFor and isOwner treat %s as nothing', (name) => {
    expect(rankOf({ roles: [name], restrictions: {}, grants: [] }, LEVELS)).toBe(0);
    expect(restrictionsValidFor({ ...restriction(name), data_export: true }, ['manager'], LEVELS)).toEqual({ data_export: true });
    expect(isOwner({ roles: [name], restrictions: {}, grants: [] }, LEVELS, 'enterprise')).toBe(false);
  });

  it('normalizeAccess keeps a "__proto__" restriction as data, never as the prototype', () => {
    const normalized = normalizeAccess({ roles: ['agent'], restrictions: restriction('__proto__'), grants: [] });
    expect(Object.getPrototypeOf(normalized.restrictions)).toBe(Object.prototype);
    expect(Object.keys(normalized.restrictions)).toEqual(['__proto__']);
  });
});

describe('access model: only the presets\' own names are access models', () => {
  it.each(['levels', 'permissions', 'studio'] as const)('%s is a preset', (name) => {
    expect(accessModel(name).name).toBe(name);
  });
  it.each(['constructor', '__proto__', 'toString', 'nope'])('%s is refused, not a prototype member', (name) => {
    expect(() => accessModel(name as AccessModelName)).toThrow(RangeError);
  });
});
