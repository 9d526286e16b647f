import { SYSTEM_KEY, type TestApp, expectProblem, startTestApp, tokenOf } from './support/app';
import { mailTo, outbox } from './support/outbox';
import { ClientProxyFactory, Transport } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { parse } from 'csv-parse/sync';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.stop());

describe('the invite → accept → change access → revoke story, over HTTP, for each preset', () => {
  it.each([
    ['levels', { roles: ['agent'], restrictions: { workflows: true } }, { roles: ['manager'], restrictions: { data_export: true } }],
    ['permissions', { grants: ['reporting'] }, { grants: ['ib_publisher', 'reporting'] }],
    ['studio', { roles: ['operator'] }, { roles: ['analyst', 'operator'] }],
  ])('preset %s', async (accessModel, invited, changed) => {
    const { api } = app;
    const o = await api.organization({ accessModel, plan: 'advanced' });
    const as = { key: o.key, actor: o.admin };

    const inv = await api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { ...as, body: { email: '  Jane.Doe@Acme.TEST ', ...invited } });
    expect(inv.status).toBe(201);
    expect(inv.body).toEqual({ invitationId: expect.any(String), inviteUrl: expect.stringMatching(/^https:\/\/console\.acme\.test\/invite\?token=/), expiresAt: expect.any(String), position: expect.stringMatching(/^\d+$/), mail: 'handed_over' });
    expect(Date.parse(inv.body.expiresAt) - Date.now()).toBeGreaterThan(47.9 * 3600_000);
    expect(inv.headers.get('x-position')).toBe(inv.body.position);
    // (mail: handed to the mail relay, here the development outbox, before the answer: probe 80 F4)

    // the console can fetch the current link again while the invitation is pending
    const link = await api.request('GET', `/v1/workspaces/${o.workspaceId}/invitations/${inv.body.invitationId}/link`, as);
    expect(link.status).toBe(200);
    expect(link.body).toMatchObject({ inviteUrl: inv.body.inviteUrl, email: 'jane.doe@acme.test', expired: false });

    const again = await api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { ...as, body: { email: 'jane.doe@acme.test', ...invited } });
    expectProblem(again, 409, 'ALREADY_INVITED');
    // the invitation to resend, in a field (probe 80 F9)
    expect(again.body.invitationId).toBe(inv.body.invitationId);

    const accepted = await api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(inv.body.inviteUrl), displayName: 'Jane' } });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ userId: expect.any(String), workspaceId: o.workspaceId, organizationId: o.organizationId });
    const userId = accepted.body.userId;

    expectProblem(await api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(inv.body.inviteUrl) } }), 409, 'INVITATION_NOT_PENDING');
    expectProblem(
      await api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { ...as, body: { email: 'JANE.doe@acme.test', ...invited } }),
      409,
      'ALREADY_MEMBER',
    );

    const change = await api.request('PATCH', `/v1/workspaces/${o.workspaceId}/members/${userId}/access`, { ...as, body: changed });
    expect(change.status).toBe(200);
    expect(change.body.access).toMatchObject(changed);
    if (accessModel === 'permissions') expect(change.body.warnings[0]).toMatch(/settings/);

    const revoke = await api.request('DELETE', `/v1/workspaces/${o.workspaceId}/members/${userId}`, { ...as, body: {} });
    expect(revoke.status).toBe(200);
    expect(revoke.body).toMatchObject({ userId, contacts: { mode: 'unassigned' } });
    expectProblem(await api.request('DELETE', `/v1/workspaces/${o.workspaceId}/members/${userId}`, { ...as, body: {} }), 404, 'NOT_A_MEMBER');

    // revoking cannot be undone, but the user can be invited again (and is the same org user)
    const reinvite = await api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { ...as, body: { email: 'jane.doe@acme.test', ...invited } });
    expect(reinvite.status).toBe(201);
    const back = await api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(reinvite.body.inviteUrl) } });
    expect(back.body.userId).toBe(userId);
  });

  it('resend issues a new link: the old one stops working, the new one works', async () => {
    const { api } = app;
    const o = await api.organization();
    const as = { key: o.key, actor: o.admin };
    const inv = await api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { ...as, body: { email: 'sam@acme.test' } });
    const resent = await api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations/${inv.body.invitationId}/resend`, as);
    expect(resent.status).toBe(200);
    expect(resent.body.inviteUrl).not.toBe(inv.body.inviteUrl);
    expectProblem(await api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(inv.body.inviteUrl) } }), 410, 'INVITATION_LINK_SUPERSEDED');
    expect((await api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(resent.body.inviteUrl) } })).status).toBe(200);
  });

  it('cancel ends an invitation: its link is refused', async () => {
    const { api } = app;
    const o = await api.organization();
    const as = { key: o.key, actor: o.admin };
    const inv = await api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { ...as, body: { email: 'sam@acme.test' } });
    expect((await api.request('DELETE', `/v1/workspaces/${o.workspaceId}/invitations/${inv.body.invitationId}`, as)).status).toBe(200);
    expectProblem(await api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(inv.body.inviteUrl) } }), 409, 'INVITATION_NOT_PENDING');
    expectProblem(await api.request('GET', `/v1/workspaces/${o.workspaceId}/invitations/${inv.body.invitationId}/link`, as), 409, 'INVITATION_NOT_PENDING');
  });

  it('a forged or tampered token is refused without revealing anything', async () => {
    const { api } = app;
    const o = await api.organization();
    const inv = await api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: 'sam@acme.test' } });
    const token = tokenOf(inv.body.inviteUrl);
    const [payload, sig] = token.split('.');
    const forged = Buffer.from(Buffer.from(payload!, 'base64url').toString().replace(/:1$/, ':2')).toString('base64url');
    for (const bad of [`${forged}.${sig}`, `${payload}.${'A'.repeat(43)}`, 'garbage', ''])
      expectProblem(await api.request('POST', '/v1/invitations/accept', { body: { token: bad } }), 400, 'VALIDATION_FAILED');
  });

  it('an expired link is refused with INVITATION_EXPIRED (TTL from configuration); the list marks the invitation expired until it is resent (probe 39b F10); its link is not copied (probe 89 F5)', async () => {
    const short = await startTestApp({ ROLLCALL_INVITATION_TTL_SECONDS: '2' });
    try {
      const o = await short.api.organization();
      const ws = `/v1/workspaces/${o.workspaceId}`;
      const inv = await short.api.request('POST', `${ws}/invitations`, { key: o.key, actor: o.admin, body: { email: 'late@acme.test' } });
      // an email change asked at the same time, whose confirmation link expires with the same lifetime (probe 89 F4)
      const users = `/v1/organizations/${o.organizationId}/users`;
      expect((await short.api.request('PATCH', `${users}/${o.admin}`, { key: o.key, actor: o.admin, body: { email: 'late-new@acme.test' } })).body.emailChange).toMatchObject({ status: 'pending_confirmation' });
      const confirmation = new URL((await mailTo(short, 'late-new@acme.test', 'email-confirmation')).confirmUrl!).searchParams.get('token')!;
      expect((await short.api.request('GET', `${users}/${o.admin}`, { key: o.key, actor: o.admin })).body.pendingEmail).toMatchObject({ email: 'late-new@acme.test', expired: false });
      const pending = async (position: string) =>
        (await short.api.request('GET', `${ws}/members?status=pending`, { key: o.key, actor: o.admin, headers: { 'x-min-position': position } })).body.items.find((i: any) => i.invitationId === inv.body.invitationId);
      expect(await pending(inv.body.position)).toMatchObject({ status: 'pending', expired: false, invitedBy: o.admin });
      await new Promise((r) => setTimeout(r, 2100));
      expectProblem(await short.api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(inv.body.inviteUrl) } }), 410, 'INVITATION_EXPIRED');
      expect(await pending(inv.body.position)).toMatchObject({ status: 'pending', expired: true });
      // the email change's link too: said expired where the change is shown, and its refusal names the lifetime
      const late = await short.api.request('POST', '/v1/users/email-confirmations', { body: { token: confirmation } });
      expectProblem(late, 410, 'EMAIL_CHANGE_EXPIRED');
      expect(late.body.detail).toBe('This confirmation link has expired (links are valid for 2 seconds); request the email change again.');
      expect((await short.api.request('GET', `${users}/${o.admin}`, { key: o.key, actor: o.admin })).body.pendingEmail).toMatchObject({ email: 'late-new@acme.test', expired: true });
      const csv = parse(await (await fetch(`${short.url}${users}/export.csv`, { headers: { authorization: `Bearer ${o.key}`, 'x-actor-id': o.admin } })).text(), { columns: true }) as Record<string, string>[];
      expect(csv.map((r) => [r.pending_email, r.pending_email_expired])).toEqual([['late-new@acme.test', 'true']]);
      // its link is not copied any more (a dead link handed out, and recorded as handed out: probe 89 F5), nor recorded
      const link = `${ws}/invitations/${inv.body.invitationId}/link`;
      const refused = await short.api.request('GET', link, { key: o.key, actor: o.admin });
      expectProblem(refused, 410, 'INVITATION_EXPIRED');
      expect(refused.body.detail).toBe('This invitation link has expired (links are valid for 2 seconds); ask for it to be resent.');
      const history = await short.api.request('GET', `${ws}/history?invitationId=${inv.body.invitationId}`, { key: o.key, actor: o.admin });
      expect(history.body.items.map((e: { change: string }) => e.change)).toEqual(['invited']);
      const resent = await short.api.request('POST', `${ws}/invitations/${inv.body.invitationId}/resend`, { key: o.key, actor: o.admin });
      expect(await pending(resent.body.position)).toMatchObject({ status: 'pending', expired: false });
      expect((await short.api.request('GET', link, { key: o.key, actor: o.admin })).body).toMatchObject({ expired: false, inviteUrl: resent.body.inviteUrl });
    } finally {
      await short.stop();
    }
  });

  it('revoking with reassignment records who receives the contacts', async () => {
    const { api } = app;
    const o = await api.organization();
    const as = { key: o.key, actor: o.admin, workspaceId: o.workspaceId };
    const jane = await api.member(as, 'jane@acme.test');
    const joe = await api.member(as, 'joe@acme.test');
    const revoke = await api.request('DELETE', `/v1/workspaces/${o.workspaceId}/members/${jane}`, { ...as, body: { reassignContactsTo: joe } });
    expect(revoke.body.contacts).toEqual({ mode: 'reassigned', toUserId: joe });
    const bad = await api.request('DELETE', `/v1/workspaces/${o.workspaceId}/members/${joe}`, { ...as, body: { reassignContactsTo: joe } });
    expectProblem(bad, 422, 'INVALID_REASSIGNMENT');
  });

  it('probe 83: a user\'s email may be asked to change 5 times an hour (each mails a confirmation link); the 6th is 429 with Retry-After, nothing written or mailed; a retry of a change made is answered', async () => {
    const { api } = app;
    const o = await api.organization();
    const jane = await api.member({ key: o.key, actor: o.admin, workspaceId: o.workspaceId }, 'jane.limit@acme.test');
    const ask = (n: number, key = `limit-${n}`) =>
      api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${jane}`, { key: o.key, actor: jane, body: { email: `guess${n}.limit@acme.test` }, headers: { 'idempotency-key': key } });
    for (let n = 1; n <= 5; n++) expect((await ask(n)).body.emailChange).toMatchObject({ status: 'pending_confirmation' });
    const head = (await api.request('GET', '/v1/events?limit=1', { key: SYSTEM_KEY })).body.head;
    const refused = await ask(6);
    expectProblem(refused, 429, 'TOO_MANY_EMAIL_CHANGES');
    // Retry-After: when the next may be asked, an hour after the first (probe 92 F2)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(3500);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(3600);
    expect(refused.body.detail).toMatch(/asked to change 5 times in the last hour, each sending a confirmation link to the address asked for, and 5 an hour is the limit: the next can be asked at \d{4}-\S+ at the latest/);
    expect((await api.request('GET', '/v1/events?limit=1', { key: SYSTEM_KEY })).body.head).toBe(head);
    expect(outbox(app).filter((m) => m.to.startsWith('guess')).map((m) => m.to)).toEqual([1, 2, 3, 4, 5].map((n) => `guess${n}.limit@acme.test`));
    // the same request again (its Idempotency-Key) is its first answer, not a sixth change
    // (with what became of its mail, in the first answer's order: probe 106 F5)
    const kept = (await ask(5)).body.emailChange;
    expect([kept, Object.keys(kept)]).toEqual([{ status: 'pending_confirmation', email: 'guess5.limit@acme.test', expiresAt: expect.any(String), mail: 'handed_over' }, ['status', 'email', 'expiresAt', 'mail']]);
    // also when its answer is not kept yet (another replica still mailing it: probe 100 F1): found by its key in the log
    const answers = new DatabaseSync(join(app.dataDir, 'api.sqlite'));
    try {
      // (the kept answer of the fifth change: the organization's latest pending one; answers hold no address)
      const fifth = "SELECT rowid FROM idempotency WHERE key LIKE ? AND body LIKE '%pending_confirmation%' ORDER BY created_at DESC LIMIT 1";
      expect(answers.prepare(`DELETE FROM idempotency WHERE rowid = (${fifth})`).run(`org:${o.organizationId}:%`).changes).toBe(1);
    } finally {
      answers.close();
    }
    const again = await ask(5);
    expect([again.status, again.headers.get('idempotency-replayed'), again.body.emailChange?.email]).toEqual([200, 'true', 'guess5.limit@acme.test']);
    // its mail recorded by the first attempt: not mailed again, and said (ADR 0018 "Session 64")
    expect(again.body.emailChange.mail).toBe('handed_over');
    expect(outbox(app).filter((m) => m.to.startsWith('guess')).map((m) => m.to)).toEqual([1, 2, 3, 4, 5].map((n) => `guess${n}.limit@acme.test`));
    // withdrawing the pending change (her own address) mails nothing and is not refused (probe 92 F1); nor is anyone
    // without the authority told of the limit: their refusal is theirs (probe 92 F3)
    expect((await api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${jane}`, { key: o.key, actor: jane, body: { email: 'jane.limit@acme.test' } })).body.emailChange).toMatchObject({ status: 'withdrawn' });
    const joe = await api.member({ key: o.key, actor: o.admin, workspaceId: o.workspaceId }, 'joe.limit@acme.test');
    expectProblem(await api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${jane}`, { key: o.key, actor: joe, body: { email: 'guess7.limit@acme.test' } }), 403, 'INSUFFICIENT_AUTHORITY');
    // an org admin asking for her is counted with her own requests
    expectProblem(await api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${jane}`, { key: o.key, actor: o.admin, body: { email: 'guess8.limit@acme.test' } }), 429, 'TOO_MANY_EMAIL_CHANGES');
    // another user of the organization is counted apart
    expect((await api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${o.admin}`, { key: o.key, actor: o.admin, body: { email: 'admin-new.limit@acme.test' } })).status).toBe(200);
    // counted where every replica of the data dir reads them, not in this process's memory (ADR 0038, session 61)
    const db = new DatabaseSync(join(app.dataDir, 'api.sqlite'), { readOnly: true });
    try {
      expect(db.prepare('SELECT count(*) AS n FROM email_change_mails WHERE organization_id = ? AND user_id = ?').get(o.organizationId, jane)).toEqual({ n: 5 });
    } finally {
      db.close();
    }
  });

  it('profile changes and user deletion at the organization level', async () => {
    const { api } = app;
    const o = await api.organization();
    const as = { key: o.key, actor: o.admin, workspaceId: o.workspaceId };
    const jane = await api.member(as, 'jane@acme.test');
    const own = await api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${jane}`, { key: o.key, actor: jane, body: { displayName: 'Jane D.', alias: 'JD' } });
    expect(own.status).toBe(200);
    expect(own.body.changed.sort()).toEqual(['alias', 'displayName']);
    const joe = await api.member(as, 'joe@acme.test');
    expectProblem(await api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${jane}`, { key: o.key, actor: joe, body: { alias: 'x' } }), 403, 'INSUFFICIENT_AUTHORITY');
    // another user's address: an org admin is told at once; jane herself only when the link mailed there is opened (probe 83 F1)
    expectProblem(await api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${jane}`, { key: o.key, actor: o.admin, body: { email: 'joe@acme.test' } }), 409, 'EMAIL_TAKEN');
    const asked = await api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${jane}`, { key: o.key, actor: jane, body: { email: 'joe@acme.test' } });
    expect(asked.body.emailChange).toMatchObject({ status: 'pending_confirmation' });
    // jane reads her own entry, the change awaiting confirmation in it; not joe's, nor the list (probe 97 F4)
    const users0 = `/v1/organizations/${o.organizationId}/users`;
    // — without whether another user holds the address (joe does): that is the org admins' to know (probe 98 F1)
    expect((await api.request('GET', `${users0}/${jane}`, { key: o.key, actor: jane })).body).toMatchObject({ userId: jane, pendingEmail: { email: 'joe@acme.test', taken: null } });
    expectProblem(await api.request('GET', `${users0}/${joe}`, { key: o.key, actor: jane }), 403, 'INSUFFICIENT_AUTHORITY');
    expectProblem(await api.request('GET', users0, { key: o.key, actor: jane }), 403, 'INSUFFICIENT_AUTHORITY');
    // a user revoked from every workspace reads nothing, their own entry included (probe 98 F3)
    const gone = await api.member(as, 'gone.self@acme.test');
    expect((await api.request('GET', `${users0}/${gone}`, { key: o.key, actor: gone })).status).toBe(200);
    expect((await api.request('DELETE', `/v1/workspaces/${o.workspaceId}/members/${gone}`, as)).status).toBe(200);
    const refused = await api.request('GET', `${users0}/${gone}`, { key: o.key, actor: gone });
    expectProblem(refused, 403, 'INSUFFICIENT_AUTHORITY');
    expect(refused.body.detail).toBe('You are not an active member of any workspace of this organization: your own entry is read while you are one, or by an org admin.');
    // an org admin reads that change as taken, in her detail and the list (probe 94 F4: read as pending until it expired)
    const users = `/v1/organizations/${o.organizationId}/users`;
    expect((await api.request('GET', `${users}/${jane}`, { key: o.key, actor: o.admin })).body.pendingEmail).toMatchObject({ email: 'joe@acme.test', expired: false, taken: true });
    const listed = (await api.request('GET', `${users}?limit=100`, { key: o.key, actor: o.admin })).body.items as { userId: string; pendingEmail: { taken: boolean } | null }[];
    expect(listed.find((u) => u.userId === jane)!.pendingEmail).toMatchObject({ taken: true });
    expect((await api.request('PATCH', `${users}/${o.admin}`, { key: o.key, actor: o.admin, body: { email: 'free.admin@acme.test' } })).status).toBe(200);
    expect((await api.request('GET', `${users}/${o.admin}`, { key: o.key, actor: o.admin })).body.pendingEmail).toMatchObject({ taken: false });
    const link = new URL((await mailTo(app, 'joe@acme.test', 'email-confirmation')).confirmUrl!);
    expectProblem(await api.request('POST', '/v1/users/email-confirmations', { body: { token: link.searchParams.get('token')! } }), 409, 'EMAIL_TAKEN');
    const del = await api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${jane}`, { key: o.key, actor: o.admin });
    expect(del.status).toBe(200);
    expect(del.body.workspaceIds).toEqual([o.workspaceId]);
    expectProblem(await api.request('PATCH', `/v1/workspaces/${o.workspaceId}/members/${jane}/access`, { ...as, body: { roles: ['manager'] } }), 404, 'NOT_A_MEMBER');
    // her detail says what became of her, as the commands do (probe 97 F3: "is not a member" only)
    const detail = await api.request('GET', `/v1/workspaces/${o.workspaceId}/members/${jane}`, { key: o.key, actor: o.admin, headers: { 'x-min-position': del.headers.get('x-position')! } });
    expectProblem(detail, 404, 'NOT_A_MEMBER');
    expect(detail.body.detail).toMatch(/^This user was deleted from the organization on \d{4}-/);
    expectProblem(await api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${o.admin}`, { key: o.key, actor: o.admin }), 403, 'CANNOT_MODIFY_SELF');
  });

  it('a user revoked from every workspace no longer changes their profile, nor asks for an email change; an org admin does it for them (probe 37 F1)', async () => {
    const { api } = app;
    const o = await api.organization();
    const as = { key: o.key, actor: o.admin, workspaceId: o.workspaceId };
    const second = await api.request('POST', `/v1/organizations/${o.organizationId}/workspaces`, { key: o.key, actor: o.admin, body: { name: 'Sales' } });
    const jane = await api.member(as, 'jane.gone@acme.test');
    await api.member({ ...as, workspaceId: second.body.workspaceId }, 'jane.gone@acme.test');
    const profile = `/v1/organizations/${o.organizationId}/users/${jane}`;
    expect((await api.request('DELETE', `/v1/workspaces/${o.workspaceId}/members/${jane}`, { ...as, body: {} })).status).toBe(200);
    // still a member of Sales: her profile is hers
    expect((await api.request('PATCH', profile, { key: o.key, actor: jane, body: { displayName: 'Jane G.' } })).status).toBe(200);
    expect((await api.request('DELETE', `/v1/workspaces/${second.body.workspaceId}/members/${jane}`, { ...as, body: {} })).status).toBe(200);
    const refused = await api.request('PATCH', profile, { key: o.key, actor: jane, body: { displayName: 'Still Jane', avatarUrl: 'https://evil.test/a.png' } });
    expectProblem(refused, 403, 'INSUFFICIENT_AUTHORITY');
    expect(refused.body.detail).toMatch(/not an active member of any workspace of this organization/);
    expectProblem(await api.request('PATCH', profile, { key: o.key, actor: jane, body: { email: 'jane.next@acme.test' } }), 403, 'INSUFFICIENT_AUTHORITY');
    expect((await api.request('PATCH', profile, { key: o.key, actor: o.admin, body: { displayName: 'Jane (left)' } })).body.changed).toEqual(['displayName']);
  });
  it('rule 7 (probe 65 F1): the invitation mail names the organization, the workspace, who sent the link and the access; the confirmation mail names the organization', async () => {
    const { api } = app;
    const o = await api.organization();
    const inv = await api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: 'nina.mail@acme.test', roles: ['manager'] } });
    expect(inv.status).toBe(201);
    const mail = (await mailTo(app, 'nina.mail@acme.test', 'invitation')) as unknown as { subject: string; text: string; organizationName: string; inviterName: string };
    expect(mail).toMatchObject({ organizationName: 'Acme', inviterName: 'Ada Admin', subject: '\u2068Acme\u2069: you are invited to \u2068Support\u2069' });
    expect(mail.text).toMatch(/^\u2068Ada Admin\u2069 invited you to join \u2068Support\u2069, a workspace of \u2068Acme\u2069, as manager\.\n\nAccept the invitation: \S+\n\nThe link is valid until \d{1,2} \w+ \d{4} at \d\d:\d\d UTC\./);
    expect(mail.text).toContain(inv.body.inviteUrl);
    const nina = (await api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(inv.body.inviteUrl), displayName: 'Nina' } })).body.userId as string;
    expect((await api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${nina}`, { key: o.key, actor: o.admin, body: { email: 'nina.next@acme.test' } })).status).toBe(200);
    const confirmation = (await mailTo(app, 'nina.next@acme.test', 'email-confirmation')) as unknown as { subject: string; text: string };
    expect(confirmation.subject).toBe('\u2068Acme\u2069: confirm your new email address');
    expect(confirmation.text).toMatch(/^Someone asked to make this the email address of your account in \u2068Acme\u2069\.\n/);
  });
});

describe('rules 7–8 (probe 65 F10): the invite page previews what a link offers, with the token alone, and changes nothing', () => {
  const preview = (token: string) => app.api.request('POST', '/v1/invitations/preview', { body: { token } });

  it('names the organization, the workspace, the access and the masked address; says whether accepting would be taken, and if not the code and sentence it would answer; whether to ask for a name', async () => {
    const { api } = app;
    const o = await api.organization();
    const inv = await api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: 'preview.person@acme.test', roles: ['manager'] } });
    const token = tokenOf(inv.body.inviteUrl);
    const first = await preview(token);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      organization: { id: o.organizationId, name: 'Acme' },
      workspace: { id: o.workspaceId, name: 'Support' },
      access: { roles: ['manager'], grants: [], restrictions: {}, inWords: 'as manager' },
      address: 'p***@acme.test',
      expiresAt: inv.body.expiresAt,
      acceptable: true,
      takesDisplayName: true,
    });
    // a read: the link still works, once
    expect((await preview(token)).body.acceptable).toBe(true);
    // replaced by a resend: the old link says so, the new one works
    const resent = await api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations/${inv.body.invitationId}/resend`, { key: o.key, actor: o.admin });
    const old = await preview(token);
    expect(old.body).toMatchObject({ acceptable: false, refusal: { status: 410, code: 'INVITATION_LINK_SUPERSEDED', detail: 'This link was replaced by a newer one; use the link from the latest email.' } });
    // a replaced link has no expiry left (probe 66 F6)
    expect(old.body.expiresAt).toBeNull();
    const accepted = await api.request('POST', '/v1/invitations/accept', { body: { token } });
    expect({ status: accepted.status, code: accepted.body.code, detail: accepted.body.detail }).toEqual({ status: old.body.refusal.status, code: old.body.refusal.code, detail: old.body.refusal.detail });
    const newToken = tokenOf(resent.body.inviteUrl);
    expect((await preview(newToken)).body.acceptable).toBe(true);
    expect((await api.request('POST', '/v1/invitations/accept', { body: { token: newToken, displayName: 'Pat' } })).status).toBe(200);
    // accepted: the link is used up; the person is a user now, so a second workspace's invitation takes no name
    expect((await preview(newToken)).body).toMatchObject({ acceptable: false, refusal: { code: 'INVITATION_NOT_PENDING' } });
    const sales = await api.request('POST', `/v1/organizations/${o.organizationId}/workspaces`, { key: o.key, actor: o.admin, body: { name: 'Sales' } });
    const second = await api.request('POST', `/v1/workspaces/${sales.body.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: 'preview.person@acme.test' } });
    expect((await preview(tokenOf(second.body.inviteUrl))).body).toMatchObject({ workspace: { name: 'Sales' }, acceptable: true, takesDisplayName: false });
    // cancelled
    const cancelledInv = await api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: 'preview.gone@acme.test' } });
    await api.request('DELETE', `/v1/workspaces/${o.workspaceId}/invitations/${cancelledInv.body.invitationId}`, { key: o.key, actor: o.admin });
    expect((await preview(tokenOf(cancelledInv.body.inviteUrl))).body).toMatchObject({ acceptable: false, refusal: { code: 'INVITATION_NOT_PENDING' } });
  });

  it('a token that is not a link\'s is a 400 naming the token, as the acceptance answers; over TCP the same read (invitations.preview)', async () => {
    expectProblem(await preview('not-a-token'), 400, 'VALIDATION_FAILED');
    const o = await app.api.organization();
    const inv = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: 'preview.tcp@acme.test' } });
    const client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port: app.tcpPort } });
    await client.connect();
    try {
      expect(await lastValueFrom(client.send('invitations.preview', { token: tokenOf(inv.body.inviteUrl) }))).toEqual((await preview(tokenOf(inv.body.inviteUrl))).body);
      // the envelope's optional fields every message may carry (probe 66 F10: refused as not allowed)
      expect(await lastValueFrom(client.send('invitations.preview', { token: tokenOf(inv.body.inviteUrl), correlationId: 'corr-1', idempotencyKey: 'k-1' }))).toMatchObject({ acceptable: true });
      await expect(lastValueFrom(client.send('invitations.preview', { token: 'not-a-token' }))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    } finally {
      client.close();
    }
  });
});
