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
    // an email change of joe's waits for its link; its mail's record reaches the read models a moment later
    expect((await api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${joe}`, { ...as, body: { email: 'joe.new.csv@acme.test' } })).body.emailChange.mail).toBe('handed_over');
    for (let tries = 0; tries < 100 && !(await api.request('GET', `/v1/organizations/${o.organizationId}/users/${joe}`, as)).body.pendingEmail.mailedAt; tries++) await new Promise((resolve) => setTimeout(resolve, 50));
    const csv = await fetch(`${app.url}/v1/organizations/${o.organizationId}/users/export.csv?bom=true`, { headers: { authorization: `Bearer ${o.key}`, 'x-actor-id': o.admin } });
    expect(csv.status).toBe(200);
    // named after the organization and the day (probe 82 F2)
    expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="users-Acme-\d{4}-\d{2}-\d{2}\.csv"$/);
    const bytes = new Uint8Array(await csv.arrayBuffer());
    expect(Array.from(bytes.subarray(0, 3))).toEqual([0xef, 0xbb, 0xbf]);
    const rows = parse(Buffer.from(bytes.slice(3)).toString('utf8'), { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => r.user_id)).toEqual([o.admin, jane, joe, zed]);
    expect(rows[0]).toMatchObject({ org_admin: 'true', active_workspaces: o.workspaceId, last_active_on: expect.stringMatching(/^(\d{4}-\d\d-\d\d)?$/) });
    expect(rows[1]).toMatchObject({ email: 'jane.csv@acme.test', display_name: "'=cmd|calc", avatar_url: 'https://img.acme.test/jane.png', active_workspaces: o.workspaceId, revoked_workspaces: '' });
    expect(rows[2]).toMatchObject({ active_workspaces: '', revoked_workspaces: o.workspaceId, invited_workspaces: o.workspaceId, deleted: 'false' });
    expect(rows[1]).toMatchObject({ invited_workspaces: '' });
    expect(rows.map((r) => [r.pending_email, Boolean(Date.parse(r.pending_email_mailed_at!)), r.pending_email_mail_refused_at])).toEqual([
      ['', false, ''],
      ['', false, ''],
      ['joe.new.csv@acme.test', true, ''],
      ['', false, ''],
    ]);
    // deleted: no personal data, and no membership either way (the detail says `deleted`: probe 79 F2)
    // …but the workspaces they were in are theirs still, as the user detail's (status `deleted`) (probe 85 F6)
    expect(rows[3]).toMatchObject({ email: '', display_name: '', deleted: 'true', active_workspaces: '', revoked_workspaces: '', invited_workspaces: '', deleted_workspaces: o.workspaceId });
    expect(rows.slice(0, 3).map((r) => r.deleted_workspaces)).toEqual(['', '', '']);
    expect(Object.keys(rows[0]!)).toEqual(['user_id', 'email', 'display_name', 'alias', 'avatar_url', 'org_admin', 'deleted', 'joined_at', 'last_active_on', 'pending_email', 'pending_email_expires_at', 'active_workspaces', 'revoked_workspaces', 'invited_workspaces', 'deleted_workspaces', 'pending_email_expired', 'pending_email_taken', 'pending_email_mailed_at', 'pending_email_mail_refused_at']);

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

  it("every workspace's user list in one CSV, a workspace's columns and rows one workspace after another, each row naming its workspace (probe 79 F6); org admins only; recorded", async () => {
    const { api } = app;
    const o = await api.organization();
    const as = { key: o.key, actor: o.admin };
    const second = (await api.request('POST', `/v1/organizations/${o.organizationId}/workspaces`, { ...as, body: { name: 'Second' } })).body.workspaceId as string;
    const jane = await api.member({ ...o, actor: o.admin }, 'jane.all@acme.test');
    const joe = await api.member({ ...o, actor: o.admin, workspaceId: second }, 'joe.all@acme.test');
    await api.request('POST', `/v1/workspaces/${second}/invitations`, { ...as, body: { email: 'pending.all@acme.test' } });
    const revoked = await api.request('DELETE', `/v1/workspaces/${o.workspaceId}/members/${jane}`, as);
    // from the read models, as a workspace's download: read after the last write
    const headers = { authorization: `Bearer ${o.key}`, 'x-actor-id': o.admin, 'x-min-position': revoked.headers.get('x-position')! };
    const read = async (query = '') => {
      const reply = await fetch(`${app.url}/v1/organizations/${o.organizationId}/members/export.csv${query}`, { headers });
      expect(reply.status).toBe(200);
      expect(reply.headers.get('content-disposition')).toMatch(/^attachment; filename="organization-members-Acme-\d{4}-\d{2}-\d{2}\.csv"$/);
      return parse(await reply.text(), { columns: true }) as Record<string, string>[];
    };
    const one = await fetch(`${app.url}/v1/workspaces/${second}/members/export.csv`, { headers });
    const rows = await read('?status=active,pending,revoked');
    // the same columns as a workspace's download
    expect(Object.keys(rows[0]!).join(',')).toBe((await one.text()).split('\n')[0]);
    expect(rows.map((r) => [r.workspace_id, r.user_id || r.email, r.status])).toEqual([
      [o.workspaceId, o.admin, 'active'],
      [o.workspaceId, jane, 'revoked'],
      [second, o.admin, 'active'],
      [second, joe, 'active'],
      [second, 'pending.all@acme.test', 'pending'],
    ]);
    expect(rows[3]).toMatchObject({ email: 'joe.all@acme.test', permissions: expect.stringMatching(/./) });
    // the review's questions from the file alone, whatever the preset (probe 82 F2)
    expect(rows.map((r) => [r.workspace_name, r.export_permission, r.owner_authority, r.expired])).toEqual([
      ['Support', 'true', 'true', ''],
      ['Support', '', 'false', ''],
      ['Second', 'true', 'true', ''],
      ['Second', 'false', 'false', ''],
      ['Second', '', '', 'false'],
    ]);
    // the filters of a workspace's download, in each workspace
    expect((await read('?status=revoked')).map((r) => [r.workspace_id, r.user_id])).toEqual([[o.workspaceId, jane]]);

    expectProblem(await api.request('GET', `/v1/organizations/${o.organizationId}/members/export.csv`, { key: o.key, actor: joe }), 403, 'INSUFFICIENT_AUTHORITY');
    expectProblem(await api.request('GET', `/v1/organizations/${o.organizationId}/members/export.csv?status=gone`, as), 400, 'VALIDATION_FAILED');
    // a HEAD sends no byte of the file: not recorded (probe 81 F5)
    const head = await fetch(`${app.url}/v1/organizations/${o.organizationId}/members/export.csv`, { method: 'HEAD', headers });
    expect(head.status).toBe(200);
    // recorded as the user lists' download of no one workspace
    const exported = await api.request('GET', `/v1/organizations/${o.organizationId}/changes?change=data_exported`, as);
    expect(exported.body.items.map((c: { details: { what: string }; workspaceId: string | null }) => [c.details.what, c.workspaceId])).toEqual([
      ['members', second],
      ['members', null],
      ['members', null],
    ]);
  });

  it('rule 8: a pending invitation bound to an existing user names them to org admins: `user_id` in both CSVs, `userId` in the user list (probe 82 F5); an address no user holds has none; a member manager sees none (probe 84 F2)', async () => {
    const { api } = app;
    const o = await api.organization();
    const as = { key: o.key, actor: o.admin };
    const second = (await api.request('POST', `/v1/organizations/${o.organizationId}/workspaces`, { ...as, body: { name: 'Second' } })).body.workspaceId as string;
    const jane = await api.member({ ...o, actor: o.admin }, 'jane.bound@acme.test');
    const bound = await api.request('POST', `/v1/workspaces/${second}/invitations`, { ...as, body: { email: 'Jane.Bound@acme.test' } });
    const fresh = await api.request('POST', `/v1/workspaces/${second}/invitations`, { ...as, body: { email: 'new.bound@acme.test' } });
    expect([bound.status, fresh.status]).toEqual([201, 201]);
    const headers = { authorization: `Bearer ${o.key}`, 'x-actor-id': o.admin, 'x-min-position': fresh.headers.get('x-position')! };
    const csvRows = async (path: string) => {
      const reply = await fetch(`${app.url}${path}?status=pending`, { headers });
      expect(reply.status).toBe(200);
      return (parse(await reply.text(), { columns: true }) as Record<string, string>[]).map((r) => [r.invitation_id, r.user_id]);
    };
    const expected = [
      [bound.body.invitationId, jane],
      [fresh.body.invitationId, ''],
    ];
    expect(await csvRows(`/v1/workspaces/${second}/members/export.csv`)).toEqual(expected);
    expect(await csvRows(`/v1/organizations/${o.organizationId}/members/export.csv`)).toEqual(expected);
    const list = await api.request('GET', `/v1/workspaces/${second}/members?status=pending`, { ...as, headers: { 'x-min-position': fresh.headers.get('x-position')! } });
    expect(list.body.items.map((i: { invitationId: string; userId: string | null }) => [i.invitationId, i.userId])).toEqual([
      [bound.body.invitationId, jane],
      [fresh.body.invitationId, null],
    ]);
    // to a member manager who is no org admin, the organization's users are not known: null (probe 84 F2)
    const manager = await api.member({ ...o, actor: o.admin, workspaceId: second }, 'mgr.bound@acme.test', { roles: ['owner'] });
    const asManager = { key: o.key, actor: manager, headers: { 'x-min-position': fresh.headers.get('x-position')! } };
    const managerList = await api.request('GET', `/v1/workspaces/${second}/members?status=pending`, asManager);
    const ours = (id: string) => id === bound.body.invitationId || id === fresh.body.invitationId;
    expect(managerList.body.items.filter((i: { invitationId: string }) => ours(i.invitationId)).map((i: { userId: string | null }) => i.userId)).toEqual([null, null]);
    const managerCsv = await fetch(`${app.url}/v1/workspaces/${second}/members/export.csv?status=pending`, { headers: { authorization: `Bearer ${o.key}`, 'x-actor-id': manager } });
    expect((parse(await managerCsv.text(), { columns: true }) as Record<string, string>[]).filter((r) => ours(r.invitation_id!)).map((r) => r.user_id)).toEqual(['', '']);
    expect((await api.request('GET', `/v1/workspaces/${second}/invitations/${bound.body.invitationId}`, asManager)).body.userId).toBeNull();
    expect((await api.request('GET', `/v1/workspaces/${second}/invitations/${bound.body.invitationId}`, as)).body.userId).toBe(jane);
  });

  it('rule 11: a revoked member says who revoked them: `revokedBy` in the member detail and the list, `revoked_by` in the CSV (probe 80 F14)', async () => {
    const { api } = app;
    const o = await api.organization();
    const as = { key: o.key, actor: o.admin };
    const jane = await api.member({ ...o, actor: o.admin }, 'jane.revoked@acme.test');
    const joe = await api.member({ ...o, actor: o.admin }, 'joe.active@acme.test');
    const revoked = await api.request('DELETE', `/v1/workspaces/${o.workspaceId}/members/${jane}`, as);
    expect(revoked.status).toBe(200);
    const after = { 'x-min-position': revoked.headers.get('x-position')! };
    const detail = await api.request('GET', `/v1/workspaces/${o.workspaceId}/members/${jane}`, { ...as, headers: after });
    expect(detail.body).toMatchObject({ status: 'revoked', revokedAt: expect.stringMatching(/^\d{4}-/), revokedBy: o.admin });
    expect((await api.request('GET', `/v1/workspaces/${o.workspaceId}/members/${joe}`, { ...as, headers: after })).body).toMatchObject({ status: 'active', revokedBy: null });
    const list = await api.request('GET', `/v1/workspaces/${o.workspaceId}/members?status=revoked`, { ...as, headers: after });
    expect(list.body.items.map((m: { userId: string; revokedBy: string }) => [m.userId, m.revokedBy])).toEqual([[jane, o.admin]]);
    const csv = await fetch(`${app.url}/v1/workspaces/${o.workspaceId}/members/export.csv?status=active,revoked`, { headers: { authorization: `Bearer ${o.key}`, 'x-actor-id': o.admin, ...after } });
    const rows = parse(await csv.text(), { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => [r.user_id, r.status, r.revoked_by])).toEqual([
      [o.admin, 'active', ''],
      [jane, 'revoked', o.admin],
      [joe, 'active', ''],
    ]);
  });
});
