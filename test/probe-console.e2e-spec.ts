import { type TestApp, expectProblem, startTestApp, tokenOf } from './support/app';

/**
 * Black-box probe 12 (a console backend's workflow over HTTP): what it found accepted that the rules refuse, or
 * refused that the rules accept. The TCP side of the same findings is in microservice.e2e-spec.ts.
 */
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.stop());

const invite = async (o: { key: string; admin: string; workspaceId: string }, email: string) => {
  const reply = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email } });
  expect(reply.status).toBe(201);
  return tokenOf(reply.body.inviteUrl);
};
const accept = (token: string, displayName?: unknown) => app.api.request('POST', '/v1/invitations/accept', { body: { token, ...(displayName !== undefined && { displayName }) } });
/** the member's name in the user list, once it has projected `position` (an answer's) */
const nameOf = async (o: { key: string; admin: string; workspaceId: string }, userId: string, position: string) => {
  const reply = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members/${userId}`, { key: o.key, actor: o.admin, headers: { 'x-min-position': position } });
  expect(reply.status).toBe(200);
  return reply.body.displayName;
};

describe('rule 8: the display name sent with an acceptance', () => {
  it('rule 8: an empty displayName counts as none, as a blank one does: the name is the address before the @ (it was 400)', async () => {
    const o = await app.api.organization();
    const reply = await accept(await invite(o, 'empty.name@acme.test'), '');
    expect(reply.status).toBe(200);
    expect(await nameOf(o, reply.body.userId, reply.body.position)).toBe('empty.name');
  });

  it('rule 8: for an address that is already an org user, a displayName sent is ignored, whatever it is (it was 400 for "" or 201 characters)', async () => {
    const o = await app.api.organization();
    const first = await accept(await invite(o, 'known@acme.test'), 'Known Person');
    expect(first.status).toBe(200);
    const second = await app.api.request('POST', `/v1/organizations/${o.organizationId}/workspaces`, { key: o.key, actor: o.admin, body: { name: 'Second' } });
    const other = { ...o, workspaceId: second.body.workspaceId as string };
    let position = '0';
    for (const displayName of ['', 'x'.repeat(201), '\u200B']) {
      const token = await invite(other, 'known@acme.test');
      const reply = await accept(token, displayName);
      expect({ displayName, status: reply.status, userId: reply.body.userId }).toEqual({ displayName, status: 200, userId: first.body.userId });
      position = reply.body.position;
      // revoked again, so that the address can be invited once more in the same workspace
      const revoked = await app.api.request('DELETE', `/v1/workspaces/${other.workspaceId}/members/${first.body.userId}`, { key: o.key, actor: o.admin });
      expect(revoked.status).toBe(200);
    }
    expect(await nameOf(o, first.body.userId, position)).toBe('Known Person');
  });

  it('rule 6 still holds for a new org user: a name of 201 characters is refused naming displayName', async () => {
    const o = await app.api.organization();
    const reply = await accept(await invite(o, 'long@acme.test'), 'x'.repeat(201));
    expectProblem(reply, 400, 'VALIDATION_FAILED');
    expect(reply.body.errors).toEqual([{ field: 'displayName', message: 'must be at most 200 characters' }]);
  });
});

describe('rule 6: names hold characters, and only visible ones between letters', () => {
  it.each([
    ['a lone high surrogate', '\ud800'],
    ['a lone low surrogate after a letter', 'Jane \udfff'],
    ['a line separator', 'a\u2028b'],
    ['a paragraph separator', 'a\u2029b'],
    ['a Hangul filler', 'a\u115Fb'],
  ])('rule 6: %s in a display name, a team name or an acceptance is 400 VALIDATION_FAILED (it was stored, probe 12)', async (_what, name) => {
    const o = await app.api.organization();
    const jane = await app.api.member({ key: o.key, actor: o.admin, workspaceId: o.workspaceId }, `jane-${Math.random().toString(36).slice(2)}@acme.test`);
    const edited = await app.api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${jane}`, { key: o.key, actor: o.admin, body: { displayName: name } });
    expectProblem(edited, 400, 'VALIDATION_FAILED');
    expect(edited.body.errors).toEqual([{ field: 'displayName', message: expect.any(String) }]);
    const team = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/teams`, { key: o.key, actor: o.admin, body: { name } });
    expectProblem(team, 400, 'VALIDATION_FAILED');
    const accepted = await accept(await invite(o, `new-${Math.random().toString(36).slice(2)}@acme.test`), name);
    expectProblem(accepted, 400, 'VALIDATION_FAILED');
  });
});

describe('bodies are application/json', () => {
  it.each(['application/merge-patch+json', 'application/vnd.api+json', 'application/json-patch+json'])(
    'a body sent as %s is 415 UNSUPPORTED_MEDIA_TYPE and changes nothing (it was taken as JSON, probe 12)',
    async (type) => {
      const o = await app.api.organization();
      const reply = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, {
        key: o.key,
        actor: o.admin,
        raw: JSON.stringify({ email: 'ct@acme.test' }),
        headers: { 'content-type': type },
      });
      expectProblem(reply, 415, 'UNSUPPORTED_MEDIA_TYPE');
      expect(reply.body.detail).toContain(type);
      // the same body as application/json: the address was not invited by the refused request
      const again = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: 'ct@acme.test' } });
      expect(again.status).toBe(201);
    },
  );
});
