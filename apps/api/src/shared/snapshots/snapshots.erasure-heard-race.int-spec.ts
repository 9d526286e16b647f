// Review of 958ebc9 (ADR 0003 "Erasure and sealing race" point 7): the feed's position passing a deletion's tombstone
// did not mean that this process's memory no longer held what the deletion erased. AddressErasure.erased drops the
// states holding an erased address asynchronously (StreamStates.dropHoldingErasedAddresses), one stream turn at a
// time, and only the states cached when it starts: a load in flight (a cold load spanning the hearing) or a cached
// state whose turn comes later can still hold the address, and the next load seals it under the key the address got
// again after the deletion — every cold load reads it back. Wired as app.module.ts wires it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteSnapshotStore, createRollcallEventStore } from '@rollcall/event-store';
import { PresenceFeed } from '../../presence/feed';
import { addressErasureOver } from '../erasure/address-erasure';
import { StateSnapshots } from './snapshots';
import { StreamStates } from '../command-path/stream-states';
import { deleteAndInviteAgain, erasureHistory, gatedReads } from '../testing/erasure-scenario';
import { openProcess, replayAppends } from '../testing/snapshot-harness';

// the invitations of these specs are sealed as before session 24 (one address subject shared by every organization)
jest.mock('@rollcall/domain', () => jest.requireActual('../testing/invitations-before-session-24').domainBeforeSession24());

let dir: string;
const closers: (() => Promise<void>)[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-heard-race-'));
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  rmSync(dir, { recursive: true, force: true });
});

/** process A as app.module.ts wires it (every: 1), with a gate that can hold a stream's read open after its events */
async function processA(options: { startFeed?: boolean } = {}) {
  const { store, personalData, sealing } = await createRollcallEventStore({ dataDir: dir, durability: 'normal' });
  const gates = gatedReads(store);
  const snapshotStore = new SqliteSnapshotStore(join(dir, 'snapshots.sqlite'));
  const errors: unknown[] = [];
  const snapshots = new StateSnapshots(snapshotStore, sealing, { every: 1, onError: (_s, e) => errors.push(e) });
  const states = new StreamStates(store, { onUserDeleted: (user, organizationId) => personalData.forgetCached(personalData.subjectsOf(user, organizationId)), snapshots });
  const erasure = addressErasureOver({ sealing, personalData }, states, snapshots);
  // as presence-runtime.ts builds it: followed from the head before any state is loaded
  const feed = new PresenceFeed(store, states, { pollMs: 5, retryMs: 5, from: await store.headPosition() });
  const erasing: Promise<unknown>[] = [];
  feed.onErased = (ids) => {
    const done = erasure.erased(ids);
    erasing.push(done);
    return done;
  };
  snapshots.followErasures(() => feed.heardThrough); // as app.module.ts wires it (at 958ebc9: feed.position)
  if (options.startFeed !== false) await feed.start();
  closers.push(async () => {
    await feed.stop();
    await snapshots.settled();
    await snapshotStore.close();
    await store.close();
  });
  return { store, states, snapshots, snapshotStore, feed, erasing, errors, gates };
}

async function until(what: () => boolean) {
  for (let i = 0; i < 500 && !what(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(what()).toBe(true);
}

async function coldAddress(ws: string, inv: string) {
  const cold = await openProcess(dir, { every: Infinity });
  closers.push(() => cold.close());
  const org = await cold.states.organization('org-2');
  return (await cold.states.workspace(org.state, ws))!.state.invitations.get(inv)!.email;
}

it('rule 12: a cold load in flight when the feed hears the deletion is checked too: the erased address it read is not sealed under the key the address got again', async () => {
  const log = erasureHistory(['ws-0', 'ws-2']);
  const b = await openProcess(dir, { every: Infinity });
  closers.push(() => b.close());
  await replayAppends(b, log.takeAppends());
  const a = await processA();

  const org2 = await a.states.organization('org-2');
  // A cold-loads ws-2: it reads (and opens) the invitation before the deletion, and is still running when it is heard
  let release!: () => void;
  a.gates.set('workspace-ws-2', new Promise<void>((r) => (release = r)));
  const inFlight = a.states.workspace(org2.state, 'ws-2');
  await new Promise((r) => setTimeout(r, 20));

  const deletedAt = await deleteAndInviteAgain(b, log);
  await until(() => a.feed.position >= deletedAt && a.erasing.length > 0);
  release();
  // it read the address before the deletion; the erasure heard meanwhile made it read again: the log's answer
  expect((await inFlight)!.state.invitations.get('inv-elsewhere')!.email).toBeNull();
  await Promise.all(a.erasing); // the erasure is done: every cached state holding the address was dropped

  await a.states.workspace(org2.state, 'ws-2'); // the next load (a command) writes a snapshot
  await a.snapshots.settled();
  expect(a.errors).toEqual([]);

  // a replay reads the address as erased; the snapshot must not read otherwise
  expect(await coldAddress('ws-2', 'inv-elsewhere')).toBeNull();
});

it('rule 12: a cached state whose turn in dropHoldingErasedAddresses has not come yet is not written while its erasure runs (heard = handled)', async () => {
  const log = erasureHistory(['ws-0', 'ws-2']);
  const b = await openProcess(dir, { every: Infinity });
  closers.push(() => b.close());
  await replayAppends(b, log.takeAppends());
  const a = await processA();

  const org2 = await a.states.organization('org-2');
  await a.states.workspace(org2.state, 'ws-0'); // cached first: dropHoldingErasedAddresses visits it first
  await a.states.workspace(org2.state, 'ws-2');
  await a.snapshots.settled();
  // a long load of ws-0 holds its turn (a cold replay of a big workspace, a slow read)
  let release!: () => void;
  a.gates.set('workspace-ws-0', new Promise<void>((r) => (release = r)));
  const slow = a.states.workspace(org2.state, 'ws-0');
  await new Promise((r) => setTimeout(r, 20));

  const deletedAt = await deleteAndInviteAgain(b, log);
  // ws-2 moves on (any command of org-2 there)
  log.workspace({ type: 'InviteMember', workspaceId: 'ws-2', actorId: 'admin-2', now: log.now, invitationId: 'inv-other', email: 'other@example.test', roles: ['agent'], ttlSeconds: 3600 });
  await replayAppends(b, log.takeAppends());
  await until(() => a.feed.position >= deletedAt && a.erasing.length > 0); // heard: `position` is past the tombstone

  // two commands load ws-2 while the erasure waits for ws-0's turn
  await a.states.workspace(org2.state, 'ws-2');
  await a.states.workspace(org2.state, 'ws-2');
  await a.snapshots.settled();
  release();
  await slow;
  await Promise.all(a.erasing);
  expect(a.errors).toEqual([]);

  expect(await coldAddress('ws-2', 'inv-elsewhere')).toBeNull();
});

it('while a deletion is not heard, loads of the workspace do not copy and seal it again: the address check comes first, once, until more is heard', async () => {
  const log = erasureHistory(['ws-0', 'ws-2']);
  const b = await openProcess(dir, { every: Infinity });
  closers.push(() => b.close());
  await replayAppends(b, log.takeAppends());
  const deletedAt = await deleteAndInviteAgain(b, log);
  // ws-3 (invites ADDRESS after the deletion) gets 2,500 members
  for (let i = 0; i < 2500; i++) {
    log.workspace({ type: 'InviteMember', workspaceId: 'ws-3', actorId: 'admin-3', now: log.now, invitationId: `m-${i}`, email: `m${i}@example.test`, roles: ['agent'], ttlSeconds: 3600 });
    log.accept('ws-3', `m-${i}`, `mu-${i}`, `M ${i}`);
  }
  await replayAppends(b, log.takeAppends());

  // a process whose feed has not reached the deletion (stalled, or behind): heard = deletedAt - 1
  let seals = 0;
  let checks = 0;
  const sealing = {
    ...b.sealing,
    cipher: async (id: string, o: { create: boolean }) => {
      const c = await b.sealing.cipher(id, o);
      return c && { ...c, seal: (text: string, ad: string) => (seals++, c.seal(text, ad)) };
    },
    forgottenAfter: (ids: readonly string[], heard: bigint) => (checks++, b.sealing.forgottenAfter(ids, heard)),
  };
  const snapshots = new StateSnapshots(b.snapshotStore, sealing, { every: 1, erasuresHeardThrough: () => deletedAt - 1n });
  const states = new StreamStates(b.store, { snapshots });
  const org3 = await states.organization('org-3');
  await snapshots.settled();
  const perLoad: number[] = [];
  for (let i = 0; i < 5; i++) {
    // any command in ws-3 (a new event folded: the load is due a snapshot again)
    log.workspace({ type: 'InviteMember', workspaceId: 'ws-3', actorId: 'admin-3', now: log.now, invitationId: `x-${i}`, email: `x${i}@example.test`, roles: ['agent'], ttlSeconds: 3600 });
    await replayAppends(b, log.takeAppends());
    const before = seals;
    await states.workspace(org3.state, 'ws-3');
    await snapshots.settled();
    perLoad.push(seals - before);
  }
  expect(await b.snapshotStore.read('workspace-ws-3')).toBeUndefined();
  // no chunk sealed, one check: the refusal is remembered until more is heard
  expect({ perLoad, checks }).toEqual({ perLoad: [0, 0, 0, 0, 0], checks: 1 });
});

it('rule 12: a key forgotten at the head (another process\'s pass at start) counts as heard once the feed finds no event it follows up to the head', async () => {
  const log = erasureHistory(['ws-0', 'ws-2']);
  const p = await openProcess(dir, { every: Infinity });
  closers.push(() => p.close());
  await replayAppends(p, log.takeAppends());
  const feed = new PresenceFeed(p.store, p.states, { pollMs: 5, retryMs: 5 });
  closers.push(() => feed.stop());
  await feed.start();
  const subject = p.sealing.subjectId({ kind: 'email', email: 'someone@example.test' });
  // another process appends (unfollowed events), then its pass at start forgets a key at the head
  log.workspace({ type: 'InviteMember', workspaceId: 'ws-2', actorId: 'admin-2', now: log.now, invitationId: 'inv-x', email: 'someone@example.test', roles: ['agent'], ttlSeconds: 3600 });
  await replayAppends(p, log.takeAppends());
  await p.personalData.forget([subject]);
  for (let i = 0; i < 20; i++) {
    log.workspace({ type: 'InviteMember', workspaceId: 'ws-2', actorId: 'admin-2', now: log.now, invitationId: `inv-y${i}`, email: `y${i}@example.test`, roles: ['agent'], ttlSeconds: 3600 });
    await replayAppends(p, log.takeAppends());
  }
  await new Promise((r) => setTimeout(r, 300));
  // the feed follows none of those events: its position has not moved, and what it heard of reaches the head
  expect([...(await p.sealing.forgottenAfter([subject], feed.position))!.keys()]).toEqual([subject]);
  expect(await p.sealing.forgottenAfter([subject], feed.heardThrough)).toEqual(new Map());
});

it('rule 12: a state loaded before the feed starts (a TCP command during the pass at start) and a deletion before the start: the feed follows from the head before the load, hands the deletion on, and the snapshot holds no erased address', async () => {
  const log = erasureHistory(['ws-0', 'ws-2']);
  const b = await openProcess(dir, { every: Infinity });
  closers.push(() => b.close());
  await replayAppends(b, log.takeAppends());
  const a = await processA({ startFeed: false });
  const org2 = await a.states.organization('org-2');
  await a.states.workspace(org2.state, 'ws-2'); // loaded (and cached) before the feed starts
  await a.snapshots.settled();

  await deleteAndInviteAgain(b, log);
  log.workspace({ type: 'InviteMember', workspaceId: 'ws-2', actorId: 'admin-2', now: log.now, invitationId: 'inv-other', email: 'other@example.test', roles: ['agent'], ttlSeconds: 3600 });
  await replayAppends(b, log.takeAppends());
  await a.feed.start(); // from the head before the load: the deletion is handed on
  await until(() => a.erasing.length === 1);
  await Promise.all(a.erasing);

  // the cached state was dropped: the next load reads the address as erased, and writes a snapshot that holds none
  const again = (await a.states.workspace(org2.state, 'ws-2'))!;
  expect(again.state.invitations.get('inv-elsewhere')!.email).toBeNull();
  await a.snapshots.settled();
  expect(await a.snapshotStore.read('workspace-ws-2')).toMatchObject({ revision: again.expected });
  expect(await coldAddress('ws-2', 'inv-elsewhere')).toBeNull();
});
