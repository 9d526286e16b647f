import type { KeyedMutex } from './keyed-mutex';
import type { Loaded } from './stream-states';

/**
 * The turns a decision over many streams (`checkLoaded`: a deletion or an email change, over every workspace of the
 * organization) takes besides its own lock once it has been sent back: those of the streams it loaded last time. A
 * command's lock is the stream it writes (a workspace's commands take turns on its name), so this process's commands
 * of those streams wait while it decides and appends its next attempt: on one replica it does not lose to them again,
 * where before, in a busy organization, a write to any workspace between its load and its append sent it back, up to
 * ATTEMPTS times, and then it failed (review, session 25). Keys are taken in one order and every other command holds
 * one (KeyedMutex.hold): no two commands wait for each other. The first attempt takes its own lock only: most
 * deletions meet no write, and hold up none. Still able to send it back: another replica's writes, and a network link
 * decided under its other workspace's lock (README, "Known gaps").
 */
export class ContendedTurns {
  private streams: string[] = [];
  private attempts = 0;

  constructor(private readonly options: { checkLoaded?: boolean }) {}

  /** Before an attempt: takes the turns besides `lock` it needs (none on the first); resolves with their release. */
  hold(turns: KeyedMutex, lock: string): Promise<() => void> {
    return this.contended() ? this.take(turns, lock) : Promise.resolve(noTurns);
  }

  /** One attempt `task` in those turns; as it is (no promise more: the hot path) when it takes none. */
  around<T>(turns: KeyedMutex, lock: string, task: () => Promise<T>): Promise<T> {
    if (!this.contended()) return task();
    return this.take(turns, lock).then(async (release) => {
      try {
        return await task();
      } finally {
        release();
      }
    });
  }

  loaded(streams: Loaded<unknown>[]): void {
    if (this.options.checkLoaded) this.streams = streams.map((s) => s.stream);
  }

  private take(turns: KeyedMutex, lock: string): Promise<() => void> {
    return turns.hold(this.streams.filter((stream) => stream !== lock));
  }

  /** counts an attempt: whether it is one after the first of a command over many streams */
  private contended(): boolean {
    return ++this.attempts > 1 && this.options.checkLoaded === true;
  }
}

const noTurns = () => undefined;
