import { NOTARY_RETRY_MS, NotaryLoop, type NotaryStatus } from './notary-loop';

const DISK_FULL = new Error('database or disk is full');

/**
 * A notary over a data dir whose disk fails for a while: `failing` steps throw (the lease's renewal, the tree's
 * append, the checkpoint's write), as SQLite does on a full disk; the loop's sleeps advance a fake clock.
 */
function harness(options: { keepEveryCheckpointMs?: number; pollMs?: number; stopAfterMs?: number; leadsFails?: number; catchUpFails?: number; checkpointFails?: number; events?: number; signedAt?: Date; wall?: () => number; standbyTurns?: number; checkpointed?: number }) {
  let standbyTurns = options.standbyTurns ?? 0;
  let clock = 0;
  let leadsFails = options.leadsFails ?? 0;
  let catchUpFails = options.catchUpFails ?? 0;
  let checkpointFails = options.checkpointFails ?? 0;
  let unread = options.events ?? 0;
  let size = 0;
  let checkpointSize: number | null = options.checkpointed ?? null;
  const statuses: NotaryStatus[] = [];
  const logs: string[] = [];
  const sleeps: number[] = [];
  /** the clock's time at each thinning, and what it kept */
  const thinnings: { at: number; keepEveryMs: number }[] = [];
  let loop: NotaryLoop;
  const leader = {
    leading: false,
    leads() {
      if (leadsFails > 0 && leadsFails--) throw DISK_FULL;
      // another process holds the lease for the first turns (killed then: this one takes over)
      if (standbyTurns > 0 && standbyTurns--) return (this.leading = false);
      this.leading = true;
      return true;
    },
    get leader() {
      return this.leading;
    },
    release() {
      this.leading = false;
    },
  };
  loop = new NotaryLoop({
    leader,
    notary: {
      async catchUp(max) {
        if (catchUpFails > 0 && catchUpFails--) throw DISK_FULL;
        const added = Math.min(max, unread);
        unread -= added;
        size += added;
        return added;
      },
      checkpoint() {
        if (checkpointFails > 0 && checkpointFails--) throw DISK_FULL;
        if (checkpointSize === size) return undefined;
        checkpointSize = size;
        return { size };
      },
      thinCheckpoints(keepEveryMs) {
        thinnings.push({ at: clock, keepEveryMs });
        // the first round takes three steps (a long history), the later ones one
        const more = thinnings.length < 3;
        return { deleted: more ? 1000 : 0, more };
      },
      get size() {
        return size;
      },
    },
    tree: { size: () => size, latestCheckpoint: () => (checkpointSize === null ? undefined : { size: checkpointSize, ...(options.signedAt && { signedAt: options.signedAt }) }) },
    checkpointMs: 1000,
    keepEveryCheckpointMs: options.keepEveryCheckpointMs ?? 0,
    pollMs: options.pollMs ?? 20,
    standbyMs: 1000,
    status: (s) => statuses.push(s),
    log: (level, message) => logs.push(`${level}: ${message}`),
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
      // enough rounds to see it recover, then the events the test adds later
      if (clock > (options.stopAfterMs ?? 60_000)) loop.stop();
    },
    now: () => clock,
    ...(options.wall && { wall: options.wall }),
  });
  return {
    loop,
    thinnings,
    statuses,
    logs,
    sleeps,
    add: (n: number) => (unread += n),
    get size() {
      return size;
    },
    get checkpointSize() {
      return checkpointSize;
    },
  };
}

describe('the notary loop under storage faults (verifiable history; probe 51 F1)', () => {
  it('a lease renewal that fails on a full disk is tried again until it succeeds; the log is then notarized and signed', async () => {
    const h = harness({ leadsFails: 5, events: 12 });
    await h.loop.begin();
    await h.loop.run();
    expect(h.size).toBe(12);
    expect(h.checkpointSize).toBe(12);
    // one error line for the fault (not one per try), one when it is over
    expect(h.logs).toEqual([
      `error: notary: database or disk is full; tried again every ${NOTARY_RETRY_MS / 1000} s until it succeeds (no restart needed)`,
      'info: notary: the log is notarized again',
    ]);
    expect(h.sleeps.slice(0, 4)).toEqual([NOTARY_RETRY_MS, NOTARY_RETRY_MS, NOTARY_RETRY_MS, NOTARY_RETRY_MS]);
    // the fault is reported while it lasts (/health's audit, the failing gauge), and cleared after
    expect(h.statuses.some((s) => s.error === 'database or disk is full')).toBe(true);
    expect(h.statuses.at(-1)).toEqual({ size: 12, checkpointSize: 12, notarizing: true });
  });

  it('stopped while it fails: no recovery is logged for the last steps (probe 54 F3)', async () => {
    const h = harness({ catchUpFails: 1_000_000, events: 5 });
    await h.loop.begin();
    await h.loop.run();
    expect(h.logs.filter((l) => l.includes('notarized again'))).toEqual([]);
    expect(h.statuses.at(-1)?.error).toBe('database or disk is full');
  });

  it('a tree append and a checkpoint that fail are tried again: every event is folded and signed once the disk has room', async () => {
    const h = harness({ catchUpFails: 3, checkpointFails: 2, events: 7_000 });
    await h.loop.begin();
    await h.loop.run();
    expect({ size: h.size, checkpointSize: h.checkpointSize }).toEqual({ size: 7_000, checkpointSize: 7_000 });
    expect(h.logs.filter((l) => l.startsWith('error'))).toHaveLength(1);
    expect(h.statuses.filter((s) => s.error !== undefined).length).toBeGreaterThan(0);
    expect(h.statuses.at(-1)?.error).toBeUndefined();
  });
});

describe('the notary and the wall clock (probe 55)', () => {
  it('F5: a clock behind the last signed checkpoint by more than verify tolerates is logged, once while it lasts; checkpoints go on', async () => {
    const signedAt = new Date('2026-12-05T20:10:00Z');
    let wall = signedAt.getTime() - 600_000; // stepped back ten minutes
    const h = harness({ events: 3, signedAt, wall: () => (wall += 1_000) });
    await h.loop.begin();
    await h.loop.run();
    const said = h.logs.filter((l) => l.includes('behind the last signed checkpoint'));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/^error: notary: the clock is \d+ s behind the last signed checkpoint \(stepped back\?\).*ENTRY_BACKDATED/);
    expect(h.checkpointSize).toBe(3);
  });
});

it('probe 58 F5: a standby that takes the lease over an idle log says at once that it notarizes (nothing new to sign)', async () => {
  // the log's 0 entries signed already: the new holder has nothing to sign
  const h = harness({ events: 0, standbyTurns: 3, checkpointed: 0 });
  await h.loop.begin();
  expect(h.statuses.at(-1)?.notarizing).toBe(false);
  await h.loop.run();
  // said when it took over, not only by the last status as it stops
  expect(h.statuses.filter((s) => s.notarizing).length).toBeGreaterThanOrEqual(2);
});

it('probe 108 F4: the lease holder thins the checkpoints at its first step and then once an hour, keeping every one of the span configured; with 0, never', async () => {
  // an idle log looked at every minute, for 2.5 hours of the loop's clock
  const h = harness({ events: 3, keepEveryCheckpointMs: 86_400_000, pollMs: 60_000, stopAfterMs: 9_000_000 });
  await h.loop.begin();
  await h.loop.run();
  // the first round's three steps on three turns of the loop, between its other steps (two at once while it catches up on
  // the log, then a minute apart: an idle log)
  expect(h.thinnings).toEqual([0, 0, 60_000, 3_660_000, 7_260_000].map((at) => ({ at, keepEveryMs: 86_400_000 })));
  expect(h.logs).toEqual(['info: notary: 2000 checkpoints older than 24 h thinned to one an hour']);
  const never = harness({ events: 3 });
  await never.loop.begin();
  await never.loop.run();
  expect(never.thinnings).toEqual([]);
});
