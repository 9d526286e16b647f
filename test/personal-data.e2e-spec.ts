// A data subject's access request (GDPR Art. 15; probe 76 F3: 19+ calls for two workspaces and no file): one user's
// personal data as one JSON download, over real HTTP; after their deletion, their pseudonymous remains only.
import { type TestApp, expectProblem, startTestApp, tokenOf } from './support/app';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.stop());

describe('personal data export (Art. 15)', () => {
  it('gathers the profile, memberships, history about and by them, the organization\'s changes, the keys they issued; org admins only; after a deletion, nothing personal', async () => {
    const { api } = app;
    const o = await api.organization();
    const as = { key: o.key, actor: o.admin };
    const second = (await api.request('POST', `/v1/organizations/${o.organizationId}/workspaces`, { ...as, body: { name: 'Sales' } })).body.workspaceId as string;
    const invited = await api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { ...as, body: { email: 'marta.subject@acme.test', roles: ['agent'] } });
    const marta = (await api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(invited.body.inviteUrl), displayName: 'Märta Kowalsky' } })).body.userId as string;
    const again = await api.request('POST', `/v1/workspaces/${second}/invitations`, { ...as, body: { email: 'marta.subject@acme.test', roles: ['agent'] } });
    await api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(again.body.inviteUrl) } });
    expect((await api.request('PATCH', `/v1/workspaces/${o.workspaceId}/members/${marta}/access`, { ...as, body: { roles: ['manager'] } })).status).toBe(200);
    await api.request('PUT', `/v1/organizations/${o.organizationId}/users/${marta}/org-admin`, as);
    // what she did herself: a key, an invitation
    const key = (await api.request('POST', `/v1/organizations/${o.organizationId}/api-keys`, { key: o.key, actor: marta, body: { label: 'Her sync' } })).body;
    expect((await api.request('POST', `/v1/workspaces/${second}/invitations`, { key: o.key, actor: marta, body: { email: 'someone.else@acme.test' } })).status).toBe(201);
    // someone else revoked, their contacts reassigned to her: an entry about him that names her in its details only
    const joe = await api.member({ ...o, actor: o.admin }, 'joe.leaving@acme.test');
    const revoked = await api.request('DELETE', `/v1/workspaces/${o.workspaceId}/members/${joe}`, { ...as, body: { reassignContactsTo: marta } });
    expect(revoked.body).toMatchObject({ position: expect.any(String) });
    // an invitation to her address in a third workspace, never accepted
    const third = (await api.request('POST', `/v1/organizations/${o.organizationId}/workspaces`, { ...as, body: { name: 'Billing' } })).body.workspaceId as string;
    const lastWrite = await api.request('POST', `/v1/workspaces/${third}/invitations`, { ...as, body: { email: 'marta.subject@acme.test' } });
    const url = `/v1/organizations/${o.organizationId}/users/${marta}/personal-data`;
    const read = (actor: string) => api.request('GET', url, { key: o.key, actor, headers: { 'x-min-position': lastWrite.body.position } });

    const answer = await read(o.admin);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-disposition')).toBe(`attachment; filename="personal-data-${marta}.json"`);
    const file = answer.body;
    expect(file.user).toMatchObject({ userId: marta, email: 'marta.subject@acme.test', displayName: 'Märta Kowalsky', orgAdmin: true });
    expect(file.memberships.map((m: { workspaceId: string; roles: string[] }) => [m.workspaceId, m.roles]).sort()).toEqual([[o.workspaceId, ['manager']], [second, ['agent']]].sort());
    const changes = (file.history as { workspaceId: string; change: string; userId: string | null; actorId: string | null }[]).map((e) => [e.workspaceId === second ? 'sales' : 'support', e.change, e.userId === marta ? 'about' : 'by']);
    expect(changes).toEqual(
      expect.arrayContaining([
        ['support', 'invited', 'about'],
        ['support', 'joined', 'about'],
        ['support', 'roles_changed', 'about'],
        ['support', 'org_admin_granted', 'about'],
        ['sales', 'joined', 'about'],
        ['sales', 'invited', 'by'],
        ['support', 'revoked', 'by'],
      ]),
    );
    expect((file.history as { change: string; userId: string }[]).find((e) => e.change === 'revoked')).toMatchObject({ userId: joe, details: { contacts: { mode: 'reassigned', toUserId: marta } } });
    // an invitation to her address never accepted, sent while she held it: bound to her (rule 8), hers — listed, and its
    // entries in her file (probe 86 F2); one to an address she had given up would be no one's, and not listed (rule 6;
    // probe 79 F1)
    expect(file.user.invitations.map((i: { workspaceId: string; invitationId: string }) => [i.workspaceId, i.invitationId])).toEqual([[third, lastWrite.body.invitationId]]);
    expect(file.user).not.toHaveProperty('workspacesNext');
    expect((file.history as { workspaceId: string; change: string; invitationId: string | null }[]).filter((e) => e.workspaceId === third && e.invitationId !== null).map((e) => [e.change, e.invitationId])).toEqual([['invited', lastWrite.body.invitationId]]);
    // what she did to others names them by id, not by address: theirs to ask for (probe 78 F2)
    expect(JSON.stringify(file)).not.toContain('someone.else@acme.test');
    expect(JSON.stringify(file)).not.toContain('joe.leaving@acme.test');
    expect(file.user.formerAddresses).toEqual([]);
    expect(file.organizationChanges.map((c: { change: string }) => c.change)).toEqual(expect.arrayContaining(['user_joined', 'org_admin_granted', 'api_key_issued']));
    expect(file.apiKeys.map((k: { keyId: string; issuedBy: string }) => [k.keyId, k.issuedBy])).toEqual([[key.keyId, marta]]);
    expect(Array.isArray(file.presence)).toBe(true);
    expect(file.truncated).toBe(false);

    // org admins only; another user's id that is none is 404
    const agent = await api.member({ ...o, actor: o.admin }, 'agent.nosy@acme.test');
    expectProblem(await read(agent), 403, 'INSUFFICIENT_AUTHORITY');
    expectProblem(await api.request('GET', `/v1/organizations/${o.organizationId}/users/00000000-0000-4000-8000-000000000000/personal-data`, as), 404, 'USER_NOT_FOUND');

    // deleted: her remains under her id, nothing that names her
    const deleted = await api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${marta}`, as);
    const after = await api.request('GET', url, { ...as, headers: { 'x-min-position': deleted.body.position } });
    expect(after.status).toBe(200);
    expect(after.body.user).toMatchObject({ userId: marta, deleted: true, email: null, displayName: null });
    for (const personal of ['marta.subject', 'Märta', 'Kowalsky']) expect(JSON.stringify(after.body)).not.toContain(personal);
  });
});
