// Pipelining on the real embedded store (docs/adr/0010-command-throughput.md, third pass): a command decided on the
// events of the lock's previous command while they are still being committed, appended right after them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYSTEM_ACTOR, type DomainEvent, type OrganizationState, decideOrganization, toStored } from '@rollcall/domain';
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
import { DomainException, StreamHandler, type Target } from './stream-handler';
import { type StreamKind, StreamStates } from './stream-states';
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

/** Two streams of one lock's commands (`s-1`, the lock, and `s-2`), folded as the list of tags of their events. */
type Tagged = DomainEvent & { data: { stream: string; tag: string } };
/** folded in place, as the organizations' and workspaces' states are */
const TAGS: StreamKind<string[]> = {
  initial: () => [],
  evolve: (tags, e) => {
    tags.push((e as Tagged).data.tag);
    return tags;
  },
};
const tag = (stream: string, t: string) => ({ type: 'PresenceChanged', version: 1, data: { stream, tag: t } }) as unknown as Tagged;
const both: Target<{ s1: string[]; s2: string[] }> = {
  lock: 's-1',
  load: async (states) => {
    const [s1, s2] = [await states.single('s-1', TAGS), await states.single('s-2', TAGS)];
    return { context: { s1: s1.state, s2: s2.state }, streams: [s1, s2] };
  },
};
/** a command on `both`, appending its tag to `to` (default both streams); `seen` gets what each decision saw */
const onBoth = (handler: StreamHandler, t: string, seen: string[][][], to = ['s-1', 's-2']) =>
  handler.handle(both, newCommandContext({ actorId: 'admin' }), (c) => {
    seen.push([[...c.s1], [...c.s2]]);
    return { ok: true, events: to.map((stream) => tag(stream, t)), warnings: [] };
  }, { route: (e) => (e as Tagged).data.stream });

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
    // decided again in either order (both were concurrent), each time on what is committed
    expect(seenA).toHaveLength(2);
    expect(seenA[0]).toEqual([]);
    expect(seenA[1]).toContain('ws-x');
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
    const withLog = async (state: OrganizationState) => ({ state: [...state.workspaces.keys()], log: await types() });
    const cached = handler.states.organizationCached(ORG).then(withLog);
    const loaded = handler.states.organization(ORG).then((org) => withLog(org.state));
    release.resolve();
    for (const { state, log } of [await cached, await loaded]) for (const ws of state) expect(log).toContain(`ws:${ws}`);
    await Promise.all([a, b]);
  });

  it("a command of another lock that loaded a state before events in flight were folded into it is decided again when they fail", async () => {
    const handler = await pipeliningHandler();
    await createWorkspace(handler, 'ws-1');
    const orgLoaded = deferred();
    const goOn = deferred();
    // loads the organization, then (held) the workspace: the organization's state is the cached object meanwhile
    const slow: Target<string[]> = {
      lock: 'workspace-ws-1',
      load: async (states) => {
        const org = await states.organization(ORG);
        orgLoaded.resolve();
        await goOn.promise;
        const ws = await states.workspace(org.state, 'ws-1');
        return { context: [...org.state.workspaces.keys()], streams: [ws!] };
      },
    };
    const seenW: string[][] = [];
    const w = handler.handle(slow, newCommandContext({ actorId: 'admin' }), (workspaces) => {
      seenW.push(workspaces);
      return { ok: true, events: [] as DomainEvent[], warnings: [] };
    });
    await orgLoaded.promise;
    const release = deferred();
    store.before.push(async () => {
      await release.promise;
      throw new Error('disk I/O error');
    });
    const seenB: string[][] = [];
    const a = createWorkspace(handler, 'ws-a');
    const aFailed = expect(a).rejects.toThrow('disk I/O error');
    const b = createWorkspace(handler, 'ws-b', seenB);
    await until(() => seenB.length === 1);
    goOn.resolve();
    await until(() => seenW.length === 1);
    release.resolve();
    await Promise.all([aFailed, b, w]);
    expect(seenW[0]).toEqual(['ws-1', 'ws-a']);
    expect(seenW).toHaveLength(2);
    expect(seenW[1]).not.toContain('ws-a');
  });

  it("a command in flight whose events cannot all be folded (a stream moved under it) is waited for: no decision sees part of it", async () => {
    const handler = await pipeliningHandler();
    const seen: string[][][] = [];
    const onS2 = () =>
      handler.handle({ lock: 's-2', load: async (states) => { const s2 = await states.single('s-2', TAGS); return { context: s2.state, streams: [s2] }; } },
        newCommandContext({ actorId: 'admin' }), () => ({ ok: true, events: [tag('s-2', 'M')], warnings: [] }));
    await onBoth(handler, '0', seen);

    const appendCalled = deferred();
    const release = deferred();
    store.appendMany = ((original) => async (parts) => {
      if (parts.some((p) => (p.events[0]!.data as { tag: string }).tag === 'A')) {
        appendCalled.resolve();
        await release.promise;
      }
      return original(parts);
    })(store.appendMany.bind(store));
    const a = onBoth(handler, 'A', seen);
    await appendCalled.promise;
    await onS2(); // committed: s-2 moved under A, which will conflict
    const b = onBoth(handler, 'B', seen);
    await until(() => seen.length >= 3 || handler.states.peek('s-1') === undefined);
    release.resolve();
    await Promise.all([a, b]);
    for (const [s1, s2] of seen) expect(s1.includes('A')).toBe(s2.includes('A'));
  });

  it("an append of another lock decided on a state that events in flight were folded into after its load waits for them, and is decided again when they fail", async () => {
    const handler = await pipeliningHandler();
    await onBoth(handler, '0', []);
    const s1Loaded = deferred();
    const goOn = deferred();
    const seenW: string[][] = [];
    // another lock: loads s-1 (the cached object), then (held) its own stream s-3, and appends to s-3 only
    const other: Target<string[]> = {
      lock: 's-3',
      load: async (states) => {
        const s1 = await states.single('s-1', TAGS);
        s1Loaded.resolve();
        await goOn.promise;
        const s3 = await states.single('s-3', TAGS);
        return { context: s1.state, streams: [s3] };
      },
    };
    const w = handler.handle(other, newCommandContext({ actorId: 'admin' }), (s1) => {
      seenW.push([...s1]);
      return { ok: true, events: [tag('s-3', 'W')], warnings: [] };
    });
    await s1Loaded.promise;
    const release = deferred();
    store.appendMany = ((original) => async (parts) => {
      if ((parts[0]!.events[0]!.data as { tag: string }).tag === 'A') {
        await release.promise;
        throw new Error('disk I/O error');
      }
      return original(parts);
    })(store.appendMany.bind(store));
    const seen: string[][][] = [];
    const a = onBoth(handler, 'A', seen);
    const aFailed = expect(a).rejects.toThrow('disk I/O error');
    const b = onBoth(handler, 'B', seen);
    await until(() => seen.length === 2);
    goOn.resolve();
    await until(() => seenW.length === 1);
    release.resolve();
    await Promise.all([aFailed, b, w]);
    expect(seenW[0]).toEqual(['0', 'A']);
    expect(seenW).toHaveLength(2);
    expect(seenW[1]).not.toContain('A');
  });

  it('a command that failed is decided again only once the commands that follow its events failed (a new decision has the same event ids)', async () => {
    const handler = await pipeliningHandler();
    const seenA: string[][][] = [];
    const seenC: string[][][] = [];
    await onBoth(handler, '0', []);
    const [holdA, holdC] = [deferred(), deferred()];
    const held = new Map([['A', holdA], ['C', holdC]]);
    const calls: string[] = [];
    const original = store.appendMany.bind(store);
    store.appendMany = async (parts) => {
      const t = (parts[0]!.events[0]!.data as { tag: string }).tag;
      calls.push(t);
      const hold = held.get(t);
      held.delete(t);
      await hold?.promise;
      return original(parts);
    };
    const original1 = store.append.bind(store);
    store.append = async (stream, events, expected) => {
      const t = (events[0]!.data as { tag: string }).tag;
      calls.push(t);
      const hold = held.get(t);
      held.delete(t);
      await hold?.promise;
      return original1(stream, events, expected);
    };
    const a = onBoth(handler, 'A', seenA);
    // decided on A's events in both streams, appends to s-1 only (the same ids as a new decision of A would give it)
    const c = onBoth(handler, 'C', seenC, ['s-1']);
    await until(() => calls.includes('C'));
    // another replica writes to s-2 where A expected its head: A conflicts there
    await SqliteEventStore.prototype.append.call(store, 's-2', [{ id: eventIdFor('other', 0), ...toStored(tag('s-2', 'X'), {}) }], 0n);
    holdA.resolve();
    // turns enough for A to fail and, were it not held back, to be decided again and committed
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    holdC.resolve();
    await Promise.all([a, c]);
    // C's events were written only from a decision that saw what was committed in s-2 (X), not A's first decision
    expect(seenC.length).toBeGreaterThan(1);
    expect(seenC.at(-1)![1]).toContain('X');
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
