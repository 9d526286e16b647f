// Rule 13: a heartbeat that changes nothing is answered from cached state (no read of the log, no append), and the
// caches follow what other replicas append (the presence feed marks them stale). Two replicas: two connections to
// one embedded log file, each with its own caches, feed and reactions, sharing the data dir's leases.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decideWorkspace } from '@rollcall/domain';
import { type EventStore, SqliteEventStore } from '@rollcall/event-store';
import { LogScenario, ORG, WS } from '../../../../libs/read-store/src/projections/testing/scenario';
import { newCommandContext } from '../shared/command-path/command-context';
import { DomainException, StreamHandler } from '../shared/command-path/stream-handler';
import { StreamStates } from '../shared/command-path/stream-states';
import { workspace } from '../shared/command-path/targets';
import { PresenceFeed } from './feed';
import { BufferedLeaseStore, SqliteLeaseBackend } from './leases';
import { HeartbeatCommand, HeartbeatHandler, type PresenceOptions, PresenceReactions } from './presence-handlers';

const options: PresenceOptions = { timeoutSeconds: 60, sweepMs: 1000, keepAliveMs: 15_000 };
const ref = { organizationId: ORG, workspaceId: WS };

/** counts the reads and appends that reach the store */
function counted(store: EventStore) {
  const counts = { reads: 0, appends: 0 };
  const readStream = store.readStream.bind(store);
  const append = store.append.bind(store);
  store.readStream = (...args) => {
    counts.reads++;
    return readStream(...args);
  };
  store.append = (...args) => {
    counts.appends++;
    return append(...args);
  };
  return counts;
}

class Replica {
  readonly store: SqliteEventStore;
  readonly counts;
  readonly states: StreamStates;
  readonly streams: StreamHandler;
  readonly leases: BufferedLeaseStore;
  readonly heartbeats: HeartbeatHandler;
  readonly feed: PresenceFeed;

  constructor(dir: string) {
    this.store = new SqliteEventStore(join(dir, 'events.sqlite'), { durability: 'normal' });
    this.counts = counted(this.store);
    this.states = new StreamStates(this.store);
    this.streams = new StreamHandler(this.store, this.states);
    this.leases = new BufferedLeaseStore(new SqliteLeaseBackend(dir), 60_000);
    const reactions = new PresenceReactions(this.streams, this.leases, options);
    this.heartbeats = new HeartbeatHandler(this.streams, this.states, this.leases, options, reactions);
    // two connections in one process: each hears its own appends only, so the feed polls (as across processes)
    this.feed = new PresenceFeed(this.store, this.states, { pollMs: 10 });
    this.feed.onLeft = (left) => void reactions.memberLeft(left, Date.now());
  }

  heartbeat(userId: string, status: 'online' | 'away') {
    return this.heartbeats.execute(new HeartbeatCommand(ref, newCommandContext({ actorId: userId }), status));
  }

  /** resolves once this replica's feed has delivered the log's head */
  async caughtUp(): Promise<void> {
    const head = await this.store.headPosition();
    while (this.feed.position < head) await new Promise((r) => setTimeout(r, 5));
  }

  async close() {
    await this.feed.stop();
    await this.leases.close();
    await this.store.close();
  }
}

describe('rule 13: heartbeats answered from cached state that follows the log', () => {
  let dir: string;
  let a: Replica;
  let b: Replica;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rollcall-heartbeats-'));
    const s = new LogScenario().member('u0').member('u1');
    const setup = new SqliteEventStore(join(dir, 'events.sqlite'), { durability: 'normal' });
    for (const { stream, events } of s.log.appends) await setup.append(stream, events, 'any');
    await setup.close();
    a = new Replica(dir);
    b = new Replica(dir);
    await a.feed.start();
    await b.feed.start();
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a heartbeat that changes nothing reads nothing from the log and appends nothing', async () => {
    expect(await a.heartbeat('u0', 'online')).toMatchObject({ changed: true, previous: 'offline' });
    const before = { ...a.counts };
    for (let i = 0; i < 20; i++) expect(await a.heartbeat('u0', 'online')).toMatchObject({ changed: false });
    expect(a.counts).toEqual(before);
  });

  it('a transition another replica appended is seen here: the next heartbeat is judged on it', async () => {
    await a.heartbeat('u0', 'online');
    expect(await b.heartbeat('u0', 'away')).toMatchObject({ changed: true, previous: 'online' });
    await a.caughtUp();
    // A's cache said online; had it not followed the log, this would be "nothing changes"
    expect(await a.heartbeat('u0', 'online')).toMatchObject({ changed: true, previous: 'away' });
    const transitions = [];
    for await (const e of a.store.readStream(`presence-${WS}-u0`)) transitions.push((e.data as { status: string }).status);
    expect(transitions).toEqual(['online', 'away', 'online']);
  });

  it('a revoke on another replica: one `revoked` transition (both replicas react), and the next heartbeat here is refused', async () => {
    await a.heartbeat('u1', 'online');
    const revoke = newCommandContext({ actorId: 'admin' });
    await b.streams.handle(workspace(ref), revoke, (c) => decideWorkspace({ type: 'RevokeAccess', workspaceId: WS, actorId: 'admin', now: revoke.now, userId: 'u1' }, c));
    await a.caughtUp();
    await b.caughtUp();
    const reasons = async () => {
      const found: string[] = [];
      for await (const e of a.store.readStream(`presence-${WS}-u1`)) found.push((e.data as { reason: string }).reason);
      return found;
    };
    for (let i = 0; i < 100 && (await reasons()).length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100)); // the slower replica's reaction has decided by now
    expect(await reasons()).toEqual(['heartbeat', 'revoked']);
    await expect(a.heartbeat('u1', 'online')).rejects.toThrow(DomainException);
    // the workspace was read again once; heartbeats that change nothing are cheap again
    await a.heartbeat('u0', 'online');
    const before = { ...a.counts };
    await a.heartbeat('u0', 'online');
    expect(a.counts).toEqual(before);
  });
});
