// Closing an organization whose contract ended (docs/adr/0035; probe 76 F1: no route deleted an organization, the
// system key could delete no user, and the last org admin's name and address stayed for good): over real HTTP.
import { ClientProxyFactory, Transport } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { OrganizationClosings } from '../apps/api/src/organizations/close-organization';
import { SYSTEM_KEY, type TestApp, expectProblem, startTestApp } from './support/app';
import { tokenOf } from './support/api';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.stop());

describe('closing an organization (the operator, at the end of a contract)', () => {
  it('revokes every key, deletes every user (the last org admin and last owners too) and erases the addresses only invited; nothing is decided in it after', async () => {
    const { api } = app;
    const o = await api.organization();
    const members = `/v1/workspaces/${o.workspaceId}/members`;
    const jane = await api.member({ ...o, actor: o.admin }, 'jane.closing@acme.test', { roles: ['owner'] });
    const pending = await api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: 'only.invited@elsewhere.test' } });
    const second = await api.request('POST', `/v1/organizations/${o.organizationId}/api-keys`, { key: o.key, actor: o.admin, body: { label: 'CRM' } });
    const close = `/v1/organizations/${o.organizationId}/close`;

    // the operator's only, and only under the organization's name as it stands: nothing happened
    expectProblem(await api.request('POST', close, { key: o.key, actor: o.admin, body: { confirmName: 'Acme' } }), 403, 'INSUFFICIENT_AUTHORITY');
    expectProblem(await api.request('POST', close, { key: SYSTEM_KEY, body: { confirmName: 'Acme Inc' } }), 400, 'VALIDATION_FAILED');
    expectProblem(await api.request('POST', close, { key: SYSTEM_KEY, body: {} }), 400, 'VALIDATION_FAILED');
    expectProblem(await api.request('POST', `/v1/organizations/00000000-0000-4000-8000-000000000000/close`, { key: SYSTEM_KEY, body: { confirmName: 'Acme' } }), 404, 'ORGANIZATION_NOT_FOUND');
    expect((await api.request('GET', members, { key: o.key, actor: o.admin })).status).toBe(200);

    // a stream ticket taken before the closing
    const ticket = (await api.request('POST', `/v1/workspaces/${o.workspaceId}/presence/stream-tickets`, { key: o.key, actor: o.admin })).body.ticket as string;
    const closed = await api.request('POST', close, { key: SYSTEM_KEY, body: { confirmName: ' Acme ' } });
    expect(closed.status).toBe(200);
    expect(closed.body).toEqual({
      organizationId: o.organizationId,
      closed: true,
      closingSince: expect.stringMatching(/^\d{4}-/),
      closedAt: expect.stringMatching(/^\d{4}-/),
      // the admin (the last org admin) and Jane (an owner beside the admin); the invited address
      partnerLinksRemoved: 0,
      usersDeleted: 2,
      addressesErased: 1,
      left: { partnerLinks: 0, users: 0, addresses: 0 },
    });

    // its keys are refused; its links too; the operator decides nothing more in it either
    expectProblem(await api.request('GET', members, { key: o.key, actor: o.admin }), 401, 'UNAUTHENTICATED');
    expectProblem(await api.request('GET', members, { key: second.body.apiKey, actor: o.admin }), 401, 'UNAUTHENTICATED');
    const accepted = await api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(pending.body.inviteUrl) } });
    expect([410]).toContain(accepted.status);
    expectProblem(await api.request('POST', `/v1/organizations/${o.organizationId}/api-keys`, { key: SYSTEM_KEY, body: {} }), 410, 'ORGANIZATION_CLOSED');
    // the ticket is refused as what it is (probe 77 F8: 403 "not an active member")
    expectProblem(await api.request('GET', `/v1/workspaces/${o.workspaceId}/presence/stream?ticket=${encodeURIComponent(ticket)}`, {}), 410, 'ORGANIZATION_CLOSED');
    // documented on both operations, as on every authenticated one (probe 84 F5: listed nowhere)
    const doc = (await api.request('GET', '/docs/openapi.json')).body as { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> }>> };
    for (const [path, method] of [['/v1/organizations/{org}/api-keys', 'post'], ['/v1/workspaces/{ws}/presence/stream', 'get']] as const)
      expect(JSON.stringify(doc.paths[path]![method]!.responses['410'])).toContain('ORGANIZATION_CLOSED');
    // and a read that records itself (a link's copy, a download) can meet a data file it cannot write: 503 (probe 84 F5)
    for (const path of ['/v1/workspaces/{ws}/invitations/{id}/link', '/v1/workspaces/{ws}/members/export.csv'])
      expect(JSON.stringify(doc.paths[path]!.get!.responses['503'])).toContain('EVENT_STORE_UNAVAILABLE');

    // the operator sees it closed in the organization's workspace list (probes 77 F10, 79 F7)
    expect((await api.request('GET', `/v1/organizations/${o.organizationId}/workspaces`, { key: SYSTEM_KEY })).body).toMatchObject({ closingSince: closed.body.closingSince, closedAt: closed.body.closedAt });
    // and in a workspace's own read (probe 79: the system key's GET /v1/workspaces/{ws} did not say it)
    expect((await api.request('GET', `/v1/workspaces/${o.workspaceId}`, { key: SYSTEM_KEY })).body).toMatchObject({
      organizationClosingSince: closed.body.closingSince,
      organizationClosedAt: closed.body.closedAt,
    });

    // called again: closed already, nothing more done
    const again = await api.request('POST', close, { key: SYSTEM_KEY, body: { confirmName: 'Acme' } });
    expect(again.body).toMatchObject({ closed: true, closedAt: closed.body.closedAt, usersDeleted: 0, addressesErased: 0 });

    // the log's events, as the system key's feed has them: no address or name of anyone, the deletions and the closing there
    const feed = (await api.request('GET', '/v1/events?limit=1000', { key: SYSTEM_KEY })).body.items as { type: string; data: Record<string, unknown> }[];
    const ours = feed.filter((e) => JSON.stringify(e.data).includes(o.organizationId) || e.data.workspaceId === o.workspaceId);
    const text = JSON.stringify(ours);
    for (const personal of [o.adminEmail, 'jane.closing@acme.test', 'only.invited@elsewhere.test', 'Ada Admin']) expect(text).not.toContain(personal);
    expect(ours.map((e) => e.type)).toEqual(expect.arrayContaining(['OrganizationClosing', 'ApiKeyRevoked', 'UserDeleted', 'AddressErased', 'OrganizationClosed']));
    expect(ours.filter((e) => e.type === 'UserDeleted').map((e) => e.data.userId).sort()).toEqual([o.admin, jane].sort());
  });

  it('probe 91 F1: its workspaces are unlinked from their partners first: a partner no longer lists, shows or offers its teams', async () => {
    const { api } = app;
    const [closing, partner] = [await api.organization(), await api.organization()];
    const asClosing = { key: closing.key, actor: closing.admin };
    const asPartner = { key: partner.key, actor: partner.admin };
    const ws = (o: { workspaceId: string }) => `/v1/workspaces/${o.workspaceId}`;
    expect((await api.request('POST', `${ws(closing)}/network`, { key: SYSTEM_KEY, body: { partnerWorkspaceId: partner.workspaceId } })).status).toBe(201);
    const team = (await api.request('POST', `${ws(closing)}/teams`, { ...asClosing, body: { name: 'Closing experts' } })).body.teamId as string;
    expect((await api.request('PUT', `${ws(closing)}/teams/${team}/sharing`, { ...asClosing, body: { shared: true } })).status).toBe(200);
    const chosen = await api.request('PUT', `${ws(partner)}/partner-teams/${team}/visibility`, { ...asPartner, body: { visible: true } });
    expect(chosen.status).toBe(200);
    const partnerTeams = async (position?: string) =>
      (await api.request('GET', `${ws(partner)}/partner-teams`, { ...asPartner, ...(position && { headers: { 'x-min-position': position } }) })).body.items.map((t: { teamId: string }) => t.teamId);
    expect(await partnerTeams(chosen.body.position)).toContain(team);

    const closed = await api.request('POST', `/v1/organizations/${closing.organizationId}/close`, { key: SYSTEM_KEY, body: { confirmName: 'Acme' } });
    expect(closed.body).toMatchObject({ closed: true, partnerLinksRemoved: 1, left: { partnerLinks: 0, users: 0, addresses: 0 } });
    const head = (await api.request('GET', '/v1/events?limit=1', { key: SYSTEM_KEY })).body.head as string;
    // the partner's side: no link, no partner team, nothing to choose
    expect(await partnerTeams(head)).toEqual([]);
    expect((await api.request('GET', `${ws(partner)}/teams`, { ...asPartner, headers: { 'x-min-position': head } })).body.items.map((t: { teamId: string }) => t.teamId)).not.toContain(team);
    expectProblem(await api.request('PUT', `${ws(partner)}/partner-teams/${team}/visibility`, { ...asPartner, body: { visible: true } }), 404, 'TEAM_NOT_FOUND');
    // the unlink is in both workspaces' events, each naming its own organization, by the system
    const unlinked = (await api.request('GET', `/v1/organizations/${partner.organizationId}/events?limit=1000`, asPartner)).body.items.filter((e: { type: string }) => e.type === 'WorkspacesUnnetworked');
    expect(unlinked.map((e: { organizationId: string; actorId: string }) => [e.organizationId, e.actorId])).toEqual([[partner.organizationId, 'system']]);
  });

  it('a call out of time answers 202 with what is left, and the next goes on from there', async () => {
    const { api } = app;
    const o = await api.organization();
    await api.member({ ...o, actor: o.admin }, 'first.left@acme.test');
    await api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: 'left.invited@elsewhere.test' } });
    const closings = app.app.get(OrganizationClosings);
    // no time at all: the closing begins (keys revoked), nothing else
    const begun = await closings.close(o.organizationId, 'Acme', undefined, -1);
    expect(begun).toMatchObject({ closed: false, closedAt: null, usersDeleted: 0, addressesErased: 0, left: { users: 2, addresses: 1 } });
    expectProblem(await api.request('GET', `/v1/workspaces/${o.workspaceId}/members`, { key: o.key, actor: o.admin }), 401, 'UNAUTHENTICATED');
    expectProblem(await api.request('POST', `/v1/organizations/${o.organizationId}/api-keys`, { key: SYSTEM_KEY, body: {} }), 410, 'ORGANIZATION_CLOSED');
    // begun: the name is asked again (probe 77 F4: a wrong one went on)
    expectProblem(await api.request('POST', `/v1/organizations/${o.organizationId}/close`, { key: SYSTEM_KEY, body: { confirmName: 'Wrong' } }), 400, 'VALIDATION_FAILED');
    const rest = await api.request('POST', `/v1/organizations/${o.organizationId}/close`, { key: SYSTEM_KEY, body: { confirmName: 'Acme' } });
    expect(rest.status).toBe(200);
    expect(rest.body).toMatchObject({ closed: true, closingSince: begun.closingSince, usersDeleted: 2, addressesErased: 1, left: { users: 0, addresses: 0 } });
  });

  it('probe 77 F1: two calls at once (two replicas, or a retry beside the first) both answer; each step is done once and counted once', async () => {
    const { api } = app;
    const o = await api.organization();
    for (let i = 0; i < 6; i++) await api.member({ ...o, actor: o.admin }, `both.${i}@acme.test`);
    for (let i = 0; i < 3; i++) await api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: `both.invited.${i}@elsewhere.test` } });
    const call = () => api.request('POST', `/v1/organizations/${o.organizationId}/close`, { key: SYSTEM_KEY, body: { confirmName: 'Acme' } });
    const answers = await Promise.all([call(), call(), call()]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(answers.reduce((n, a) => n + (a.body.usersDeleted as number), 0)).toBe(7);
    expect(answers.reduce((n, a) => n + (a.body.addressesErased as number), 0)).toBe(3);
  });

  it('over TCP too (organizations.close): the system key only, the name asked for', async () => {
    const o = await app.api.organization();
    const client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port: app.tcpPort } });
    await client.connect();
    try {
      const send = (data: object) => lastValueFrom(client.send('organizations.close', data));
      await expect(send({ apiKey: o.key, actorId: o.admin, organizationId: o.organizationId, confirmName: 'Acme' })).rejects.toMatchObject({ status: 403 });
      await expect(send({ apiKey: SYSTEM_KEY, organizationId: o.organizationId, confirmName: 'Other' })).rejects.toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
      expect(await send({ apiKey: SYSTEM_KEY, organizationId: o.organizationId, confirmName: 'Acme' })).toMatchObject({ organizationId: o.organizationId, closed: true, usersDeleted: 1 });
      expectProblem(await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members`, { key: o.key, actor: o.admin }), 401, 'UNAUTHENTICATED');
    } finally {
      await client.close();
    }
  });
});
