// What a deletion leaves (pseudonymous ids, statistics) must not lead back to the person without the server's
// secrets: probe 40, a privacy examiner with a scratch install of their own (docs/security.md "Not guaranteed").
import { uuidV5 } from '@rollcall/event-store';
import { SYSTEM_KEY, type TestApp, startTestApp } from './support/app';

let one: TestApp;
let other: TestApp;
beforeAll(async () => {
  [one, other] = await Promise.all([startTestApp(), startTestApp()]);
});
afterAll(async () => {
  await Promise.all([one.stop(), other.stop()]);
});

/** how ids were derived from a request's Idempotency-Key before session 40: a name-based UUID of the key as sent */
const LEGACY_NAMESPACE = '0b7e4f9a-3c52-4d1e-8f6a-5a2c9d0e7b13';
const legacyId = (scopedKey: string, purpose: string) => uuidV5(LEGACY_NAMESPACE, `${scopedKey}:${purpose}`);

const createOrganization = (app: TestApp, idempotencyKey: string) =>
  app.api.request('POST', '/v1/organizations', {
    key: SYSTEM_KEY,
    body: { name: 'Acme', admin: { email: 'ada@acme.test', displayName: 'Ada Admin' } },
    headers: { 'idempotency-key': idempotencyKey },
  });

describe('ids a write creates (probe 40 F1)', () => {
  it('are derived from the Idempotency-Key keyed by the server secret: another install given the same key derives other ids', async () => {
    const [a, b] = await Promise.all([createOrganization(one, 'org:ada@acme.test'), createOrganization(other, 'org:ada@acme.test')]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.organizationId).not.toBe(b.body.organizationId);
    expect(a.body.adminUserId).not.toBe(b.body.adminUserId);
    expect(a.body.organizationId).not.toBe(legacyId('system:org:ada@acme.test', 'organization'));
    // a retry on the same install still finds its own organization
    const again = await createOrganization(one, 'org:ada@acme.test');
    expect(again.status).toBe(201);
    expect(again.body.organizationId).toBe(a.body.organizationId);
    expect(again.headers.get('idempotency-replayed')).toBe('true');
  });

  it('an invitation sent under a key built from its address has an id nobody can derive again from a guess of it', async () => {
    const o = await one.api.organization();
    const invite = () =>
      one.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, {
        key: o.key,
        actor: o.admin,
        body: { email: 'zq-canary@example.org' },
        headers: { 'idempotency-key': 'invite:zq-canary@example.org' },
      });
    const sent = await invite();
    expect(sent.status).toBe(201);
    expect(sent.body.invitationId).not.toBe(legacyId(`org:${o.organizationId}:invite:zq-canary@example.org`, 'invitation'));
    const again = await invite();
    expect(again.body.invitationId).toBe(sent.body.invitationId);
    // a workspace and a team created under such keys: the same
    const ws = await one.api.request('POST', `/v1/organizations/${o.organizationId}/workspaces`, {
      key: o.key,
      actor: o.admin,
      body: { name: 'Sales' },
      headers: { 'idempotency-key': 'workspace:sales' },
    });
    expect(ws.status).toBe(201);
    expect(ws.body.workspaceId).not.toBe(legacyId(`org:${o.organizationId}:workspace:sales`, 'workspace'));
  });
});
