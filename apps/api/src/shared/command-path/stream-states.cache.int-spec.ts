// StreamStates keeps at most `maxCachedSingles` (and `maxCached`) states, and organization and workspace states holding
// at most `maxCachedRows` rows together; the least recently loaded goes first.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DomainEvent } from '@rollcall/domain';
import { type ReadStreamOptions, type RecordedEvent, SqliteEventStore } from '@rollcall/event-store';
import type { OrganizationState } from '@rollcall/domain';
import { EventLog } from '../../../../../libs/read-store/src/projections/testing/event-log';
import { openProcess, replayAppends } from '../testing/snapshot-harness';
import { StreamStates } from './stream-states';
import { organizationWide } from './targets';

/** The embedded store, counting the reads of a stream from its start (a state not cached) */
class CountingStore extends SqliteEventStore {
  readonly cold: string[] = [];
  override readStream(stream: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent> {
    if ((options?.fromRevision ?? 0n) === 0n) this.cold.push(stream);
    return super.readStream(stream, options);
  }
}

/** a state of its own kind (its events are none the domain knows: nothing is folded, only the revision moves) */
const counter = { initial: () => 0, evolve: (n: number, _e: DomainEvent) => n + 1 };

let dir: string;
let store: CountingStore;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-states-cache-'));
  store = new CountingStore(join(dir, 'events.sqlite'), { durability: 'normal' });
  for (const s of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'])
    await store.append(s, [{ id: randomUUID(), type: 'Counted', data: {}, metadata: {} }], 'no_stream');
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('StreamStates: the cache of states', () => {
  it('drops the least recently loaded state first, also for states loaded again while the cache was less than half full', async () => {
    const states = new StreamStates(store, { maxCachedSingles: 6 });
    const load = async (...streams: string[]) => {
      for (const s of streams) expect((await states.single(s, counter)).expected).toBe(0n);
    };
    // a is loaded again while the cache is below half (1 and 2 of 6), b once; then the cache fills up
    await load('a', 'b', 'a', 'c', 'd', 'a', 'e', 'f');
    expect(store.cold).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    // two more: b and c, the least recently loaded, go (a was loaded after them)
    await load('g', 'h');
    store.cold.length = 0;
    await load('a', 'd', 'e', 'f', 'g', 'h');
    expect(store.cold).toEqual([]);
    await load('b');
    expect(store.cold).toEqual(['b']);
    // b took the place of the least recently loaded one: a (loaded before d… in the line above)
    store.cold.length = 0;
    await load('d', 'e', 'f', 'g', 'h', 'b', 'a');
    expect(store.cold).toEqual(['a']);
  });
});

describe('StreamStates: the rows the cached organization and workspace states hold (ROLLCALL_STATE_CACHE_ROWS; probe 108 F1)', () => {
  /** org-1 (1 user, 3 workspaces: 4 rows) and ws-1…ws-3, each with its owner and 10 invitations (11 rows) */
  async function threeWorkspaces() {
    const log = new EventLog();
    log.createOrganization('org-1', { userId: 'admin-1', email: 'admin@example.test', displayName: 'Ada' });
    for (const ws of ['ws-1', 'ws-2', 'ws-3']) {
      log.createWorkspace('org-1', ws, 'admin-1', 'advanced', 'levels');
      for (let i = 0; i < 10; i++)
        log.workspace({ type: 'InviteMember', workspaceId: ws, actorId: 'admin-1', now: log.now, invitationId: `${ws}-inv-${i}`, email: `p${i}@${ws}.test`, roles: ['agent'], ttlSeconds: 3600 });
    }
    const p = await openProcess(join(dir, 'rows'), { snapshots: false });
    await replayAppends(p, log.takeAppends());
    /** the workspaces read from their start (not cached), in order */
    const cold = () => p.reads.filter((r) => r.stream.startsWith('workspace-') && r.fromRevision === 0n).map((r) => r.stream.slice('workspace-'.length));
    return { log, p, cold };
  }
  /** as a command loads: its organization, then its workspace */
  const command = async (states: StreamStates, ws: string) => states.workspace((await states.organization('org-1')).state as OrganizationState, ws);

  it('drops the least recently loaded states until the rows fit: a workspace loaded again after that is read from its start', async () => {
    const { p, cold } = await threeWorkspaces();
    const states = new StreamStates(p.store, { maxCachedRows: 30 });
    // 4 + 11 + 11 = 26 rows; the third workspace makes 37: ws-1 (the least recently loaded) goes
    for (const ws of ['ws-1', 'ws-2', 'ws-3', 'ws-2', 'ws-3']) await command(states, ws);
    expect(cold()).toEqual(['ws-1', 'ws-2', 'ws-3']);
    expect(states.cached('workspace-ws-1')).toBeUndefined();
    await command(states, 'ws-1');
    expect(cold()).toEqual(['ws-1', 'ws-2', 'ws-3', 'ws-1']);
    // …and ws-2 went for it (ws-3 and the organization were loaded after it)
    expect(states.cached('workspace-ws-2')).toBeUndefined();
    expect(states.cached('workspace-ws-3')).toBeDefined();
    await p.close();
  });

  it('keeps the states in use (a command loads its organization, then its workspace) when they alone hold more rows than the budget, and drops them once others are loaded', async () => {
    const { p, cold } = await threeWorkspaces();
    const states = new StreamStates(p.store, { maxCachedRows: 5 });
    await command(states, 'ws-1');
    await command(states, 'ws-1');
    expect(cold()).toEqual(['ws-1']);
    await command(states, 'ws-2');
    expect(states.cached('workspace-ws-1')).toBeUndefined();
    expect(states.cached('workspace-ws-2')).toBeDefined();
    await p.close();
  });

  it('keeps a state holding a command in flight (its command would be decided again), and drops it once the budget is next checked after it settled', async () => {
    const { log, p } = await threeWorkspaces();
    const states = new StreamStates(p.store, { maxCachedRows: 30 });
    const ws1 = await command(states, 'ws-1');
    const invite = log.workspace({ type: 'InviteMember', workspaceId: 'ws-1', actorId: 'admin-1', now: log.now, invitationId: 'ws-1-inv-in-flight', email: 'later@ws-1.test', roles: ['agent'], ttlSeconds: 3600 });
    if (!invite.ok) throw new Error('the invitation was refused');
    let settle!: (committed: boolean) => void;
    const settled = new Promise<boolean>((resolve) => (settle = resolve));
    const folded = await states.forLock('lock-1').speculate('lock-1', { id: 'c-1', of: {}, settled }, 'workspace-ws-1', ws1!.entry, ws1!.expected, invite.events, { idempotencyKey: 'k-1' });
    expect(folded).toBe(true);
    // ws-1 is the least recently loaded, but holds the invitation in flight: ws-2 goes instead once ws-3 is loaded
    for (const ws of ['ws-2', 'ws-3']) await command(states, ws);
    expect(states.cached('workspace-ws-1')).toBe(ws1!.entry);
    expect(states.cached('workspace-ws-2')).toBeUndefined();
    await replayAppends(p, log.takeAppends());
    settle(true);
    await settled;
    await new Promise<void>((resolve) => setImmediate(resolve));
    await command(states, 'ws-2');
    expect(states.cached('workspace-ws-1')).toBeUndefined();
    await p.close();
  });

  it("an organization-wide command's loads over the budget: the states dropped to make room for its later workspaces do not send it back to decide again (a deletion in an organization holding more rows than the budget would never be decided), one forgotten does", async () => {
    const { p } = await threeWorkspaces();
    const states = new StreamStates(p.store, { maxCachedRows: 20 });
    const view = states.forLock('organization-org-1');
    const { context } = await organizationWide('org-1').load(view);
    expect(context.workspaces).toHaveLength(3);
    expect(states.cached('workspace-ws-1')).toBeUndefined();
    expect(view.since()).toEqual([]);
    // a state forgotten (a failed append's events may have been in it) after it was loaded again
    const again = states.forLock('organization-org-1');
    await organizationWide('org-1').load(again);
    const cached = ['ws-1', 'ws-2', 'ws-3'].filter((ws) => states.cached(`workspace-${ws}`) !== undefined);
    expect(cached.length).toBeGreaterThan(0);
    await states.forget(`workspace-${cached[0]}`);
    expect(again.since()).toBe('forgotten');
    await p.close();
  });
});
