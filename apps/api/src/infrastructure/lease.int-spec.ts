import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LEASE_RENEW_MS, Lease, LeaseLeader } from './lease';

describe('Lease (one projector, one notary per data dir)', () => {
  let dir: string;
  let leases: Lease[];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rollcall-lease-'));
    leases = [];
  });
  afterEach(() => {
    for (const lease of leases) lease.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const lease = () => {
    const l = new Lease(dir, 'projector');
    leases.push(l);
    return l;
  };

  it('one holder at a time; a released lease goes to the next to ask', () => {
    const [a, b] = [lease(), lease()];
    expect(a.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false);
    expect(a.tryAcquire()).toBe(true); // renewed
    a.release();
    expect(b.tryAcquire()).toBe(true);
    expect(a.tryAcquire()).toBe(false);
  });

  it('a renewal is not fsynced (synchronous NORMAL): the publisher and the mail dispatcher renew on the event loop', () => {
    const a = lease();
    expect(a.tryAcquire()).toBe(true);
    const db = (a as unknown as { db: { prepare(sql: string): { get(): unknown } } }).db;
    // 1 = NORMAL (SQLite's default, 2 = FULL, fsyncs the WAL at every commit)
    expect(db.prepare('PRAGMA synchronous').get()).toEqual({ synchronous: 1 });
  });

  it('LeaseLeader: asks the lease at most once per renewal period and says when leadership is taken and lost', () => {
    const [a, b] = [lease(), lease()];
    const said: string[] = [];
    let now = 1_000_000;
    const clocks = { wall: () => now, elapsed: () => now };
    const leader = (name: string, l: Lease) => new LeaseLeader(l, { taken: () => said.push(`${name} taken`), lost: () => said.push(`${name} lost`) }, clocks);
    const [one, two] = [leader('one', a), leader('two', b)];
    const t = now;
    expect(one.leads()).toBe(true);
    expect(two.leads()).toBe(false);
    // within the period: what it last learned, the lease not asked (released meanwhile, two still stands by)
    one.release();
    now = t + LEASE_RENEW_MS - 1;
    expect(two.leads()).toBe(false);
    now = t + LEASE_RENEW_MS;
    expect(two.leads()).toBe(true);
    expect(one.leads()).toBe(false);
    expect([one.leader, two.leader]).toEqual([false, true]);
    expect(said).toEqual(['one taken', 'two taken']);
    // one takes it again, then its holder stops renewing (a stalled process): another takes it once it lapsed
    two.release();
    now = t + 2 * LEASE_RENEW_MS;
    expect(one.leads()).toBe(true);
    now += 60_000;
    expect(b.tryAcquire(now)).toBe(true);
    expect(one.leads()).toBe(false);
    now += 1;
    expect(one.leads()).toBe(false); // within the period: not asked, not said again
    expect(said).toEqual(['one taken', 'two taken', 'one taken', 'one lost']);
  });

  it('probe 55 F2: the wall clock stepping back does not stop a standby asking (nor a holder renewing) once a period', () => {
    const [a, b] = [lease(), lease()];
    let [wall, elapsed] = [Date.now(), 5_000];
    const clocks = { wall: () => wall, elapsed: () => elapsed };
    const [one, two] = [new LeaseLeader(a, { taken: () => undefined, lost: () => undefined }, clocks), new LeaseLeader(b, { taken: () => undefined, lost: () => undefined }, clocks)];
    expect([one.leads(), two.leads()]).toEqual([true, false]);
    // NTP steps the clock back ten minutes; a second passes; the holder stops (its lease released)
    wall -= 600_000;
    elapsed += LEASE_RENEW_MS;
    expect(one.leads()).toBe(true); // renewed, not answered from its last ask
    one.release();
    elapsed += LEASE_RENEW_MS;
    expect(two.leads()).toBe(true);
  });

  it('probe 68 F5: a LeaseLeader that stands down lets the lease go and does not ask for it within the quiet time, so that a standby takes it', () => {
    const [a, b] = [lease(), lease()];
    let now = 1_000_000;
    const clocks = { wall: () => now, elapsed: () => now };
    const [old, upgraded] = [new LeaseLeader(a, { taken: () => undefined, lost: () => undefined }, clocks), new LeaseLeader(b, { taken: () => undefined, lost: () => undefined }, clocks)];
    expect([old.leads(), upgraded.leads()]).toEqual([true, false]);
    old.standDown(5_000);
    // the old one asks first, each period, and is not given it back: the standby's next ask takes it
    for (let i = 1; i <= 3; i++) {
      now += LEASE_RENEW_MS;
      expect(old.leads()).toBe(false);
    }
    expect(upgraded.leads()).toBe(true);
    // with no one else there, it takes the lease again once the quiet time is over
    upgraded.release();
    now += 5_000;
    expect(old.leads()).toBe(true);
  });

  it('LeaseLeader asks at its first call, however soon after its thread started (the elapsed clock starts near 0 there)', () => {
    const leader = new LeaseLeader(lease(), { taken: () => undefined, lost: () => undefined }, { wall: () => Date.now(), elapsed: () => 3 });
    expect(leader.leads()).toBe(true);
  });

  it('the positions standbys\' readers wait for reach the holder: the highest asked for stays', () => {
    const [holder, standby, other] = [lease(), lease(), lease()];
    expect(holder.wanted()).toBeUndefined();
    standby.want(42n);
    other.want(7n); // asked later, lower: must not hide 42 from the holder
    expect(holder.wanted()).toBe(42n);
    other.want(2n ** 53n + 1n); // past what a double holds exactly: positions are bigints
    expect(holder.wanted()).toBe(2n ** 53n + 1n);
  });
});
