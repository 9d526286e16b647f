// The one command path over the real embedded store, with faults injected at the port: an append whose outcome the
// store cannot tell (written or not), a conflict with another replica, a retry whose first answer was lost.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type OrganizationState, SYSTEM_ACTOR, decideOrganization } from '@rollcall/domain';
import {
  AppendOutcomeUnknownError,
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  SqliteEventStore,
  type RecordedEvent,
} from '@rollcall/event-store';
import { type CommandContext, newCommandContext } from './command-context';
import { EventStoreUnavailableError, StreamHandler, type Target } from './stream-handler';
import { StreamStates, organizationStream } from './stream-states';
import { organization } from './targets';

/** The embedded store, with the next appends failing as a network would: after writing, or before. */
class FaultyStore extends SqliteEventStore {
  faults: ('written-unconfirmed' | 'lost-before-write')[] = [];
  appendsAt: ExpectedRevision[] = [];
  /** runs (once) before the next append: another replica's write */
  before: (() => Promise<unknown>) | undefined;

  override async append(stream: string, events: NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    const before = this.before;
    this.before = undefined;
    await before?.();
    this.appendsAt.push(expected);
    const fault = this.faults.shift();
    if (fault === 'lost-before-write') throw new AppendOutcomeUnknownError(stream);
    const result = await super.append(stream, events, expected);
    if (fault === 'written-unconfirmed') throw new AppendOutcomeUnknownError(stream, new Error('deadline exceeded after 5000 ms'));
    return result;
  }
}

let dir: string;
let store: FaultyStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-handler-'));
  store = new FaultyStore(join(dir, 'events.sqlite'), { durability: 'normal' });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const streamOf = async (s: EventStore, name: string) => {
  const out: RecordedEvent[] = [];
  for await (const e of s.readStream(name)) out.push(e);
  return out;
};

const createOrg = (handler: StreamHandler, key: string, organizationId = 'org-1') => {
  const ctx = newCommandContext({ actorId: SYSTEM_ACTOR, idempotencyKey: key });
  return handler.handle(organization(organizationId), ctx, (org) =>
    decideOrganization(
      {
        type: 'CreateOrganization',
        organizationId,
        actorId: SYSTEM_ACTOR,
        now: ctx.now,
        name: 'Acme',
        admin: { userId: 'admin', email: 'ada@acme.test', displayName: 'Ada' },
        apiKey: { keyId: 'k', secretHash: 'h' },
      },
      org,
    ),
  );
};

describe('StreamHandler: a retried write after an unclear failure is written exactly once (docs/adr/0004)', () => {
  it('an append written but not confirmed is re-sent at the same expected revision: one copy, the first answer', async () => {
    const handler = new StreamHandler(store, new StreamStates(store));
    store.faults = ['written-unconfirmed'];
    const done = await createOrg(handler, 'k1');
    expect(store.appendsAt).toEqual(['no_stream', 'no_stream']);
    const events = await streamOf(store, 'organization-org-1');
    expect(events.map((e) => e.type)).toEqual(['OrganizationCreated', 'ApiKeyIssued', 'UserJoinedOrganization']);
    expect(done.position).toBe(events[2]!.position.toString());
    // its own write, found by the re-send: not a replay (the command's side effects are still to do)
    expect(done).toMatchObject({ replayed: false, resent: true });
    expect(done.events.map((e) => e.type)).toEqual(['OrganizationCreated', 'ApiKeyIssued', 'UserJoinedOrganization']);
  });

  it('an append lost before it was written is written by the re-send', async () => {
    const handler = new StreamHandler(store, new StreamStates(store));
    store.faults = ['lost-before-write'];
    expect(await createOrg(handler, 'k1')).toMatchObject({ replayed: false });
    expect((await streamOf(store, 'organization-org-1')).length).toBe(3);
  });

  it('a store that never confirms ends in EVENT_STORE_UNAVAILABLE; the client\'s retry with the same key then finds the events', async () => {
    const handler = new StreamHandler(store, new StreamStates(store));
    store.faults = ['written-unconfirmed', 'written-unconfirmed', 'written-unconfirmed'];
    const refused = await createOrg(handler, 'k1').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(EventStoreUnavailableError);
    // the store's last answer named, and kept as the cause for the log (probe 38b F7: both dropped)
    expect((refused as Error).message).toBe(
      'The event store did not confirm the change to organization-org-1 (its last answer: deadline exceeded after 5000 ms); retry the request with the same Idempotency-Key.',
    );
    expect((refused as Error).cause).toBeInstanceOf(AppendOutcomeUnknownError);
    const retry = await createOrg(handler, 'k1');
    expect(retry.replayed).toBe(true);
    expect(retry.events.map((e) => e.type)).toEqual(['OrganizationCreated', 'ApiKeyIssued', 'UserJoinedOrganization']);
    expect((await streamOf(store, 'organization-org-1')).length).toBe(3);
  });

  it('a retry on another replica (cold cache, answer lost) answers from the log and appends nothing, even after later writes', async () => {
    const first = await createOrg(new StreamHandler(store, new StreamStates(store)), 'k1');
    const other = new StreamHandler(store, new StreamStates(store));
    const ws = newCommandContext({ actorId: 'admin', idempotencyKey: 'k2' });
    await other.handle(organization('org-1'), ws, (org) =>
      decideOrganization({ type: 'CreateWorkspace', organizationId: 'org-1', actorId: 'admin', now: ws.now, workspaceId: 'ws-1', name: 'S' }, org),
    );
    const head = await store.headPosition();
    const retry = await createOrg(new StreamHandler(store, new StreamStates(store)), 'k1');
    expect(retry.replayed).toBe(true);
    expect(retry.position).toBe(first.position);
    expect(await store.headPosition()).toBe(head);
  });

  it('a conflict with another replica is decided again on the new state', async () => {
    await createOrg(new StreamHandler(store, new StreamStates(store)), 'k1');
    const one = new StreamHandler(store, new StreamStates(store));
    const two = new StreamHandler(store, new StreamStates(store));
    const create = (h: StreamHandler, key: string, workspaceId: string) => {
      const ctx = newCommandContext({ actorId: 'admin', idempotencyKey: key });
      return h.handle(organization('org-1'), ctx, (org) =>
        decideOrganization({ type: 'CreateWorkspace', organizationId: 'org-1', actorId: 'admin', now: ctx.now, workspaceId, name: workspaceId }, org),
      );
    };
    // both replicas load the same revision first, so the second append conflicts and is decided again
    await Promise.all([one.states.organization('org-1'), two.states.organization('org-1')]);
    const results = await Promise.all([create(one, 'a', 'ws-a'), create(two, 'b', 'ws-b')]);
    expect(results.every((r) => !r.replayed)).toBe(true);
    expect((await streamOf(store, 'organization-org-1')).map((e) => e.type).slice(3)).toEqual(['WorkspaceCreated', 'WorkspaceCreated']);
  });

  it('looks for a retry\'s events under a key made for the request only when deciding again (a client\'s key always)', async () => {
    await createOrg(new StreamHandler(store, new StreamStates(store)), 'k1');
    const lookups: string[] = [];
    // the organization target, recording the keys looked up among the stream's applied commands
    const counted: Target<OrganizationState> = {
      lock: organizationStream('org-1'),
      load: async (states) => {
        const org = await states.organization('org-1');
        return { context: org.state, streams: [{ ...org, applied: (key: string) => (lookups.push(key), org.applied(key)) }] };
      },
    };
    const create = (h: StreamHandler, ctx: CommandContext, workspaceId: string) =>
      h.handle(counted, ctx, (org) => decideOrganization({ type: 'CreateWorkspace', organizationId: 'org-1', actorId: 'admin', now: ctx.now, workspaceId, name: workspaceId }, org));
    const handler = new StreamHandler(store, new StreamStates(store));
    // turn by turn (the store not known yet), then pipelined
    await create(handler, newCommandContext({ actorId: 'admin' }), 'ws-1');
    await create(handler, newCommandContext({ actorId: 'admin' }), 'ws-2');
    expect(lookups).toEqual([]);
    const keyed = newCommandContext({ actorId: 'admin', idempotencyKey: 'org:org-1:k2' });
    await create(handler, keyed, 'ws-3');
    expect(lookups).toEqual(['org:org-1:k2']);
    // another replica's event lands before the append: decided again, and now its events are looked for
    lookups.length = 0;
    const replica = new StreamHandler(store, new StreamStates(store));
    store.before = () => create(replica, newCommandContext({ actorId: 'admin' }), 'ws-other');
    const fresh = newCommandContext({ actorId: 'admin' });
    await create(handler, fresh, 'ws-4');
    expect(lookups.filter((k) => k === fresh.idempotencyKey)).toHaveLength(1);
    expect((await streamOf(store, 'organization-org-1')).map((e) => e.type).slice(3)).toEqual(Array(5).fill('WorkspaceCreated'));
  });
});

describe('rule 17: a command is dated no earlier than the last change of the streams it decides on', () => {
  const createAt = (h: StreamHandler, now: string, workspaceId: string) => {
    const ctx = newCommandContext({ actorId: 'admin', now });
    const seen: string[] = [];
    const written = h.handle(organization('org-1'), ctx, (org) => {
      seen.push(ctx.now);
      return decideOrganization({ type: 'CreateWorkspace', organizationId: 'org-1', actorId: 'admin', now: ctx.now, workspaceId, name: workspaceId }, org);
    });
    return { written, seen };
  };
  const timesOf = async () => (await streamOf(store, 'organization-org-1')).map((e) => e.metadata.occurredAt as string);

  it('decided again after another replica\'s later-dated change got in first: dated at that change, never before it', async () => {
    await createOrg(new StreamHandler(store, new StreamStates(store)), 'k1');
    const handler = new StreamHandler(store, new StreamStates(store));
    const replica = new StreamHandler(store, new StreamStates(store));
    await handler.states.organization('org-1');
    store.before = () => createAt(replica, '2099-01-01T00:00:02.000Z', 'ws-replica').written;
    const late = createAt(handler, '2099-01-01T00:00:01.000Z', 'ws-late');
    await late.written;
    // first decided at its request's time, then again on the replica's change, at that change's time
    expect(late.seen).toEqual(['2099-01-01T00:00:01.000Z', '2099-01-01T00:00:02.000Z']);
    const times = await timesOf();
    expect(times.slice(-2)).toEqual(['2099-01-01T00:00:02.000Z', '2099-01-01T00:00:02.000Z']);
  });

  it('an earlier request decided after a later one in this process (pipelined) follows its time; a cold load learns it from the log', async () => {
    await createOrg(new StreamHandler(store, new StreamStates(store)), 'k1');
    const handler = new StreamHandler(store, new StreamStates(store));
    await createAt(handler, '2099-01-01T00:00:05.000Z', 'ws-1').written;
    await createAt(handler, '2099-01-01T00:00:03.000Z', 'ws-2').written;
    // another process, its cache cold: the time comes from the events it reads
    await createAt(new StreamHandler(store, new StreamStates(store)), '2099-01-01T00:00:04.000Z', 'ws-3').written;
    // a later time is kept as it is
    await createAt(handler, '2099-01-01T00:00:09.000Z', 'ws-4').written;
    const times = await timesOf();
    expect(times.slice(-4)).toEqual(['2099-01-01T00:00:05.000Z', '2099-01-01T00:00:05.000Z', '2099-01-01T00:00:05.000Z', '2099-01-01T00:00:09.000Z']);
  });
});
