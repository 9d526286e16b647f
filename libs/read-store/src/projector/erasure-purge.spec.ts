import type { ReadAllOptions, RecordedEvent } from '@rollcall/event-store';
import { ErasurePurge } from './erasure-purge';

const event = (type: string, position: bigint) => ({ type, position }) as RecordedEvent;

describe('rule 12 at rest: the projector purges the read store\'s old versions once a deletion is committed', () => {
  it('purges only once the batch holding the deletion is committed, and not again without another deletion', async () => {
    const calls: number[] = [];
    const purge = new ErasurePurge({ purgeOldVersions: async () => (calls.push(1), true) }, () => undefined);
    purge.applied(event('UserInvited', 5n));
    await purge.committed([5n]);
    expect(calls).toHaveLength(0);
    purge.applied(event('UserDeleted', 9n));
    await purge.committed([8n, undefined]);
    expect(calls).toHaveLength(0);
    await purge.committed([7n, 9n]);
    expect(calls).toHaveLength(1);
    await purge.committed([10n]);
    expect(calls).toHaveLength(1);
  });

  it('when readers prevent it (or it fails), tries again shortly until it succeeds, with no commit in between; stop ends the retries', async () => {
    let answers = [false, false, true];
    const errors: string[] = [];
    let calls = 0;
    const purge = new ErasurePurge(
      {
        purgeOldVersions: async () => {
          calls++;
          if (calls === 2) throw new Error('disk I/O error');
          return answers.shift() ?? true;
        },
      },
      (m) => errors.push(m),
    );
    purge.start();
    purge.applied(event('UserDeleted', 3n));
    await purge.committed([3n]);
    expect(calls).toBe(1);
    // busy, then an error, then busy again, then done: four tries, ~200 ms apart, and no fifth
    for (const deadline = Date.now() + 10_000; calls < 4 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 400));
    expect(calls).toBe(4);
    expect(errors).toEqual([expect.stringContaining('disk I/O error')]);
    // purged: a later commit does not purge again
    await purge.committed([4n]);
    expect(calls).toBe(4);

    answers = [false, false, false, false];
    purge.applied(event('UserDeleted', 6n));
    await purge.committed([6n]);
    purge.stop();
    await new Promise((r) => setTimeout(r, 500));
    expect(calls).toBe(5);
  });

  it('with an interval, old versions readers keep from being dropped are tried again every 200 ms, not in a loop (a first build tried ~800 times a second)', async () => {
    let attempts = 0;
    const purge = new ErasurePurge({ purgeOldVersions: async (through?: bigint) => (attempts++, through !== undefined) }, () => undefined, { minIntervalMs: 3_600_000 });
    purge.start();
    purge.applied(event('UserDeleted', 2n));
    await purge.committed([2n]);
    purge.applied(event('UserDeleted', 4n));
    await purge.committed([4n]);
    await new Promise((r) => setTimeout(r, 500));
    await purge.stop();
    // the rewrite for 2, then the old versions of 4 at once and about every 200 ms
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(attempts).toBeLessThanOrEqual(5);
  });

  it('at start, never rejects: a log it cannot read is logged (the projector runs it in its loop, not awaited by its start: probe 42 F4)', async () => {
    const errors: string[] = [];
    let calls = 0;
    const purge = new ErasurePurge({ purgeOldVersions: async () => (calls++, true) }, (m) => errors.push(m));
    const failing = { headPosition: async () => 10n, readAll: () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('disk I/O error')) }) }) };
    await expect(purge.atStart(failing as never, [10n])).resolves.toBeUndefined();
    expect(errors).toEqual([expect.stringContaining('disk I/O error')]);
    expect(calls).toBe(0);
  });

  it('purges at start, before projecting, when the log holds a deletion after the last one purged for (one projected before a crash may not have been purged), and again when readers prevented it; with none, not at all', async () => {
    let answers = [false, true];
    let calls = 0;
    const store = { purgeOldVersions: async () => (calls++, answers.shift() ?? true) };
    // no deletion in the log: nothing to purge (session 56: the search indexes were merged at every start all the same)
    await new ErasurePurge(store, () => undefined).atStart(logOf([]), [10n]);
    expect(calls).toBe(0);
    const purge = new ErasurePurge(store, () => undefined);
    purge.start();
    await purge.atStart(logOf([event('UserDeleted', 5n)], 10n), [10n]);
    expect(calls).toBe(1);
    for (const deadline = Date.now() + 5_000; calls < 2 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300));
    expect(calls).toBe(2);
    // done: a commit without a deletion does not purge again
    await purge.committed([5n]);
    expect(calls).toBe(2);
    answers = [];
    purge.stop();
  });

  it('at start, vacuums for the last deletion in the log after the one the store vacuumed for; with none since, notes the head (the next start reads on from there)', async () => {
    const asked: (bigint | undefined)[] = [];
    const noted: bigint[] = [];
    let through = 4n;
    const store = {
      purgeOldVersions: async (erasedThrough?: bigint) => (asked.push(erasedThrough), true),
      erasuresPurgedThrough: async () => through,
      noteErasuresPurgedThrough: async (p: bigint) => void noted.push(p),
    };
    const log = logOf([event('UserDeleted', 2n), event('UserDeleted', 7n), event('UserDeleted', 9n)], 12n);
    await new ErasurePurge(store, () => undefined).atStart(log, [12n]);
    expect(asked).toEqual([9n]);
    expect(log.from).toEqual([4n]);
    expect(noted).toEqual([]);
    through = 9n;
    await new ErasurePurge(store, () => undefined).atStart(log, [12n]);
    // no deletion after 9: nothing purged, the head noted
    expect(asked).toEqual([9n]);
    expect(noted).toEqual([12n]);
  });

  it('at start, a deletion some projection has not applied yet is not vacuumed for (nor the head noted past it): its commit will be', async () => {
    const asked: (bigint | undefined)[] = [];
    const noted: bigint[] = [];
    const store = {
      purgeOldVersions: async (erasedThrough?: bigint) => (asked.push(erasedThrough), true),
      erasuresPurgedThrough: async () => -1n,
      noteErasuresPurgedThrough: async (p: bigint) => void noted.push(p),
    };
    const log = logOf([event('UserDeleted', 2n), event('UserDeleted', 7n)], 12n);
    await new ErasurePurge(store, () => undefined).atStart(log, [9n, 5n]);
    expect(asked).toEqual([2n]);
    await new ErasurePurge(store, () => undefined).atStart(log, [1n, undefined]);
    expect(asked).toEqual([2n, undefined]);
    expect(noted).toEqual([]);
  });
});

describe('rule 12 at rest: deletions close together share one rewrite of the read store (ROLLCALL_ERASURE_REWRITE_SECONDS, ADR 0029)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  /** a purge over a fake store whose calls are recorded (undefined: old versions only; a position: a rewrite), on a clock the test moves */
  function interval(minIntervalMs: number) {
    const asked: (bigint | undefined)[] = [];
    const logged: string[] = [];
    const purge = new ErasurePurge({ purgeOldVersions: async (through?: bigint) => (asked.push(through), true) }, () => undefined, {
      minIntervalMs,
      now: () => Date.now(),
      logInfo: (m) => logged.push(m),
    });
    purge.start();
    return { purge, asked, logged };
  }
  const deleted = async (purge: ErasurePurge, position: bigint) => {
    purge.applied(event('UserDeleted', position));
    await purge.committed([position]);
  };

  it('rule 12: every deletion drops its old versions at once; the first after a start is rewritten for at once, the next ones within the interval share one rewrite when it ends', async () => {
    const { purge, asked, logged } = interval(60_000);
    await deleted(purge, 3n);
    expect(asked).toEqual([3n]);
    expect(logged).toEqual([expect.stringMatching(/through position 3 .* in \d+ ms/)]);
    await jest.advanceTimersByTimeAsync(10_000);
    await deleted(purge, 5n);
    await deleted(purge, 8n);
    // each one's old versions (the WAL copied back over its rows' pages, the search index merged) at once
    expect(asked).toEqual([3n, undefined, undefined]);
    await jest.advanceTimersByTimeAsync(49_000);
    expect(asked).toEqual([3n, undefined, undefined]);
    // 60 s after the first rewrite: one for both
    await jest.advanceTimersByTimeAsync(1_000);
    expect(asked).toEqual([3n, undefined, undefined, 8n]);
    await jest.advanceTimersByTimeAsync(600_000);
    expect(asked).toHaveLength(4);
    // a deletion long after the last rewrite: rewritten for at once again
    await deleted(purge, 11n);
    expect(asked).toEqual([3n, undefined, undefined, 8n, 11n]);
    await purge.stop();
  });

  it('old versions readers prevented dropping are tried again shortly, not at the interval\'s end', async () => {
    const asked: (bigint | undefined)[] = [];
    let busy = 0;
    const purge = new ErasurePurge({ purgeOldVersions: async (through?: bigint) => (asked.push(through), through !== undefined || busy-- <= 0) }, () => undefined, { minIntervalMs: 3_600_000, now: () => Date.now() });
    purge.start();
    await deleted(purge, 2n);
    busy = 2;
    await deleted(purge, 4n);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(asked).toEqual([2n, undefined, undefined, undefined]);
    await jest.advanceTimersByTimeAsync(3_600_000);
    expect(asked).toEqual([2n, undefined, undefined, undefined, 4n]);
    await purge.stop();
  });

  it('a deletion applied to a batch not committed yet when the interval ends waits for its commit (a rewrite recorded for it earlier could miss copies its rows still make)', async () => {
    const { purge, asked } = interval(1_000);
    await deleted(purge, 2n);
    await deleted(purge, 4n);
    purge.applied(event('UserDeleted', 6n)); // in the next batch, not committed when the timer fires
    await jest.advanceTimersByTimeAsync(1_000);
    expect(asked).toEqual([2n, undefined, 4n]);
    await purge.committed([6n]);
    expect(asked).toEqual([2n, undefined, 4n, undefined]);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(asked).toEqual([2n, undefined, 4n, undefined, 6n]);
    await purge.stop();
  });

  it('stop drops the planned rewrite (the next start finds the deletion left undone: atStart); 0 rewrites after every deletion', async () => {
    const { purge, asked } = interval(1_000);
    await deleted(purge, 2n);
    await deleted(purge, 4n);
    await purge.stop();
    await jest.advanceTimersByTimeAsync(5_000);
    expect(asked).toEqual([2n, undefined]);

    const every = interval(0);
    for (const p of [1n, 2n, 3n]) await deleted(every.purge, p);
    expect(every.asked).toEqual([1n, 2n, 3n]);
  });
});

/** a log of these events (readAll filtered by type and position as the stores do), its head at `head` */
function logOf(events: RecordedEvent[], head = 10n) {
  const from: (bigint | undefined)[] = [];
  return {
    from,
    headPosition: async () => head,
    async *readAll(options?: ReadAllOptions) {
      from.push(options?.fromPosition);
      for (const e of events)
        if ((options?.fromPosition === undefined || e.position > options.fromPosition) && (options?.filter?.eventTypes ?? [e.type]).includes(e.type)) yield e;
    },
  };
}
