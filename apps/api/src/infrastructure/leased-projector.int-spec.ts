import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProjectionStatus, Projector } from '@rollcall/read-store';
import { LeasedProjector } from './leased-projector';

/** a projector whose projections say `status` (no event store: what LeasedProjector does with what they say) */
function fakeProjector(status: Partial<ProjectionStatus>): Projector & { stopped: boolean } {
  const projector = {
    stopped: false,
    start: async () => undefined,
    stop: async () => void (projector.stopped = true),
    status: (): ProjectionStatus[] => [{ name: 'members', checkpoint: 41n, lag: 1n, processed: 0, state: 'running', ...status }],
  };
  return projector as unknown as Projector & { stopped: boolean };
}

describe('LeasedProjector: one process projects a data dir (docs/adr/0011 point 4)', () => {
  let dir: string;
  const logged: string[] = [];
  const logger = { info: (m: string) => void logged.push(m), error: (m: string) => void logged.push(m) };
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'rollcall-leased-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const turn = (p: LeasedProjector) => (p as unknown as { lead(): Promise<void> }).lead();

  it('probe 68 F5: stopped before an event a later version wrote, it lets the lease go to a process standing by (an upgraded one) and still reports why it stopped', async () => {
    const stoppedBeforeLater = { state: 'failed' as const, laterVersion: true as const, error: 'e at 42: workspace-1 holds an event this version of Rollcall cannot read (MemberSuspended, schema version 1): a later version wrote it; upgrade this process' };
    const oldOne = fakeProjector(stoppedBeforeLater);
    const upgradedOne = fakeProjector({});
    const [old, upgraded] = [new LeasedProjector(() => oldOne, { dataDir: dir }, logger), new LeasedProjector(() => upgradedOne, { dataDir: dir }, logger)];
    try {
      await turn(old);
      await turn(upgraded);
      expect([old.current, upgraded.current]).toEqual([oldOne, undefined]);
      // its next turn hands over; the standby's next one takes the lease
      await turn(old);
      expect(old.current).toBeUndefined();
      expect(oldOne.stopped).toBe(true);
      expect(old.status()).toEqual([expect.objectContaining(stoppedBeforeLater)]);
      await turn(old); // within the quiet time: not taken back
      await turn(upgraded);
      expect(upgraded.current).toBe(upgradedOne);
      expect(upgraded.status()).toEqual([expect.objectContaining({ state: 'running' })]);
      expect(logged).toContain('projector: stopped before an event a later version of Rollcall wrote; the lease goes to another process for an upgraded one to project it');
    } finally {
      await old.stop();
      await upgraded.stop();
    }
  });

  it('a projector that runs keeps the lease; another process stands by with nothing to report', async () => {
    const [a, b] = [new LeasedProjector(() => fakeProjector({}), { dataDir: dir }, logger), new LeasedProjector(() => fakeProjector({}), { dataDir: dir }, logger)];
    try {
      for (let i = 0; i < 3; i++) {
        await turn(a);
        await turn(b);
      }
      expect(a.current).toBeDefined();
      expect(b.current).toBeUndefined();
      expect(b.status()).toEqual([]);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
