// One invitation, whatever became of it (probe 80 F3: an accepted or cancelled invitation left the user list and had no
// read of its own): GET /v1/workspaces/{ws}/invitations/{id}, over real HTTP.
import { type TestApp, expectProblem, startTestApp, tokenOf } from './support/app';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.stop());

describe('an invitation read on its own (rule 7)', () => {
  it('pending, accepted and cancelled: address, access, current link, and the user who accepted it; for whoever may read the user list', async () => {
    const { api } = app;
    const o = await api.organization();
    const as = { key: o.key, actor: o.admin };
    const path = (id: string) => `/v1/workspaces/${o.workspaceId}/invitations/${id}`;
    const maria = await api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { ...as, body: { email: 'maria.read@acme.test', roles: ['manager'] } });
    const pending = await api.request('GET', path(maria.body.invitationId), as);
    expect(pending.body).toEqual({
      invitationId: maria.body.invitationId,
      status: 'pending',
      email: 'maria.read@acme.test',
      roles: ['manager'],
      restrictions: {},
      grants: [],
      invitedAt: expect.any(String),
      linkVersion: 1,
      linkSentAt: pending.body.invitedAt,
      expiresAt: maria.body.expiresAt,
      expired: false,
      userId: null,
    });
    const resent = await api.request('POST', `${path(maria.body.invitationId)}/resend`, as);
    expect((await api.request('GET', path(maria.body.invitationId), as)).body).toMatchObject({ linkVersion: 2, expiresAt: resent.body.expiresAt });
    const accepted = await api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(resent.body.inviteUrl) } });
    expect((await api.request('GET', path(maria.body.invitationId.toUpperCase()), as)).body).toMatchObject({ status: 'accepted', userId: accepted.body.userId });

    const tom = await api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { ...as, body: { email: 'tom.read@acme.test' } });
    await api.request('DELETE', path(tom.body.invitationId), as);
    expect((await api.request('GET', path(tom.body.invitationId), as)).body).toMatchObject({ status: 'cancelled', email: 'tom.read@acme.test', expired: false });

    expectProblem(await api.request('GET', path('no-such-invitation'), as), 404, 'INVITATION_NOT_FOUND');
    const agent = await api.member({ ...as, workspaceId: o.workspaceId }, 'agent.read@acme.test', { roles: ['agent'] });
    expectProblem(await api.request('GET', path(tom.body.invitationId), { key: o.key, actor: agent }), 403, 'INSUFFICIENT_AUTHORITY');
    const other = await api.organization();
    expectProblem(await api.request('GET', path(tom.body.invitationId), { key: other.key, actor: other.admin }), 404, 'WORKSPACE_NOT_FOUND');
  });
});
