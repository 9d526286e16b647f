// Quotas (docs/rules.md "Quotas", docs/adr/0030; probe 59 F2/F7: one key built 20,343 workspaces and 27,053 teams in
// 30 s, whose unpaged lists then held the event loop ~1 s a request): the operator's settings reach every command path
// (HTTP and message patterns), a command past a quota is 409 QUOTA_EXCEEDED and appends nothing, and a retry of a
// creation that was taken is still answered as such.
import { type ClientProxy, ClientProxyFactory, Transport } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { type TestApp, expectProblem, startTestApp } from './support/app';

let app: TestApp;
let client: ClientProxy;
const send = (pattern: string, data: object) => lastValueFrom(client.send(pattern, data));
beforeAll(async () => {
  app = await startTestApp({ ROLLCALL_MAX_WORKSPACES_PER_ORGANIZATION: '2', ROLLCALL_MAX_TEAMS_PER_WORKSPACE: '2', ROLLCALL_MAX_API_KEYS_PER_ORGANIZATION: '2' });
  client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port: app.tcpPort } });
  await client.connect();
});
afterAll(async () => {
  await client.close();
  await app.stop();
});

describe('quotas, as the operator set them', () => {
  it('quotas: workspaces per organization: the one past it is 409 QUOTA_EXCEEDED over HTTP and TCP; the last one taken is replayed', async () => {
    const { api } = app;
    const o = await api.organization(); // its first workspace
    const workspaces = `/v1/organizations/${o.organizationId}/workspaces`;
    const second = await api.request('POST', workspaces, { key: o.key, actor: o.admin, body: { name: 'Sales' }, headers: { 'idempotency-key': 'ws-2' } });
    expect(second.status).toBe(201);
    const refused = await api.request('POST', workspaces, { key: o.key, actor: o.admin, body: { name: 'Billing' } });
    expectProblem(refused, 409, 'QUOTA_EXCEEDED');
    expect(refused.body.detail).toBe("This organization has 2 workspaces, and this service allows at most 2; ask the service's operator to raise the limit.");
    // which quota, in fields (probe 80 F15)
    expect(refused.body.quota).toEqual({ name: 'workspacesPerOrganization', used: 2, limit: 2 });
    await expect(send('workspaces.create', { apiKey: o.key, actorId: o.admin, organizationId: o.organizationId, name: 'Billing' })).rejects.toMatchObject({
      status: 409,
      code: 'QUOTA_EXCEEDED',
      quota: { name: 'workspacesPerOrganization', used: 2, limit: 2 },
    });
    // a retry of the second (its answer lost) is the same workspace, not a refusal
    const retried = await api.request('POST', workspaces, { key: o.key, actor: o.admin, body: { name: 'Sales' }, headers: { 'idempotency-key': 'ws-2' } });
    expect({ status: retried.status, workspaceId: retried.body.workspaceId }).toEqual({ status: 201, workspaceId: second.body.workspaceId });
    const listed = await api.request('GET', workspaces, { key: o.key, actor: o.admin, headers: { 'x-min-position': retried.body.position } });
    expect(listed.body.items.map((w: { name: string }) => w.name).sort()).toEqual(['Sales', 'Support']);
    // the list says how much of the quota is used, as the operator set it
    expect(listed.body.quota).toEqual({ used: 2, limit: 2 });
  });

  it('quotas: teams per workspace: refused past it; a deleted team frees its place', async () => {
    const { api } = app;
    const o = await api.organization();
    const teams = `/v1/workspaces/${o.workspaceId}/teams`;
    const first = await api.request('POST', teams, { key: o.key, actor: o.admin, body: { name: 'Tier 1' } });
    expect((await api.request('POST', teams, { key: o.key, actor: o.admin, body: { name: 'Tier 2' } })).status).toBe(201);
    const refused = await api.request('POST', teams, { key: o.key, actor: o.admin, body: { name: 'Tier 3' } });
    expectProblem(refused, 409, 'QUOTA_EXCEEDED');
    expect(refused.body.detail).toContain('This workspace has 2 teams');
    await expect(send('teams.create', { apiKey: o.key, actorId: o.admin, workspaceId: o.workspaceId, name: 'Tier 3' })).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED' });
    expect((await api.request('DELETE', `${teams}/${first.body.teamId}`, { key: o.key, actor: o.admin })).status).toBe(200);
    expect((await api.request('POST', teams, { key: o.key, actor: o.admin, body: { name: 'Tier 3' } })).status).toBe(201);
    // the list says how much of the quota is used (the decision state's count: current at once), over HTTP and TCP
    expect((await api.request('GET', teams, { key: o.key, actor: o.admin })).body.quota).toEqual({ used: 2, limit: 2 });
    expect((await send('teams.list', { apiKey: o.key, actorId: o.admin, workspaceId: o.workspaceId })).quota).toEqual({ used: 2, limit: 2 });
  });

  it('quotas: API keys per organization: keys not revoked count; a revoked one frees its place', async () => {
    const { api } = app;
    const o = await api.organization(); // its first key
    const keys = `/v1/organizations/${o.organizationId}/api-keys`;
    const second = await api.request('POST', keys, { key: o.key, actor: o.admin });
    expect(second.status).toBe(201);
    const refused = await api.request('POST', keys, { key: o.key, actor: o.admin, body: { label: 'One too many' } });
    expectProblem(refused, 409, 'QUOTA_EXCEEDED');
    expect(refused.body.detail).toContain('revoke those it no longer uses');
    const listed = (await api.request('GET', keys, { key: o.key, actor: o.admin })).body;
    expect([listed.items.length, listed.quota]).toEqual([2, { used: 2, limit: 2 }]);
    expect((await api.request('DELETE', `${keys}/${second.body.keyId}`, { key: o.key, actor: o.admin })).status).toBe(200);
    expect((await api.request('POST', keys, { key: o.key, actor: o.admin })).status).toBe(201);
  });
});
