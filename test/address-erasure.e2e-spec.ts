// Rule 12 for a person who was only invited (docs/rules.md#rule-12, "An address only invited"; probe 40 F3: a
// cancelled or pending invitee's address stayed readable for good, in the read models, the history, the feed and the
// log, and no request could erase it).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SYSTEM_KEY, type TestApp, expectProblem, startTestApp, tokenOf } from './support/app';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.stop());

const erase = (o: { key: string; admin: string; organizationId: string }, email: unknown, headers: Record<string, string> = {}, actor = o.admin) =>
  app.api.request('POST', `/v1/organizations/${o.organizationId}/address-erasures`, { key: o.key, actor, body: { email }, headers });

describe('rule 12: an address only invited is erased on an org admin\'s request', () => {
  it('its invitations lose it everywhere (history, user list, feed, at rest); a pending one is cancelled; the address may be invited again', async () => {
    const o = await app.api.organization();
    const as = { key: o.key, actor: o.admin };
    const invite = (email: string) => app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { ...as, body: { email } });
    const first = await invite('Candidate.Zq@example.org');
    expect((await app.api.request('DELETE', `/v1/workspaces/${o.workspaceId}/invitations/${first.body.invitationId}`, as)).status).toBe(200);
    const pending = await invite('candidate.zq@example.org');
    const other = await invite('someone.else@example.org');

    const erased = await erase(o, 'CANDIDATE.ZQ@example.org', { 'idempotency-key': 'erase-candidate' });
    expect(erased.status).toBe(201);
    expect(erased.body).toMatchObject({ workspaceIds: [o.workspaceId], invitationIds: [first.body.invitationId, pending.body.invitationId] });
    // a retry is not replayed nor compared: its request named the address it erased, and a replay for the right address
    // against a 422 for another would confirm a guess of it (probe 40 F4); alike for any address, it says it was done
    for (const address of ['CANDIDATE.ZQ@example.org', 'someone.else@example.org'])
      expectProblem(await erase(o, address, { 'idempotency-key': 'erase-candidate' }), 410, 'IDEMPOTENCY_KEY_ERASED');

    const read = { ...as, headers: { 'x-min-position': erased.body.position } };
    const history = (await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/history`, read)).body.items as { invitationId?: string; email: string | null; change: string; details: unknown }[];
    const theirs = history.filter((h) => h.invitationId === first.body.invitationId || h.invitationId === pending.body.invitationId);
    expect(theirs.length).toBeGreaterThanOrEqual(3); // two invitations, two cancellations
    expect(theirs.map((h) => h.email)).toEqual(theirs.map(() => null));
    // each cancel says why: the first by hand, the pending one by the erasure (probe 85 F3)
    expect(theirs.filter((h) => h.change === 'invitation_cancelled').map((h) => [h.invitationId, h.details])).toEqual([
      [first.body.invitationId, { reason: 'command' }],
      [pending.body.invitationId, { reason: 'address_erased' }],
    ]);
    expect(history.some((h) => h.email === 'someone.else@example.org')).toBe(true);
    const members = (await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members`, read)).body.items as { email: string | null }[];
    expect(members.map((m) => m.email)).not.toContain('candidate.zq@example.org');
    expect(members.map((m) => m.email)).toContain('someone.else@example.org');
    const feed = JSON.stringify((await app.api.request('GET', '/v1/events?limit=1000', { key: SYSTEM_KEY })).body.items);
    expect(feed.toLowerCase()).not.toContain('candidate.zq');
    expect(feed).toContain('AddressErased');
    // the pending invitation's link no longer admits anyone
    const accepted = await app.api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(pending.body.inviteUrl) } });
    expect(accepted.status).toBeGreaterThanOrEqual(400);
    expect(accepted.status).toBeLessThan(500);
    expect(await isPending(o, other.body.invitationId)).toBe(true);

    // at rest: no data file holds it (the mail outbox, the development stand-in for a mail server, aside); the
    // projector empties the read store's log once no reader holds an older snapshot
    const holding = () =>
      readdirSync(app.dataDir)
        .filter((f) => f !== 'outbox.jsonl')
        .filter((f) => readFileSync(join(app.dataDir, f)).toString('latin1').toLowerCase().includes('candidate.zq'));
    const deadline = Date.now() + 25_000;
    let found = holding();
    while (found.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      found = holding();
    }
    expect(found).toEqual([]);

    // invited again afterwards: a new key, readable
    const anew = await invite('candidate.zq@example.org');
    expect(anew.status).toBe(201);
    const list = (await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members`, { ...as, headers: { 'x-min-position': anew.body.position } })).body.items as { email: string | null }[];
    expect(list.map((m) => m.email)).toContain('candidate.zq@example.org');
  }, 60_000);

  it("refused for a user's address (delete the user instead), for an address never invited, to anyone but an org admin, and for no address", async () => {
    const o = await app.api.organization();
    const owner = await app.api.member({ ...o, actor: o.admin }, 'owner.zq@acme.test', { roles: ['owner'] });
    await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: 'invited.zq@example.org' } });
    expectProblem(await erase(o, 'owner.zq@acme.test'), 409, 'ADDRESS_IS_A_USERS');
    expectProblem(await erase(o, o.adminEmail), 409, 'ADDRESS_IS_A_USERS');
    expectProblem(await erase(o, 'never.zq@example.org'), 404, 'ADDRESS_NOT_FOUND');
    expectProblem(await erase(o, 'invited.zq@example.org', {}, owner), 403, 'INSUFFICIENT_AUTHORITY');
    expectProblem(await erase(o, 'not an address'), 400, 'VALIDATION_FAILED');
    expectProblem(await erase(o, undefined), 400, 'VALIDATION_FAILED');
    // none of them erased anything
    expect((await erase(o, 'invited.zq@example.org')).status).toBe(201);
  });
});

async function isPending(o: { key: string; admin: string; workspaceId: string }, invitationId: string): Promise<boolean> {
  const link = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/invitations/${invitationId}/link`, { key: o.key, actor: o.admin });
  return link.status === 200;
}
