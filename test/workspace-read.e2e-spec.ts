// GET /v1/workspaces/{ws} (and the message pattern workspaces.get): a workspace's plan, access model and catalog, the
// data its access is decided with (docs/rules.md "Access model"), so that a console draws its dialogs from it instead
// of hard-coding the presets (probe 39b F9). The catalog is checked against the engine: what it offers is accepted.
import { SYSTEM_KEY, expectProblem } from './support/app';
import { appOverTcpForEachFile } from './support/tcp-app';

const app = appOverTcpForEachFile();

describe('GET /v1/workspaces/{ws}: the workspace and its catalog', () => {
  it('any active member reads it, an agent too; a user of no workspace of it is refused; another organization gets 404', async () => {
    const { api } = app.running.app;
    const o = await api.organization({ plan: 'advanced' });
    const as = { key: o.key, actor: o.admin, workspaceId: o.workspaceId };
    const agent = await api.member(as, 'agent.read@acme.test', { roles: ['agent'] });
    const read = await api.request('GET', `/v1/workspaces/${o.workspaceId}`, { key: o.key, actor: agent });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ workspaceId: o.workspaceId, organizationId: o.organizationId, plan: 'advanced', accessModel: 'levels', partners: [], organizationClosingSince: null, organizationClosedAt: null });
    const { catalog } = read.body;
    expect(catalog.roles.map((r: any) => [r.name, r.rank])).toEqual([['owner', 3], ['manager', 2], ['agent', 1]]);
    expect(catalog).toMatchObject({ cardinality: 'one', defaultRoles: ['agent'], grantable: [], memberManagementPermission: 'settings.users', exportPermission: 'data.export', reportsPermission: 'reports', owner: { role: 'owner' }, authority: 'rank' });
    expect(catalog.restrictions.find((r: any) => r.name === 'mask_contact_info')).toEqual({ name: 'mask_contact_info', kind: 'flag', roles: ['agent'], removes: [], scope: 'mask_contact_info', plans: ['advanced', 'enterprise'], availableOnPlan: true });
    expect(catalog.restrictions.find((r: any) => r.name === 'contact_visibility')).toEqual({ name: 'contact_visibility', kind: 'scope', roles: ['agent'], values: ['all', 'team_and_self', 'self_only'], defaultValue: 'all', availableOnPlan: true });
    // the same over TCP
    expect(await app.running.send('workspaces.get', { apiKey: o.key, actorId: agent, workspaceId: o.workspaceId })).toEqual(read.body);

    await api.request('DELETE', `/v1/workspaces/${o.workspaceId}/members/${agent}`, { key: o.key, actor: o.admin, body: {} });
    expectProblem(await api.request('GET', `/v1/workspaces/${o.workspaceId}`, { key: o.key, actor: agent }), 403, 'INSUFFICIENT_AUTHORITY');
    const other = await api.organization();
    expectProblem(await api.request('GET', `/v1/workspaces/${o.workspaceId}`, { key: other.key, actor: other.admin }), 404, 'WORKSPACE_NOT_FOUND');
    // the system key (the operator who changes plans) reads it too, without an actor (probe 39c F1)
    const bySystem = await api.request('GET', `/v1/workspaces/${o.workspaceId}`, { key: SYSTEM_KEY });
    expect(bySystem.status).toBe(200);
    expect(bySystem.body).toEqual(read.body);
    expect(await app.running.send('workspaces.get', { apiKey: SYSTEM_KEY, workspaceId: o.workspaceId })).toEqual(read.body);
    expectProblem(await api.request('GET', '/v1/workspaces/no-such-workspace', { key: SYSTEM_KEY }), 404, 'WORKSPACE_NOT_FOUND');
    // a position asked for is one a write answered (probe 39c F4)
    for (const bad of ['abc', '-1'])
      expectProblem(await api.request('GET', `/v1/workspaces/${o.workspaceId}`, { key: o.key, actor: o.admin, headers: { 'x-min-position': bad } }), 400, 'VALIDATION_FAILED');
    // past the end of the log: refused by the workspace and the organization's reads alike (probe 45 F4: these took it)
    const head = BigInt((await api.request('GET', '/v1/events?limit=1', { key: SYSTEM_KEY })).body.head as string);
    const org = `/v1/organizations/${o.organizationId}`;
    for (const path of [`/v1/workspaces/${o.workspaceId}`, `${org}/users`, `${org}/users/${o.admin}`, `${org}/workspaces`]) {
      expect({ path, status: (await api.request('GET', path, { key: o.key, actor: o.admin, headers: { 'x-min-position': String(head) } })).status }).toEqual({ path, status: 200 });
      const beyond = await api.request('GET', path, { key: o.key, actor: o.admin, headers: { 'x-min-position': String(head + 1000n) } });
      expect({ path, status: beyond.status, code: beyond.body.code }).toEqual({ path, status: 400, code: 'VALIDATION_FAILED' });
      // more digits than any position has: beyond the end too, not malformed (probe 92 F6)
      const overLong = await api.request('GET', path, { key: o.key, actor: o.admin, headers: { 'x-min-position': '99999999999999999999999' } });
      expect({ path, status: overLong.status, detail: overLong.body.detail }).toEqual({ path, status: 400, detail: beyond.body.detail });
    }
    // the reads that did not list the header took any (probe 92 F5: users/export.csv 200 where members/export.csv was 400)
    for (const path of [`${org}/users/export.csv`, `${org}/api-keys`]) {
      expect({ path, status: (await api.request('GET', path, { key: o.key, actor: o.admin, headers: { 'x-min-position': String(head) } })).status }).toEqual({ path, status: 200 });
      for (const bad of ['abc', String(head + 1000n)]) {
        const refused = await api.request('GET', path, { key: o.key, actor: o.admin, headers: { 'x-min-position': bad } });
        expect({ path, bad, status: refused.status, code: refused.body.code }).toEqual({ path, bad, status: 400, code: 'VALIDATION_FAILED' });
      }
    }
  });

  it.each([
    ['levels', 'standard'],
    ['levels', 'enterprise'],
    ['permissions', 'standard'],
    ['studio', 'standard'],
  ])('the catalog of %s on %s is what the engine decides with: every role, grant and restriction it offers is accepted where it says', async (accessModel, plan) => {
    const { api } = app.running.app;
    const o = await api.organization({ accessModel, plan });
    const ws = `/v1/workspaces/${o.workspaceId}`;
    const { catalog } = (await api.request('GET', ws, { key: o.key, actor: o.admin })).body;
    const invite = (access: Record<string, unknown>) =>
      api.request('POST', `${ws}/invitations`, { key: o.key, actor: o.admin, body: { email: `x-${Math.random().toString(36).slice(2)}@acme.test`, ...access } });
    for (const role of catalog.roles) expect((await invite({ roles: [role.name] })).status).toBe(201);
    // an invitation naming no roles gives the default roles
    const plain = await api.member({ key: o.key, actor: o.admin, workspaceId: o.workspaceId }, `plain-${accessModel}-${plan}@acme.test`);
    const head = (await api.request('GET', '/v1/events?limit=1', { key: SYSTEM_KEY })).body.head;
    expect((await api.request('GET', `${ws}/members/${plain}`, { key: o.key, actor: o.admin, headers: { 'x-min-position': head } })).body.roles).toEqual(catalog.defaultRoles);
    for (const grant of catalog.grantable) expect((await invite({ grants: [grant] })).status).toBe(201);
    for (const r of catalog.restrictions) {
      const value = r.kind === 'flag' ? true : r.values.at(-1);
      const onItsRole = await invite({ roles: [r.roles[0]], restrictions: { [r.name]: value } });
      if (r.availableOnPlan) expect(onItsRole.status).toBe(201);
      else expectProblem(onItsRole, 422, 'PLAN_REQUIRED');
      const elsewhere = catalog.roles.find((role: any) => !r.roles.includes(role.name));
      if (elsewhere) expectProblem(await invite({ roles: [elsewhere.name], restrictions: { [r.name]: value } }), 422, 'INVALID_RESTRICTION');
    }
    expect((await invite({ roles: ['no_such_role'] })).status).toBeGreaterThanOrEqual(400);
    if (accessModel === 'levels') expect(catalog.restrictions.find((r: any) => r.name === 'mask_contact_info').availableOnPlan).toBe(plan !== 'standard');
  });

  it('names its network partners, of this organization or another (rule 16)', async () => {
    const { api } = app.running.app;
    const a = await api.organization();
    const b = await api.organization();
    const linked = await api.request('POST', `/v1/workspaces/${a.workspaceId}/network`, { key: SYSTEM_KEY, body: { partnerWorkspaceId: b.workspaceId } });
    expect(linked.status).toBeLessThan(300);
    const read = await api.request('GET', `/v1/workspaces/${a.workspaceId}`, { key: a.key, actor: a.admin });
    const bName = (await api.request('GET', `/v1/workspaces/${b.workspaceId}`, { key: b.key, actor: b.admin })).body.name;
    expect(read.body.partners).toEqual([{ workspaceId: b.workspaceId, name: bName }]);
  });
});

describe('PUT /v1/workspaces/{ws}/plan: the system changes a plan (probe 39b F12)', () => {
  it('an upgrade makes masking available at once; a downgrade is refused while someone is masked', async () => {
    const { api } = app.running.app;
    const o = await api.organization({ plan: 'standard' });
    const ws = `/v1/workspaces/${o.workspaceId}`;
    const as = { key: o.key, actor: o.admin };
    const agent = await api.member({ ...as, workspaceId: o.workspaceId }, 'plan.agent@acme.test', { roles: ['agent'] });
    const createdAt = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    const mask = () => api.request('PATCH', `${ws}/members/${agent}/access`, { ...as, body: { restrictions: { mask_contact_info: true } } });
    expectProblem(await mask(), 422, 'PLAN_REQUIRED');
    // the organization's key may not; the system key may
    expectProblem(await api.request('PUT', `${ws}/plan`, { ...as, body: { plan: 'advanced' } }), 403, 'INSUFFICIENT_AUTHORITY');
    expectProblem(await api.request('PUT', `${ws}/plan`, { key: SYSTEM_KEY, body: { plan: 'gold' } }), 400, 'VALIDATION_FAILED');
    expectProblem(await api.request('PUT', '/v1/workspaces/no-such-workspace/plan', { key: SYSTEM_KEY, body: { plan: 'advanced' } }), 404, 'WORKSPACE_NOT_FOUND');
    const upgraded = await api.request('PUT', `${ws}/plan`, { key: SYSTEM_KEY, body: { plan: 'advanced' } });
    expect(upgraded.body).toEqual({ workspaceId: o.workspaceId, plan: 'advanced', changed: true, position: expect.any(String) });
    expect((await api.request('PUT', `${ws}/plan`, { key: SYSTEM_KEY, body: { plan: 'advanced' } })).body.changed).toBe(false);
    // the roster as of a time names the plan then (probe 39c F8)
    expect((await api.request('GET', `${ws}/access`, as)).body.plan).toBe('advanced');
    expect((await api.request('GET', `${ws}/access?asOf=${encodeURIComponent(createdAt)}`, as)).body.plan).toBe('standard');
    expect((await api.request('GET', ws, as)).body).toMatchObject({ plan: 'advanced' });
    expect((await api.request('GET', ws, as)).body.catalog.restrictions.find((r: any) => r.name === 'mask_contact_info').availableOnPlan).toBe(true);
    const masked = await mask();
    expect(masked.status).toBe(200);
    // the read models: the member's effective permissions under the new plan
    const detail = await api.request('GET', `${ws}/members/${agent}`, { ...as, headers: { 'x-min-position': masked.body.position } });
    expect(detail.body.effectivePermissions.scopes.mask_contact_info).toBe(true);
    expect((await api.request('GET', `/v1/organizations/${o.organizationId}/workspaces`, as)).body.items[0].plan).toBe('advanced');

    const refused = await api.request('PUT', `${ws}/plan`, { key: SYSTEM_KEY, body: { plan: 'standard' } });
    expectProblem(refused, 409, 'PLAN_IN_USE');
    expect(refused.body.detail).toContain(`1 member (${agent})`);
    expect((await api.request('PATCH', `${ws}/members/${agent}/access`, { ...as, body: { restrictions: {} } })).status).toBe(200);
    expect((await api.request('PUT', `${ws}/plan`, { key: SYSTEM_KEY, body: { plan: 'standard' } })).body.changed).toBe(true);

    // the same over TCP, system key only
    expect(await app.running.send('workspaces.changePlan', { apiKey: SYSTEM_KEY, workspaceId: o.workspaceId, plan: 'enterprise' })).toMatchObject({ plan: 'enterprise', changed: true });
    await expect(app.running.send('workspaces.changePlan', { apiKey: o.key, actorId: o.admin, workspaceId: o.workspaceId, plan: 'standard' })).rejects.toMatchObject({ status: 403 });
  });
});
