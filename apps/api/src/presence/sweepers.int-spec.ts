// Rule 13 (docs/rules.md#presence-details): "a lapse produces exactly one timeout transition", with two replicas
// sweeping at once. Two replicas here are two event-store connections on one embedded log file, each with its own
// cached states, StreamHandler and lease store (two connections on one data dir's presence.sqlite), as two API
// processes on one data dir have them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '@rollcall/event-store';
import { EventLog } from '../../../../libs/read-store/src/projections/testing/event-log';
import { LogScenario, ORG, WS } from '../../../../libs/read-store/src/projections/testing/scenario';
import { newCommandContext } from '../shared/command-path/command-context';
import { StreamHandler } from '../shared/command-path/stream-handler';
import { StreamStates } from '../shared/command-path/stream-states';
import { BufferedLeaseStore, type Lease, SqliteLeaseBackend } from './leases';
import { HeartbeatCommand, HeartbeatHandler, type PresenceOptions, PresenceReactions } from './presence-handlers';
import { PresenceSweeper } from './sweeper';

const USERS = 40;
const ROUNDS = 5;
const T0 = Date.parse('2026-03-01T09:00:00.000Z');
const options: PresenceOptions = { timeoutSeconds: 60, sweepMs: 1000, keepAliveMs: 15_000 };

class Replica {
  readonly store: SqliteEventStore;
  readonly states: StreamStates;
  readonly leases: BufferedLeaseStore;
  readonly heartbeats: HeartbeatHandler;
  readonly reactions: PresenceReactions;
  /** the leases this replica tried to time out (after its sweep found them lapsed) */
  readonly attempts: string[] = [];
  clock = T0;

  constructor(dir: string) {
    this.store = new SqliteEventStore(join(dir, 'events.sqlite'), { durability: 'normal' });
    this.states = new StreamStates(this.store);
    const streams = new StreamHandler(this.store, this.states);
    this.leases = new BufferedLeaseStore(new SqliteLeaseBackend(dir), 60_000);
    this.reactions = new PresenceReactions(streams, this.leases, options);
    this.heartbeats = new HeartbeatHandler(streams, this.states, this.leases, options, this.reactions);
    const timeOut = this.reactions.timeOut.bind(this.reactions);
    this.reactions.timeOut = (lease: Lease, now: number) => {
      this.attempts.push(lease.userId);
      return timeOut(lease, now);
    };
  }

  sweeper(): PresenceSweeper {
    return new PresenceSweeper(this.leases, this.reactions, { ...options, now: () => this.clock });
  }

  heartbeat(userId: string, at: number) {
    const ctx = newCommandContext({ actorId: userId, now: new Date(at).toISOString() });
    return this.heartbeats.execute(new HeartbeatCommand({ organizationId: ORG, workspaceId: WS }, ctx, 'online'));
  }

  async close() {
    await this.leases.close();
    await this.store.close();
  }
}

describe('rule 13: two replicas sweeping the same leases', () => {
  let dir: string;
  let a: Replica;
  let b: Replica;
  const users = Array.from({ length: USERS }, (_, i) => `u${i}`);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rollcall-sweepers-'));
    // the organization, the workspace and its members, as the API would have appended them
    const s = new LogScenario();
    for (const u of users) s.member(u);
    const setup = new SqliteEventStore(join(dir, 'events.sqlite'), { durability: 'normal' });
    for (const { stream, events } of (s.log as EventLog).appends) await setup.append(stream, events, 'any');
    await setup.close();
    a = new Replica(dir);
    b = new Replica(dir);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const timeouts = async (userId: string) => {
    const found: string[] = [];
    for await (const e of a.store.readStream(`presence-${WS}-${userId}`)) if ((e.data as { reason: string }).reason === 'timeout') found.push((e.data as { lastSeenAt: string }).lastSeenAt);
    return found;
  };

  it(`exactly one timeout per lapse: ${ROUNDS} rounds of ${USERS} users, both replicas sweeping at once`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const seen = T0 + round * 600_000;
      // half of the users heartbeat on each replica; each heartbeat is a transition (offline -> online)
      await Promise.all(users.map((u, i) => (i % 2 === 0 ? a : b).heartbeat(u, seen)));
      a.attempts.length = 0;
      b.attempts.length = 0;
      a.clock = b.clock = seen + 61_000;
      await Promise.all([a.sweeper().sweep(), b.sweeper().sweep()]);
      // the two replicas really raced for the same lapses
      expect(a.attempts.length + b.attempts.length).toBeGreaterThan(USERS);
      for (const u of users) expect(await timeouts(u)).toHaveLength(round + 1);
      for (const u of users) expect((await timeouts(u))[round]).toBe(new Date(seen).toISOString());
      // released: the next sweep finds nothing
      expect(await a.leases.lapsed(a.clock, 1000)).toEqual([]);
    }
  }, 60_000);

  const transitions = async (userId: string, since: number) => {
    const found: string[] = [];
    for await (const e of a.store.readStream(`presence-${WS}-${userId}`)) {
      const d = e.data as { status: string; reason: string; lastSeenAt: string; changedAt: string };
      if (Date.parse(d.changedAt) >= since) found.push(`${d.status} ${d.reason} ${d.lastSeenAt}`);
    }
    return found;
  };
  const at = (ms: number) => new Date(ms).toISOString();

  it('rule 13: a heartbeat after a silence past the timeout, before any sweep, records the lapse first and starts a new interval (probe 47 F1), on either replica', async () => {
    const seen = T0 + 200 * 600_000;
    // u1 heard on a, then on a again 60.3 s later; u2 heard on a, then on b 61 s later: no sweeper ran in between
    await a.heartbeat('u1', seen);
    await a.heartbeat('u2', seen);
    const back = await a.heartbeat('u1', seen + 60_300);
    const other = await b.heartbeat('u2', seen + 61_000);
    expect([back.previous, back.changed, other.previous, other.changed]).toEqual(['offline', true, 'offline', true]);
    expect(await transitions('u1', seen)).toEqual([`online heartbeat ${at(seen)}`, `offline timeout ${at(seen)}`, `online heartbeat ${at(seen + 60_300)}`]);
    expect(await transitions('u2', seen)).toEqual([`online heartbeat ${at(seen)}`, `offline timeout ${at(seen)}`, `online heartbeat ${at(seen + 61_000)}`]);
    // a sweep now finds nothing lapsed, and records no second timeout of the same silence
    a.clock = b.clock = seen + 61_500;
    await Promise.all([a.sweeper().sweep(), b.sweeper().sweep()]);
    expect(await transitions('u1', seen)).toHaveLength(3);
    expect(await transitions('u2', seen)).toHaveLength(3);
    // within the timeout, nothing is recorded: a heartbeat 59.9 s after the last, on the other replica, changes nothing
    expect((await b.heartbeat('u1', seen + 60_300 + 59_900)).changed).toBe(false);
    expect(await transitions('u1', seen)).toHaveLength(3);
  });

  it('probe 55 F3: after the wall clock stepped back, a silent user goes offline a timeout after the step is seen, not the step later; a heartbeat after the step counts', async () => {
    const seen = T0 + 250 * 600_000;
    // heard on a while its clock ran 10 minutes fast; then NTP steps both clocks back
    await a.heartbeat('u3', seen + 600_000);
    await a.heartbeat('u4', seen + 600_000);
    a.clock = b.clock = seen + 1_000;
    await Promise.all([a.sweeper().sweep(), b.sweeper().sweep()]);
    // taken as heard now, not in the future; u4 is heard again after the step and renews from there
    expect((await a.leases.get(WS, 'u3'))?.lastSeenAt).toBe(seen + 1_000);
    await b.heartbeat('u4', seen + 30_000);
    expect((await a.leases.get(WS, 'u4'))?.lastSeenAt).toBe(seen + 30_000);
    // a timeout (60 s) after the step was seen, u3 is offline; u4, heard 31 s later, not yet
    a.clock = b.clock = seen + 62_000;
    await Promise.all([a.sweeper().sweep(), b.sweeper().sweep()]);
    expect(await transitions('u3', seen)).toEqual([`online heartbeat ${at(seen + 600_000)}`, `offline timeout ${at(seen + 1_000)}`]);
    expect(await transitions('u4', seen)).toEqual([`online heartbeat ${at(seen + 600_000)}`]);
    a.clock = b.clock = seen + 91_000;
    await Promise.all([a.sweeper().sweep(), b.sweeper().sweep()]);
    expect((await transitions('u4', seen)).at(-1)).toBe(`offline timeout ${at(seen + 30_000)}`);
  });

  it("rule 13: a heartbeat with no lease is decided on fresh state, not on a cached status another replica's sweep has ended (probe 47 F2)", async () => {
    const seen = T0 + 300 * 600_000;
    // a holds u5 online in its cache, and no lease of its own (the user's heartbeats went to b since)
    await a.heartbeat('u5', seen - 10_000);
    await a.leases.release(WS, 'u5', seen);
    await b.heartbeat('u5', seen);
    await b.leases.flush();
    // b's sweep records the lapse and releases the lease; a has not heard of it (no feed here: its cache says online)
    b.clock = seen + 61_000;
    await b.sweeper().sweep();
    expect(await transitions('u5', seen)).toEqual([`offline timeout ${at(seen)}`]);
    const answer = await a.heartbeat('u5', seen + 61_500);
    expect([answer.previous, answer.changed]).toEqual(['offline', true]);
    expect(await transitions('u5', seen)).toEqual([`offline timeout ${at(seen)}`, `online heartbeat ${at(seen + 61_500)}`]);
  });

  it('a lease renewed after the lapse was read is not timed out', async () => {
    const seen = T0 + 100 * 600_000;
    await a.heartbeat('u0', seen);
    const stale = (await a.leases.get(WS, 'u0'))!;
    // the user heartbeats again (nothing changes, the lease moves on) before the sweeper acts on what it read
    await b.heartbeat('u0', seen + 50_000);
    await b.leases.flush();
    expect(await a.reactions.timeOut(stale, seen + 61_000)).toEqual([]);
    expect((await a.leases.get(WS, 'u0'))!.lastSeenAt).toBe(seen + 50_000);
  });
});
