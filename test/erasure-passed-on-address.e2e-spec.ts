// Rule 12 and an address passed on from one user to another (probe 23, docs/rules.md#rule-12): deleting a user erases
// the addresses they held but not one another living user holds now. It cancelled that user's pending invitation
// (its address was erased with the deleted user's keys) and blanked their history.
import { type TestApp, startTestApp, tokenOf } from './support/app';
import { mailTo } from './support/outbox';

const SHARED = 'shared@rep.test';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.stop());

interface HistoryItem {
  userId: string | null;
  email: string | null;
  change: string;
}

it("rule 12: deleting a user leaves their former address, now another user's, with that user: their invitation stays pending, their history keeps it", async () => {
  const o = await app.api.organization();
  const as = { key: o.key, actor: o.admin };
  const workspace = async (name: string) => (await app.api.request('POST', `/v1/organizations/${o.organizationId}/workspaces`, { ...as, body: { name } })).body.workspaceId as string;
  const [two, three] = [await workspace('Two'), await workspace('Three')];
  const x = await app.api.member({ ...as, workspaceId: o.workspaceId }, SHARED);
  // x moves to another address, and the address becomes y's
  expect((await app.api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${x}`, { key: o.key, actor: x, body: { email: 'x-new@rep.test' } })).status).toBe(200);
  const token = new URL((await mailTo(app, 'x-new@rep.test', 'email-confirmation')).confirmUrl!).searchParams.get('token')!;
  expect((await app.api.request('POST', '/v1/users/email-confirmations', { body: { token } })).status).toBe(200);
  const y = await app.api.member({ ...as, workspaceId: two }, SHARED);
  expect(y).not.toBe(x);
  const pending = await app.api.request('POST', `/v1/workspaces/${three}/invitations`, { ...as, body: { email: SHARED } });
  expect(pending.status).toBe(201);

  const deleted = await app.api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${x}`, as);
  expect(deleted.status).toBe(200);
  const read = { ...as, headers: { 'x-min-position': String(deleted.body.position) } };

  const listed = await app.api.request('GET', `/v1/workspaces/${three}/members?status=pending`, read);
  expect(listed.body.items.map((m: { email: string | null }) => m.email)).toEqual([SHARED]);
  const accepted = await app.api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(pending.body.inviteUrl) } });
  expect({ status: accepted.status, userId: accepted.body.userId }).toEqual({ status: 200, userId: y });

  const historyOf = async (workspaceId: string) => (await app.api.request('GET', `/v1/workspaces/${workspaceId}/history`, read)).body.items as HistoryItem[];
  // y's history keeps the address; x's own entries lose it
  expect((await historyOf(two)).filter((h) => h.change === 'invited').map((h) => h.email)).toEqual([SHARED]);
  expect((await historyOf(o.workspaceId)).filter((h) => h.email !== null && h.email !== undefined && h.userId !== o.admin)).toEqual([]);
  expect((await app.api.request('GET', `/v1/workspaces/${two}/members/${y}`, read)).body.email).toBe(SHARED);
});
