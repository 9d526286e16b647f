// What a deletion's erasure waits for, and what a snapshot writer does while it waits (docs/adr/0003, "Erasure and
// sealing race", point 7; second review, session 18): a deletion's answer (erasingFromMemory → AddressErasure.erased →
// dropHoldingErasedAddresses) does not wait for loads in flight of unrelated workspaces (they check what they read
// themselves: HeardErasures), and a snapshot refused for an unheard deletion is not tried again before it is heard.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { SqliteSnapshotStore, createRollcallEventStore } from '@rollcall/event-store';
import { EventLog } from '../../../../../libs/read-store/src/projections/testing/event-log';
import { erasingFromMemory } from '../../infrastructure/erasure';
import { PresenceFeed } from '../../presence/feed';
import { DeleteUserCommand, DeleteUserHandler } from '../../users/user-handlers';
import { addressErasureOver } from './address-erasure';
import { newCommandContext } from '../command-path/command-context';
import { StateSnapshots } from '../snapshots/snapshots';
import { StreamHandler } from '../command-path/stream-handler';
import { StreamStates } from '../command-path/stream-states';
import { gatedReads } from '../testing/erasure-scenario';
import { openProcess, replayAppends } from '../testing/snapshot-harness';

// the invitations of these specs are sealed as before session 24 (one address subject shared by every organization)
jest.mock('@rollcall/domain', () => jest.requireActual('../testing/invitations-before-session-24').domainBeforeSession24());

let dir: string;
const closers: (() => Promise<void>)[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-erasure-waits-'));
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  rmSync(dir, { recursive: true, force: true });
});

it('rule 12: a deletion in org-1 is answered, and heard, while a cold load of another organization\'s workspace is still running', async () => {
  const log = new EventLog();
  log.createOrganization('org-1', { userId: 'admin-1', email: 'admin@example.test', displayName: 'Ada' });
  log.createWorkspace('org-1', 'ws-1', 'admin-1', 'advanced', 'levels');
  log.workspace({ type: 'InviteMember', workspaceId: 'ws-1', actorId: 'admin-1', now: log.now, invitationId: 'inv-1', email: 'kim@example.test', roles: ['agent'], ttlSeconds: 3600 });
  log.accept('ws-1', 'inv-1', 'user-1', 'Kim');
  log.createOrganization('org-9', { userId: 'admin-9', email: 'admin9@example.test', displayName: 'Zed' });
  log.createWorkspace('org-9', 'ws-9', 'admin-9', 'advanced', 'levels');
  const seed = await openProcess(dir, { every: Infinity });
  await replayAppends(seed, log.takeAppends());
  await seed.close();

  // one process, wired as app.module.ts wires it
  const { store, personalData, sealing } = await createRollcallEventStore({ dataDir: dir, durability: 'normal' });
  const gates = gatedReads(store); // a long cold load (a 100,000-member workspace replays for seconds)
  const snapshotStore = new SqliteSnapshotStore(join(dir, 'snapshots.sqlite'));
  const snapshots = new StateSnapshots(snapshotStore, sealing, { every: Number.MAX_SAFE_INTEGER });
  const states = new StreamStates(store, { snapshots });
  const erasure = addressErasureOver({ sealing, personalData }, states, snapshots);
  const feed = new PresenceFeed(store, states, { pollMs: 5, retryMs: 5, from: await store.headPosition() });
  feed.onErased = (ids) => erasure.erased(ids);
  await feed.start();
  const handler = new StreamHandler(store, states, { onKeysForgotten: async (ids) => void (await erasure.erased(ids)) });
  const pd = erasingFromMemory(personalData, (ids) => erasure.erased(ids), new Logger('test'));
  closers.push(async () => {
    await feed.stop();
    await snapshots.settled();
    await snapshotStore.close();
    await store.close();
  });

  const org9 = await states.organization('org-9');
  let release!: () => void;
  gates.set('workspace-ws-9', new Promise<void>((r) => (release = r)));
  const slow = states.workspace(org9.state, 'ws-9');
  await new Promise((r) => setTimeout(r, 20));

  const started = Date.now();
  let answeredAt: number | undefined;
  const deletion = new DeleteUserHandler(handler, pd, store)
    .execute(new DeleteUserCommand('org-1', newCommandContext({ actorId: 'admin-1' }), 'user-1'))
    .then(() => (answeredAt = Date.now()));
  await new Promise((r) => setTimeout(r, 1000));
  const head = await store.headPosition();
  const heardMeanwhile = feed.heardThrough;
  expect(feed.position).toBeGreaterThanOrEqual(head - 1n); // the feed has delivered the deletion
  release();
  await slow;
  await deletion;
  // answered (and heard) within the second the other load ran
  expect({ waitedMs: answeredAt! - started >= 1000, heardBehind: heardMeanwhile < head }).toEqual({ waitedMs: false, heardBehind: false });
});

it('rule 12: a snapshot refused for an unheard deletion is not copied nor checked again while what is heard moves on (other events) but stays before that deletion', async () => {
  const ADDRESS = 'member-1@example.test';
  const log = new EventLog();
  log.createOrganization('org-1', { userId: 'admin-1', email: 'admin@example.test', displayName: 'Ada' });
  log.createWorkspace('org-1', 'ws-1', 'admin-1', 'advanced', 'levels');
  log.workspace({ type: 'InviteMember', workspaceId: 'ws-1', actorId: 'admin-1', now: log.now, invitationId: 'inv-1', email: ADDRESS, roles: ['agent'], ttlSeconds: 3600 });
  log.accept('ws-1', 'inv-1', 'user-1', 'Member One');
  const b = await openProcess(dir, { every: Infinity });
  closers.push(() => b.close());
  await replayAppends(b, log.takeAppends());
  const before = await b.store.headPosition();
  await new DeleteUserHandler(b.handler, b.personalData, b.store).execute(new DeleteUserCommand('org-1', newCommandContext({ actorId: 'admin-1' }), 'user-1'));
  const deletedAt = before + 1n;
  log.createOrganization('org-3', { userId: 'admin-3', email: 'admin3@example.test', displayName: 'Cy' });
  log.createWorkspace('org-3', 'ws-3', 'admin-3', 'advanced', 'levels');
  log.workspace({ type: 'InviteMember', workspaceId: 'ws-3', actorId: 'admin-3', now: log.now, invitationId: 'inv-again', email: ADDRESS, roles: ['agent'], ttlSeconds: 3600 });
  await replayAppends(b, log.takeAppends());

  let checks = 0;
  const sealing = { ...b.sealing, forgottenAfter: (ids: readonly string[], heard: bigint) => (checks++, b.sealing.forgottenAfter(ids, heard)) };
  // heard moves by one at every load (presence traffic before the deletion), staying before it
  let heard = deletedAt - 10n;
  const snapshots = new StateSnapshots(b.snapshotStore, sealing, { every: 1, erasuresHeardThrough: () => heard });
  const states = new StreamStates(b.store, { snapshots });
  const org3 = await states.organization('org-3');
  await snapshots.settled();
  for (let i = 0; i < 5; i++) {
    log.workspace({ type: 'InviteMember', workspaceId: 'ws-3', actorId: 'admin-3', now: log.now, invitationId: `x-${i}`, email: `x${i}@example.test`, roles: ['agent'], ttlSeconds: 3600 });
    await replayAppends(b, log.takeAppends());
    heard++;
    await states.workspace(org3.state, 'ws-3');
    await snapshots.settled();
  }
  expect(heard).toBeLessThan(deletedAt);
  expect(await b.snapshotStore.read('workspace-ws-3')).toBeUndefined();
  // remembered by the tombstone's position, one check would do until the deletion is heard
  expect(checks).toBe(1);
});
