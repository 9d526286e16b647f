// What a deletion leaves (pseudonymous ids, statistics) must not lead back to the person without the server's
// secrets: probe 40, a privacy examiner with a scratch install of their own (docs/security.md "Not guaranteed").
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { uuidV5 } from '@rollcall/event-store';
import { SYSTEM_KEY, type TestApp, expectProblem, startTestApp, tokenOf } from './support/app';
import { mailTo } from './support/outbox';
import { keyTableOf } from '../libs/event-store/src/testing/stored-keys';

let one: TestApp;
let other: TestApp;
beforeAll(async () => {
  [one, other] = await Promise.all([startTestApp(), startTestApp()]);
});
afterAll(async () => {
  await Promise.all([one.stop(), other.stop()]);
});

/** how ids were derived from a request's Idempotency-Key before session 40: a name-based UUID of the key as sent */
const LEGACY_NAMESPACE = '0b7e4f9a-3c52-4d1e-8f6a-5a2c9d0e7b13';
const legacyId = (scopedKey: string, purpose: string) => uuidV5(LEGACY_NAMESPACE, `${scopedKey}:${purpose}`);

const createOrganization = (app: TestApp, idempotencyKey: string) =>
  app.api.request('POST', '/v1/organizations', {
    key: SYSTEM_KEY,
    body: { name: 'Acme', admin: { email: 'ada@acme.test', displayName: 'Ada Admin' } },
    headers: { 'idempotency-key': idempotencyKey },
  });

describe('ids a write creates (probe 40 F1)', () => {
  it('are derived from the Idempotency-Key keyed by the server secret: another install given the same key derives other ids', async () => {
    const [a, b] = await Promise.all([createOrganization(one, 'org:ada@acme.test'), createOrganization(other, 'org:ada@acme.test')]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.organizationId).not.toBe(b.body.organizationId);
    expect(a.body.adminUserId).not.toBe(b.body.adminUserId);
    expect(a.body.organizationId).not.toBe(legacyId('system:org:ada@acme.test', 'organization'));
    // a retry on the same install still finds its own organization
    const again = await createOrganization(one, 'org:ada@acme.test');
    expect(again.status).toBe(201);
    expect(again.body.organizationId).toBe(a.body.organizationId);
    expect(again.headers.get('idempotency-replayed')).toBe('true');
  });

  it('an invitation sent under a key built from its address has an id nobody can derive again from a guess of it', async () => {
    const o = await one.api.organization();
    const invite = () =>
      one.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, {
        key: o.key,
        actor: o.admin,
        body: { email: 'zq-canary@example.org' },
        headers: { 'idempotency-key': 'invite:zq-canary@example.org' },
      });
    const sent = await invite();
    expect(sent.status).toBe(201);
    expect(sent.body.invitationId).not.toBe(legacyId(`org:${o.organizationId}:invite:zq-canary@example.org`, 'invitation'));
    const again = await invite();
    expect(again.body.invitationId).toBe(sent.body.invitationId);
    // a workspace and a team created under such keys: the same
    const ws = await one.api.request('POST', `/v1/organizations/${o.organizationId}/workspaces`, {
      key: o.key,
      actor: o.admin,
      body: { name: 'Sales' },
      headers: { 'idempotency-key': 'workspace:sales' },
    });
    expect(ws.status).toBe(201);
    expect(ws.body.workspaceId).not.toBe(legacyId(`org:${o.organizationId}:workspace:sales`, 'workspace'));
  });
});

/** the key subject each UserInvited of the workspace sealed its address under, as the log holds it (`enc:v1:<subject>:…`) */
function invitationSubjectsAtRest(app: TestApp, workspaceId: string): (string | null)[] {
  const db = new DatabaseSync(join(app.dataDir, 'events.sqlite'), { readOnly: true });
  try {
    const rows = db.prepare("SELECT data FROM events WHERE stream = ? AND type = 'UserInvited' ORDER BY position").all(`workspace-${workspaceId}`) as { data: string }[];
    return rows.map((r) => /^enc:v1:(.+):[^:]+$/.exec((JSON.parse(r.data) as { email: string }).email)?.[1] ?? null);
  } finally {
    db.close();
  }
}

describe('what a deletion leaves in the log (probe 40 F2)', () => {
  it("rule 12: a deleted user's address invited again is sealed under a key name the log never held, so the log does not link them to its next holder", async () => {
    const o = await one.api.organization();
    const as = { key: o.key, actor: o.admin };
    const gone = await one.api.member({ ...as, workspaceId: o.workspaceId }, 'zq-reused@example.org');
    const deleted = await one.api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${gone}`, as);
    expect(deleted.status).toBe(200);
    const again = await one.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { ...as, body: { email: 'zq-reused@example.org' } });
    expect(again.status).toBe(201);
    // a pending invitation to the address, erased with its own key: invited a third time, a third name
    const erased = await one.api.request('POST', `/v1/organizations/${o.organizationId}/address-erasures`, { ...as, body: { email: 'zq-reused@example.org' } });
    expect(erased.status).toBe(201);
    expect((await one.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { ...as, body: { email: 'zq-reused@example.org' } })).status).toBe(201);

    // the deleted user's invitation, the next holder's (erased), the third: three names, each an invitation's own
    const subjects = invitationSubjectsAtRest(one, o.workspaceId);
    expect(subjects).toHaveLength(3);
    expect(subjects.every((subject) => subject !== null && subject.startsWith('i:'))).toBe(true);
    expect(new Set(subjects).size).toBe(3);
    // and the erasures name no subject derived from the address (probe 33 F2): the user's, the invitations', the snapshots'
    const db = new DatabaseSync(join(one.dataDir, 'events.sqlite'), { readOnly: true });
    const named = (db.prepare("SELECT metadata FROM events WHERE stream = ? AND type IN ('UserDeleted', 'AddressErased')").all(`organization-${o.organizationId}`) as { metadata: string }[]).flatMap(
      (r) => (JSON.parse(r.metadata) as { erasedSubjects: string[] }).erasedSubjects,
    );
    db.close();
    expect(named.length).toBeGreaterThanOrEqual(4);
    expect(named.filter((subject) => !/^(u|i|snapshot):/.test(subject))).toEqual([]);
  });

  it("rule 12: a deleted user's invitation loses its address in the log also when another living user holds that address now; theirs keeps it", async () => {
    const o = await one.api.organization();
    const as = { key: o.key, actor: o.admin };
    const moved = await one.api.member({ ...as, workspaceId: o.workspaceId }, 'zq-moved@example.org');
    // the first holder moves to another address (confirmed), and the address goes to someone else
    const asked = await one.api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${moved}`, { key: o.key, actor: moved, body: { email: 'zq-moved-on@example.org' } });
    expect(asked.status).toBe(200);
    const token = new URL((await mailTo(one, 'zq-moved-on@example.org', 'email-confirmation')).confirmUrl!).searchParams.get('token')!;
    expect((await one.api.request('POST', '/v1/users/email-confirmations', { body: { token } })).status).toBe(200);
    const next = await one.api.member({ ...as, workspaceId: o.workspaceId }, 'zq-moved@example.org');
    const deleted = await one.api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${moved}`, as);
    expect(deleted.status).toBe(200);

    // the two invitations to the address, each under its own key: the deleted user's forgotten, the next holder's kept
    const [first, second] = invitationSubjectsAtRest(one, o.workspaceId);
    const db = new DatabaseSync(join(one.dataDir, 'events.sqlite'), { readOnly: true });
    const hasKey = (subject: string) => db.prepare(`SELECT 1 FROM ${keyTableOf(subject)} WHERE subject = ?`).get(subject) !== undefined;
    try {
      expect([first, second].every((subject) => subject?.startsWith('i:'))).toBe(true);
      expect([hasKey(first!), hasKey(second!)]).toEqual([false, true]);
    } finally {
      db.close();
    }
    const member = await one.api.request('GET', `/v1/workspaces/${o.workspaceId}/members/${next}`, { ...as, headers: { 'x-min-position': deleted.body.position } });
    expect(member.body).toMatchObject({ email: 'zq-moved@example.org', status: 'active' });
  });
});

/** drops the answers kept in api.sqlite since `since` (lost, or past their 7 days): a retry is then answered from the log */
function dropStoredAnswers(app: TestApp, since: string): void {
  const db = new DatabaseSync(join(app.dataDir, 'api.sqlite'));
  try {
    expect(Number(db.prepare('DELETE FROM idempotency WHERE created_at >= ?').run(since).changes)).toBeGreaterThan(0);
  } finally {
    db.close();
  }
}

describe('an Idempotency-Key after an erasure (probe 40 F4)', () => {
  it("rule 12: after a deletion, a retry under a key whose request held the user's data answers 410 IDEMPOTENCY_KEY_ERASED whatever is sent (no guess confirmed), from the stored answers and from the log; the deletion's own retry is a replay", async () => {
    const since = new Date().toISOString();
    const o = await one.api.organization();
    const as = { key: o.key, actor: o.admin };
    const invite = (email: string) =>
      one.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { ...as, body: { email }, headers: { 'idempotency-key': 'opaque-oracle-1' } });
    const sent = await invite('zq-oracle@example.org');
    expect(sent.status).toBe(201);
    // before any erasure, as always: the same request is replayed, another one refused
    expect((await invite('zq-oracle@example.org')).headers.get('idempotency-replayed')).toBe('true');
    expectProblem(await invite('zq-other@example.org'), 422, 'IDEMPOTENCY_KEY_REUSED');
    const accepted = await one.api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(sent.body.inviteUrl) } });
    expect(accepted.status).toBe(200);
    const userId = accepted.body.userId as string;
    const patch = (key: string, body: Record<string, string>) =>
      one.api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${userId}`, { key: o.key, actor: userId, body, headers: { 'idempotency-key': `opaque-oracle-${key}` } });
    const rename = (displayName: string) => patch('2', { displayName });
    expect((await rename('Zq Oracle')).status).toBe(200);
    // probe 44b F1: requests that name the user's data and write no personal field — the name set to what it is (no
    // event), an email change withdrawn by asking for the current address (EmailChangeWithdrawn holds no address)
    const same = (displayName: string) => patch('4', { displayName });
    expect((await same('Zq Oracle')).body.changed).toEqual([]);
    expect((await patch('5', { email: 'zq-oracle.new@example.org' })).body.emailChange.status).toBe('pending_confirmation');
    const withdraw = (email: string) => patch('6', { email });
    expect((await withdraw('zq-oracle@example.org')).body.emailChange.status).toBe('withdrawn');
    // a pending invitation to the user's address in another workspace: the deletion cancels it and forgets its key
    const other = await one.api.request('POST', `/v1/organizations/${o.organizationId}/workspaces`, { ...as, body: { name: 'Oracle two' } });
    expect(other.status).toBe(201);
    expect((await one.api.request('POST', `/v1/workspaces/${other.body.workspaceId}/invitations`, { ...as, body: { email: 'zq-oracle@example.org' } })).status).toBe(201);
    const deletion = () => one.api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${userId}`, { ...as, headers: { 'idempotency-key': 'opaque-oracle-3' } });
    const deleted = await deletion();
    expect(deleted.status).toBe(200);

    // [right guess, wrong guess] per key
    const guesses = async () => [
      [await invite('zq-oracle@example.org'), await invite('zq-other@example.org')],
      [await rename('Zq Oracle'), await rename('Someone Else')],
      [await same('Zq Oracle'), await same('Someone Else')],
      [await withdraw('zq-oracle@example.org'), await withdraw('zq-other@example.org')],
    ];
    const alike = (r: { status: number; body: Record<string, unknown> }) => JSON.stringify({ status: r.status, ...r.body, instance: undefined });
    const fromStoredAnswers = await guesses();
    const storedDeletion = await deletion();
    for (const reply of fromStoredAnswers.flat()) expectProblem(reply, 410, 'IDEMPOTENCY_KEY_ERASED');
    dropStoredAnswers(one, since);
    // from the log: the same, but for the write that wrote nothing (no event to find: decided again, refused alike)
    const fromLog = await guesses();
    for (const reply of [...fromLog.slice(0, 2).flat(), ...fromLog[3]!]) expectProblem(reply, 410, 'IDEMPOTENCY_KEY_ERASED');
    for (const [right, wrong] of [...fromStoredAnswers, ...fromLog]) {
      // the right guess and a wrong one are answered alike: nothing in the answer tells them apart
      expect(alike(right!)).toBe(alike(wrong!));
      expect([right!.headers.get('idempotency-replayed'), wrong!.headers.get('idempotency-replayed')]).toEqual([null, null]);
    }
    for (const again of [storedDeletion, await deletion()]) {
      expect(again.status).toBe(200);
      expect(again.headers.get('idempotency-replayed')).toBe('true');
      expect(again.body.position).toBe(deleted.body.position);
    }
  });

  it('a key whose request held data no erasure reached is replayed as before, from the stored answers and from the log', async () => {
    const since = new Date().toISOString();
    const o = await one.api.organization();
    const as = { key: o.key, actor: o.admin };
    const invite = (email: string) =>
      one.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { ...as, body: { email }, headers: { 'idempotency-key': 'opaque-kept-1' } });
    const sent = await invite('zq-kept@example.org');
    expect(sent.status).toBe(201);
    // another user's deletion reaches nothing this invitation wrote
    const gone = await one.api.member({ ...as, workspaceId: o.workspaceId }, 'zq-gone@example.org');
    expect((await one.api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${gone}`, as)).status).toBe(200);
    for (const step of ['stored', 'log']) {
      if (step === 'log') dropStoredAnswers(one, since);
      const again = await invite('zq-kept@example.org');
      expect({ step, status: again.status, replayed: again.headers.get('idempotency-replayed'), id: again.body.invitationId }).toEqual({ step, status: 201, replayed: 'true', id: sent.body.invitationId });
      expectProblem(await invite('zq-other@example.org'), 422, 'IDEMPOTENCY_KEY_REUSED');
    }
  });

  it('rule 12: a keyed request about a user that changed nothing (an access change, a team add or removal, org admin taken away, set offline) answers 410 IDEMPOTENCY_KEY_ERASED after their deletion, whatever is sent (probe 120 F1: it was replayed)', async () => {
    const o = await one.api.organization();
    const as = { key: o.key, actor: o.admin };
    const userId = await one.api.member({ ...as, workspaceId: o.workspaceId }, 'zq-nochange@example.org', { roles: ['agent'] });
    const team = async (name: string) => (await one.api.request('POST', `/v1/workspaces/${o.workspaceId}/teams`, { ...as, body: { name } })).body.teamId as string;
    const [inTeam, notInTeam] = [await team('Oracle in'), await team('Oracle out')];
    expect((await one.api.request('PUT', `/v1/workspaces/${o.workspaceId}/teams/${inTeam}/members/${userId}`, as)).status).toBe(200);
    // set offline once (a member manager's set-offline holds: ADR 0032), so that the keyed one changes nothing
    expect((await one.api.request('POST', `/v1/workspaces/${o.workspaceId}/members/${userId}/presence/offline`, as)).status).toBe(200);
    const keyed = (key: string) => ({ ...as, headers: { 'idempotency-key': `nochange-${key}` } });
    // [the request that changed nothing, the same key with another request]
    const requests: [string, () => Promise<{ status: number; body: Record<string, unknown>; headers: Headers }>, () => Promise<{ status: number; body: Record<string, unknown>; headers: Headers }>][] = [
      ['access', () => one.api.request('PATCH', `/v1/workspaces/${o.workspaceId}/members/${userId}/access`, { ...keyed('access'), body: { roles: ['agent'] } }), () => one.api.request('PATCH', `/v1/workspaces/${o.workspaceId}/members/${userId}/access`, { ...keyed('access'), body: { roles: ['manager'] } })],
      ['team add', () => one.api.request('PUT', `/v1/workspaces/${o.workspaceId}/teams/${inTeam}/members/${userId}`, keyed('add')), () => one.api.request('PUT', `/v1/workspaces/${o.workspaceId}/teams/${notInTeam}/members/${userId}`, keyed('add'))],
      ['team removal', () => one.api.request('DELETE', `/v1/workspaces/${o.workspaceId}/teams/${notInTeam}/members/${userId}`, keyed('remove')), () => one.api.request('DELETE', `/v1/workspaces/${o.workspaceId}/teams/${inTeam}/members/${userId}`, keyed('remove'))],
      ['org admin', () => one.api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${userId}/org-admin`, keyed('admin')), () => one.api.request('PUT', `/v1/organizations/${o.organizationId}/users/${userId}/org-admin`, keyed('admin'))],
      ['offline', () => one.api.request('POST', `/v1/workspaces/${o.workspaceId}/members/${userId}/presence/offline`, keyed('offline')), () => one.api.request('POST', `/v1/workspaces/${o.workspaceId}/members/${userId}/presence/offline`, { ...keyed('offline'), body: {} })],
    ];
    for (const [what, first] of requests) {
      const reply = await first();
      expect({ what, status: reply.status, changed: reply.body.changed }).toEqual({ what, status: 200, changed: Array.isArray(reply.body.changed) ? [] : false });
      // before the deletion: replayed, as always
      expect({ what, replayed: (await first()).headers.get('idempotency-replayed') }).toEqual({ what, replayed: 'true' });
    }
    expect((await one.api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${userId}`, as)).status).toBe(200);
    for (const [what, same, other] of requests)
      for (const reply of [await same(), await other()]) expect({ what, status: reply.status, code: reply.body.code }).toEqual({ what, status: 410, code: 'IDEMPOTENCY_KEY_ERASED' });
  });
});
