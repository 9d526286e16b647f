// The last day a key was used and a user acted (docs/adr/0036; probe 75 F3, F4: "which keys are still used?" and "who
// has not been active for 90 days?" had no answer — reads left nothing, and an org admin with no membership or a user
// acting only through the API was never "seen"). Over real HTTP and TCP.
import { ClientProxyFactory, Transport } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { ActivityRecorder } from '../apps/api/src/activity/activity-recorder';
import { SYSTEM_KEY, type TestApp, startTestApp } from './support/app';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.stop());

const today = () => new Date().toISOString().slice(0, 10);

describe('activity: keys last used, users last active (to the day)', () => {
  it('a key used for a read only, an org admin who only reads, a user acting over TCP; never a made-up actor, nor a refused request', async () => {
    const { api } = app;
    const o = await api.organization();
    const keys = `/v1/organizations/${o.organizationId}/api-keys`;
    const users = `/v1/organizations/${o.organizationId}/users`;
    const bi = (await api.request('POST', keys, { key: o.key, actor: o.admin, body: { label: 'BI export' } })).body;
    const idle = (await api.request('POST', keys, { key: o.key, actor: o.admin, body: { label: 'Never used' } })).body;
    const jane = await api.member({ ...o, actor: o.admin }, 'jane.active@acme.test');
    const joe = await api.member({ ...o, actor: o.admin }, 'joe.idle@acme.test');

    // the BI key reads only; Jane acts over TCP; Joe's name is sent by a request that is refused: not his activity
    expect((await api.request('GET', `/v1/workspaces/${o.workspaceId}/members`, { key: bi.apiKey, actor: o.admin })).status).toBe(200);
    const client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port: app.tcpPort } });
    await client.connect();
    try {
      // her id in capitals, as a console may keep GUIDs: the same user, marked (probe 84 F1: never marked)
      await lastValueFrom(client.send('workspaces.get', { apiKey: o.key, actorId: jane.toUpperCase(), workspaceId: o.workspaceId }));
    } finally {
      await client.close();
    }
    expect((await api.request('PUT', `/v1/organizations/${o.organizationId}/users/${o.admin}/org-admin`, { key: o.key, actor: joe })).status).toBe(403);
    expect((await api.request('GET', `/v1/workspaces/${o.workspaceId}/members`, { key: o.key, actor: 'made-up-user' })).status).toBeGreaterThanOrEqual(400);
    await app.app.get(ActivityRecorder).flush();

    const listed = (await api.request('GET', keys, { key: o.key, actor: o.admin })).body.items as { keyId: string; label: string | null; lastUsedOn: string | null }[];
    expect(listed.map((k) => [k.label, k.lastUsedOn])).toEqual([
      [null, today()],
      ['BI export', today()],
      ['Never used', null],
    ]);
    expect(listed.find((k) => k.keyId === idle.keyId)!.lastUsedOn).toBeNull();

    const people = (await api.request('GET', users, { key: o.key, actor: o.admin })).body.items as { userId: string; lastActiveOn: string | null }[];
    const activeOn = new Map(people.map((u) => [u.userId, u.lastActiveOn]));
    expect([activeOn.get(o.admin), activeOn.get(jane), activeOn.get(joe)]).toEqual([today(), today(), null]);
    expect(people.some((u) => u.userId === 'made-up-user')).toBe(false);
    expect((await api.request('GET', `${users}/${jane}`, { key: o.key, actor: o.admin })).body.lastActiveOn).toBe(today());

    // a key used only to open the presence stream (a wall display): used (probe 78 F1, the route is public)
    const wall = (await api.request('POST', keys, { key: o.key, actor: o.admin, body: { label: 'Wall display' } })).body;
    const stream = await fetch(`${app.url}/v1/workspaces/${o.workspaceId}/presence/stream`, { headers: { authorization: `Bearer ${wall.apiKey}`, 'x-actor-id': o.admin } });
    expect(stream.status).toBe(200);
    await stream.body?.cancel();
    await app.app.get(ActivityRecorder).flush();
    const afterWall = (await api.request('GET', keys, { key: o.key, actor: o.admin })).body.items as { keyId: string; lastUsedOn: string | null }[];
    expect(afterWall.find((k) => k.keyId === wall.keyId)!.lastUsedOn).toBe(today());

    // a revoked key keeps its last day, listed with include=revoked
    await api.request('DELETE', `${keys}/${bi.keyId}`, { key: o.key, actor: o.admin });
    const all = (await api.request('GET', `${keys}?include=revoked`, { key: o.key, actor: o.admin })).body.items as { keyId: string; lastUsedOn: string | null }[];
    expect(all.find((k) => k.keyId === bi.keyId)!.lastUsedOn).toBe(today());
    // the system key marks nothing of an organization
    expect((await api.request('GET', `/v1/organizations/${o.organizationId}/workspaces`, { key: SYSTEM_KEY })).status).toBe(200);
  });

  it("an org admin's first request of the day, a read of the users, counts in its own answer (probe 84 F3: null until the next)", async () => {
    const { api } = app;
    // made by the system key: the admin has sent no request yet
    const made = await api.request('POST', '/v1/organizations', { key: SYSTEM_KEY, body: { name: 'Fresh', admin: { email: `fresh-${Math.random()}@acme.test`, displayName: 'Fresh Admin' } } });
    const { apiKey: key, adminUserId: admin, organizationId } = made.body as { apiKey: string; adminUserId: string; organizationId: string };
    const first = await api.request('GET', `/v1/organizations/${organizationId}/users`, { key, actor: admin });
    expect(first.body.items.map((u: { userId: string; lastActiveOn: string | null }) => [u.userId, u.lastActiveOn])).toEqual([[admin, today()]]);
  });
});
