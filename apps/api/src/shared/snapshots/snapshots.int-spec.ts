// Snapshots of decision states over a real data dir (embedded events, keys and snapshots): what a cold load reads,
// what a snapshot keeps (idempotency keys, sealed personal data) and when one is written (docs/adr/0008-snapshots.md).
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { SYSTEM_ACTOR, decideOrganization, initialOrganizationState, initialWorkspaceState } from '@rollcall/domain';
import type { SnapshotStore, SnapshotToWrite, StoredSnapshot } from '@rollcall/event-store';
import { EventLog } from '../../../../../libs/read-store/src/projections/testing/event-log';
import { DeleteUserCommand, DeleteUserHandler } from '../../users/user-handlers';
import { EraseAddressCommand, EraseAddressHandler } from '../../address-erasures/erase-address';
import { newCommandContext } from '../command-path/command-context';
import {
  type ClearHead,
  DERIVED,
  INVITATION_FIELDS,
  MEMBER_FIELDS,
  ORGANIZATION_HEAD,
  ORGANIZATION_ROWS,
  USER_FIELDS,
  WORKSPACE_HEAD,
  WORKSPACE_ROWS,
} from './snapshot-codec';
import { SNAPSHOT_FORMAT, STATE_SHAPE_VERSION, StateSnapshots, snapshotVersion } from './snapshots';
import { organizationStream, workspaceStream } from '../command-path/stream-states';
import { organization } from '../command-path/targets';
import { sentBeforeSession24 } from '../testing/invitations-before-session-24';
import { type Process, openProcess, replayAppends } from '../testing/snapshot-harness';
import { withAllKeysView } from '../../../../../libs/event-store/src/testing/stored-keys';

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
const ORG_STREAM = organizationStream(ORG);
const WS_STREAM = workspaceStream(WS);

/** the snapshot files (the database and its WAL) as text: what someone holding them reads without any key */
const snapshotFileText = () =>
  readdirSync(dir)
    .filter((f) => f.startsWith('snapshots.sqlite'))
    .map((f) => readFileSync(join(dir, f)).toString('latin1'))
    .join('');
/** the key store's subjects like `pattern` (the embedded store keeps data keys in events.sqlite) */
const subjectKeyRows = (pattern: string) => {
  const db = withAllKeysView(new DatabaseSync(join(dir, 'events.sqlite'), { readOnly: true }));
  try {
    return (db.prepare('SELECT subject FROM all_subject_keys WHERE subject LIKE ? ORDER BY subject').all(pattern) as { subject: string }[]).map((r) => r.subject);
  } finally {
    db.close();
  }
};
/** the stream's stored snapshot opened with the key its head names, as text; undefined when that key is gone */
async function openedChunks(p: Process, stream: string): Promise<string[] | undefined> {
  const snapshot = (await p.snapshotStore.read(stream))!;
  const head = JSON.parse(snapshot.head) as ClearHead;
  const cipher = await p.sealing.cipher(head.subjectId, { create: false });
  if (!cipher) return undefined;
  const texts: string[] = [];
  for await (const chunk of snapshot.chunks())
    texts.push(cipher.open(chunk, `${stream}\n${snapshot.version}\n${snapshot.revision}\n${head.id}\n${texts.length}`)!);
  return texts;
}
const stateText = (state: object) => JSON.stringify(state, (_k, v: unknown) => (v instanceof Map ? [...v] : typeof v === 'bigint' ? String(v) : v));

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

/**
 * another organization invites user-1's address; replayed with sentBeforeSession24, as the code before session 24 wrote
 * it: one key subject of the address for every organization (docs/adr/0003 "Session 24")
 */
function inviteElsewhere(log: EventLog) {
  log.createOrganization('org-2', { userId: 'admin-2', email: 'admin2@example.test', displayName: 'Bea' });
  log.createWorkspace('org-2', 'ws-2', 'admin-2', 'advanced', 'levels');
  log.workspace({ type: 'InviteMember', workspaceId: 'ws-2', actorId: 'admin-2', now: log.now, invitationId: 'inv-elsewhere', email: 'member-1@example.test', roles: ['agent'], ttlSeconds: 3600 });
}

/** a cold load of ws-2 from its snapshot reads the erased address as null, into the state a full replay gives */
async function expectErasedElsewhereOnColdLoad(cold: Process) {
  const coldOrg = await cold.states.organization('org-2');
  const coldWs = (await cold.states.workspace(coldOrg.state, 'ws-2'))!;
  expect(firstRead(cold, workspaceStream('ws-2'))).toBeGreaterThan(0n);
  expect(coldWs.state.invitations.get('inv-elsewhere')!.email).toBeNull();
  const replayed = await processAt({ snapshots: false });
  const fullOrg = await replayed.states.organization('org-2');
  expect(coldWs.state).toEqual((await replayed.states.workspace(fullOrg.state, 'ws-2'))!.state);
}

describe('snapshots of decision states (docs/adr/0008-snapshots.md)', () => {
  it('a cold load reads the snapshot and folds only the events after it, into the state a full replay gives', async () => {
    const log = history(30);
    // a confirmed email change: its version is a field of the user's row (probe 65 F6)
    log.organization({ type: 'UpdateProfile', organizationId: ORG, actorId: ADMIN, now: log.now, userId: 'user-2', changes: { email: 'user-2.next@example.test' } });
    expect(log.organization({ type: 'ConfirmEmailChange', organizationId: ORG, userId: 'user-2', version: 1, now: log.now }).ok).toBe(true);
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
    expect(org.state.users.get('user-2')!.confirmedEmailChangeVersion).toBe(1);
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
    const chunks: Uint8Array[] = [];
    for await (const c of current.chunks()) chunks.push(c);
    await writer.snapshotStore.write({ stream: organizationStream(ORG), revision, version: `organization/${STATE_SHAPE_VERSION - 1}/old`, head: current.head, chunks });
    await closeAll();

    expect(snapshotVersion('organization')).toMatch(new RegExp(`^organization/${STATE_SHAPE_VERSION}/f${SNAPSHOT_FORMAT}/[\\w-]{16}$`));
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

  it('rule 17: the time of a stream\'s latest change is in its snapshot: a cold load from it knows it without reading the events before', async () => {
    const writer = await processAt({ every: 1 });
    const at = '2099-01-01T00:00:00.000Z';
    await writer.handler.handle(organization(ORG), newCommandContext({ actorId: SYSTEM_ACTOR, now: at }), (org) =>
      decideOrganization(
        { type: 'CreateOrganization', organizationId: ORG, actorId: SYSTEM_ACTOR, now: at, name: 'Acme', admin: { userId: ADMIN, email: 'admin@example.test', displayName: 'Ada' }, apiKey: { keyId: 'k', secretHash: '0'.repeat(64) } },
        org,
      ),
    );
    await writer.states.organization(ORG);
    await writer.snapshots.settled();
    await closeAll();

    const cold = await processAt({ every: Infinity });
    const loaded = await cold.states.organization(ORG);
    // nothing read before the snapshot's revision: the time came from the snapshot
    expect(firstRead(cold, organizationStream(ORG))).toBeGreaterThan(0n);
    expect(loaded.lastAt).toBe(at);
  });

  it('rule 12: a snapshot taken before a user\'s deletion does not bring the erased user\'s personal data back: its key is forgotten with theirs, nothing of them in the restored state nor readable from the snapshot store\'s bytes', async () => {
    const log = history(3, 'member-1-new@example.test');
    log.organization({ type: 'UpdateProfile', organizationId: ORG, actorId: 'user-1', now: log.now, userId: 'user-1', changes: { alias: 'Onesie', avatarUrl: 'https://img.test/one.png' } });
    const writer = await processAt({ every: 1 });
    await replayAppends(writer, log.takeAppends());
    const before = await loadBoth(writer);
    expect(before.org.state.users.get('user-1')).toMatchObject({ email: 'member-1@example.test', displayName: 'Member 1', alias: 'Onesie' });
    // the snapshots are sealed: nothing in clear in the file, not even ids; opened with their key, user-1 is there
    const personal = ['member-1@example.test', 'Member 1', 'Onesie', 'img.test'];
    for (const text of [...personal, 'member-1-new@example.test', 'admin@example.test', 'user-1']) expect(snapshotFileText()).not.toContain(text);
    const heads = await Promise.all([ORG_STREAM, WS_STREAM].map(async (stream) => JSON.parse((await writer.snapshotStore.read(stream))!.head) as ClearHead));
    // the organization's epoch, and the workspace's own (docs/adr/0013, "Session 43")
    expect(heads.map((h) => h.subjectId)).toEqual(['snapshot:org-1:0', 'snapshot:org-1:ws-1:0']);
    expect((await openedChunks(writer, ORG_STREAM))!.join('')).toContain('member-1@example.test');
    // the pending invitation's address is sealed under the address's own key too: not readable with the snapshot's
    expect((await openedChunks(writer, WS_STREAM))!.join('')).not.toContain('member-1-new@example.test');
    expect(before.ws.state.invitations.get('inv-pending')!.email).toBe('member-1-new@example.test');

    // user-1 is deleted by the API's DeleteUser handler (the snapshots are not rewritten: this process never writes)
    await closeAll();
    const deleting = await processAt({ every: Infinity });
    await new DeleteUserHandler(deleting.handler, deleting.personalData, deleting.store).execute(new DeleteUserCommand(ORG, newCommandContext({ actorId: ADMIN }), 'user-1'));
    await closeAll();

    // the epochs' keys are gone from the key store (the workspace's too: the deletion reached it): the snapshots sealed
    // with them are crypto-shredded
    expect(subjectKeyRows('snapshot:%')).toEqual([]);
    const cold = await processAt({ every: 1 });
    expect(await openedChunks(cold, ORG_STREAM)).toBeUndefined();
    expect(await openedChunks(cold, WS_STREAM)).toBeUndefined();
    expect(await cold.snapshots.restore('organization', ORG_STREAM)).toBeUndefined();
    expect(await cold.snapshots.restore('workspace', WS_STREAM)).toBeUndefined();
    // the cold load replays instead, into the state a full replay gives: nothing of user-1 in it
    const { org, ws } = await loadBoth(cold);
    expect(firstRead(cold, ORG_STREAM)).toBe(0n);
    expect(org.state.users.get('user-1')).toMatchObject({ email: '', displayName: '', alias: null, avatarUrl: null, knownEmails: [], deleted: true });
    for (const text of personal) expect(stateText(org.state) + stateText(ws.state)).not.toContain(text);
    const full = await loadBoth(await processAt({ snapshots: false }));
    expect(org.state).toEqual(full.org.state);
    expect(ws.state).toEqual(full.ws.state);
    // and the new snapshots, of the next epochs, hold nothing of user-1 either
    expect(subjectKeyRows('snapshot:%')).toEqual(['snapshot:org-1:1', 'snapshot:org-1:ws-1:1']);
    const opened = [...(await openedChunks(cold, ORG_STREAM))!, ...(await openedChunks(cold, WS_STREAM))!].join('');
    expect(opened).toContain('member-2@example.test');
    for (const text of personal) expect(opened).not.toContain(text);
    expect(cold.errors).toEqual([]);
  });

  it('rule 12: an address erased alone (AddressErased, ADR 0024) forgets the epoch key too: the snapshot holding it is shredded, the next one is of the next epoch and holds nothing of it', async () => {
    const log = history(2, 'only-invited@example.test');
    const writer = await processAt({ every: 1 });
    await replayAppends(writer, log.takeAppends());
    const before = await loadBoth(writer);
    expect(before.ws.state.invitations.get('inv-pending')!.email).toBe('only-invited@example.test');
    await closeAll();
    const erasing = await processAt({ every: Infinity });
    await new EraseAddressHandler(erasing.handler, erasing.personalData, erasing.store).execute(new EraseAddressCommand(ORG, newCommandContext({ actorId: ADMIN }), 'only-invited@example.test'));
    await closeAll();
    expect(subjectKeyRows('snapshot:%')).toEqual([]);
    const cold = await processAt({ every: 1 });
    expect(await cold.snapshots.restore('workspace', WS_STREAM)).toBeUndefined();
    const { org, ws } = await loadBoth(cold);
    expect(firstRead(cold, WS_STREAM)).toBe(0n);
    expect(org.state.addressErasures).toBe(1);
    expect(ws.state.invitations.get('inv-pending')).toMatchObject({ email: '', status: 'cancelled' });
    const full = await loadBoth(await processAt({ snapshots: false }));
    expect(ws.state).toEqual(full.ws.state);
    expect(subjectKeyRows('snapshot:%')).toEqual(['snapshot:org-1:1', 'snapshot:org-1:ws-1:1']);
    const opened = [...(await openedChunks(cold, ORG_STREAM))!, ...(await openedChunks(cold, WS_STREAM))!].join('');
    expect(opened).toContain('member-1@example.test');
    expect(opened).not.toContain('only-invited');
    expect(cold.errors).toEqual([]);
  });

  it('rule 12: a deletion shreds the snapshots of the workspaces it reaches and no other: a workspace the user was never in keeps its snapshot, and a cold load reads it (probe 42: every deletion made a restart replay a 100,000-member workspace)', async () => {
    const log = history(3);
    log.createWorkspace(ORG, 'ws-big', ADMIN, 'advanced', 'levels');
    for (let i = 0; i < 3; i++) {
      log.workspace({ type: 'InviteMember', workspaceId: 'ws-big', actorId: ADMIN, now: log.now, invitationId: `big-inv-${i}`, email: `big-${i}@example.test`, roles: ['agent'], ttlSeconds: 3600 });
      log.accept('ws-big', `big-inv-${i}`, `big-user-${i}`, `Big ${i}`);
    }
    const writer = await processAt({ every: 1 });
    await replayAppends(writer, log.takeAppends());
    const org = await writer.states.organization(ORG);
    await writer.states.workspace(org.state, WS);
    await writer.states.workspace(org.state, 'ws-big');
    await writer.snapshots.settled();
    expect(subjectKeyRows('snapshot:%')).toEqual(['snapshot:org-1:0', 'snapshot:org-1:ws-1:0', 'snapshot:org-1:ws-big:0']);
    await closeAll();

    // user-1 is a member of ws-1 only
    const deleting = await processAt({ every: Infinity });
    await new DeleteUserHandler(deleting.handler, deleting.personalData, deleting.store).execute(new DeleteUserCommand(ORG, newCommandContext({ actorId: ADMIN }), 'user-1'));
    await closeAll();
    expect(subjectKeyRows('snapshot:%')).toEqual(['snapshot:org-1:ws-big:0']);

    const cold = await processAt({ every: Infinity });
    const coldOrg = await cold.states.organization(ORG);
    const big = (await cold.states.workspace(coldOrg.state, 'ws-big'))!;
    // ws-big from its snapshot (read from after its revision), ws-1 and the organization replayed
    expect(firstRead(cold, workspaceStream('ws-big'))).toBeGreaterThan(0n);
    await cold.states.workspace(coldOrg.state, WS);
    expect(firstRead(cold, WS_STREAM)).toBe(0n);
    expect(firstRead(cold, ORG_STREAM)).toBe(0n);
    const full = await processAt({ snapshots: false });
    const fullOrg = await full.states.organization(ORG);
    expect(big.state).toEqual((await full.states.workspace(fullOrg.state, 'ws-big'))!.state);
    expect(big.state.erasures).toBe(0);
    expect(cold.errors).toEqual([]);
  });

  it('rule 12: a snapshot sealed under an epoch key that a deletion had already forgotten (created again by a writer racing with it) is shredded at its first load after the deletion', async () => {
    const log = history(3);
    const p = await processAt({ every: Infinity });
    await replayAppends(p, log.takeAppends());
    const loaded = await p.states.organization(ORG);
    const beforeDeletion = { state: structuredClone(loaded.state), revision: loaded.expected as bigint, applied: new Map() };
    await new DeleteUserHandler(p.handler, p.personalData, p.store).execute(new DeleteUserCommand(ORG, newCommandContext({ actorId: ADMIN }), 'user-1'));
    expect(subjectKeyRows('snapshot:%')).toEqual([]);
    // another replica's writer copied the state before the deletion and sealed it after: the key of epoch 0 is created
    // again (no process here saw the erasure during its sealing)
    const racing = new StateSnapshots(p.snapshotStore, p.sealing, { every: 1 });
    await racing.restore('organization', ORG_STREAM);
    racing.folded('organization', ORG_STREAM, beforeDeletion);
    await racing.settled();
    expect(subjectKeyRows('snapshot:%')).toEqual(['snapshot:org-1:0']);
    expect((await openedChunks(p, ORG_STREAM))!.join('')).toContain('member-1@example.test');
    await closeAll();

    // the next cold load reads it, folds the deletion after it (user-1 blanked) and sees the epoch moved past it
    const cold = await processAt({ every: Infinity });
    const org = await cold.states.organization(ORG);
    await cold.snapshots.settled();
    expect(firstRead(cold, ORG_STREAM)).toBe(beforeDeletion.revision + 1n);
    expect(org.state.users.get('user-1')).toMatchObject({ email: '', displayName: '', deleted: true });
    expect(subjectKeyRows('snapshot:%')).toEqual(['snapshot:org-1:1']);
    expect(JSON.parse((await cold.snapshotStore.read(ORG_STREAM))!.head)).toMatchObject({ subjectId: 'snapshot:org-1:1', epoch: 1 });
    expect((await openedChunks(cold, ORG_STREAM))!.join('')).not.toContain('member-1@example.test');
    expect(cold.errors).toEqual([]);
  });

  it('rule 12: an address erased by a deletion in another organization (invitations sent before session 24: one subject) is written into later snapshots as a replay reads it (null)', async () => {
    const log = history(2);
    inviteElsewhere(log);
    const p = await processAt({ every: Infinity });
    await replayAppends(p, sentBeforeSession24(log.takeAppends()));
    const org2 = await p.states.organization('org-2');
    const ws2 = (await p.states.workspace(org2.state, 'ws-2'))!;
    expect(ws2.state.invitations.get('inv-elsewhere')!.email).toBe('member-1@example.test');
    await new DeleteUserHandler(p.handler, p.personalData, p.store).execute(new DeleteUserCommand(ORG, newCommandContext({ actorId: ADMIN }), 'user-1'));
    // this process's cached workspace of org-2 still holds the address (nothing was appended there); its snapshot does not
    const writer = new StateSnapshots(p.snapshotStore, p.sealing, { every: 1 });
    writer.folded('organization', organizationStream('org-2'), { state: org2.state, revision: org2.expected as bigint, applied: new Map() });
    await writer.restore('workspace', workspaceStream('ws-2'));
    writer.folded('workspace', workspaceStream('ws-2'), { state: ws2.state, revision: ws2.expected as bigint, applied: new Map() });
    await writer.settled();
    expect((await openedChunks(p, workspaceStream('ws-2')))!.join('')).not.toContain('member-1@example.test');
    await closeAll();

    const cold = await processAt({ every: Infinity });
    await expectErasedElsewhereOnColdLoad(cold);
  });

  it('rule 12: a snapshot stored before a deletion in another organization (invitations sent before session 24), never loaded since, holds the erased address under its own key only: unreadable with the snapshot\'s key, and null at the next cold load even after the address was invited again', async () => {
    const log = history(2);
    inviteElsewhere(log);
    const writer = await processAt({ every: 1 });
    await replayAppends(writer, sentBeforeSession24(log.takeAppends()));
    const org2 = await writer.states.organization('org-2');
    const ws2 = (await writer.states.workspace(org2.state, 'ws-2'))!;
    await writer.snapshots.settled();
    expect(ws2.state.pendingByEmail.get('member-1@example.test')).toBe('inv-elsewhere');
    const sealedBefore = (await openedChunks(writer, workspaceStream('ws-2')))!.join('');
    expect(sealedBefore).not.toContain('member-1@example.test');
    await closeAll();

    // user-1 of org-1 is deleted by a process that never loads org-2's workspace: its snapshot is not written again
    const deleting = await processAt({ every: Infinity });
    await new DeleteUserHandler(deleting.handler, deleting.personalData, deleting.store).execute(new DeleteUserCommand(ORG, newCommandContext({ actorId: ADMIN }), 'user-1'));
    // and the address is invited again in a third organization: its key subject has a key again, another one
    log.createOrganization('org-3', { userId: 'admin-3', email: 'admin3@example.test', displayName: 'Cy' });
    log.createWorkspace('org-3', 'ws-3', 'admin-3', 'advanced', 'levels');
    log.workspace({ type: 'InviteMember', workspaceId: 'ws-3', actorId: 'admin-3', now: log.now, invitationId: 'inv-again', email: 'member-1@example.test', roles: ['agent'], ttlSeconds: 3600 });
    await replayAppends(deleting, sentBeforeSession24(log.takeAppends()));
    const addressSubject = deleting.sealing.subjectId({ kind: 'email', email: 'member-1@example.test' });
    expect(await deleting.sealing.ciphers([addressSubject])).toHaveProperty('size', 1);
    await closeAll();

    // the stored snapshot is the one written before the deletion (same bytes), and its key still opens it: the
    // address is not in it, and the cold load reads it as null, not pending (as a replay reads it)
    const cold = await processAt({ every: Infinity });
    expect((await openedChunks(cold, workspaceStream('ws-2')))!.join('')).toBe(sealedBefore);
    await expectErasedElsewhereOnColdLoad(cold);
    expect(cold.errors).toEqual([]);
  });

  it('every field of the states is stored in the head, in rows or derived, and every field of a row is in its field list (a new field must be classified in snapshot-codec.ts)', () => {
    const log = history(1);
    const org = log.orgs.get(ORG)!;
    const classifiedOrg = [...ORGANIZATION_HEAD, ...ORGANIZATION_ROWS, ...DERIVED.organization];
    expect(classifiedOrg).toEqual(expect.arrayContaining(Object.keys(org)));
    expect(classifiedOrg).toEqual(expect.arrayContaining(Object.keys(initialOrganizationState())));
    // (confirmedEmailChangeVersion: absent until one of the user's email changes is confirmed, which user-0's is not;
    // deletedAt, deletedBy: absent until the user is deleted, which user-0 is not)
    expect([...USER_FIELDS].sort()).toEqual([...Object.keys(org.users.get('user-0')!), 'confirmedEmailChangeVersion', 'deletedAt', 'deletedBy'].sort());
    const ws = log.workspaces.get(WS)!.state;
    const classifiedWs = [...WORKSPACE_HEAD, ...WORKSPACE_ROWS, ...DERIVED.workspace];
    expect(classifiedWs).toEqual(expect.arrayContaining(Object.keys(ws)));
    expect(classifiedWs).toEqual(expect.arrayContaining(Object.keys(initialWorkspaceState(org.workspaces.get(WS)!))));
    // (revokedAt, revokedBy: absent until the member is revoked, which user-0 is not)
    expect([...MEMBER_FIELDS].sort()).toEqual([...Object.keys(ws.members.get('user-0')!), 'revokedAt', 'revokedBy'].sort());
    expect([...INVITATION_FIELDS].sort()).toEqual(Object.keys(ws.invitations.get('inv-0')!).sort());
  });
});

/** waits (up to 5 s) until `condition` holds: for work done in the background */
async function eventually(condition: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 5000; !condition() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 5));
}

describe('when snapshots are written', () => {
  /** a store whose writes wait until released */
  class HeldStore implements SnapshotStore {
    readonly chunkEntries = 2;
    readonly chunkBytes = 1 << 20;
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
    await snapshots.restore('organization', 'organization-x'); // a cold load asks first (there is none)
    const entry = { state: (await p.states.organization(ORG)).state, revision: 6n, applied: new Map() };
    snapshots.folded('organization', 'organization-x', entry);
    await new Promise((r) => setTimeout(r, 20));
    expect(held.writes).toHaveLength(0); // revision 6: 7 events folded, fewer than 8
    entry.revision = 7n;
    snapshots.folded('organization', 'organization-x', entry);
    // written in the background: sealed first, which a loaded CI machine took longer than 20 ms for
    await eventually(() => held.writes.length > 0);
    expect(held.writes.map((w) => w.revision)).toEqual([7n]);
    entry.revision = 30n;
    snapshots.folded('organization', 'organization-x', entry); // the first one is still being stored
    await new Promise((r) => setTimeout(r, 20));
    expect(held.writes).toHaveLength(1);
    held.release();
    await snapshots.settled();
    snapshots.folded('organization', 'organization-x', entry);
    await eventually(() => held.writes.length > 1);
    expect(held.writes.map((w) => w.revision)).toEqual([7n, 30n]);
    entry.revision = 37n; // 7 more since the snapshot at 30
    snapshots.folded('organization', 'organization-x', entry);
    held.release();
    await snapshots.settled();
    expect(held.writes).toHaveLength(2);
    // the head, then rows by the store's chunkEntries: 5 users (the admin and 4 members) in chunks of 2
    expect(held.writes[0]!.chunks).toHaveLength(4);
  });

  it('after a deletion in its organization, the snapshots are written again under the next epoch at once, in the background, without waiting for `every` events nor for the next commands (probe 42: a restart replayed the stream)', async () => {
    const writer = await processAt({ every: 10 });
    await replayAppends(writer, history(12).takeAppends());
    await loadBoth(writer);
    expect(JSON.parse((await writer.snapshotStore.read(WS_STREAM))!.head)).toMatchObject({ epoch: 0 });
    const epochOf = async (stream: string) => (JSON.parse((await writer.snapshotStore.read(stream))!.head) as ClearHead).epoch;
    await new DeleteUserHandler(writer.handler, writer.personalData, writer.store).execute(new DeleteUserCommand(ORG, newCommandContext({ actorId: ADMIN }), 'user-3'));
    // one event more in each stream, fewer than 10, and no load after the deletion's own: only the epoch moved
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
      await writer.snapshots.settled();
      if ((await epochOf(ORG_STREAM)) === 1 && (await epochOf(WS_STREAM)) === 1) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(JSON.parse((await writer.snapshotStore.read(ORG_STREAM))!.head)).toMatchObject({ subjectId: 'snapshot:org-1:1', epoch: 1 });
    expect(JSON.parse((await writer.snapshotStore.read(WS_STREAM))!.head)).toMatchObject({ subjectId: 'snapshot:org-1:ws-1:1', epoch: 1 });
    expect(subjectKeyRows('snapshot:%')).toEqual(['snapshot:org-1:1', 'snapshot:org-1:ws-1:1']);
    // and what they hold is the state after the deletion: a cold process reads it and folds nothing more
    const cold = await processAt({ every: 10 });
    const restored = await loadBoth(cold);
    expect(cold.reads.filter((r) => r.fromRevision === 0n)).toEqual([]);
    expect(restored.ws.state).toEqual((await loadBoth(writer)).ws.state);
    expect(writer.errors).toEqual([]);
  });

  it('rows are split until a chunk fits in the store\'s chunkBytes, and the snapshot reads back whole', async () => {
    class SmallChunks implements SnapshotStore {
      readonly chunkEntries = 1_000;
      readonly chunkBytes = 700;
      stored?: SnapshotToWrite;
      async read(): Promise<StoredSnapshot | undefined> {
        const s = this.stored;
        return s && { stream: s.stream, revision: s.revision, version: s.version, head: s.head, chunkCount: s.chunks.length, chunks: async function* () { yield* s.chunks; } };
      }
      async write(snapshot: SnapshotToWrite): Promise<void> {
        this.stored = snapshot;
      }
      async close(): Promise<void> {}
    }
    const p = await processAt({ snapshots: false });
    await replayAppends(p, history(9).takeAppends());
    const org = await p.states.organization(ORG);
    const store = new SmallChunks();
    const snapshots = new StateSnapshots(store, p.sealing, { every: 1, onError: (_s, e) => p.errors.push(e) });
    await snapshots.restore('organization', ORG_STREAM);
    snapshots.folded('organization', ORG_STREAM, { state: org.state, revision: org.expected as bigint, applied: new Map() });
    await snapshots.settled();
    // 10 users of ~200 bytes each: 1,000 rows per chunk would be one chunk; each chunk of rows (sealed: 29 bytes more) fits in 700
    expect(store.stored!.chunks.length).toBeGreaterThan(1 + 1);
    expect(Math.max(...store.stored!.chunks.slice(1).map((c) => c.length))).toBeLessThanOrEqual(700 + 29);
    const restored = await new StateSnapshots(store, p.sealing).restore('organization', ORG_STREAM);
    expect(restored!.state).toEqual(org.state);
    expect(p.errors).toEqual([]);
  });
});
