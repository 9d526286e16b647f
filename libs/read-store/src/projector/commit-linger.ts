/**
 * How long the projector waits for more events before it commits the batch at hand, once the log has nothing
 * more right now.
 *
 * Why wait at all: a commit's cost is mostly per page written, not per event. The same log projected in batches
 * of 300 events costs ~128 µs of CPU and 44 KiB written per event, in batches of 1,500 ~86 µs and 19.5 KiB, of
 * 3,000 ~77 µs and 13 KiB (`bench:projector-writes`, ADR 0010 sixth pass): the events of a larger batch touch the
 * same index leaves, and each touched page is written once per commit. Under load (the API's projector thread
 * shares two cores with command handling) committing as soon as the subscription pauses cuts batches of a few
 * hundred events; spacing commits by `ms` lets them grow.
 *
 * What it must not cost:
 * - light traffic keeps its read-model latency: the wait only applies while the previous batch had `above`
 *   events or more (the log was busy); a lone command after a quiet spell is committed at once;
 * - read-your-writes: a reader waiting for a position (`X-Min-Position`) calls `hurry()`, which ends the wait
 *   at once, and the next batch is committed as soon as the subscription pauses.
 */
export class CommitLinger {
  private lastCutAt = Number.NEGATIVE_INFINITY;
  private lastBatch = 0;
  /** the last position of the batch cut last, and the highest position a reader waits for */
  private cutPosition = -1n;
  private wanted = -1n;
  private wake: (() => void) | undefined;

  /** `ms` 0: never wait (commit whenever the subscription pauses, as before) */
  constructor(
    private readonly ms: number,
    private readonly above: number,
  ) {}

  /** a batch of `events` up to `lastPosition` was cut for commit */
  cut(events: number, lastPosition: bigint | undefined): void {
    this.lastCutAt = performance.now();
    this.lastBatch = events;
    if (lastPosition !== undefined && lastPosition > this.cutPosition) this.cutPosition = lastPosition;
  }

  /**
   * A reader waits for `position`: no waiting until a batch reaching it is cut (the position may not be applied
   * yet: the subscription may not have read it).
   */
  hurry(position: bigint): void {
    if (position > this.wanted) this.wanted = position;
    // a position already in a cut batch needs that batch's commit, not the next batch's
    if (position > this.cutPosition) this.wake?.();
  }

  /** milliseconds left to wait for more events before committing (0: commit now) */
  left(): number {
    if (this.ms <= 0 || this.wanted > this.cutPosition || this.lastBatch < this.above) return 0;
    return Math.max(0, this.lastCutAt + this.ms - performance.now());
  }

  /**
   * The next event if the subscription has it at hand (or, while lingering, if it comes before the wait is
   * over and nobody hurries); else `idle`.
   */
  whenReady<T, I>(next: Promise<T>, idle: I): Promise<T | I> {
    const ms = this.left();
    if (ms === 0) return firstOf(next, idle);
    return firstOf(next, idle, ms, (wake) => (this.wake = wake));
  }
}

/**
 * `next`'s outcome if it settles first; else `idle`: after `ms`, or (no `ms`) unless `next` is at hand now, or when the
 * function handed to `onWake` is called (it is handed `undefined` once the race is over).
 */
export function firstOf<T, I>(next: Promise<T>, idle: I, ms?: number, onWake?: (wake: (() => void) | undefined) => void): Promise<T | I> {
  return new Promise((resolve, reject) => {
    const idleNow = () => {
      settle();
      resolve(idle);
    };
    const timer = ms === undefined ? setImmediate(idleNow) : setTimeout(idleNow, ms);
    const settle = () => {
      if (ms === undefined) clearImmediate(timer as NodeJS.Immediate);
      else clearTimeout(timer as NodeJS.Timeout);
      onWake?.(undefined);
    };
    onWake?.(idleNow);
    next.then(
      (value) => {
        settle();
        resolve(value);
      },
      (error: unknown) => {
        settle();
        reject(error);
      },
    );
  });
}
