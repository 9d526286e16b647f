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
    const leader = (name: string, l: Lease) => new LeaseLeader(l, { taken: () => said.push(`${name} taken`), lost: () => said.push(`${name} lost`) });
    const [one, two] = [leader('one', a), leader('two', b)];
    const t = 1_000_000;
    expect(one.leads(t)).toBe(true);
    expect(two.leads(t)).toBe(false);
    // within the period: what it last learned, the lease not asked (released meanwhile, two still stands by)
    one.release();
    expect(two.leads(t + LEASE_RENEW_MS - 1)).toBe(false);
    expect(two.leads(t + LEASE_RENEW_MS)).toBe(true);
    expect(one.leads(t + LEASE_RENEW_MS)).toBe(false);
    expect([one.leader, two.leader]).toEqual([false, true]);
    expect(said).toEqual(['one taken', 'two taken']);
    // one takes it again, then its holder stops renewing (a stalled process): another takes it once it lapsed
    two.release();
    const t2 = t + 2 * LEASE_RENEW_MS;
    expect(one.leads(t2)).toBe(true);
    const later = t2 + 60_000;
    expect(b.tryAcquire(later)).toBe(true);
    expect(one.leads(later)).toBe(false);
    expect(one.leads(later + 1)).toBe(false); // within the period: not asked, not said again
    expect(said).toEqual(['one taken', 'two taken', 'one taken', 'one lost']);
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
