import { type WorkspaceEvent, type WorkspaceState, evolveWorkspace, initialWorkspaceState } from '@rollcall/domain';
import type { EventStore, RecordedEvent } from '@rollcall/event-store';
import { differencesFromLog } from './cached-state-check';

const T0 = '2026-12-03T06:00:00.000Z';
const info = { workspaceId: 'w1', organizationId: 'o1', ownerUserId: 'owner', accessModel: 'levels', createdAt: T0 } as Parameters<typeof initialWorkspaceState>[0];
const invited = (invitationId: string, email: string | null) => ({
  type: 'UserInvited',
  data: { workspaceId: 'w1', organizationId: 'o1', invitationId, email, access: { roles: ['agent'], grants: [], restrictions: {} }, invitedAt: T0, expiresAt: T0, linkVersion: 1, inviteeUserId: null, addressKey: 'organization' },
});
const deletedFromWorkspace = (invitationIds: string[]) => ({
  type: 'UserDeletedFromWorkspace',
  data: { workspaceId: 'w1', organizationId: 'o1', userId: 'u9', invitationIds, deletedAt: T0 },
});

/**
 * The stream as read now: `events` in order, each committed at `created` (ms). `firstReadSees`: how many of them the
 * first read sees (the others committed after it began, as the keys it looked up afterwards show).
 */
function storeReading(events: { type: string; data: object; created: number }[], firstReadSees = events.length): EventStore {
  const recorded = events.map((e, i) => ({ id: `e${i}`, stream: 'workspace-w1', revision: BigInt(i), position: BigInt(i + 1), type: e.type, data: e.data, metadata: { schemaVersion: e.type === 'UserInvited' ? 2 : 1 }, created: new Date(e.created) }) as unknown as RecordedEvent);
  let reads = 0;
  return {
    async *readStream(_stream: string, options: { fromRevision?: bigint } = {}) {
      const visible = reads++ === 0 ? recorded.slice(0, firstReadSees) : recorded;
      yield* visible.filter((r) => r.revision >= (options.fromRevision ?? 0n));
    },
  } as unknown as EventStore;
}

/** the state a load folded when the address still read: the invitation to jo@x.io, at revision 0 */
function cachedWithAddress(): { state: WorkspaceState; revision: bigint } {
  const state = initialWorkspaceState(info);
  evolveWorkspace(state, invited('i1', 'jo@x.io') as unknown as WorkspaceEvent);
  return { state, revision: 0n };
}
const check = (store: EventStore, loadStartedAt: number) =>
  differencesFromLog(store, 'workspace-w1', cachedWithAddress(), initialWorkspaceState(info), (s, e) => evolveWorkspace(s, e as WorkspaceEvent), loadStartedAt);

describe('differencesFromLog (the ROLLCALL_CHECK_CACHED_STATES diagnostic)', () => {
  it('an address a deletion erased after the load began (its event after the cached revision) is not a difference: the log is read with the keys of now', async () => {
    const store = storeReading([
      { ...invited('i1', null), created: 1_000 },
      { ...deletedFromWorkspace(['i1']), created: 5_000 },
    ]);
    expect(await check(store, 4_990)).toEqual([]);
  });

  it("a deletion that committed between the check's read and its key lookup (its events unseen by that read) is found by a second read: not a difference", async () => {
    const store = storeReading(
      [
        { ...invited('i1', null), created: 1_000 },
        { ...deletedFromWorkspace(['i1']), created: 5_000 },
      ],
      1,
    );
    expect(await check(store, 4_990)).toEqual([]);
  });

  it('the same erasure committed well before the load began is reported: the load should have read the deletion', async () => {
    const store = storeReading([
      { ...invited('i1', null), created: 1_000 },
      { ...deletedFromWorkspace(['i1']), created: 2_000 },
    ]);
    const found = await check(store, 4_000);
    expect(found).toHaveLength(3);
    expect(found[0]).toMatch(/^invitations\[i1\]: log .*"email":null.*cached .*"email":"jo@x.io".*its events: 0@1 UserInvited; a deletion after the cached revision, committed -2000 ms after the load began/);
    expect(found.slice(1)).toEqual(['pendingByEmail[null]: log "i1", cached undefined', 'pendingByEmail[jo@x.io]: only cached']);
  });

  it('an address the log reads that the cached state holds as erased is always reported, with the invitation\'s events', async () => {
    const state = initialWorkspaceState(info);
    evolveWorkspace(state, invited('i1', null) as unknown as WorkspaceEvent);
    const store = storeReading([{ ...invited('i1', 'jo@x.io'), created: 1_000 }]);
    const found = await differencesFromLog(store, 'workspace-w1', { state, revision: 0n }, initialWorkspaceState(info), (s, e) => evolveWorkspace(s, e as WorkspaceEvent), 4_000);
    expect(found[0]).toMatch(/^invitations\[i1\]: log .*"email":"jo@x.io".*cached .*"email":null.*\(its events: 0@1 UserInvited\)$/);
    expect(found).toContain('pendingByEmail[jo@x.io]: log "i1", cached undefined');
    expect(found).toContain('pendingByEmail[null]: only cached');
  });

  it('an erased address differing in more than its address is reported', async () => {
    const store = storeReading([
      { ...invited('i1', null), created: 1_000 },
      { ...deletedFromWorkspace(['i1']), created: 5_000 },
    ]);
    const cached = cachedWithAddress();
    cached.state.invitations.get('i1')!.linkVersion = 2;
    const found = await differencesFromLog(store, 'workspace-w1', cached, initialWorkspaceState(info), (s, e) => evolveWorkspace(s, e as WorkspaceEvent), 4_990);
    expect(found[0]).toMatch(/^invitations\[i1\]:/);
  });
});
