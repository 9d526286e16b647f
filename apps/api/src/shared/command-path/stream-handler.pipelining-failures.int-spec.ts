// Pipelining on the real embedded store (docs/adr/0010-command-throughput.md, third pass), continued: commands of
// other locks that depend on events in flight when those fail, retries of a pipelined command, and a store that does
// not check APPEND_AFTER (KurrentDB).
import { type DomainEvent, toStored } from '@rollcall/domain';
import { type EventStore, type ExpectedRevision, type NewEvent, SqliteEventStore, newEventId } from '@rollcall/event-store';
import { newCommandContext } from './command-context';
import type { Target } from './stream-handler';
import {
  ORG,
  TAGS,
  createWorkspace,
  deferred,
  pipeliningFixture,
  onBoth,
  tag,
  until,
} from '../testing/pipelining-harness';

const fx = pipeliningFixture();

describe('StreamHandler pipelining: what depends on events in flight when they fail', () => {
  it("a command of another lock that loaded a state before events in flight were folded into it is decided again when they fail", async () => {
    const handler = await fx.handler();
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
    fx.store.before.push(async () => {
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
    const handler = await fx.handler();
    const seen: string[][][] = [];
    const onS2 = () =>
      handler.handle({ lock: 's-2', load: async (states) => { const s2 = await states.single('s-2', TAGS); return { context: s2.state, streams: [s2] }; } },
        newCommandContext({ actorId: 'admin' }), () => ({ ok: true, events: [tag('s-2', 'M')], warnings: [] }));
    await onBoth(handler, '0', seen);

    const appendCalled = deferred();
    const release = deferred();
    fx.store.appendMany = ((original) => async (parts) => {
      if (parts.some((p) => (p.events[0]!.data as { tag: string }).tag === 'A')) {
        appendCalled.resolve();
        await release.promise;
      }
      return original(parts);
    })(fx.store.appendMany.bind(fx.store));
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
    const handler = await fx.handler();
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
    fx.store.appendMany = ((original) => async (parts) => {
      if ((parts[0]!.events[0]!.data as { tag: string }).tag === 'A') {
        await release.promise;
        throw new Error('disk I/O error');
      }
      return original(parts);
    })(fx.store.appendMany.bind(fx.store));
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

  it('a command that failed is decided again only once the commands that follow its events failed (they were decided on its first decision)', async () => {
    const handler = await fx.handler();
    const seenA: string[][][] = [];
    const seenC: string[][][] = [];
    await onBoth(handler, '0', []);
    const [holdA, holdC] = [deferred(), deferred()];
    const held = new Map([['A', holdA], ['C', holdC]]);
    const calls: string[] = [];
    const original = fx.store.appendMany.bind(fx.store);
    fx.store.appendMany = async (parts) => {
      const t = (parts[0]!.events[0]!.data as { tag: string }).tag;
      calls.push(t);
      const hold = held.get(t);
      held.delete(t);
      await hold?.promise;
      return original(parts);
    };
    const original1 = fx.store.append.bind(fx.store);
    fx.store.append = async (stream, events, expected) => {
      const t = (events[0]!.data as { tag: string }).tag;
      calls.push(t);
      const hold = held.get(t);
      held.delete(t);
      await hold?.promise;
      return original1(stream, events, expected);
    };
    const a = onBoth(handler, 'A', seenA);
    // decided on A's events in both streams, appends to s-1 only
    const c = onBoth(handler, 'C', seenC, ['s-1']);
    await until(() => calls.includes('C'));
    // another replica writes to s-2 where A expected its head: A conflicts there
    await SqliteEventStore.prototype.append.call(fx.store, 's-2', [{ id: newEventId(), ...toStored(tag('s-2', 'X'), {}) }], 0n);
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
    const handler = await fx.handler();
    let lost = true;
    const original = fx.store.append.bind(fx.store);
    fx.store.append = async (stream, events, expected) => {
      const result = await original(stream, events, expected);
      if (events[0]!.type === 'WorkspaceCreated' && (events[0]!.data as { workspaceId: string }).workspaceId === 'ws-b' && lost) {
        lost = false;
        const { AppendOutcomeUnknownError } = await import('@rollcall/event-store');
        throw new AppendOutcomeUnknownError(stream);
      }
      return result;
    };
    const [, b] = await Promise.all([createWorkspace(handler, 'ws-a'), createWorkspace(handler, 'ws-b')]);
    expect(await fx.types()).toEqual(['OrganizationCreated', 'ApiKeyIssued', 'UserJoinedOrganization', 'ws:ws-a', 'ws:ws-b']);
    // its own write, found by the re-send: answered with its decision, not as a replay
    expect(b).toMatchObject({ replayed: false, resent: true });
    expect(b.events.map((e) => e.type)).toEqual(['WorkspaceCreated']);
  });
});

describe('StreamHandler with a fx.store that does not check APPEND_AFTER (KurrentDB): turns last until the commit', () => {
  /** Delegates to the embedded fx.store the way a network fx.store sends events: the metadata as JSON (no symbol crosses). */
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
    const remote = new RemoteLike(fx.store);
    const handler = await fx.handler(remote);
    const before = fx.store.commitSequence;
    await Promise.all([createWorkspace(handler, 'ws-a'), createWorkspace(handler, 'ws-b')]);
    expect(fx.store.commitSequence).toBe(before + 2);
    expect(remote.calls.slice(2)).toEqual(['append 2', 'committed 3', 'append 3', 'committed 4']);
  });
});
