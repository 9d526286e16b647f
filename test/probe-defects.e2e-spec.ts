// The black-box probe's defects (issue "Security and integrity defects"), each reproduced over real HTTP.
// Items 2 (races) and the lost answer across processes without a restart are in apps/api/src/users/deletion-races.int-spec.ts.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { parseOrgKey } from '../apps/api/src/shared/secrets';
import { SYSTEM_KEY, type TestApp, expectProblem, startTestApp, tokenOf } from './support/app';
import { mailTo, outbox } from './support/outbox';
import { keyTableOf } from '../libs/event-store/src/testing/stored-keys';

// one app, with the default settings, for items 1, 4, 6 and 9 (it was started twice, once per describe): each test makes
// its own organizations, addresses and idempotency keys and reads only those (item 6 scans the data dir for its own
// key's secret: other tests' data does not hide it); item 3 starts and restarts apps of its own
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.stop());

describe('item 1: an invitation cannot be taken over by changing one\'s email', () => {

  it('an agent cannot claim the address of a pending owner invitation; the real invitee becomes owner, not the agent', async () => {
    const o = await app.api.organization();
    const as = { key: o.key, actor: o.admin, workspaceId: o.workspaceId };
    const agent = await app.api.member(as, 'agent@acme.test', { roles: ['agent'] });
    const other = await app.api.request('POST', `/v1/organizations/${o.organizationId}/workspaces`, { key: o.key, actor: o.admin, body: { name: 'B' } });
    const invite = await app.api.request('POST', `/v1/workspaces/${other.body.workspaceId}/invitations`, {
      key: o.key,
      actor: o.admin,
      body: { email: 'boss@partner.test', roles: ['owner'] },
    });
    expect(invite.status).toBe(201);

    // the agent is not told that the address is invited (probe 83 F1: an oracle of other workspaces' invitations): the
    // link goes to the address, and its confirmation is refused, naming no invitation
    const claim = await app.api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${agent}`, { key: o.key, actor: agent, body: { email: 'boss@partner.test' } });
    expect([claim.status, claim.body.emailChange?.status]).toEqual([200, 'pending_confirmation']);
    const link = await mailTo(app, 'boss@partner.test', 'email-confirmation');
    const confirmed = await app.api.request('POST', '/v1/users/email-confirmations', { body: { token: new URL(link.confirmUrl!).searchParams.get('token')! } });
    expectProblem(confirmed, 409, 'EMAIL_PENDING_INVITATION');
    expect([confirmed.body.invitationId, confirmed.body.workspaceId]).toEqual([undefined, undefined]);
    // an org admin is told at once, and where, to cancel it (probe 80 F2)
    const asAdmin = await app.api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${agent}`, { key: o.key, actor: o.admin, body: { email: 'boss@partner.test' } });
    expectProblem(asAdmin, 409, 'EMAIL_PENDING_INVITATION');
    expect([asAdmin.body.invitationId, asAdmin.body.workspaceId]).toEqual([invite.body.invitationId, other.body.workspaceId]);

    const accepted = await app.api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(invite.body.inviteUrl) } });
    expect(accepted.status).toBe(200);
    expect(accepted.body.userId).not.toBe(agent);
    const agentThere = await app.api.request('GET', `/v1/workspaces/${other.body.workspaceId}/members/${agent}`, { key: o.key, actor: o.admin });
    expect(agentThere.status).toBe(404);
  });

  it('an email change takes effect only once the link mailed to the new address is opened, once', async () => {
    const o = await app.api.organization();
    const as = { key: o.key, actor: o.admin, workspaceId: o.workspaceId };
    const jane = await app.api.member(as, 'jane@acme.test');
    const asked = await app.api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${jane}`, { key: o.key, actor: jane, body: { email: 'jane@new.test' } });
    expect(asked.status).toBe(200);
    expect(asked.body.emailChange).toMatchObject({ status: 'pending_confirmation', email: 'jane@new.test' });

    const before = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members/${jane}`, { key: o.key, actor: o.admin, headers: { 'x-min-position': asked.body.position } });
    expect(before.body.email).toBe('jane@acme.test');

    const mail = await mailTo(app, 'jane@new.test', 'email-confirmation');
    const token = new URL(mail.confirmUrl!).searchParams.get('token')!;
    expectProblem(await app.api.request('POST', '/v1/users/email-confirmations', { body: { token: `${token}x` } }), 400, 'VALIDATION_FAILED');
    const confirmed = await app.api.request('POST', '/v1/users/email-confirmations', { body: { token } });
    expect(confirmed.status).toBe(200);
    const after = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members/${jane}`, { key: o.key, actor: o.admin, headers: { 'x-min-position': confirmed.body.position } });
    expect(after.body.email).toBe('jane@new.test');
    expectProblem(await app.api.request('POST', '/v1/users/email-confirmations', { body: { token } }), 410, 'EMAIL_CHANGE_NOT_PENDING');
  });

  it('probe 6: asking again for the pending address mails a new link; asking for the address the user has withdraws the change, whose link then does nothing', async () => {
    const o = await app.api.organization();
    const jane = await app.api.member({ key: o.key, actor: o.admin, workspaceId: o.workspaceId }, 'jane@acme.test');
    const patch = (email: string) => app.api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${jane}`, { key: o.key, actor: jane, body: { email } });
    await patch('jane@new.test');
    const first = new URL((await mailTo(app, 'jane@new.test', 'email-confirmation')).confirmUrl!).searchParams.get('token')!;
    const again = await patch('jane@new.test');
    expect(again.body.emailChange).toMatchObject({ status: 'pending_confirmation', email: 'jane@new.test' });
    expectProblem(await app.api.request('POST', '/v1/users/email-confirmations', { body: { token: first } }), 410, 'EMAIL_CHANGE_NOT_PENDING');
    const withdrawn = await patch('Jane@Acme.test');
    expect(withdrawn.status).toBe(200);
    expect(withdrawn.body.emailChange).toEqual({ status: 'withdrawn', email: 'jane@acme.test' });
    // the link of the request made again: no longer works either, and the address stays
    // the second mail is sent in the background: the latest mail, once it is not the first
    let second = first;
    for (let i = 0; i < 100 && second === first; i++) {
      second = new URL((await mailTo(app, 'jane@new.test', 'email-confirmation')).confirmUrl!).searchParams.get('token')!;
      if (second === first) await new Promise((r) => setTimeout(r, 20));
    }
    expect(second).not.toBe(first);
    expectProblem(await app.api.request('POST', '/v1/users/email-confirmations', { body: { token: second } }), 410, 'EMAIL_CHANGE_NOT_PENDING');
    const member = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members/${jane}`, { key: o.key, actor: o.admin, headers: { 'x-min-position': withdrawn.body.position } });
    expect(member.body.email).toBe('jane@acme.test');
  });

  it('probe 26 (rule 6, rule 11): a user with a pending invitation to a workspace at their former address is not invited there again at their new one, so no second invitation outlives their joining and lets them back in after a revoke', async () => {
    const o = await app.api.organization();
    const u = await app.api.member({ key: o.key, actor: o.admin, workspaceId: o.workspaceId }, 'u-old@acme.test');
    const other = (await app.api.request('POST', `/v1/organizations/${o.organizationId}/workspaces`, { key: o.key, actor: o.admin, body: { name: 'Two' } })).body.workspaceId as string;
    const invite = (email: string, roles: string[]) => app.api.request('POST', `/v1/workspaces/${other}/invitations`, { key: o.key, actor: o.admin, body: { email, roles } });
    const asManager = await invite('u-old@acme.test', ['manager']);
    expect(asManager.status).toBe(201);
    await app.api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${u}`, { key: o.key, actor: u, body: { email: 'u-new@acme.test' } });
    const token = new URL((await mailTo(app, 'u-new@acme.test', 'email-confirmation')).confirmUrl!).searchParams.get('token')!;
    expect((await app.api.request('POST', '/v1/users/email-confirmations', { body: { token } })).status).toBe(200);
    // before: 201, the user joined by it as an agent, and the manager invitation stayed pending; revoked, they
    // accepted it and were a manager again
    expectProblem(await invite('u-new@acme.test', ['agent']), 409, 'ALREADY_INVITED');
    const joined = await app.api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(asManager.body.inviteUrl) } });
    expect(joined.body).toMatchObject({ userId: u });
    const list = await app.api.request('GET', `/v1/workspaces/${other}/members`, { key: o.key, actor: o.admin, headers: { 'x-min-position': joined.body.position } });
    expect(list.body.items.filter((m: { status: string }) => m.status === 'pending')).toEqual([]);
  });
});

describe('item 3: a retry after a lost answer answers the first answer, exactly once, across a restart', () => {
  it('create organization, create workspace, invite and accept: the retry with the same key finds its events', async () => {
    const first = await startTestApp({});
    const dataDir = first.dataDir;
    const keyed = (key: string) => ({ 'idempotency-key': key });
    const org = await first.api.request('POST', '/v1/organizations', {
      key: SYSTEM_KEY,
      headers: keyed('org-1'),
      body: { name: 'Acme', admin: { email: 'ada@acme.test', displayName: 'Ada' } },
    });
    const { apiKey: key, adminUserId: admin, organizationId } = org.body;
    const ws = await first.api.request('POST', `/v1/organizations/${organizationId}/workspaces`, { key, actor: admin, headers: keyed('ws-1'), body: { name: 'S' } });
    const inv = await first.api.request('POST', `/v1/workspaces/${ws.body.workspaceId}/invitations`, { key, actor: admin, headers: keyed('inv-1'), body: { email: 'jane@acme.test' } });
    const acc = await first.api.request('POST', '/v1/invitations/accept', { headers: keyed('acc-1'), body: { token: tokenOf(inv.body.inviteUrl) } });
    expect([org.status, ws.status, inv.status, acc.status]).toEqual([201, 201, 201, 200]);
    await first.close();

    // the answers were never stored (the process died between the append and storing them)
    const db = new DatabaseSync(join(dataDir, 'api.sqlite'));
    db.exec('DELETE FROM idempotency');
    db.close();
    const second = await startTestApp({ ROLLCALL_DATA_DIR: dataDir });
    try {
      // read once the projector has the acceptance (the first process may have stopped before projecting it)
      const head = async () =>
        (await second.api.request('GET', `/v1/workspaces/${ws.body.workspaceId}/history`, { key, actor: admin, headers: { 'x-min-position': acc.body.position } })).body;
      const before = JSON.stringify(await head());
      expect(JSON.parse(before).items.map((i: { change: string }) => i.change)).toEqual(['joined', 'org_admin_granted', 'invited', 'joined']);
      const org2 = await second.api.request('POST', '/v1/organizations', {
        key: SYSTEM_KEY,
        headers: keyed('org-1'),
        body: { name: 'Acme', admin: { email: 'ada@acme.test', displayName: 'Ada' } },
      });
      expect(org2.status).toBe(201);
      expect(org2.body).toEqual(org.body);
      const ws2 = await second.api.request('POST', `/v1/organizations/${organizationId}/workspaces`, { key, actor: admin, headers: keyed('ws-1'), body: { name: 'S' } });
      expect(ws2.body).toEqual(ws.body);
      const inv2 = await second.api.request('POST', `/v1/workspaces/${ws.body.workspaceId}/invitations`, { key, actor: admin, headers: keyed('inv-1'), body: { email: 'jane@acme.test' } });
      expect([inv2.status, inv2.body.invitationId, inv2.body.position]).toEqual([201, inv.body.invitationId, inv.body.position]);
      const acc2 = await second.api.request('POST', '/v1/invitations/accept', { headers: keyed('acc-1'), body: { token: tokenOf(inv.body.inviteUrl) } });
      expect([acc2.status, acc2.body]).toEqual([200, acc.body]);
      // the same key with another request is still refused, although its stored answer is gone
      const other = await second.api.request('POST', `/v1/workspaces/${ws.body.workspaceId}/invitations`, { key, actor: admin, headers: keyed('inv-1'), body: { email: 'joe@acme.test' } });
      expectProblem(other, 422, 'IDEMPOTENCY_KEY_REUSED');
      // nothing was appended by the retries
      expect(JSON.stringify(await head())).toBe(before);
      const list = await second.api.request('GET', `/v1/workspaces/${ws.body.workspaceId}/members`, { key, actor: admin });
      expect(list.body.items.filter((m: { email: string }) => m.email === 'jane@acme.test')).toHaveLength(1);
    } finally {
      await second.stop();
    }
  });
});

describe('items 4, 6 and 9: erased data is not served from memory, secrets do not rest on disk, idempotency keys are scoped', () => {

  it('item 4: after deleting a user, copy link and resend of their pending invitations no longer reach their address', async () => {
    const o = await app.api.organization();
    const as = { key: o.key, actor: o.admin, workspaceId: o.workspaceId };
    const jane = await app.api.member(as, 'erase.me@acme.test');
    const other = await app.api.request('POST', `/v1/organizations/${o.organizationId}/workspaces`, { key: o.key, actor: o.admin, body: { name: 'B' } });
    const pending = await app.api.request('POST', `/v1/workspaces/${other.body.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: 'erase.me@acme.test' } });
    const link = await app.api.request('GET', `/v1/workspaces/${other.body.workspaceId}/invitations/${pending.body.invitationId}/link`, { key: o.key, actor: o.admin });
    expect(link.body.email).toBe('erase.me@acme.test');

    expect((await app.api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${jane}`, { key: o.key, actor: o.admin })).status).toBe(200);
    const mailsBefore = outbox(app).filter((m) => m.to === 'erase.me@acme.test').length;
    const linkAfter = await app.api.request('GET', `/v1/workspaces/${other.body.workspaceId}/invitations/${pending.body.invitationId}/link`, { key: o.key, actor: o.admin });
    expectProblem(linkAfter, 409, 'INVITATION_NOT_PENDING');
    expect(JSON.stringify(linkAfter.body)).not.toContain('erase.me');
    expectProblem(await app.api.request('POST', `/v1/workspaces/${other.body.workspaceId}/invitations/${pending.body.invitationId}/resend`, { key: o.key, actor: o.admin }), 409, 'INVITATION_NOT_PENDING');
    await new Promise((r) => setTimeout(r, 100));
    expect(outbox(app).filter((m) => m.to === 'erase.me@acme.test')).toHaveLength(mailsBefore);
    const accept = await app.api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(pending.body.inviteUrl) } });
    expect(accept.status).toBeGreaterThanOrEqual(400);
    expect(accept.status).toBeLessThan(500);
  });

  it('item 4, across organizations (probe 23c, rule 12): deleting a user in one organization leaves another organization\'s pending invitation to the same address whole: its link, its resend (mailed), the list; replicas and restarts: erasure-across-organizations.e2e', async () => {
    const a = await app.api.organization();
    const b = await app.api.organization();
    const asA = { key: a.key, actor: a.admin, workspaceId: a.workspaceId };
    const jane = await app.api.member(asA, 'erase.across@acme.test');
    const pending = await app.api.request('POST', `/v1/workspaces/${b.workspaceId}/invitations`, { key: b.key, actor: b.admin, body: { email: 'erase.across@acme.test' } });
    expect(pending.status).toBe(201);
    const linkOf = () => app.api.request('GET', `/v1/workspaces/${b.workspaceId}/invitations/${pending.body.invitationId}/link`, { key: b.key, actor: b.admin });
    expect((await linkOf()).body.email).toBe('erase.across@acme.test');

    const deleted = await app.api.request('DELETE', `/v1/organizations/${a.organizationId}/users/${jane}`, { key: a.key, actor: a.admin });
    expect(deleted.status).toBe(200);
    const mailsBefore = outbox(app).filter((m) => m.to === 'erase.across@acme.test').length;
    expect(await linkOf()).toMatchObject({ status: 200, body: { email: 'erase.across@acme.test' } });
    const resent = await app.api.request('POST', `/v1/workspaces/${b.workspaceId}/invitations/${pending.body.invitationId}/resend`, { key: b.key, actor: b.admin });
    expect(resent.status).toBe(200);
    const listed = await app.api.request('GET', `/v1/workspaces/${b.workspaceId}/members?status=pending`, { key: b.key, actor: b.admin, headers: { 'x-min-position': resent.body.position } });
    expect(listed.body.items.map((i: { email: string | null }) => i.email)).toEqual(['erase.across@acme.test']);
    // the resend's link is mailed (mail goes out after the answer)
    for (let i = 0; i < 100 && outbox(app).filter((m) => m.to === 'erase.across@acme.test').length === mailsBefore; i++) await new Promise((r) => setTimeout(r, 20));
    expect(outbox(app).filter((m) => m.to === 'erase.across@acme.test').pop()?.inviteUrl).toBe(resent.body.inviteUrl);
    // the deleting organization's own history holds the address no more
    const history = await app.api.request('GET', `/v1/workspaces/${a.workspaceId}/history`, { key: a.key, actor: a.admin, headers: { 'x-min-position': deleted.body.position } });
    expect(JSON.stringify(history.body)).not.toContain('erase.across');
  });

  it('item 6: an API key answered under an Idempotency-Key is not stored; forgotten keys are gone from the data files and their WALs; files are private', async () => {
    const created = await app.api.request('POST', '/v1/organizations', {
      key: SYSTEM_KEY,
      headers: { 'idempotency-key': 'secret-org' },
      body: { name: 'Acme', admin: { email: 'ada2@acme.test', displayName: 'Ada' } },
    });
    // the key's whole secret (43 base64url characters, which may hold '_' themselves), read as the API reads keys
    const secret = parseOrgKey(created.body.apiKey as string)!.secret;
    for (const f of readdirSync(app.dataDir).filter((n) => n.startsWith('api.sqlite')))
      expect(readFileSync(join(app.dataDir, f)).includes(Buffer.from(secret))).toBe(false);
    const replay = await app.api.request('POST', '/v1/organizations', {
      key: SYSTEM_KEY,
      headers: { 'idempotency-key': 'secret-org' },
      body: { name: 'Acme', admin: { email: 'ada2@acme.test', displayName: 'Ada' } },
    });
    expect(replay.headers.get('idempotency-replayed')).toBe('true');
    expect(replay.body.apiKey).toBe(created.body.apiKey);
    const ws = await app.api.request('POST', `/v1/organizations/${created.body.organizationId}/workspaces`, { key: replay.body.apiKey, actor: created.body.adminUserId, body: { name: 'W' } });
    expect(ws.status).toBe(201);

    const o = { key: created.body.apiKey, actor: created.body.adminUserId, workspaceId: ws.body.workspaceId };
    const jane = await app.api.member(o, 'key.holder@acme.test');
    // the embedded store keeps data keys (wrapped) in events.sqlite, written with their first events (docs/adr/0010-command-throughput.md)
    const keys = new DatabaseSync(join(app.dataDir, 'events.sqlite'), { readOnly: true });
    const row = keys.prepare(`SELECT key FROM ${keyTableOf(`u:${jane}`)} WHERE subject = ?`).get(`u:${jane}`) as { key: Uint8Array };
    keys.close();
    expect(row.key.length).toBeGreaterThanOrEqual(16);
    await app.api.request('DELETE', `/v1/organizations/${created.body.organizationId}/users/${jane}`, { key: o.key, actor: o.actor });
    for (const f of readdirSync(app.dataDir).filter((n) => /^(events|keys)\.sqlite/.test(n)))
      expect([f, readFileSync(join(app.dataDir, f)).includes(Buffer.from(row.key))]).toEqual([f, false]);

    expect(statSync(app.dataDir).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(app.dataDir)) expect([f, statSync(join(app.dataDir, f)).mode & 0o077]).toEqual([f, 0]);
  });

  it('item 9: two invitees may use the same Idempotency-Key; the same body in another field order is the same request', async () => {
    const o = await app.api.organization();
    const invite = (email: string) => app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email } });
    const [a, b] = [await invite('a@acme.test'), await invite('b@acme.test')];
    const accept = (url: string) => app.api.request('POST', '/v1/invitations/accept', { headers: { 'idempotency-key': 'same' }, body: { token: tokenOf(url) } });
    const [ra, rb] = [await accept(a.body.inviteUrl), await accept(b.body.inviteUrl)];
    expect([ra.status, rb.status]).toEqual([200, 200]);
    expect(ra.body.userId).not.toBe(rb.body.userId);

    const headers = { 'idempotency-key': 'ordered' };
    const one = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, headers, raw: '{"email":"c@acme.test","roles":["agent"]}' });
    const two = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, headers, raw: '{"roles":["agent"],"email":"c@acme.test"}' });
    expect([one.status, two.status, two.headers.get('idempotency-replayed')]).toEqual([201, 201, 'true']);
    expect(two.body.invitationId).toBe(one.body.invitationId);
  });
});
