// The organization as a whole, for its org admins (probe 39b F5, F11): its users in the order they joined (a user
// revoked from every workspace among them, a deleted one kept under their id), one user with their workspaces and a
// pending email change, its workspaces; over HTTP and as message patterns (users.list, users.get, workspaces.list).
import { SYSTEM_KEY, expectProblem, tokenOf } from './support/app';
import { appOverTcpForEachFile } from './support/tcp-app';

const app = appOverTcpForEachFile();

describe("an organization's users and workspaces (org admins)", () => {
  it("probe 69 F4: a membership's whole access, so that under the permissions model (every role `member`) the grants tell an owner apart", async () => {
    const { api } = app.running.app;
    const o = await api.organization({ accessModel: 'permissions' });
    const org = `/v1/organizations/${o.organizationId}`;
    const as = { key: o.key, actor: o.admin };
    const rita = await api.member({ ...as, workspaceId: o.workspaceId }, 'rita.org@acme.test', { grants: ['users', 'reporting'] });
    const sam = await api.member({ ...as, workspaceId: o.workspaceId }, 'sam.org@acme.test', {});
    const detail = async (userId: string) => (await api.request('GET', `${org}/users/${userId}`, as)).body.workspaces;
    expect(await detail(rita)).toEqual([expect.objectContaining({ workspaceId: o.workspaceId, status: 'active', roles: ['member'], grants: ['reporting', 'users'], restrictions: {} })]);
    expect(await detail(sam)).toEqual([expect.objectContaining({ roles: ['member'], grants: [], restrictions: {} })]);
  });

  it("rule 5: the operator's way back when every org admin has left: the system key reads the users and the changes, and makes an org admin as `system`, not in a departed admin's name (probe 80 F1)", async () => {
    const { api } = app.running.app;
    const o = await api.organization();
    const org = `/v1/organizations/${o.organizationId}`;
    const bob = await api.member({ key: o.key, actor: o.admin, workspaceId: o.workspaceId }, 'bob.support@acme.test', { roles: ['agent'] });
    const system = { key: SYSTEM_KEY };
    const users = await api.request('GET', `${org}/users`, system);
    expect(users.status).toBe(200);
    expect(users.body.items.map((u: { userId: string; orgAdmin: boolean }) => [u.userId, u.orgAdmin])).toEqual([
      [o.admin, true],
      [bob, false],
    ]);
    expect((await api.request('GET', `${org}/users/${bob}`, system)).body).toMatchObject({ userId: bob, email: 'bob.support@acme.test' });
    expect(await app.running.send('users.list', { apiKey: SYSTEM_KEY, organizationId: o.organizationId })).toEqual(users.body);
    // a message's ids in capitals are read as this service wrote them, as a path's are (probe 81 F3)
    expect(await app.running.send('users.get', { apiKey: SYSTEM_KEY, organizationId: o.organizationId.toUpperCase(), userId: bob.toUpperCase() })).toMatchObject({ userId: bob });

    const made = await api.request('PUT', `${org}/users/${bob}/org-admin`, system);
    expect(made.status).toBe(200);
    expect(made.body).toMatchObject({ userId: bob, orgAdmin: true, changed: true });
    // recorded as the operator's, in the organization's changes and the workspace's history
    const changes = await api.request('GET', `${org}/changes?change=org_admin_granted`, system);
    expect(changes.body.items).toEqual([expect.objectContaining({ change: 'org_admin_granted', actorId: 'system', userId: bob })]);
    // what the operator did in the organization, found by its actor (probe 81 F8)
    const byOperator = await api.request('GET', `${org}/changes?actorId=system`, { key: o.key, actor: o.admin });
    // (the organization's creation, its first key and admin were the operator's too)
    expect(byOperator.body.items.map((c: { change: string }) => c.change)).toEqual(['organization_created', 'api_key_issued', 'user_joined', 'org_admin_granted']);
    // over TCP the acting user is the message's actorId: the filter is `changesBy`
    const all = await api.request('GET', `${org}/changes`, { key: o.key, actor: o.admin });
    expect((await app.running.send('organizations.changes', { apiKey: o.key, actorId: o.admin, organizationId: o.organizationId })).items).toEqual(all.body.items);
    expect((await app.running.send('organizations.changes', { apiKey: o.key, actorId: o.admin, organizationId: o.organizationId, changesBy: 'system' })).items).toEqual(byOperator.body.items);
    const history = await api.request('GET', `/v1/workspaces/${o.workspaceId}/history?userId=${bob}`, { key: o.key, actor: bob, headers: { 'x-min-position': made.body.position } });
    expect(history.body.items.at(-1)).toMatchObject({ actorId: 'system' });
    // the operator takes it from nobody; the org admin it made does, from the one who left
    const taken = await api.request('DELETE', `${org}/users/${o.admin}/org-admin`, system);
    expectProblem(taken, 403, 'INSUFFICIENT_AUTHORITY');
    expect(taken.body.detail).toContain('The operator makes organization admins');
    expect((await api.request('DELETE', `${org}/users/${o.admin}/org-admin`, { key: o.key, actor: bob })).body).toMatchObject({ orgAdmin: false, changed: true });
    // an organization's key never acts as the operator (probe 81 F1: `X-Actor-Id: system` granted org admin, issued keys
    // past the quota, deleted the last org admin, each recorded as the operator's)
    const dave = await api.member({ key: o.key, actor: bob, workspaceId: o.workspaceId }, 'dave.support@acme.test', { roles: ['agent'] });
    for (const [method, path] of [
      ['PUT', `${org}/users/${dave}/org-admin`],
      ['DELETE', `${org}/users/${bob}`],
      ['POST', `${org}/api-keys`],
      ['GET', `${org}/users`],
    ] as const) {
      const forged = await api.request(method, path, { key: o.key, actor: 'system', ...(method === 'POST' && { body: {} }) });
      expectProblem(forged, 400, 'VALIDATION_FAILED');
      expect(forged.body.errors).toEqual([{ field: 'X-Actor-Id', message: 'is reserved: "system" is the operator' }]);
    }
    await expect(app.running.send('users.delete', { apiKey: o.key, actorId: 'system', organizationId: o.organizationId, userId: bob })).rejects.toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    expect((await api.request('GET', `${org}/users/${dave}`, system)).body.orgAdmin).toBe(false);
    // and over TCP
    const carol = await api.member({ key: o.key, actor: bob, workspaceId: o.workspaceId }, 'carol.support@acme.test', { roles: ['agent'] });
    expect(await app.running.send('users.grantOrgAdmin', { apiKey: SYSTEM_KEY, organizationId: o.organizationId, userId: carol })).toMatchObject({ userId: carol, orgAdmin: true, changed: true });
  });

  it("probe 80 F2: the organization's users found by address, name or alias (q: part of one, case and accents aside), over HTTP and TCP", async () => {
    const { api } = app.running.app;
    const o = await api.organization();
    const org = `/v1/organizations/${o.organizationId}`;
    const as = { key: o.key, actor: o.admin };
    const maria = await api.member({ ...as, workspaceId: o.workspaceId }, 'maria.lopez@acme.test', { roles: ['agent'] });
    const tom = await api.member({ ...as, workspaceId: o.workspaceId }, 'tom@acme.test', { roles: ['agent'] });
    await api.request('PATCH', `${org}/users/${tom}`, { ...as, body: { displayName: 'Tomás Márquez', alias: 'tm' } });
    const found = async (q: string) => (await api.request('GET', `${org}/users?q=${encodeURIComponent(q)}`, as)).body.items.map((u: { userId: string }) => u.userId);
    expect(await found('MARIA.lopez')).toEqual([maria]);
    expect(await found('  marquez ')).toEqual([tom]);
    expect(await found('@ACME.test')).toEqual(expect.arrayContaining([maria, tom]));
    expect(await found('nobody-here')).toEqual([]);
    // no control characters, as the user list's search (probe 81 F6: a newline matched every user)
    expectProblem(await api.request('GET', `${org}/users?q=%0A`, as), 400, 'VALIDATION_FAILED');
    // characters that show nothing match nobody, as in the user list (probe 82 F6: every user)
    expect(await found('\u200b\u202e')).toEqual([]);
    const page = await api.request('GET', `${org}/users?q=acme.test&limit=1&after=${maria}`, as);
    expect(page.body.items.map((u: { userId: string }) => u.userId)).toEqual([tom]);
    expect((await app.running.send('users.list', { apiKey: o.key, actorId: o.admin, organizationId: o.organizationId, q: 'lopez' })).items.map((u: { userId: string }) => u.userId)).toEqual([maria]);
  });

  it('lists every user in join order, pages them, shows memberships, a pending email change and deletions', async () => {
    const { api } = app.running.app;
    const o = await api.organization();
    const org = `/v1/organizations/${o.organizationId}`;
    const as = { key: o.key, actor: o.admin };
    const second = await api.request('POST', `${org}/workspaces`, { ...as, body: { name: 'Billing' } });
    expect(second.status).toBe(201);
    const billing = second.body.workspaceId as string;
    const jane = await api.member({ ...as, workspaceId: o.workspaceId }, 'jane.org@acme.test', { roles: ['agent'] });
    const joe = await api.member({ ...as, workspaceId: o.workspaceId }, 'joe.org@acme.test', { roles: ['manager'] });
    await api.member({ ...as, workspaceId: billing }, 'joe.org@acme.test', { roles: ['agent'] });
    const bob = await api.member({ ...as, workspaceId: o.workspaceId }, 'bob.org@acme.test');
    const zed = await api.member({ ...as, workspaceId: billing }, 'zed.org@acme.test');
    // bob is revoked from his only workspace; zed is deleted; jane's address change waits for its link
    expect((await api.request('DELETE', `/v1/workspaces/${o.workspaceId}/members/${bob}`, { ...as, body: {} })).status).toBe(200);
    const zedDeleted = await api.request('DELETE', `${org}/users/${zed}`, as);
    expect(zedDeleted.status).toBe(200);
    expect((await api.request('PATCH', `${org}/users/${jane}`, { ...as, body: { email: 'jane.new@acme.test' } })).body.emailChange.status).toBe('pending_confirmation');
    // when its link was mailed, as the read models know it: its record follows the change in the log (probe 106 F5)
    let mailed: { mailedAt: string | null; mailRefusedAt: string | null } | undefined;
    for (let tries = 0; tries < 100 && !mailed?.mailedAt; tries++) {
      if (tries > 0) await new Promise((resolve) => setTimeout(resolve, 50));
      mailed = (await api.request('GET', `${org}/users/${jane}`, as)).body.pendingEmail;
    }
    expect(mailed).toMatchObject({ mailedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), mailRefusedAt: null });

    const all = await api.request('GET', `${org}/users?limit=200`, as);
    expect(all.status).toBe(200);
    expect(all.body.next).toBeNull();
    expect(all.body.items.map((u: any) => u.userId)).toEqual([o.admin, jane, joe, bob, zed]);
    expect(all.body.items[0]).toMatchObject({ orgAdmin: true, deleted: false, deletedAt: null, deletedBy: null, pendingEmail: null });
    expect(all.body.items[1]).toMatchObject({ email: 'jane.org@acme.test', pendingEmail: { email: 'jane.new@acme.test', expiresAt: expect.any(String) } });
    // (zed never acted: invited and accepted by the link alone, which names no one yet)
    // when and by whom they were deleted (probe 80 F7: neither was said)
    expect(all.body.items[4]).toEqual({ userId: zed, email: null, displayName: null, alias: null, avatarUrl: null, orgAdmin: false, deleted: true, deletedAt: expect.any(String), deletedBy: o.admin, joinedAt: expect.any(String), pendingEmail: null, lastActiveOn: null });
    expect(Date.parse(all.body.items[4].deletedAt)).toBeGreaterThanOrEqual(Date.parse(all.body.items[4].joinedAt));

    // pages of 2 give the same users
    const paged: string[] = [];
    for (let after: string | null | undefined; after !== null; ) {
      const page = await api.request('GET', `${org}/users?limit=2${after ? `&after=${after}` : ''}`, as);
      expect(page.status).toBe(200);
      paged.push(...page.body.items.map((u: any) => u.userId));
      after = page.body.next;
    }
    expect(paged).toEqual([o.admin, jane, joe, bob, zed]);

    // bob: found although he is in no workspace any more; joe: in both
    const bobDetail = await api.request('GET', `${org}/users/${bob}`, as);
    // when and by whom he was revoked (probe 80 F14: only the history said)
    expect(bobDetail.body.workspaces).toEqual([
      { workspaceId: o.workspaceId, name: expect.any(String), status: 'revoked', roles: ['agent'], restrictions: {}, grants: [], joinedAt: expect.any(String), revokedAt: expect.any(String), revokedBy: o.admin },
    ]);
    expect(Date.parse(bobDetail.body.workspaces[0].revokedAt)).toBeGreaterThanOrEqual(Date.parse(bobDetail.body.workspaces[0].joinedAt));
    expect(bobDetail.body.workspacesNext).toBeNull();
    // zed, deleted: his membership reads deleted, with no roles, as the access at T says (probe 44 F7: "revoked", roles)
    const zedDetail = await api.request('GET', `${org}/users/${zed}`, as);
    expect(zedDetail.body.workspaces.map((w: any) => [w.workspaceId, w.status, w.roles, w.restrictions, w.grants])).toEqual([[billing, 'deleted', [], {}, []]]);
    expect(zedDetail.body).toMatchObject({ deleted: true, deletedAt: all.body.items[4].deletedAt, deletedBy: o.admin });
    const joeDetail = await api.request('GET', `${org}/users/${joe}`, as);
    expect(joeDetail.body.workspaces.map((w: any) => [w.workspaceId, w.status, w.roles, w.revokedAt, w.revokedBy])).toEqual(
      expect.arrayContaining([[o.workspaceId, 'active', ['manager'], null, null], [billing, 'active', ['agent'], null, null]]),
    );
    expect(joeDetail.body.workspacesNext).toBeNull();
    // joe's workspaces in pages (probe 53 F3: a user in ~7,000 workspaces was one answer): a full page with workspaces
    // left to look through names where the next starts (which may be empty); the same over TCP; `after` must name a workspace of the organization
    const joeFirst = await api.request('GET', `${org}/users/${joe}?limit=1`, as);
    expect([joeFirst.body.workspaces, joeFirst.body.workspacesNext]).toEqual([[joeDetail.body.workspaces[0]], joeDetail.body.workspaces[0].workspaceId]);
    const joeSecond = await api.request('GET', `${org}/users/${joe}?limit=1&after=${joeFirst.body.workspacesNext}`, as);
    expect([joeSecond.body.workspaces, joeSecond.body.workspacesNext]).toEqual([[joeDetail.body.workspaces[1]], null]); // billing is the last workspace
    expect((await api.request('GET', `${org}/users/${joe}?limit=1&after=${billing}`, as)).body).toMatchObject({ workspaces: [], workspacesNext: null });
    expect(await app.running.send('users.get', { apiKey: o.key, actorId: o.admin, organizationId: o.organizationId, userId: joe, limit: 1, after: o.workspaceId })).toEqual(joeSecond.body);
    // a message is JSON: its limit is a number, as the AsyncAPI document says; digits in a string are refused (probe 86 F4)
    await expect(app.running.send('users.get', { apiKey: o.key, actorId: o.admin, organizationId: o.organizationId, userId: joe, limit: '1' })).rejects.toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    await expect(app.running.send('users.list', { apiKey: o.key, actorId: o.admin, organizationId: o.organizationId, limit: '2' })).rejects.toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    // a null after is one left out, as users.get reads it (probe 88 F2: a cursor naming no user, 400)
    expect(await app.running.send('users.list', { apiKey: o.key, actorId: o.admin, organizationId: o.organizationId, after: null, limit: 2 })).toEqual(
      await app.running.send('users.list', { apiKey: o.key, actorId: o.admin, organizationId: o.organizationId, limit: 2 }),
    );
    expect((await api.request('GET', `${org}/users/${bob}?limit=5&after=${o.workspaceId}`, as)).body).toMatchObject({ userId: bob, workspaces: [], workspacesNext: null });
    for (const [query, field] of [['limit=0', 'limit'], ['limit=1001', 'limit'], ['after=nope', 'after'], ['after=a%20b', 'after']]) {
      const refused = await api.request('GET', `${org}/users/${joe}?${query}`, as);
      expect({ query, ...refused.body }).toMatchObject({ query, code: 'VALIDATION_FAILED', errors: [expect.objectContaining({ field })] });
    }
    const workspaces = await api.request('GET', `${org}/workspaces`, as);
    expect(workspaces.body.items.map((w: any) => [w.workspaceId, w.name, w.plan, w.accessModel])).toEqual([
      [o.workspaceId, expect.any(String), expect.any(String), 'levels'],
      [billing, 'Billing', 'standard', 'levels'],
    ]);
    expect(workspaces.body.next).toBeNull();
    // in pages (probe 53 F3: 7,500 workspaces were one answer, past NATS's max_payload): `limit`, then `after` = `next`
    const first = await api.request('GET', `${org}/workspaces?limit=1`, as);
    expect(first.body).toEqual({ items: [workspaces.body.items[0]], next: o.workspaceId, quota: { used: 2, limit: 1000 }, closingSince: null, closedAt: null });
    expect((await api.request('GET', `${org}/workspaces?limit=1&after=${first.body.next}`, as)).body).toEqual({ items: [workspaces.body.items[1]], next: null, quota: { used: 2, limit: 1000 }, closingSince: null, closedAt: null });
    expect(await app.running.send('workspaces.list', { apiKey: o.key, actorId: o.admin, organizationId: o.organizationId, limit: 1, after: o.workspaceId })).toEqual({ items: [workspaces.body.items[1]], next: null, quota: { used: 2, limit: 1000 }, closingSince: null, closedAt: null });
    for (const [query, field] of [['limit=0', 'limit'], ['limit=1001', 'limit'], ['after=nope', 'after'], ['after=a%20b', 'after']]) {
      const refused = await api.request('GET', `${org}/workspaces?${query}`, as);
      expect({ query, ...refused.body }).toMatchObject({ query, code: 'VALIDATION_FAILED', errors: [expect.objectContaining({ field })] });
    }

    // the same over TCP
    const msg = { apiKey: o.key, actorId: o.admin, organizationId: o.organizationId };
    expect(await app.running.send('users.list', { ...msg, limit: 200 })).toEqual(all.body);
    expect(await app.running.send('users.get', { ...msg, userId: bob })).toEqual(bobDetail.body);
    expect(await app.running.send('workspaces.list', msg)).toEqual(workspaces.body);
    // a message's null is a field left out (probe 58 F6: `"limit": null` was a 500)
    expect(await app.running.send('workspaces.list', { ...msg, limit: null, after: null })).toEqual(workspaces.body);
    expect(await app.running.send('users.get', { ...msg, userId: bob, limit: null, after: null })).toEqual(bobDetail.body);
  });

  it('rule 8: the invitations pending for a user (bound to them when their address was invited) in the workspaces they are no active member of, over HTTP and TCP, paged with their memberships (probes 82 F5, 84 F7)', async () => {
    const { api } = app.running.app;
    const o = await api.organization();
    const org = `/v1/organizations/${o.organizationId}`;
    const as = { key: o.key, actor: o.admin };
    const workspace = async (name: string) => (await api.request('POST', `${org}/workspaces`, { ...as, body: { name } })).body.workspaceId as string;
    const [second, third] = [await workspace('Second'), await workspace('Third')];
    const kim = await api.member({ ...as, workspaceId: o.workspaceId }, 'kim.pending@acme.test', { roles: ['agent'] });
    // invited in capitals: the invitation is bound to kim (rule 8); one to an address nobody holds is no one's
    const toKim = await api.request('POST', `/v1/workspaces/${second}/invitations`, { ...as, body: { email: 'KIM.pending@acme.test', roles: ['manager'] } });
    expect(toKim.status).toBe(201);
    expect((await api.request('POST', `/v1/workspaces/${second}/invitations`, { ...as, body: { email: 'nobody.pending@acme.test' } })).status).toBe(201);
    const toKimToo = await api.request('POST', `/v1/workspaces/${third}/invitations`, { ...as, body: { email: 'kim.pending@acme.test' } });
    const detail = await api.request('GET', `${org}/users/${kim}`, as);
    expect(detail.body.workspaces.map((w: { workspaceId: string }) => w.workspaceId)).toEqual([o.workspaceId]);
    expect(detail.body.invitations).toEqual([
      { workspaceId: second, name: 'Second', invitationId: toKim.body.invitationId, roles: ['manager'], restrictions: {}, grants: [], invitedAt: expect.any(String), expiresAt: toKim.body.expiresAt, expired: false, invitedBy: o.admin },
      expect.objectContaining({ workspaceId: third, invitationId: toKimToo.body.invitationId, roles: ['agent'] }),
    ]);
    expect(await app.running.send('users.get', { apiKey: o.key, actorId: o.admin, organizationId: o.organizationId, userId: kim })).toEqual(detail.body);
    // a page of one membership looked through its workspaces only; the last page, every workspace after it
    const first = await api.request('GET', `${org}/users/${kim}?limit=1`, as);
    expect([first.body.workspacesNext, first.body.invitations]).toEqual([o.workspaceId, []]);
    const rest = await api.request('GET', `${org}/users/${kim}?limit=1&after=${o.workspaceId}`, as);
    expect([rest.body.workspacesNext, rest.body.invitations.map((i: { invitationId: string }) => i.invitationId)]).toEqual([null, [toKim.body.invitationId, toKimToo.body.invitationId]]);
    // accepted: a membership, no longer an invitation; cancelled: gone
    expect((await api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(toKim.body.inviteUrl) } })).status).toBe(200);
    expect((await api.request('DELETE', `/v1/workspaces/${third}/invitations/${toKimToo.body.invitationId}`, as)).status).toBe(200);
    const after = await api.request('GET', `${org}/users/${kim}`, as);
    expect([after.body.workspaces.map((w: { workspaceId: string }) => w.workspaceId), after.body.invitations]).toEqual([[o.workspaceId, second], []]);
    // invited to Third again, then deleted: none listed; the history says which cancel was whose (probe 85 F3)
    const again = await api.request('POST', `/v1/workspaces/${third}/invitations`, { ...as, body: { email: 'kim.pending@acme.test' } });
    const deleted = await api.request('DELETE', `${org}/users/${kim}`, as);
    expect(deleted.status).toBe(200);
    expect((await api.request('GET', `${org}/users/${kim}`, as)).body.invitations).toEqual([]);
    const cancels = await api.request('GET', `/v1/workspaces/${third}/history?change=invitation_cancelled`, { ...as, headers: { 'x-min-position': deleted.body.position } });
    expect(cancels.body.items.map((h: { invitationId: string; details: unknown }) => [h.invitationId, h.details])).toEqual([
      [toKimToo.body.invitationId, { reason: 'command' }],
      [again.body.invitationId, { reason: 'deletion' }],
    ]);
  });

  it('org admins only; bad paging is 400; an unknown user 404; another organization 404', async () => {
    const { api } = app.running.app;
    const o = await api.organization();
    const org = `/v1/organizations/${o.organizationId}`;
    const owner = await api.member({ key: o.key, actor: o.admin, workspaceId: o.workspaceId }, 'owner.org@acme.test', { roles: ['owner'] });
    for (const path of ['users', `users/${o.admin}`, 'workspaces']) expectProblem(await api.request('GET', `${org}/${path}`, { key: o.key, actor: owner }), 403, 'INSUFFICIENT_AUTHORITY');
    for (const bad of ['limit=0', 'limit=201', 'limit=x', 'after=%20', 'after=no-such-user', 'sort=name'])
      expectProblem(await api.request('GET', `${org}/users?${bad}`, { key: o.key, actor: o.admin }), 400, 'VALIDATION_FAILED');
    expectProblem(await api.request('GET', `${org}/users/no-such-user`, { key: o.key, actor: o.admin }), 404, 'USER_NOT_FOUND');
    const other = await api.organization();
    expectProblem(await api.request('GET', `${org}/users`, { key: other.key, actor: other.admin }), 404, 'ORGANIZATION_NOT_FOUND');
    for (const path of ['users', `users/${o.admin}`, 'workspaces'])
      expectProblem(await api.request('GET', `${org}/${path}`, { key: o.key, actor: o.admin, headers: { 'x-min-position': 'abc' } }), 400, 'VALIDATION_FAILED');
    // the system key lists the workspaces (the operator who changes plans: probe 39c F1), and since probe 80 F1 the users
    const workspaces = await api.request('GET', `${org}/workspaces`, { key: SYSTEM_KEY });
    expect(workspaces.body.items.map((w: any) => w.workspaceId)).toEqual([o.workspaceId]);
    expectProblem(await api.request('GET', `/v1/organizations/no-such-org/workspaces`, { key: SYSTEM_KEY }), 404, 'ORGANIZATION_NOT_FOUND');
    expect((await api.request('GET', `${org}/users`, { key: SYSTEM_KEY })).status).toBe(200);
    expectProblem(await api.request('GET', `/v1/organizations/no-such-org/users`, { key: SYSTEM_KEY }), 404, 'ORGANIZATION_NOT_FOUND');
  });
});
