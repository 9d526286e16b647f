// The states kept to continue point-in-time replays from (replay-checkpoints.ts): which one a replay takes, that it is
// its own until kept again, and the memory budget.
import { type Checkpoint, ReplayCheckpoints } from './replay-checkpoints';

const at = (revision: number, maxAt: number, rows = 10): Checkpoint<{ revision: number }> => ({ state: { revision }, revision: BigInt(revision), maxAt, events: revision + 1, lastPosition: BigInt(revision), rows });

describe('replay checkpoints', () => {
  it('a replay to T takes the furthest state whose events all happened by T, and it is no longer kept', () => {
    const kept = new ReplayCheckpoints(1_000);
    kept.keep('s', at(5, 500));
    kept.keep('s', at(9, 900));
    kept.keep('s', at(2, 200));
    expect(kept.take('s', 100)).toBeUndefined();
    expect(kept.take('s', 899)?.revision).toBe(5n);
    // taken: another replay to the same T finds the next one back
    expect(kept.take('s', 899)?.revision).toBe(2n);
    expect(kept.take('s', Number.POSITIVE_INFINITY)?.revision).toBe(9n);
    expect(kept.take('s', Number.POSITIVE_INFINITY)).toBeUndefined();
    expect(kept.take('other', Number.POSITIVE_INFINITY)).toBeUndefined();
    expect(kept.keptRows).toBe(0);
  });

  it('keeps at most four states of a stream, one per revision, none of a stream with no events', () => {
    const kept = new ReplayCheckpoints(1_000);
    for (const r of [1, 2, 3, 4, 5, 5]) kept.keep('s', at(r, r * 100));
    kept.keep('empty', { ...at(0, 0), revision: -1n, events: 0 });
    expect(kept.keptRows).toBe(40);
    expect(kept.take('empty', Number.POSITIVE_INFINITY)).toBeUndefined();
    // the first kept went first
    expect(kept.take('s', 150)).toBeUndefined();
    expect(kept.take('s', 250)?.revision).toBe(2n);
  });

  it('within the budget: the streams kept longest ago go first; a state larger than the whole budget is not kept; 0 keeps none', () => {
    const kept = new ReplayCheckpoints(100);
    kept.keep('a', at(1, 100, 40));
    kept.keep('b', at(1, 100, 40));
    kept.keep('c', at(1, 100, 40));
    expect(kept.keptRows).toBe(80);
    expect(kept.take('a', 1_000)).toBeUndefined();
    expect(kept.take('b', 1_000)?.revision).toBe(1n);
    kept.keep('d', at(1, 100, 101));
    expect(kept.take('d', 1_000)).toBeUndefined();
    const none = ReplayCheckpoints.none();
    none.keep('a', at(1, 100, 1));
    expect(none.take('a', 1_000)).toBeUndefined();
  });
});
