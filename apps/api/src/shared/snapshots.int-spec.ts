// Snapshots of decision states over a real data dir (embedded events, keys and snapshots): what a cold load reads,
// what a snapshot keeps (idempotency keys, sealed personal data) and when one is written (docs/adr/0008-snapshots.md).
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYSTEM_ACTOR, decideOrganization, initialOrganizationState, initialWorkspaceState } from '@rollcall/domain';
import type { SnapshotStore, SnapshotToWrite, StoredSnapshot } from '@rollcall/event-store';
import { EventLog } from '../../../../libs/read-store/src/projections/testing/event-log';
import { newCommandContext } from './command-context';
import {
  DERIVED,
  INVITATION_PERSONAL_FIELDS,
  ORGANIZATION_CHUNKED,
  ORGANIZATION_HEAD,
  PROFILE_PERSONAL_FIELDS,
  STATE_SHAPE_VERSION,
  StateSnapshots,
  WORKSPACE_CHUNKED,
  WORKSPACE_HEAD,
  snapshotVersion,
} from './snapshots';
import { organizationStream, workspaceStream } from './stream-states';
import { organization } from './targets';
import { type Process, openProcess, replayAppends } from './testing/snapshot-harness';

let dir: string;
const open: Process[] = [];
const processAt = async (options?: Parameters<typeof openProcess>[1]) => {
  const p = await openProcess(dir, options);
  open.push(p);
  return p;
};
const closeAll = async () => {
  for (const p of open.splice(0)) await p.close();
};
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-snapshots-'));
});
afterEach(async () => {
  await closeAll();
  rmSync(dir, { recursive: true, force: true });
});

const ORG = 'org-1';
const WS = 'ws-1';
const ADMIN = 'admin-1';

/** An organization with a workspace, `members` invited and accepted, one more invitation pending for `pending`. */
function history(members: number, pending = 'pending@example.test') {
  const log = new EventLog();
  log.createOrganization(ORG, { userId: ADMIN, email: 'admin@example.test', displayName: 'Ada Admin' });
  log.createWorkspace(ORG, WS, ADMIN, 'advanced', 'levels');
  for (let i = 0; i < members; i++) {
    log.workspace({ type: 'InviteMember', workspaceId: WS, actorId: ADMIN, now: log.now, invitationId: `inv-${i}`, email: `member-${i}@example.test`, roles: ['agent'], ttlSeconds: 3600 });
    log.accept(WS, `inv-${i}`, `user-${i}`, `Member ${i}`);
    log.advance(1);
  }
  log.workspace({ type: 'InviteMember', workspaceId: WS, actorId: ADMIN, now: log.now, invitationId: 'inv-pending', email: pending, roles: ['agent'], ttlSeconds: 3600 });
  return log;
}

/** loads both streams (a snapshot is written in the background when due) and waits for the snapshots */
async function loadBoth(p: Process) {
  const org = await p.states.organization(ORG);
  const ws = (await p.states.workspace(org.state, WS))!;
  await p.snapshots.settled();
  return { org, ws };
}

const firstRead = (p: Process, stream: string) => p.reads.find((r) => r.stream === stream)?.fromRevision;

describe('snapshots of decision states (docs/adr/0008-snapshots.md)', () => {
  it('a cold load reads the snapshot and folds only the events after it, into the state a full replay gives', async () => {
    const log = history(30);
    const writer = await processAt({ every: 10 });
    await replayAppends(writer, log.takeAppends());
    await loadBoth(writer);
    // more events after the snapshot: the tail
    log.workspace({ type: 'ChangeAccess', workspaceId: WS, actorId: ADMIN, now: log.now, userId: 'user-3', roles: ['manager'] });
    log.organization({ type: 'UpdateProfile', organizationId: ORG, actorId: ADMIN, now: log.now, userId: 'user-4', changes: { alias: 'Four' } });
    await replayAppends(writer, log.takeAppends());
    await closeAll();

    const cold = await processAt({ every: Infinity });
    const { org, ws } = await loadBoth(cold);
    expect(firstRead(cold, organizationStream(ORG))).toBeGreaterThan(0n);
    expect(firstRead(cold, workspaceStream(WS))).toBeGreaterThan(0n);
    const replayed = await processAt({ snapshots: false });
    const full = await loadBoth(replayed);
    expect(firstRead(replayed, workspaceStream(WS))).toBe(0n);
    expect(org.state).toEqual(full.org.state);
    expect(ws.state).toEqual(full.ws.state);
    expect(org.state.users.get('user-4')!.alias).toBe('Four');
    expect(ws.state.members.get('user-3')!.access.roles).toEqual(['manager']);
    expect(ws.expected).toEqual(full.ws.expected);
    expect(cold.errors).toEqual([]);
  });

  it('a snapshot of another schema version is ignored and the stream replayed from its start', async () => {
    const writer = await processAt({ every: 1 });
    await replayAppends(writer, history(5).takeAppends());
    const { org } = await loadBoth(writer);
    const revision = (org.expected as bigint) + 100n;
    // the same snapshot, but of another state shape and newer: what a deploy that bumped STATE_SHAPE_VERSION (or
    // changed an upcaster) finds. Were it used, the load would start after its revision and miss every event.
    const current = (await writer.snapshotStore.read(organizationStream(ORG)))!;
    const chunks: string[] = [];
    for await (const c of current.chunks()) chunks.push(c);
    await writer.snapshotStore.write({ stream: organizationStream(ORG), revision, version: `organization/${STATE_SHAPE_VERSION - 1}/old`, head: current.head, chunks });
    await closeAll();

    expect(snapshotVersion('organization')).toMatch(new RegExp(`^organization/${STATE_SHAPE_VERSION}/[\\w-]{16}$`));
    const cold = await processAt({ every: Infinity });
    const loaded = await cold.states.organization(ORG);
    expect(firstRead(cold, organizationStream(ORG))).toBe(0n);
    expect(loaded.state).toEqual(org.state);
    expect(loaded.expected).toBe(org.expected);
  });

  it('the idempotency keys a stream remembers are in its snapshot: a retry whose answer was lost is still recognised (docs/adr/0004)', async () => {
    const writer = await processAt({ every: 1 });
    const createOrg = (p: Process, key: string) =>
      p.handler.handle(organization(ORG), newCommandContext({ actorId: SYSTEM_ACTOR, idempotencyKey: key }), (org) =>
        decideOrganization(
          { type: 'CreateOrganization', organizationId: ORG, actorId: SYSTEM_ACTOR, now: '2026-03-01T09:00:00.000Z', name: 'Acme', admin: { userId: ADMIN, email: 'admin@example.test', displayName: 'Ada' }, apiKey: { keyId: 'k', secretHash: '0'.repeat(64) } },
          org,
        ),
      );
    const first = await createOrg(writer, 'create-acme');
    await writer.states.organization(ORG);
    await writer.snapshots.settled();
    await closeAll();

    const cold = await processAt({ every: Infinity });
    const retry = await createOrg(cold, 'create-acme');
    // the load started after the snapshot's revision, and still found the key
    expect(firstRead(cold, organizationStream(ORG))).toBeGreaterThan(0n);
    expect(retry.replayed).toBe(true);
    expect(retry.events).toEqual(first.events);
    expect((await cold.states.organization(ORG)).applied('create-acme')).toEqual({ fromRevision: 0n, count: first.events.length });
  });

  it('rule 12: personal data in a snapshot is sealed per subject; a snapshot taken before a deletion does not bring the erased data back', async () => {
    const log = history(3, 'member-1-new@example.test');
    log.organization({ type: 'UpdateProfile', organizationId: ORG, actorId: 'user-1', now: log.now, userId: 'user-1', changes: { alias: 'Onesie', avatarUrl: 'https://img.test/one.png' } });
    const writer = await processAt({ every: 1 });
    await replayAppends(writer, log.takeAppends());
    const before = await loadBoth(writer);
    expect(before.org.state.users.get('user-1')).toMatchObject({ email: 'member-1@example.test', displayName: 'Member 1', alias: 'Onesie' });
    // nothing personal in clear in the snapshot file
    const files = readdirSync(dir).filter((f) => f.startsWith('snapshots.sqlite'));
    const bytes = files.map((f) => readFileSync(join(dir, f)).toString('latin1')).join('');
    expect(bytes).toContain('user-1');
    for (const personal of ['member-1@example.test', 'Member 1', 'Onesie', 'img.test', 'admin@example.test', 'member-1-new@example.test']) expect(bytes).not.toContain(personal);

    // user-1 is deleted: their keys are forgotten (the snapshot is not rewritten)
    expect(log.deleteUser(ORG, ADMIN, 'user-1').ok).toBe(true);
    await replayAppends(writer, log.takeAppends(), new Map([['user-1', new Set(['member-1@example.test'])]]));
    await closeAll();

    // the snapshot alone, opened after the erasure: nulls where user-1's data was, the others intact
    const cold = await processAt({ every: Infinity });
    const restoredOrg = (await cold.snapshots.restore('organization', organizationStream(ORG)))!;
    expect(restoredOrg.revision).toBe(before.org.expected);
    expect(restoredOrg.state.users.get('user-1')).toMatchObject({ email: null, displayName: null, alias: null, avatarUrl: null, knownEmails: [], pendingEmail: null, deleted: false });
    expect(restoredOrg.state.byEmail.has('member-1@example.test')).toBe(false);
    expect(restoredOrg.state.users.get('user-2')).toMatchObject({ email: 'member-2@example.test', displayName: 'Member 2' });
    const restoredWs = (await cold.snapshots.restore('workspace', workspaceStream(WS)))!;
    expect(restoredWs.state.invitations.get('inv-1')!.email).toBeNull();
    expect(restoredWs.state.invitations.get('inv-2')!.email).toBe('member-2@example.test');

    // the cold load (snapshot + the deletion after it) equals a full replay: user-1 blanked, their invitation's address gone
    const { org, ws } = await loadBoth(cold);
    expect(firstRead(cold, organizationStream(ORG))).toBeGreaterThan(0n);
    expect(org.state.users.get('user-1')).toMatchObject({ email: '', displayName: '', alias: null, avatarUrl: null, knownEmails: [], deleted: true });
    expect(ws.state.invitations.get('inv-1')!.email).toBe('');
    const full = await loadBoth(await processAt({ snapshots: false }));
    expect(org.state).toEqual(full.org.state);
    expect(ws.state).toEqual(full.ws.state);
  });

  it('every field of the states is stored in the head, chunked, sealed as personal data or derived (a new field must be classified in snapshots.ts)', () => {
    const log = history(1);
    const org = log.orgs.get(ORG)!;
    const classifiedOrg = [...ORGANIZATION_HEAD, ...ORGANIZATION_CHUNKED, ...DERIVED.organization];
    expect(classifiedOrg).toEqual(expect.arrayContaining(Object.keys(org)));
    expect(classifiedOrg).toEqual(expect.arrayContaining(Object.keys(initialOrganizationState())));
    const user = org.users.get('user-0')!;
    expect([...PROFILE_PERSONAL_FIELDS, 'deleted', 'emailChangeVersion', 'joinedAt', 'orgAdmin', 'userId'].sort()).toEqual(Object.keys(user).sort());
    const ws = log.workspaces.get(WS)!.state;
    const classifiedWs = [...WORKSPACE_HEAD, ...WORKSPACE_CHUNKED, ...DERIVED.workspace];
    expect(classifiedWs).toEqual(expect.arrayContaining(Object.keys(ws)));
    expect(classifiedWs).toEqual(expect.arrayContaining(Object.keys(initialWorkspaceState(org.workspaces.get(WS)!))));
    const inv = ws.invitations.get('inv-0')!;
    const notPersonal = ['access', 'expiresAt', 'invitationId', 'invitedAt', 'inviteeUserId', 'linkSentAt', 'linkVersion', 'status'];
    expect([...INVITATION_PERSONAL_FIELDS, ...notPersonal].sort()).toEqual(Object.keys(inv).sort());
  });
});

describe('when snapshots are written', () => {
  /** a store whose writes wait until released */
  class HeldStore implements SnapshotStore {
    readonly chunkEntries = 2;
    writes: SnapshotToWrite[] = [];
    release: () => void = () => undefined;
    async read(): Promise<StoredSnapshot | undefined> {
      return undefined;
    }
    write(snapshot: SnapshotToWrite): Promise<void> {
      this.writes.push(snapshot);
      return new Promise((resolve) => (this.release = resolve));
    }
    async close(): Promise<void> {}
  }

  it('after a load folded `every` events since the last snapshot, in the background, one at a time per stream', async () => {
    const p = await processAt({ snapshots: false });
    await replayAppends(p, history(4).takeAppends());
    const held = new HeldStore();
    const snapshots = new StateSnapshots(held, p.sealing, { every: 8 });
    const entry = { state: (await p.states.organization(ORG)).state, revision: 6n, applied: new Map() };
    snapshots.folded('organization', 'organization-x', entry);
    await new Promise((r) => setTimeout(r, 20));
    expect(held.writes).toHaveLength(0); // revision 6: 7 events folded, fewer than 8
    entry.revision = 7n;
    snapshots.folded('organization', 'organization-x', entry);
    await new Promise((r) => setTimeout(r, 20));
    expect(held.writes.map((w) => w.revision)).toEqual([7n]);
    entry.revision = 30n;
    snapshots.folded('organization', 'organization-x', entry); // the first one is still being stored
    await new Promise((r) => setTimeout(r, 20));
    expect(held.writes).toHaveLength(1);
    held.release();
    await snapshots.settled();
    snapshots.folded('organization', 'organization-x', entry);
    await new Promise((r) => setTimeout(r, 20));
    expect(held.writes.map((w) => w.revision)).toEqual([7n, 30n]);
    entry.revision = 37n; // 7 more since the snapshot at 30
    snapshots.folded('organization', 'organization-x', entry);
    held.release();
    await snapshots.settled();
    expect(held.writes).toHaveLength(2);
    // chunked by the store's chunkEntries: 5 users (the admin and 4 members) in chunks of 2
    expect(held.writes[0]!.chunks).toHaveLength(3);
  });
});
