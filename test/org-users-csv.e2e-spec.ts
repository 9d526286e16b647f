// The organization's users as one CSV (probe 76 F5: JSON only, and an org admin who is no member of any workspace was in
// no CSV; probe 75 F8: users revoked from every workspace took N downloads): over real HTTP, read with csv-parse.
import { parse } from 'csv-parse/sync';
import { type TestApp, expectProblem, startTestApp } from './support/app';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.stop());

describe("the organization's users as CSV", () => {
  it('one row per user in join order: org admins with no membership, users revoked everywhere, deleted users without personal data; org admins only', async () => {
    const { api } = app;
    const o = await api.organization();
    const as = { key: o.key, actor: o.admin };
    const jane = await api.member({ ...o, actor: o.admin }, 'jane.csv@acme.test');
    const joe = await api.member({ ...o, actor: o.admin }, 'joe.csv@acme.test');
    const zed = await api.member({ ...o, actor: o.admin }, 'zed.csv@acme.test');
    await api.request('DELETE', `/v1/workspaces/${o.workspaceId}/members/${joe}`, as);
    // invited back: a pending invitation of an existing user is no membership, and is listed as one (probe 79 F3)
    expect((await api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { ...as, body: { email: 'Joe.CSV@acme.test' } })).status).toBe(201);
    await api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${zed}`, as);
    await api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${jane}`, { ...as, body: { displayName: '=cmd|calc', avatarUrl: 'https://img.acme.test/jane.png' } });
    const csv = await fetch(`${app.url}/v1/organizations/${o.organizationId}/users/export.csv?bom=true`, { headers: { authorization: `Bearer ${o.key}`, 'x-actor-id': o.admin } });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-disposition')).toBe('attachment; filename="users.csv"');
    const bytes = new Uint8Array(await csv.arrayBuffer());
    expect(Array.from(bytes.subarray(0, 3))).toEqual([0xef, 0xbb, 0xbf]);
    const rows = parse(Buffer.from(bytes.slice(3)).toString('utf8'), { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => r.user_id)).toEqual([o.admin, jane, joe, zed]);
    expect(rows[0]).toMatchObject({ org_admin: 'true', active_workspaces: o.workspaceId, last_active_on: expect.stringMatching(/^(\d{4}-\d\d-\d\d)?$/) });
    expect(rows[1]).toMatchObject({ email: 'jane.csv@acme.test', display_name: "'=cmd|calc", avatar_url: 'https://img.acme.test/jane.png', active_workspaces: o.workspaceId, revoked_workspaces: '' });
    expect(rows[2]).toMatchObject({ active_workspaces: '', revoked_workspaces: o.workspaceId, invited_workspaces: o.workspaceId, deleted: 'false' });
    expect(rows[1]).toMatchObject({ invited_workspaces: '' });
    // deleted: no personal data, and no membership either way (the detail says `deleted`: probe 79 F2)
    expect(rows[3]).toMatchObject({ email: '', display_name: '', deleted: 'true', active_workspaces: '', revoked_workspaces: '', invited_workspaces: '' });
    expect(Object.keys(rows[0]!)).toEqual(['user_id', 'email', 'display_name', 'alias', 'avatar_url', 'org_admin', 'deleted', 'joined_at', 'last_active_on', 'pending_email', 'pending_email_expires_at', 'active_workspaces', 'revoked_workspaces', 'invited_workspaces']);

    expectProblem(await api.request('GET', `/v1/organizations/${o.organizationId}/users/export.csv`, { key: o.key, actor: jane }), 403, 'INSUFFICIENT_AUTHORITY');

    // every download of personal data is in the organization's changes: who, which key, which request (probe 69 F9);
    // a refused one is not
    await api.request('GET', `/v1/workspaces/${o.workspaceId}/members/export.csv`, { ...as, headers: { 'x-request-id': 'AUDIT-42' } });
    await api.request('GET', `/v1/workspaces/${o.workspaceId}/history?format=csv`, as);
    const exported = await api.request('GET', `/v1/organizations/${o.organizationId}/changes?change=data_exported`, as);
    expect(exported.body.items.map((c: { details: { what: string }; workspaceId: string | null; actorId: string; apiKeyId: string; correlationId: string }) => [c.details.what, c.workspaceId, c.actorId, c.apiKeyId])).toEqual([
      ['org_users', null, o.admin, o.key.split('_')[2]],
      ['members', o.workspaceId, o.admin, o.key.split('_')[2]],
      ['history', o.workspaceId, o.admin, o.key.split('_')[2]],
    ]);
    expect(exported.body.items[1].correlationId).toBe('AUDIT-42');
    expectProblem(await api.request('GET', `/v1/organizations/${o.organizationId}/users/export.csv?bom=yes`, as), 400, 'VALIDATION_FAILED');
  });
});
