import type { KeyedMutex } from './keyed-mutex';
import type { Loaded } from './stream-states';

/**
 * The turns a decision over a whole organization (a deletion, an email change: locked on the organization's stream,
 * `checkLoaded` over every workspace) takes besides its own lock once it has been sent back: those of the workspaces
 * it loaded last time. A workspace's commands take turns on its name, so this process's commands of those workspaces
 * wait while it decides and appends its next attempt: on one replica it does not lose to them again, where before, in
 * a busy organization, a write to any workspace between its load and its append sent it back, up to ATTEMPTS times,
 * and then it failed (review, session 25). The first attempt takes its own lock only: most deletions meet no write,
 * and hold up none. Still able to send it back: another replica's writes, and a network link decided under its other
 * workspace's lock (README, "Known gaps of the production adapters").
 *
 * No two commands wait for each other: the organization's turn is taken first, then workspaces' in one order
 * (KeyedMutex.hold), and every other command holds one turn. A command locked on a workspace takes no more turns here,
 * even with `checkLoaded` (an invitation checks its organization's stream): holding its workspace while waiting for the
 * organization, it would wait for a deletion holding the organization while waiting for that workspace (the replicas
 * e2e with deletions hung so, session 26). Those that write or check the organization take its turn before their own
 * (Target.outerTurn, session 28).
 */
export class ContendedTurns {
  private streams: string[] = [];
  private attempts = 0;
  private readonly organizationWide: boolean;

  constructor(
    options: { checkLoaded?: unknown },
    private readonly lock: string,
  ) {
    this.organizationWide = options.checkLoaded === true && lock.startsWith('organization-');
  }

  /** Before an attempt: takes the turns besides the lock it needs (none on the first); resolves with their release. */
  hold(turns: KeyedMutex): Promise<() => void> {
    return this.contended() ? this.take(turns) : Promise.resolve(noTurns);
  }

  /**
   * One attempt `task` in those turns, told which they are; as it is (no promise more: the hot path) when it takes
   * none. (With pipelined turns, a command of those locks that gave its turn back may still be in flight: the task
   * waits for it before it loads, or it would decide behind it and lose to it again: review, session 26.)
   */
  around<T>(turns: KeyedMutex, task: (held: readonly string[]) => Promise<T>): Promise<T> {
    if (!this.contended()) return task(NONE);
    return this.take(turns).then(async (release) => {
      try {
        return await task(this.streams);
      } finally {
        release();
      }
    });
  }

  loaded(streams: Loaded<unknown>[]): void {
    if (this.organizationWide) this.streams = streams.map((s) => s.stream).filter((stream) => stream.startsWith('workspace-'));
  }

  private take(turns: KeyedMutex): Promise<() => void> {
    return turns.hold(this.streams);
  }

  /** counts an attempt: whether it is one after the first of a command over a whole organization */
  private contended(): boolean {
    return ++this.attempts > 1 && this.organizationWide;
  }
}

const noTurns = () => undefined;
const NONE: readonly string[] = [];
