// The log subscription hands a deletion's erased subjects on at the first of its events it follows, once: its position
// past the deletion's tombstone then means the deletion was heard, which the snapshot writer relies on (docs/adr/0003,
// "Erasure and sealing race", point 7). And how it follows the log across polls and restarts (review, session 18).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventLog } from '../../../../libs/read-store/src/projections/testing/event-log';
import { newCommandContext } from '../shared/command-path/command-context';
import { type Process, openProcess, replayAppends } from '../shared/testing/snapshot-harness';
import { DeleteUserCommand, DeleteUserHandler } from '../users/user-handlers';
import { PresenceFeed } from './feed';

let dir: string;
let p: Process;
let feed: PresenceFeed;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-feed-erasures-'));
  p = await openProcess(dir, { snapshots: false });
});
afterEach(async () => {
  await feed?.stop();
  await p.close();
  rmSync(dir, { recursive: true, force: true });
});

it('rule 12: the feed hands a deletion\'s erased subjects on once, at the first of its events it follows: from then on its position is at or past the tombstones of the keys the deletion forgot', async () => {
  const log = new EventLog();
  log.createOrganization('org-1', { userId: 'admin-1', email: 'admin@example.test', displayName: 'Ada' });
  for (const ws of ['ws-1', 'ws-2']) {
    log.createWorkspace('org-1', ws, 'admin-1', 'advanced', 'levels');
    log.workspace({ type: 'InviteMember', workspaceId: ws, actorId: 'admin-1', now: log.now, invitationId: `inv-${ws}`, email: 'kim@example.test', roles: ['agent'], ttlSeconds: 3600 });
  }
  log.accept('ws-1', 'inv-ws-1', 'user-1', 'Kim');
  log.accept('ws-2', 'inv-ws-2', 'user-1', 'Kim');
  await replayAppends(p, log.takeAppends());

  feed = new PresenceFeed(p.store, p.states, { retryMs: 10 });
  const heard: { subjects: string[]; position: bigint }[] = [];
  feed.onErased = (subjects) => heard.push({ subjects, position: feed.position });
  await feed.start();
  const before = await p.store.headPosition();
  await new DeleteUserHandler(p.handler, p.personalData, p.store).execute(new DeleteUserCommand('org-1', newCommandContext({ actorId: 'admin-1' }), 'user-1'));
  const head = await p.store.headPosition();
  for (let i = 0; i < 200 && feed.position < head - 1n; i++) await new Promise((r) => setTimeout(r, 10));

  // (the address of one of the deletion's invitations, under that invitation's own subject: docs/adr/0024)
  const address = p.sealing.subjectId({ kind: 'email', email: 'kim@example.test', organizationId: 'org-1', invitationId: 'inv-ws-1' });
  expect(heard).toHaveLength(1);
  expect(heard[0]!.subjects).toEqual(expect.arrayContaining(['u:user-1', address]));
  // the deletion's first event (its tombstone) is the first event after `before`; the feed heard it there
  expect(heard[0]!.position).toBe(before + 1n);
  expect(await p.sealing.forgottenAfter([address, 'u:user-1'], heard[0]!.position)).toEqual(new Map());
  expect(await p.sealing.forgottenAfter([address, 'u:user-1'], heard[0]!.position - 1n)).toEqual(new Map([[address, heard[0]!.position], ['u:user-1', heard[0]!.position]]));
});

/** org-1 with Kim (user-1) in ws-1 */
function history() {
  const log = new EventLog();
  log.createOrganization('org-1', { userId: 'admin-1', email: 'admin@example.test', displayName: 'Ada' });
  log.createWorkspace('org-1', 'ws-1', 'admin-1', 'advanced', 'levels');
  log.workspace({ type: 'InviteMember', workspaceId: 'ws-1', actorId: 'admin-1', now: log.now, invitationId: 'inv-1', email: 'kim@example.test', roles: ['agent'], ttlSeconds: 3600 });
  log.accept('ws-1', 'inv-1', 'user-1', 'Kim');
  return log;
}

it('the feed subscribes again only when another process appended an event it follows (20 appends it does not follow: one subscription)', async () => {
  const log = history();
  await replayAppends(p, log.takeAppends());
  feed = new PresenceFeed(p.store, p.states, { pollMs: 10, retryMs: 10, from: await p.store.headPosition() });
  let subscribed = 0;
  const subscribe = p.store.subscribe.bind(p.store);
  p.store.subscribe = (o) => (subscribed++, subscribe(o));
  await feed.start();
  for (let i = 0; i < 20; i++) {
    log.workspace({ type: 'InviteMember', workspaceId: 'ws-1', actorId: 'admin-1', now: log.now, invitationId: `i-${i}`, email: `x${i}@example.test`, roles: ['agent'], ttlSeconds: 3600 });
    await replayAppends(p, log.takeAppends());
    await new Promise((r) => setTimeout(r, 15));
  }
  await feed.stop();
  // none of these events is followed: one subscription would do
  expect(subscribed).toBe(1);
});

it('stop() then start() goes on from where the feed stopped: nothing it delivered is delivered again', async () => {
  const log = history();
  await replayAppends(p, log.takeAppends());
  feed = new PresenceFeed(p.store, p.states, { retryMs: 10, from: await p.store.headPosition() });
  const left: string[] = [];
  feed.onLeft = (l) => left.push(l.eventId);
  await feed.start();
  log.workspace({ type: 'RevokeAccess', workspaceId: 'ws-1', actorId: 'admin-1', now: log.now, userId: 'user-1' } as never);
  await replayAppends(p, log.takeAppends());
  for (let i = 0; i < 100 && left.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  await feed.stop();
  await feed.start();
  await new Promise((r) => setTimeout(r, 100));
  await feed.stop();
  expect(left).toHaveLength(1);
});
