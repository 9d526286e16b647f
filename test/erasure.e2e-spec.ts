import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { type TestApp, startTestApp, tokenOf } from './support/app';
import { EVENT_STORE } from '../apps/api/src/shared/tokens';
import { sha256 } from '../apps/api/src/shared/secrets';
import { canonicalJson } from '../apps/api/src/shared/command-path/write-pipeline';
import { FOLLOWED } from '../apps/api/src/presence/feed';
import type { EventStore, RecordedEvent } from '@rollcall/event-store';

let app: TestApp;
beforeAll(async () => {
  // every deletion rewrites read.sqlite (the default shares one rewrite per hour among deletions: ADR 0029): the
  // at-rest test below follows other deletions in this app
  app = await startTestApp({ ROLLCALL_ERASURE_REWRITE_SECONDS: '0' });
});
afterAll(() => app.stop());

/** the idempotency key of the command whose last event is at `position` */
const lastKey = async (store: EventStore, position: bigint): Promise<unknown> => {
  for await (const e of store.readAll({ fromPosition: position - 1n, maxCount: 1 })) return e.metadata.idempotencyKey;
  return undefined;
};

const orgEvents = async (organizationId: string) => {
  const out: RecordedEvent[] = [];
  for await (const e of app.app.get<EventStore>(EVENT_STORE).readStream(`organization-${organizationId}`)) out.push(e);
  return out;
};

describe('rule 12: deleting a user erases their personal data from the events (crypto-shredding)', () => {
  it('personal data never reaches the log in clear; after deletion it reads as null, others are untouched', async () => {
    const o = await app.api.organization();
    const as = { key: o.key, actor: o.admin, workspaceId: o.workspaceId };
    const jane = await app.api.member(as, 'jane.secret@acme.test');
    await app.api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${jane}`, { key: o.key, actor: jane, body: { email: 'jane.new@acme.test', alias: 'JS' } });
    const joe = await app.api.member(as, 'joe@acme.test');

    for (const file of ['events.sqlite', 'events.sqlite-wal'].map((f) => join(app.dataDir, f)).filter(existsSync))
      expect(readFileSync(file).includes(Buffer.from('jane.secret@acme.test'))).toBe(false);

    const del = await app.api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${jane}`, { key: o.key, actor: o.admin });
    expect(del.status).toBe(200);

    const events = await orgEvents(o.organizationId);
    const janeJoined = events.find((e) => e.type === 'UserJoinedOrganization' && (e.data as { userId: string }).userId === jane)!;
    expect(janeJoined.data).toMatchObject({ userId: jane, email: null, displayName: null });
    const janeProfile = events.find((e) => e.type === 'UserProfileUpdated')!;
    expect(janeProfile.data).toMatchObject({ userId: jane, changes: { alias: null } });
    // the new address waits for its confirmation (rule 10) and is erased with the rest
    const janeEmailChange = events.find((e) => e.type === 'EmailChangeRequested')!;
    expect(janeEmailChange.data).toMatchObject({ userId: jane, email: null });
    const joeJoined = events.find((e) => e.type === 'UserJoinedOrganization' && (e.data as { userId: string }).userId === joe)!;
    expect(joeJoined.data).toMatchObject({ email: 'joe@acme.test' });

    // the invitation to her first address is erased too (it was keyed by the address)
    const wsEvents: RecordedEvent[] = [];
    for await (const e of app.app.get<EventStore>(EVENT_STORE).readStream(`workspace-${o.workspaceId}`)) wsEvents.push(e);
    const invited = wsEvents.filter((e) => e.type === 'UserInvited').map((e) => (e.data as { email: string | null }).email);
    expect(invited).toEqual([null, 'joe@acme.test']);

    // the address can be invited again: a new person, new data, readable
    const again = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: 'jane.secret@acme.test' } });
    expect(again.status).toBe(201);
    // the read models show the new invitation's address (rule 9), though the projector read it erased before
    const read = { key: o.key, actor: o.admin, headers: { 'x-min-position': again.body.position } };
    const pending = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members?status=pending`, read);
    expect(pending.body.items.find((m: { invitationId?: string }) => m.invitationId === again.body.invitationId)).toMatchObject({ email: 'jane.secret@acme.test' });
    const history = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/history`, read);
    expect(history.body.items.filter((h: { email?: string | null }) => h.email === 'jane.secret@acme.test')).toHaveLength(1);
    const accepted = await app.api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(again.body.inviteUrl) } });
    expect(accepted.body.userId).not.toBe(jane);
  });

  it('rule 12: the subjects a deletion erases are named by two events of its append, not every one: its size grows with the workspaces it reaches, not their square (probe 53 F1)', async () => {
    const o = await app.api.organization({ plan: 'advanced' });
    const as = { key: o.key, actor: o.admin };
    const workspaces = [o.workspaceId];
    for (let i = 0; i < 5; i++) workspaces.push((await app.api.request('POST', `/v1/organizations/${o.organizationId}/workspaces`, { ...as, body: { name: `Desk ${i}` } })).body.workspaceId);
    let lead = '';
    for (const workspaceId of workspaces) lead = await app.api.member({ ...as, workspaceId }, 'lena.lead@acme.test', { roles: ['manager'] });
    const del = await app.api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${lead}`, as);
    expect(del.status).toBe(200);
    const store = app.app.get<EventStore>(EVENT_STORE);
    const append: RecordedEvent[] = [];
    for await (const e of store.readAll({ fromPosition: 0n })) if (e.metadata.idempotencyKey === (await lastKey(store, BigInt(del.body.position)))) append.push(e);
    // a UserDeletedFromWorkspace per workspace, a MembershipEnded each, and the UserDeleted
    expect(append.length).toBeGreaterThanOrEqual(2 * workspaces.length + 1);
    const carriers = append.filter((e) => Array.isArray(e.metadata.erasedSubjects));
    // the first the presence feed follows (it hands the subjects on there: ADR 0003), and the UserDeleted
    expect(carriers.map((e) => e.position)).toEqual([append.find((e) => FOLLOWED.includes(e.type))!.position, append.find((e) => e.type === 'UserDeleted')!.position]);
    const subjects = carriers[1]!.metadata.erasedSubjects as string[];
    // the user, and the snapshots' keys of the organization and of each workspace reached
    expect(subjects.length).toBeGreaterThanOrEqual(1 + workspaces.length);
    expect(carriers[0]!.metadata.erasedSubjects).toEqual(subjects);
  });

  it('at rest: once the deletion is projected, no data file holds their name, address or an invitation link in clear (the mail outbox aside); a retry the deletion did not reach answers in full, one it erased 410', async () => {
    const o = await app.api.organization();
    const as = { key: o.key, actor: o.admin };
    const keyed = (key: string) => ({ 'idempotency-key': `${o.organizationId}-${key}` });
    // a key built from the address (as a client may): the log records it keyed (docs/adr/0004, session 33)
    const invited = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { ...as, headers: keyed('invite:zoe.atrest@acme.test'), body: { email: 'zoe.atrest@acme.test', roles: ['agent'] } });
    const zoe = (await app.api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(invited.body.inviteUrl) } })).body.userId as string;
    const profileBody = { displayName: 'Zoe Restingname', email: 'Zoe.AtRest.New@acme.test' };
    const profile = await app.api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${zoe}`, { ...as, headers: keyed('profile'), body: profileBody });
    expect(profile.body.emailChange).toMatchObject({ email: 'zoe.atrest.new@acme.test' });
    const pending = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { ...as, headers: keyed('pending'), body: { email: 'still.pending@acme.test' } });
    const pendingToken = tokenOf(pending.body.inviteUrl);

    const deleted = await app.api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${zoe}`, as);
    expect(deleted.status).toBe(200);
    expect((await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members`, { ...as, headers: { 'x-min-position': deleted.body.position } })).status).toBe(200);

    // a retry the deletion did not reach answers what the first answer said: the link derived again, the address from
    // the retry's own body; those whose data it erased are neither replayed nor compared (probe 40 F4: 410)
    const again = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { ...as, headers: keyed('pending'), body: { email: 'still.pending@acme.test' } });
    expect(again.headers.get('idempotency-replayed')).toBe('true');
    expect(again.body).toEqual(pending.body);
    const profileAgain = await app.api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${zoe}`, { ...as, headers: keyed('profile'), body: profileBody });
    expect([profileAgain.status, profileAgain.body.code]).toEqual([410, 'IDEMPOTENCY_KEY_ERASED']);
    const invitedAgain = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { ...as, headers: keyed('invite:zoe.atrest@acme.test'), body: { email: 'zoe.atrest@acme.test', roles: ['agent'] } });
    expect([invitedAgain.status, invitedAgain.body.code]).toEqual([410, 'IDEMPOTENCY_KEY_ERASED']);

    // the request's fingerprint (kept with its Idempotency-Key, in api.sqlite and the events' metadata) is keyed: an
    // unsalted hash of the body would let anyone test a guessed address against it
    const plainHash = sha256(canonicalJson({ operation: `PATCH /v1/organizations/${o.organizationId}/users/${zoe}`, actorId: o.admin, body: profileBody }));
    const secrets = ['zoe.atrest', 'Restingname', pendingToken.slice(0, 40), plainHash];
    const holding = () =>
      readdirSync(app.dataDir)
        .filter((f) => f !== 'outbox.jsonl')
        .flatMap((f) => {
          const bytes = readFileSync(join(app.dataDir, f)).toString('latin1');
          return secrets.filter((s) => bytes.includes(s)).map((s) => `${f}: ${s}`);
        });
    // the projector empties the read store's log right after committing the deletion, or as soon as no reader holds
    // an older snapshot (until then the file keeps the pages as they were: tried again every 200 ms)
    const deadline = Date.now() + 25_000;
    let found = holding();
    while (found.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      found = holding();
    }
    // on a failure, say whether a live document still holds it (a projection's bug) or only old pages (the purge's)
    expect(found.length === 0 ? [] : [...found, ...liveRowsHolding(join(app.dataDir, 'read.sqlite'), 'zoe.atrest')]).toEqual([]);
  }, 60_000);
});


/** the read store's live rows (documents and search rows) whose text holds `secret`: "table <first column>" each */
function liveRowsHolding(file: string, secret: string): string[] {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%'").all() as { name: string }[]).map((t) => t.name);
    return tables.flatMap((table) => {
      const columns = (db.prepare(`PRAGMA table_info("${table}")`).all() as { name: string; type: string }[]).map((c) => (c.name === 'doc' ? 'json(doc)' : `"${c.name}"`));
      const text = columns.map((c) => `coalesce(CAST(${c} AS TEXT), '')`).join(" || ' ' || ");
      // the first column names the row (some tables have no rowid)
      return (db.prepare(`SELECT ${columns[0]} AS k FROM "${table}" WHERE instr(lower(${text}), ?) > 0`).all(secret) as { k: unknown }[]).map((r) => `live row: ${table} ${String(r.k)}`);
    });
  } finally {
    db.close();
  }
}

describe('rule 12: an address invited again after its user was deleted keeps its new data', () => {
  it('across a restart: the erasure pass at start forgets what the deletion erased, not the new invitation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rollcall-reinvite-'));
    let first: TestApp | undefined = await startTestApp({ ROLLCALL_DATA_DIR: dir });
    try {
      const o = await first.api.organization();
      const as = { key: o.key, actor: o.admin };
      const gone = await first.api.member({ ...as, workspaceId: o.workspaceId }, 'twice@acme.test');
      expect((await first.api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${gone}`, as)).status).toBe(200);
      const again = await first.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { ...as, body: { email: 'twice@acme.test' } });
      expect(again.status).toBe(201);
      await first.stop();
      first = undefined;
      const second = await startTestApp({ ROLLCALL_DATA_DIR: dir });
      try {
        const link = await second.api.request('GET', `/v1/workspaces/${o.workspaceId}/invitations/${again.body.invitationId}/link`, as);
        expect(link.body).toMatchObject({ email: 'twice@acme.test' });
        const pending = await second.api.request('GET', `/v1/workspaces/${o.workspaceId}/members?status=pending`, { ...as, headers: { 'x-min-position': again.body.position } });
        expect(pending.body.items).toEqual([expect.objectContaining({ invitationId: again.body.invitationId, email: 'twice@acme.test' })]);
      } finally {
        await second.stop();
      }
    } finally {
      await first?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('rule 12: an invitation in another organization to the deleted user\'s address (probe 23c)', () => {
  it('keeps its address: the user list shows it, link and resend answer, and accepting it makes that organization\'s member', async () => {
    const a = await app.api.organization();
    const b = await app.api.organization();
    const asA = { key: a.key, actor: a.admin };
    const asB = { key: b.key, actor: b.admin };
    const person = await app.api.member({ ...asA, workspaceId: a.workspaceId }, 'both.orgs@acme.test');
    const invited = await app.api.request('POST', `/v1/workspaces/${b.workspaceId}/invitations`, { ...asB, body: { email: 'both.orgs@acme.test' } });
    expect(invited.status).toBe(201);
    const deleted = await app.api.request('DELETE', `/v1/organizations/${a.organizationId}/users/${person}`, asA);
    expect(deleted.status).toBe(200);

    const pending = await app.api.request('GET', `/v1/workspaces/${b.workspaceId}/members?status=pending`, { ...asB, headers: { 'x-min-position': deleted.body.position } });
    expect(pending.body.items).toEqual([expect.objectContaining({ invitationId: invited.body.invitationId, status: 'pending', email: 'both.orgs@acme.test' })]);
    const invitation = `/v1/workspaces/${b.workspaceId}/invitations/${invited.body.invitationId}`;
    expect(await app.api.request('GET', `${invitation}/link`, asB)).toMatchObject({ status: 200, body: { email: 'both.orgs@acme.test' } });
    const resent = await app.api.request('POST', `${invitation}/resend`, asB);
    expect(resent.status).toBe(200);
    const accepted = await app.api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(resent.body.inviteUrl) } });
    expect(accepted.status).toBe(200);
    const member = await app.api.request('GET', `/v1/workspaces/${b.workspaceId}/members/${accepted.body.userId}`, { ...asB, headers: { 'x-min-position': accepted.body.position } });
    expect(member.body).toMatchObject({ email: 'both.orgs@acme.test', status: 'active' });
  });
});

describe("rule 12: what a deletion answers (probe 80 F7)", () => {
  it('the pending invitations it cancelled, by workspace; a second deletion is told the user was deleted, for good', async () => {
    const o = await app.api.organization();
    const as = { key: o.key, actor: o.admin };
    const jane = await app.api.member({ ...as, workspaceId: o.workspaceId }, 'jane.answered@acme.test', { roles: ['agent'] });
    const second = (await app.api.request('POST', `/v1/organizations/${o.organizationId}/workspaces`, { ...as, body: { name: 'Second' } })).body.workspaceId as string;
    const invited = await app.api.request('POST', `/v1/workspaces/${second}/invitations`, { ...as, body: { email: 'jane.answered@acme.test' } });
    const deleted = await app.api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${jane}`, as);
    expect(deleted.body).toMatchObject({ userId: jane, workspaceIds: [o.workspaceId], cancelledInvitations: [{ workspaceId: second, invitationId: invited.body.invitationId }] });
    const again = await app.api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${jane}`, as);
    expect([again.status, again.body.code, again.body.detail]).toEqual([404, 'USER_NOT_FOUND', `User ${jane} was deleted from this organization; a deletion cannot be undone, and nothing more is decided about them.`]);
  });
});
