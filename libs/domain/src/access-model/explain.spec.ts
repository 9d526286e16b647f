import fc from 'fast-check';
import { type Access, effectivePermissions } from './access';
import { ACCESS_MODELS, PLANS, accessModel } from './catalog';
import { explainPermissions } from './explain';

describe('rule 17: why a member has or lacks each permission (explain, next to effective permissions)', () => {
  it('a manager restricted from workspace settings: settings.* removed by the restriction, channels.connect never given to managers', () => {
    const access: Access = { roles: ['manager'], restrictions: { workspace_settings: true }, grants: [] };
    const e = explainPermissions(access, accessModel('levels'), 'standard');
    expect(e.granted).toContainEqual({ permission: 'contacts.delete', from: ['role:manager'] });
    expect(e.missing).toContainEqual({ permission: 'settings.users', reason: 'removed', by: ['restriction:workspace_settings'], from: ['role:manager'] });
    expect(e.missing).toContainEqual({ permission: 'channels.connect', reason: 'not_given', givenBy: ['role:owner'] });
  });

  it('names the plan when a restriction has no effect on it, and the restriction that set each data scope', () => {
    const access: Access = { roles: ['agent'], restrictions: { mask_contact_info: true, contact_visibility: 'self_only' }, grants: [] };
    const standard = explainPermissions(access, accessModel('levels'), 'standard');
    expect(standard.ignored).toEqual([{ restriction: 'mask_contact_info', reason: 'plan', detail: 'needs the advanced or enterprise plan; the workspace is on standard' }]);
    expect(standard.scopes).toEqual({ contact_visibility: { value: 'self_only', by: 'restriction:contact_visibility' }, mask_contact_info: { value: false, by: null } });
    const advanced = explainPermissions(access, accessModel('levels'), 'advanced');
    expect(advanced.scopes.mask_contact_info).toEqual({ value: true, by: 'restriction:mask_contact_info' });
  });

  it('grants are named as such (preset permissions), and roles each give their own (preset studio)', () => {
    const e = explainPermissions({ roles: ['member'], restrictions: {}, grants: ['reporting'] }, accessModel('permissions'), 'standard');
    expect(e.granted).toEqual([
      { permission: 'chat', from: ['role:member'] },
      { permission: 'reporting', from: ['grant:reporting'] },
    ]);
    const studio = explainPermissions({ roles: ['analyst', 'producer'], restrictions: {}, grants: [] }, accessModel('studio'), 'standard');
    expect(studio.granted).toContainEqual({ permission: 'crm.read', from: ['role:analyst', 'role:producer'] });
  });

  it('property: granted is exactly effectivePermissions, and granted + missing cover the whole model, for any access', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ACCESS_MODELS), fc.constantFrom(...PLANS), fc.nat(), fc.nat(), fc.nat(), (name, plan, r, g, s) => {
        const model = accessModel(name);
        const roles = Object.keys(model.roles).filter((_, i) => (r >> i) & 1);
        const grants = model.grantable.filter((_, i) => (g >> i) & 1);
        const restrictions = Object.fromEntries(
          Object.entries(model.restrictions)
            .filter((_, i) => (s >> i) & 1)
            .map(([k, def]) => [k, def.kind === 'flag' ? true : def.values[s % def.values.length]!]),
        ) as Access['restrictions'];
        const access = { roles, grants, restrictions };
        const e = explainPermissions(access, model, plan);
        expect(e.granted.map((x) => x.permission)).toEqual(effectivePermissions(access, model, plan).permissions);
        const universe = new Set([...Object.values(model.roles).flatMap((x) => x.permissions), ...model.grantable]);
        expect(new Set([...e.granted, ...e.missing].map((x) => x.permission))).toEqual(universe);
        for (const m of e.missing) if (m.reason === 'removed') expect(m.by.length).toBeGreaterThan(0);
      }),
      { numRuns: 500 },
    );
  });
});
