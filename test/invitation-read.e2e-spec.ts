// One invitation, whatever became of it (probe 80 F3: an accepted or cancelled invitation left the user list and had no
// read of its own): GET /v1/workspaces/{ws}/invitations/{id}, over real HTTP.
import { type TestApp, expectProblem, startTestApp, tokenOf } from './support/app';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.stop());

describe('an invitation read on its own (rule 7)', () => {
  it('pending, accepted and cancelled: address, access, who sent it, current link, when and by whom it was accepted or cancelled; for whoever may read the user list', async () => {
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
      invitedBy: o.admin,
      acceptedAt: null,
      cancelledAt: null,
      cancelledBy: null,
    });
    const resent = await api.request('POST', `${path(maria.body.invitationId)}/resend`, as);
    expect((await api.request('GET', path(maria.body.invitationId), as)).body).toMatchObject({ linkVersion: 2, expiresAt: resent.body.expiresAt });
    const accepted = await api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(resent.body.inviteUrl) } });
    const read = await api.request('GET', path(maria.body.invitationId.toUpperCase()), as);
    expect(read.body).toMatchObject({ status: 'accepted', userId: accepted.body.userId, invitedBy: o.admin, cancelledAt: null, cancelledBy: null });
    expect(Date.parse(read.body.acceptedAt)).toBeGreaterThanOrEqual(Date.parse(read.body.invitedAt));

    // sent by one, cancelled by another: each named (probe 82 F7)
    const tom = await api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: accepted.body.userId, body: { email: 'tom.read@acme.test' } });
    await api.request('DELETE', path(tom.body.invitationId), as);
    const cancelled = (await api.request('GET', path(tom.body.invitationId), as)).body;
    expect(cancelled).toMatchObject({ status: 'cancelled', email: 'tom.read@acme.test', expired: false, invitedBy: accepted.body.userId, acceptedAt: null, cancelledBy: o.admin });
    expect(Date.parse(cancelled.cancelledAt)).toBeGreaterThanOrEqual(Date.parse(cancelled.invitedAt));

    // cancelled by the erasure of its address: by whoever erased it
    const zoe = await api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: accepted.body.userId, body: { email: 'zoe.read@acme.test' } });
    const erased = await api.request('POST', `/v1/organizations/${o.organizationId}/address-erasures`, { ...as, body: { email: 'zoe.read@acme.test' } });
    expect(erased.status).toBe(201);
    expect((await api.request('GET', path(zoe.body.invitationId), as)).body).toMatchObject({ status: 'cancelled', email: null, invitedBy: accepted.body.userId, cancelledBy: o.admin });

    expectProblem(await api.request('GET', path('no-such-invitation'), as), 404, 'INVITATION_NOT_FOUND');
    const agent = await api.member({ ...as, workspaceId: o.workspaceId }, 'agent.read@acme.test', { roles: ['agent'] });
    expectProblem(await api.request('GET', path(tom.body.invitationId), { key: o.key, actor: agent }), 403, 'INSUFFICIENT_AUTHORITY');
    const other = await api.organization();
    expectProblem(await api.request('GET', path(tom.body.invitationId), { key: other.key, actor: other.admin }), 404, 'WORKSPACE_NOT_FOUND');
  });
});
