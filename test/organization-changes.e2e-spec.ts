// The organization's changes over real HTTP and TCP (docs/rules.md "The organization's changes"; probe 69 F6): API keys,
// org admins, profiles, email changes, deletions and workspaces, each with who, which key and request, and a position
// the audit proves — for org admins only, nothing personal in them.
import { ClientProxyFactory, Transport } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import type { OrgChangeView } from '../apps/api/src/organizations/organization-changes';
import { type TestApp, startTestApp } from './support/app';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.stop());

/** an entry as the API answers it (positions and revisions as strings) */
type Change = OrgChangeView;

describe("the organization's changes", () => {
  it('lists what an org admin did to keys, admins, profiles, emails, users and workspaces, with who, key and request; pages both ways; filters by kind', async () => {
    const o = await app.api.organization();
    const admin = { key: o.key, actor: o.admin };
    const bob = await app.api.member({ ...admin, workspaceId: o.workspaceId }, `bob-${Math.random()}@acme.test`, { roles: ['agent'] });
    const keys = await app.api.request('GET', `/v1/organizations/${o.organizationId}/api-keys`, admin);
    const firstKeyId = keys.body.items.find((k: { current: boolean }) => k.current).keyId as string;
    const issued = await app.api.request('POST', `/v1/organizations/${o.organizationId}/api-keys`, { ...admin, body: { label: 'Zendesk sync' }, headers: { 'x-request-id': 'TICKET-7-new-key' } });
    expect(issued.status).toBe(201);
    const steps = [
      await app.api.request('PUT', `/v1/organizations/${o.organizationId}/users/${bob}/org-admin`, admin),
      await app.api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${bob}/org-admin`, admin),
      await app.api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${bob}`, { key: issued.body.apiKey, actor: o.admin, body: { displayName: 'Robert', alias: 'Bob' } }),
      await app.api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${bob}`, { ...admin, body: { email: `robert-${Math.random()}@acme.test` } }),
      await app.api.request('DELETE', `/v1/organizations/${o.organizationId}/api-keys/${issued.body.keyId}`, admin),
      await app.api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${bob}`, admin),
    ];
    for (const s of steps) expect(s.status).toBeLessThan(300);

    const all = await app.api.request('GET', `/v1/organizations/${o.organizationId}/changes?limit=500`, admin);
    expect(all.status).toBe(200);
    const items = all.body.items as Change[];
    expect(items.map((c) => c.change)).toEqual([
      'organization_created',
      // the first key, given with the organization
      'api_key_issued',
      'user_joined',
      'workspace_created',
      'user_joined',
      'api_key_issued',
      'org_admin_granted',
      'org_admin_revoked',
      'profile_updated',
      'email_change_requested',
      'api_key_revoked',
      'user_deleted',
    ]);
    expect(all.body.next).toBeNull();
    const byKind = (kind: string) => items.find((c) => c.change === kind)!;
    expect(byKind('workspace_created')).toMatchObject({ workspaceId: o.workspaceId, actorId: o.admin, apiKeyId: firstKeyId, details: { name: 'Support', ownerUserId: o.admin } });
    expect(items.filter((c) => c.change === 'api_key_issued').map((c) => c.keyId)).toEqual([firstKeyId, issued.body.keyId]);
    expect(items.findLast((c) => c.change === 'api_key_issued')).toMatchObject({ keyId: issued.body.keyId, actorId: o.admin, apiKeyId: firstKeyId, correlationId: 'TICKET-7-new-key', details: { label: 'Zendesk sync' } });
    expect(byKind('org_admin_granted')).toMatchObject({ userId: bob, actorId: o.admin, details: null });
    // the first admin joined with the organization; bob through an invitation, which his joining names (probe 82 F7)
    const [founder, joined] = items.filter((c) => c.change === 'user_joined');
    expect(founder).toMatchObject({ userId: o.admin, workspaceId: null, details: { orgAdmin: true, invitationId: null } });
    expect(joined).toMatchObject({ userId: bob, actorId: bob, workspaceId: o.workspaceId, details: { orgAdmin: false, invitationId: expect.any(String) } });
    const invitation = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/invitations/${(joined!.details as { invitationId: string }).invitationId}`, admin);
    expect(invitation.body).toMatchObject({ status: 'accepted', userId: bob });
    // the profile edit made with the second key: which fields, not what they now say
    expect(byKind('profile_updated')).toMatchObject({ userId: bob, apiKeyId: issued.body.keyId, details: { fields: ['alias', 'displayName'] } });
    expect(byKind('api_key_revoked')).toMatchObject({ keyId: issued.body.keyId, actorId: o.admin });
    expect(byKind('user_deleted')).toMatchObject({ userId: bob, details: { workspaceIds: [o.workspaceId] } });
    // nothing personal, nothing secret: no address, name or key hash anywhere in the answer
    const text = JSON.stringify(all.body);
    expect(text).not.toMatch(/@acme\.test|Robert|secretHash|Ada Admin/);
    // revisions count the organization's stream; positions the log's
    expect(items.map((c) => Number(c.revision))).toEqual(items.map((_, i) => i));

    // pages, oldest first and latest first, with the cursor; a filter by kind
    const first = await app.api.request('GET', `/v1/organizations/${o.organizationId}/changes?limit=4`, admin);
    const second = await app.api.request('GET', `/v1/organizations/${o.organizationId}/changes?limit=4&after=${first.body.next}`, admin);
    expect([...first.body.items, ...second.body.items].map((c: Change) => c.position)).toEqual(items.slice(0, 8).map((c) => c.position));
    const latest = await app.api.request('GET', `/v1/organizations/${o.organizationId}/changes?limit=3&direction=desc`, admin);
    const before = await app.api.request('GET', `/v1/organizations/${o.organizationId}/changes?limit=3&direction=desc&after=${latest.body.next}`, admin);
    expect([...latest.body.items, ...before.body.items].map((c: Change) => c.change)).toEqual(items.slice(-6).map((c) => c.change).reverse());
    // a time range: from the key's issue on (its own instant, inclusive)
    const issuedAt = items.findLast((c) => c.change === 'api_key_issued')!.at;
    const since = await app.api.request('GET', `/v1/organizations/${o.organizationId}/changes?from=${encodeURIComponent(issuedAt)}`, admin);
    expect(since.body.items.map((c: Change) => c.change)).toEqual(items.filter((c) => c.at >= issuedAt).map((c) => c.change));
    expect(since.body.items[0].change).not.toBe('organization_created');
    const keyChanges = await app.api.request('GET', `/v1/organizations/${o.organizationId}/changes?change=api_key_revoked,api_key_issued&direction=desc`, admin);
    expect(keyChanges.body.items.map((c: Change) => [c.change, c.keyId])).toEqual([
      ['api_key_revoked', issued.body.keyId],
      ['api_key_issued', issued.body.keyId],
      ['api_key_issued', firstKeyId],
    ]);

    // the same over TCP
    const client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port: app.tcpPort } });
    try {
      const answer = await firstValueFrom(client.send('organizations.changes', { apiKey: o.key, actorId: o.admin, organizationId: o.organizationId, change: ['user_deleted'] }));
      expect(answer.items.map((c: Change) => [c.change, c.userId])).toEqual([['user_deleted', bob]]);
      // no kind at all is refused as over HTTP, not a filter that matches nothing (probe 72 F6)
      const none = await firstValueFrom(client.send('organizations.changes', { apiKey: o.key, actorId: o.admin, organizationId: o.organizationId, change: [] })).catch((error: unknown) => error);
      expect(none).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
      // minPosition, as the AsyncAPI document offers it for every read (probe 72 F5): checked as X-Min-Position is
      const waited = await firstValueFrom(client.send('organizations.changes', { apiKey: o.key, actorId: o.admin, organizationId: o.organizationId, minPosition: items.at(-1)!.position, limit: 1 }));
      expect(waited.items).toHaveLength(1);
      const users = await firstValueFrom(client.send('users.list', { apiKey: o.key, actorId: o.admin, organizationId: o.organizationId, minPosition: items.at(-1)!.position }));
      expect(users.items.length).toBeGreaterThan(0);
      const malformed = await firstValueFrom(client.send('users.list', { apiKey: o.key, actorId: o.admin, organizationId: o.organizationId, minPosition: 'soon' })).catch((error: unknown) => error);
      expect(malformed).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', errors: [{ field: 'minPosition' }] });
    } finally {
      client.close();
    }

    // the position is the log's: the audit proves the key's revocation to this organization's key
    const revoked = byKind('api_key_revoked');
    let proof = await app.api.request('GET', `/v1/audit/proofs/inclusion?position=${revoked.position}`, { key: o.key });
    // the notary follows the log by a moment (503 AUDIT_BEHIND meanwhile)
    for (let i = 0; i < 50 && proof.status === 503; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      proof = await app.api.request('GET', `/v1/audit/proofs/inclusion?position=${revoked.position}`, { key: o.key });
    }
    expect(proof.status).toBe(200);
    expect(JSON.parse(Buffer.from(proof.body.entry, 'base64').toString('utf8'))).toMatchObject({ type: 'ApiKeyRevoked', position: revoked.position, data: { keyId: issued.body.keyId } });
  });

  it('is for org admins of that organization only; a bad kind, cursor or direction is a 400 naming the field', async () => {
    const o = await app.api.organization();
    const other = await app.api.organization();
    const member = await app.api.member({ key: o.key, actor: o.admin, workspaceId: o.workspaceId }, `amy-${Math.random()}@acme.test`, { roles: ['manager'] });
    const asMember = await app.api.request('GET', `/v1/organizations/${o.organizationId}/changes`, { key: o.key, actor: member });
    expect([asMember.status, asMember.body.code]).toEqual([403, 'INSUFFICIENT_AUTHORITY']);
    const otherKey = await app.api.request('GET', `/v1/organizations/${o.organizationId}/changes`, { key: other.key, actor: other.admin });
    expect([otherKey.status, otherKey.body.code]).toEqual([404, 'ORGANIZATION_NOT_FOUND']);
    for (const [query, field] of [
      ['change=api_key_stolen', 'change'],
      ['after=-1', 'after'],
      ['after=abc', 'after'],
      ['after=9999999999999999999', 'after'],
      // a log position past the stream's last revision is no page's (probe 82 F3: it answered "nothing changed")
      ['after=99999', 'after'],
      ['change=', 'change'],
      ['from=yesterday', 'from'],
      ['from=2026-03-04&to=2026-03-02', 'from'],
      ['direction=up', 'direction'],
      ['limit=0', 'limit'],
    ]) {
      const refused = await app.api.request('GET', `/v1/organizations/${o.organizationId}/changes?${query}`, { key: o.key, actor: o.admin });
      expect({ query, status: refused.status, code: refused.body.code, field: refused.body.errors?.[0]?.field }).toEqual({ query, status: 400, code: 'VALIDATION_FAILED', field });
    }
  });
});
