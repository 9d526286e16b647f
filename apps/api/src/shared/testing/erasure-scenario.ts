// What the specs of a deletion erasing an address in another organization share (docs/adr/0003, "Erasure and
// sealing race", point 7): the log (org-1's user-1 with ADDRESS, org-2 inviting ADDRESS), the deletion with the
// address invited again at once in org-3, and a gate that holds a stream's read open (a long cold load).
import type { EventStore, ReadStreamOptions, RecordedEvent } from '@rollcall/event-store';
import { EventLog } from '../../../../../libs/read-store/src/projections/testing/event-log';
import { DeleteUserCommand, DeleteUserHandler } from '../../users/user-handlers';
import { newCommandContext } from '../command-path/command-context';
import { type Process, replayAppends } from './snapshot-harness';

export const ADDRESS = 'member-1@example.test';

/** org-1 with user-1 (ADDRESS); org-2 with `workspaces` (default ws-2), the last inviting ADDRESS (inv-elsewhere) */
export function erasureHistory(workspaces: string[] = ['ws-2']): EventLog {
  const log = new EventLog();
  log.createOrganization('org-1', { userId: 'admin-1', email: 'admin@example.test', displayName: 'Ada' });
  log.createWorkspace('org-1', 'ws-1', 'admin-1', 'advanced', 'levels');
  log.workspace({ type: 'InviteMember', workspaceId: 'ws-1', actorId: 'admin-1', now: log.now, invitationId: 'inv-1', email: ADDRESS, roles: ['agent'], ttlSeconds: 3600 });
  log.accept('ws-1', 'inv-1', 'user-1', 'Member One');
  log.createOrganization('org-2', { userId: 'admin-2', email: 'admin2@example.test', displayName: 'Bea' });
  for (const ws of workspaces) log.createWorkspace('org-2', ws, 'admin-2', 'advanced', 'levels');
  log.workspace({ type: 'InviteMember', workspaceId: workspaces.at(-1)!, actorId: 'admin-2', now: log.now, invitationId: 'inv-elsewhere', email: ADDRESS, roles: ['agent'], ttlSeconds: 3600 });
  return log;
}

/** `b` deletes user-1 (ADDRESS's key forgotten in the deletion's transaction), then org-3 invites ADDRESS again (ws-3,
 * inv-again); returns the deletion's first event's position (its tombstone's) */
export async function deleteAndInviteAgain(b: Process, log: EventLog): Promise<bigint> {
  const before = await b.store.headPosition();
  await new DeleteUserHandler(b.handler, b.personalData, b.store).execute(new DeleteUserCommand('org-1', newCommandContext({ actorId: 'admin-1' }), 'user-1'));
  log.createOrganization('org-3', { userId: 'admin-3', email: 'admin3@example.test', displayName: 'Cy' });
  log.createWorkspace('org-3', 'ws-3', 'admin-3', 'advanced', 'levels');
  log.workspace({ type: 'InviteMember', workspaceId: 'ws-3', actorId: 'admin-3', now: log.now, invitationId: 'inv-again', email: ADDRESS, roles: ['agent'], ttlSeconds: 3600 });
  await replayAppends(b, log.takeAppends());
  return before + 1n;
}

/** Gates on the store's stream reads: a gate set for a stream holds its next read open after its events. */
export function gatedReads(store: EventStore): Map<string, Promise<void>> {
  const gates = new Map<string, Promise<void>>();
  const readStream = store.readStream.bind(store);
  store.readStream = (stream: string, opts?: ReadStreamOptions) => {
    const inner = readStream(stream, opts);
    const gate = gates.get(stream);
    if (!gate) return inner;
    gates.delete(stream);
    return (async function* (): AsyncIterable<RecordedEvent> {
      yield* inner;
      await gate; // the load is still running (a long cold load yields to the event loop many times)
    })();
  };
  return gates;
}
