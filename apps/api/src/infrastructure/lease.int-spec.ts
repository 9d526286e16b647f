import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lease } from './lease';

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
