// Pipelining on the real embedded store (docs/adr/0010-command-throughput.md, third pass): a command decided on the
// events of the lock's previous command while they are still being committed, appended right after them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYSTEM_ACTOR, type OrganizationState, decideOrganization, toStored } from '@rollcall/domain';
import {
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type RecordedEvent,
  SqliteEventStore,
  eventIdFor,
} from '@rollcall/event-store';
import { newCommandContext } from './command-context';
import { DomainException, StreamHandler } from './stream-handler';
import { StreamStates } from './stream-states';
import { organization } from './targets';

/** The embedded store; `before` runs when append is called (the next hook for each call), before the append is queued. */
class HookedStore extends SqliteEventStore {
  before: ((stream: string, events: NewEvent[], expected: ExpectedRevision) => Promise<void> | void)[] = [];
  appendsAt: ExpectedRevision[] = [];

  override async append(stream: string, events: NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    this.appendsAt.push(expected);
    await this.before.shift()?.(stream, events, expected);
    return super.append(stream, events, expected);
  }
}

let dir: string;
let store: HookedStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-pipelining-'));
  store = new HookedStore(join(dir, 'events.sqlite'), { durability: 'normal' });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const ORG = 'org-1';
const types = async (s: EventStore = store) => {
  const out: RecordedEvent[] = [];
  for await (const e of s.readStream(`organization-${ORG}`)) out.push(e);
  return out.map((e) => (e.type === 'WorkspaceCreated' ? `ws:${(e.data as { workspaceId: string }).workspaceId}` : e.type));
};
/** waits (turns of the event loop, bounded) until `condition` holds */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((r) => setImmediate(r));
  if (!condition()) throw new Error('condition never held');
}
const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

/** A handler whose first command (the organization's creation) has shown it that the store checks APPEND_AFTER. */
async function pipeliningHandler(s: EventStore = store): Promise<StreamHandler> {
  const handler = new StreamHandler(s, new StreamStates(s));
  const ctx = newCommandContext({ actorId: SYSTEM_ACTOR, idempotencyKey: 'create-org' });
  await handler.handle(organization(ORG), ctx, (org) =>
    decideOrganization(
      {
        type: 'CreateOrganization',
        organizationId: ORG,
        actorId: SYSTEM_ACTOR,
        now: ctx.now,
        name: 'Acme',
        admin: { userId: 'admin', email: 'ada@acme.test', displayName: 'Ada' },
        apiKey: { keyId: 'k', secretHash: 'h' },
      },
      org,
    ),
  );
  return handler;
}

/** Creates a workspace; `seen` gets, at each decision, the workspaces the decision saw. */
function createWorkspace(handler: StreamHandler, workspaceId: string, seen: string[][] = [], key = `create-${workspaceId}-${seen.length}`) {
  const ctx = newCommandContext({ actorId: 'admin', idempotencyKey: key });
  return handler.handle(organization(ORG), ctx, (org) => {
    seen.push([...org.workspaces.keys()]);
    return decideOrganization({ type: 'CreateWorkspace', organizationId: ORG, actorId: 'admin', now: ctx.now, workspaceId, name: workspaceId }, org);
  });
}

/** The events another replica's creation of `workspaceId` appends on `org` (at the stream's head). */
function otherReplicaCreates(org: OrganizationState, workspaceId: string): NewEvent[] {
  const decision = decideOrganization({ type: 'CreateWorkspace', organizationId: ORG, actorId: 'admin', now: new Date().toISOString(), workspaceId, name: workspaceId }, org);
  if (!decision.ok) throw new Error(decision.error.message);
  return decision.events.map((e, i) => ({ id: eventIdFor(`other:${workspaceId}`, i), ...toStored(e, { idempotencyKey: `other:${workspaceId}` }) }));
}

describe('StreamHandler pipelining: the next command of a lock decides on the events in flight', () => {
  it('two commands on one stream decided while the first is in flight both land, in one commit; the second saw the first', async () => {
    const handler = await pipeliningHandler();
    const before = store.commitSequence;
    const seenB: string[][] = [];
    const [a, b] = await Promise.all([createWorkspace(handler, 'ws-a'), createWorkspace(handler, 'ws-b', seenB)]);
    expect(store.commitSequence).toBe(before + 1);
    expect(seenB).toEqual([['ws-a']]);
    expect(BigInt(b.position)).toBeGreaterThan(BigInt(a.position));
    expect(await types()).toEqual(['OrganizationCreated', 'ApiKeyIssued', 'UserJoinedOrganization', 'ws:ws-a', 'ws:ws-b']);
  });

  it("another replica's event takes the first's place: the first conflicts, the second (whose revision alone would match) fails with it, both are decided again", async () => {
    const handler = await pipeliningHandler();
    const head = (await handler.states.organization(ORG)).state;
    // written in the same group, just before the first command's append: the first expected revision 2, the head is 3
    const other = otherReplicaCreates(head, 'ws-x');
    store.before.push(() => void SqliteEventStore.prototype.append.call(store, `organization-${ORG}`, other, 2n));
    const seenA: string[][] = [];
    const seenB: string[][] = [];
    await Promise.all([createWorkspace(handler, 'ws-a', seenA), createWorkspace(handler, 'ws-b', seenB)]);
    expect(seenA).toEqual([[], ['ws-x']]);
    expect(seenB[0]).toEqual(['ws-a']);
    expect(seenB).toHaveLength(2);
    expect(seenB[1]).toContain('ws-x');
    const log = await types();
    expect(log.slice(0, 4)).toEqual(['OrganizationCreated', 'ApiKeyIssued', 'UserJoinedOrganization', 'ws:ws-x']);
    expect(log.slice(4).sort()).toEqual(['ws:ws-a', 'ws:ws-b']);
  });

  it('when the first append fails (a store error), the second, decided on its events, is not written on top of nothing: it is decided again', async () => {
    const handler = await pipeliningHandler();
    const release = deferred();
    store.before.push(async () => {
      await release.promise;
      throw new Error('disk I/O error');
    });
    const seenB: string[][] = [];
    const a = createWorkspace(handler, 'ws-a');
    const b = createWorkspace(handler, 'ws-b', seenB);
    const aFailed = expect(a).rejects.toThrow('disk I/O error');
    await until(() => seenB.length === 1);
    release.resolve();
    await aFailed;
    await b;
    expect(seenB).toEqual([['ws-a'], []]);
    expect(await types()).toEqual(['OrganizationCreated', 'ApiKeyIssued', 'UserJoinedOrganization', 'ws:ws-b']);
  });

  it('a refusal decided on events in flight waits for their commit, and is decided again when they fail', async () => {
    const handler = await pipeliningHandler();
    // committed: the refusal stands, answered after the events it saw
    const order: string[] = [];
    await Promise.all([
      createWorkspace(handler, 'ws-a').then(() => order.push('a committed')),
      createWorkspace(handler, 'ws-a', [], 'again').catch((e: unknown) => order.push((e as DomainException).error.code)),
    ]);
    expect(order).toEqual(['a committed', 'WORKSPACE_EXISTS']);

    // failed: what the refusal saw never happened, the command is decided again and succeeds
    const release = deferred();
    store.before.push(async () => {
      await release.promise;
      throw new Error('disk I/O error');
    });
    const seen: string[][] = [];
    const first = createWorkspace(handler, 'ws-c');
    const second = createWorkspace(handler, 'ws-c', seen, 'second');
    const firstFailed = expect(first).rejects.toThrow('disk I/O error');
    await until(() => seen.length === 1);
    release.resolve();
    await firstFailed;
    expect((await second).events.map((e) => e.type)).toEqual(['WorkspaceCreated']);
    expect(seen).toEqual([['ws-a', 'ws-c'], ['ws-a']]);
  });

  it('a reader outside the lock never sees events in flight: it waits until they are committed', async () => {
    const handler = await pipeliningHandler();
    const release = deferred();
    store.before.push(() => release.promise);
    const bDecided = deferred();
    const a = createWorkspace(handler, 'ws-a');
    const b = handler.handle(organization(ORG), newCommandContext({ actorId: 'admin' }), (org) => {
      bDecided.resolve();
      return decideOrganization({ type: 'CreateWorkspace', organizationId: ORG, actorId: 'admin', now: new Date().toISOString(), workspaceId: 'ws-b', name: 'b' }, org);
    });
    await bDecided.promise;
    // the cached state holds ws-a (folded for the second command), which is not committed yet
    const read = handler.states.organizationCached(ORG).then(async (state) => ({ state: [...state.workspaces.keys()], log: await types() }));
    release.resolve();
    const { state, log } = await read;
    for (const ws of state) expect(log).toContain(`ws:${ws}`);
    await Promise.all([a, b]);
  });

  it('an append of a pipelined command whose outcome is unknown is re-sent identically: one copy', async () => {
    const handler = await pipeliningHandler();
    let lost = true;
    const original = store.append.bind(store);
    store.append = async (stream, events, expected) => {
      const result = await original(stream, events, expected);
      if (events[0]!.type === 'WorkspaceCreated' && (events[0]!.data as { workspaceId: string }).workspaceId === 'ws-b' && lost) {
        lost = false;
        const { AppendOutcomeUnknownError } = await import('@rollcall/event-store');
        throw new AppendOutcomeUnknownError(stream);
      }
      return result;
    };
    await Promise.all([createWorkspace(handler, 'ws-a'), createWorkspace(handler, 'ws-b')]);
    expect(await types()).toEqual(['OrganizationCreated', 'ApiKeyIssued', 'UserJoinedOrganization', 'ws:ws-a', 'ws:ws-b']);
  });
});

describe('StreamHandler with a store that does not check APPEND_AFTER (KurrentDB): turns last until the commit', () => {
  /** Delegates to the embedded store the way a network store sends events: the metadata as JSON (no symbol crosses). */
  class RemoteLike implements EventStore {
    ping = () => this.inner.ping();
    close = () => Promise.resolve();
    calls: string[] = [];
    constructor(private readonly inner: SqliteEventStore) {}
    async append(stream: string, events: NewEvent[], expected: ExpectedRevision) {
      this.calls.push(`append ${expected}`);
      const sent = events.map((e) => ({ ...e, metadata: JSON.parse(JSON.stringify(e.metadata)) as Record<string, unknown> }));
      const result = await this.inner.append(stream, sent, expected);
      this.calls.push(`committed ${result.nextRevision}`);
      return result;
    }
    appendMany: EventStore['appendMany'] = (parts) => this.inner.appendMany(parts);
    readStream: EventStore['readStream'] = (stream, options) => this.inner.readStream(stream, options);
    readAll: EventStore['readAll'] = (options) => this.inner.readAll(options);
    subscribe: EventStore['subscribe'] = (options) => this.inner.subscribe(options);
    headPosition: EventStore['headPosition'] = () => this.inner.headPosition();
  }

  it('the second command is decided and appended only after the first is committed', async () => {
    const remote = new RemoteLike(store);
    const handler = await pipeliningHandler(remote);
    const before = store.commitSequence;
    await Promise.all([createWorkspace(handler, 'ws-a'), createWorkspace(handler, 'ws-b')]);
    expect(store.commitSequence).toBe(before + 2);
    expect(remote.calls.slice(2)).toEqual(['append 2', 'committed 3', 'append 3', 'committed 4']);
  });
});
