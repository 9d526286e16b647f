// Rule 17 over real HTTP: which request and which API key made each change of the permission history (probe 69 F2,
// F10) — the entries' correlationId (the request's X-Request-Id) and apiKeyId, the filter by request, the CSV's columns.
import { parse } from 'csv-parse/sync';
import { type TestApp, startTestApp } from './support/app';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.stop());

describe('rule 17: the permission history names the request and the key of each change', () => {
  it('an entry carries its request id and the API key it was made with; one request\'s entries are found by it; the CSV has them last', async () => {
    const o = await app.api.organization();
    const keys = await app.api.request('GET', `/v1/organizations/${o.organizationId}/api-keys`, { key: o.key, actor: o.admin });
    const firstKeyId = keys.body.items.find((k: { current: boolean }) => k.current).keyId as string;
    const issued = await app.api.request('POST', `/v1/organizations/${o.organizationId}/api-keys`, { key: o.key, actor: o.admin, body: { label: 'second' } });
    expect(issued.status).toBe(201);
    const bob = await app.api.member({ key: o.key, actor: o.admin, workspaceId: o.workspaceId }, `bob-${Math.random()}@acme.test`, { roles: ['agent'] });
    // one edit of three entries (restrictions, then level) sent with the second key and a request id of the caller's
    const edit = await app.api.request('PATCH', `/v1/workspaces/${o.workspaceId}/members/${bob}/access`, {
      key: issued.body.apiKey,
      actor: o.admin,
      body: { roles: ['manager'], restrictions: { data_export: true } },
      headers: { 'x-request-id': 'req-promote-bob' },
    });
    expect(edit.status).toBe(200);
    const history = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/history?userId=${bob}`, { key: o.key, actor: o.admin, headers: { 'x-min-position': edit.body.position } });
    expect(history.status).toBe(200);
    const byRequest = (id: string) => history.body.items.filter((e: { correlationId: string }) => e.correlationId === id);
    const edited = byRequest('req-promote-bob');
    expect(edited.map((e: { change: string }) => e.change)).toEqual(['roles_changed', 'restrictions_changed']);
    expect(edited.map((e: { apiKeyId: string }) => e.apiKeyId)).toEqual([issued.body.keyId, issued.body.keyId]);
    // the invitation, made with the organization's first key, and its acceptance, made with the link (no key)
    const invited = history.body.items.find((e: { change: string }) => e.change === 'invited');
    expect(invited).toMatchObject({ apiKeyId: firstKeyId, correlationId: expect.any(String) });
    expect(history.body.items.find((e: { change: string }) => e.change === 'joined')).toMatchObject({ apiKeyId: null });
    // the filter: that request's entries only
    const filtered = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/history?correlationId=req-promote-bob`, { key: o.key, actor: o.admin });
    expect(filtered.body.items.map((e: { position: string }) => e.position)).toEqual(edited.map((e: { position: string }) => e.position));
    // by the key (probe 80 F13: "what did your support key do?"), in the history and the organization's changes
    const byKey = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/history?apiKeyId=${issued.body.keyId}`, { key: o.key, actor: o.admin });
    expect(byKey.body.items.map((e: { position: string }) => e.position)).toEqual(edited.map((e: { position: string }) => e.position));
    const changesByKey = await app.api.request('GET', `/v1/organizations/${o.organizationId}/changes?apiKeyId=${firstKeyId}`, { key: o.key, actor: o.admin });
    const changes = await app.api.request('GET', `/v1/organizations/${o.organizationId}/changes`, { key: o.key, actor: o.admin });
    const firstKeys = changes.body.items.filter((c: { apiKeyId: string | null }) => c.apiKeyId === firstKeyId);
    expect(changesByKey.body.items).toEqual(firstKeys);
    expect(firstKeys.map((c: { change: string }) => c.change)).toContain('api_key_issued');
    expect(firstKeys.length).toBeLessThan(changes.body.items.length);
    // by the invitation: its whole life, sent and accepted (probe 80 F3)
    const invitationId = invited.invitationId as string;
    const ofInvitation = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/history?invitationId=${invitationId}`, { key: o.key, actor: o.admin });
    expect(ofInvitation.body.items.map((e: { change: string }) => e.change)).toEqual(['invited', 'joined']);
    const refused = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/history?correlationId=${encodeURIComponent('jane@acme.test')}`, { key: o.key, actor: o.admin });
    expect({ status: refused.status, code: refused.body.code, field: refused.body.errors?.[0]?.field }).toEqual({ status: 400, code: 'VALIDATION_FAILED', field: 'correlationId' });
    // the CSV: the columns before keep their places, the new ones come last
    const csv = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/history?format=csv&userId=${bob}`, { key: o.key, actor: o.admin });
    const [header, ...rows] = parse(csv.body as string) as string[][];
    expect(header!.slice(-5)).toEqual(['event_id', 'position', 'workspace_id', 'correlation_id', 'api_key_id']);
    const promoted = rows.filter((r) => r[header!.indexOf('correlation_id')] === 'req-promote-bob');
    // a request id is the client's, an invitee's too: a cell a spreadsheet would run is defused (probe 70 F1)
    const amy = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: `amy-${Math.random()}@acme.test` } });
    const accepted = await app.api.request('POST', '/v1/invitations/accept', { body: { token: new URL(amy.body.inviteUrl).searchParams.get('token') }, headers: { 'x-request-id': '+SUM(1;2)' } });
    expect(accepted.status).toBe(200);
    const all = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/history?format=csv`, { key: o.key, actor: o.admin, headers: { 'x-min-position': accepted.body.position } });
    expect(all.body).toContain(",'+SUM(1;2),");
    expect(all.body).not.toMatch(/,\+SUM/);
    expect(promoted.map((r) => [r[header!.indexOf('workspace_id')], r[header!.indexOf('api_key_id')]])).toEqual([
      [o.workspaceId, issued.body.keyId],
      [o.workspaceId, issued.body.keyId],
    ]);
  });

  it('the history by kind of change: several kinds comma-separated, over JSON and CSV; an unknown kind is refused naming the field and the kinds', async () => {
    const o = await app.api.organization();
    const bob = await app.api.member({ key: o.key, actor: o.admin, workspaceId: o.workspaceId }, `bob-${Math.random()}@acme.test`, { roles: ['agent'] });
    const promoted = await app.api.request('PATCH', `/v1/workspaces/${o.workspaceId}/members/${bob}/access`, { key: o.key, actor: o.admin, body: { roles: ['manager'] } });
    const granted = await app.api.request('PATCH', `/v1/workspaces/${o.workspaceId}/members/${bob}/access`, { key: o.key, actor: o.admin, body: { restrictions: { data_export: true } } });
    expect([promoted.status, granted.status]).toEqual([200, 200]);
    const read = { key: o.key, actor: o.admin, headers: { 'x-min-position': granted.body.position } };
    const changes = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/history?change=restrictions_changed,roles_changed&direction=desc`, read);
    expect(changes.status).toBe(200);
    expect(changes.body.items.map((e: { change: string; userId: string }) => [e.change, e.userId])).toEqual([
      ['restrictions_changed', bob],
      ['roles_changed', bob],
    ]);
    const csv = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/history?format=csv&change=restrictions_changed`, read);
    const [header, ...rows] = parse(csv.body as string) as string[][];
    expect(rows.map((r) => r[header!.indexOf('change')])).toEqual(['restrictions_changed']);
    const refused = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/history?change=roles_changed,promoted`, read);
    expect({ status: refused.status, code: refused.body.code, field: refused.body.errors?.[0]?.field }).toEqual({ status: 400, code: 'VALIDATION_FAILED', field: 'change' });
    expect(refused.body.errors[0].message).toContain('grants_changed');
  });

  it('rule 17: a copied invitation link is recorded, naming who copied it, with which key and request; the acceptance through it follows it (probe 83 F4); a refused copy or a HEAD records nothing', async () => {
    const o = await app.api.organization();
    const as = { key: o.key, actor: o.admin, workspaceId: o.workspaceId };
    const mia = await app.api.member(as, `mia-${Math.random()}@acme.test`, { roles: ['manager'] });
    const agent = await app.api.member(as, `agent-${Math.random()}@acme.test`, { roles: ['agent'] });
    const invited = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: `sam-${Math.random()}@acme.test` } });
    const link = `/v1/workspaces/${o.workspaceId}/invitations/${invited.body.invitationId}/link`;
    expect((await app.api.request('GET', link, { key: o.key, actor: agent })).status).toBe(403);
    const head = await fetch(`${app.url}${link}`, { method: 'HEAD', headers: { authorization: `Bearer ${o.key}`, 'x-actor-id': mia } });
    expect(head.status).toBe(200);
    const copied = await app.api.request('GET', link, { key: o.key, actor: mia, headers: { 'x-request-id': 'mia-copied-it' } });
    expect(copied.status).toBe(200);
    const accepted = await app.api.request('POST', '/v1/invitations/accept', { body: { token: new URL(copied.body.inviteUrl).searchParams.get('token')! } });
    expect(accepted.status).toBe(200);
    const history = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/history?invitationId=${invited.body.invitationId}`, {
      key: o.key,
      actor: o.admin,
      headers: { 'x-min-position': accepted.body.position },
    });
    const keyId = o.key.split('_')[2];
    expect(history.body.items.map((e: { change: string; actorId: string; apiKeyId: string | null; correlationId: string }) => [e.change, e.actorId, e.apiKeyId, e.correlationId])).toEqual([
      ['invited', o.admin, keyId, expect.any(String)],
      ['invitation_link_copied', mia, keyId, 'mia-copied-it'],
      ['joined', accepted.body.userId, null, expect.any(String)],
    ]);
    expect(history.body.items[1].details).toEqual({ expiresAt: invited.body.expiresAt });
    // the kind is a filter of its own: "who handed links out?"
    const copies = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/history?change=invitation_link_copied`, { key: o.key, actor: o.admin });
    expect(copies.body.items.map((e: { actorId: string }) => e.actorId)).toEqual([mia]);
  });

  it('rule 7: a copy racing the acceptance or the cancel of its invitation is recorded before its end, or refused unrecorded (probe 84 F4: 200 and recorded after it)', async () => {
    const o = await app.api.organization();
    const as = { key: o.key, actor: o.admin };
    for (let round = 0; round < 12; round++) {
      const invited = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { ...as, body: { email: `race-${round}-${Math.random()}@acme.test` } });
      const id = invited.body.invitationId as string;
      const end =
        round % 2 === 0
          ? app.api.request('POST', '/v1/invitations/accept', { body: { token: new URL(invited.body.inviteUrl).searchParams.get('token')! } })
          : app.api.request('DELETE', `/v1/workspaces/${o.workspaceId}/invitations/${id}`, as);
      const [copy, ended] = await Promise.all([app.api.request('GET', `/v1/workspaces/${o.workspaceId}/invitations/${id}/link`, as), end]);
      expect(ended.status).toBe(200);
      const history = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/history?invitationId=${id}`, { ...as, headers: { 'x-min-position': ended.body.position } });
      const changes = history.body.items.map((e: { change: string }) => e.change) as string[];
      const last = round % 2 === 0 ? 'joined' : 'invitation_cancelled';
      if (copy.status === 200) expect(changes).toEqual(['invited', 'invitation_link_copied', last]);
      else {
        expect([copy.status, copy.body.code]).toEqual([409, 'INVITATION_NOT_PENDING']);
        expect(changes).toEqual(['invited', last]);
      }
    }
  });
});
