/** Runs tasks one at a time per key (in this process); tasks of different keys run concurrently. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(task, task);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }

  /** whether a task of this key runs or waits (a caller that would skip the turn takes it then: HeartbeatHandler) */
  busy(key: string): boolean {
    return this.tails.has(key);
  }

  /**
   * Takes the turns of several keys, one after the other in sorted order, and resolves with the function that gives
   * them all back. Two callers holding some keys and waiting for others could wait for each other forever; in one
   * order they cannot. The callers keep to one order across `hold` and `run` too: an organization's turn before its
   * workspaces' (`organization-…` sorts first). A deletion holds its organization (`run`) and then takes workspaces
   * (`hold`: ContendedTurns); an invitation or acceptance holds its organization (`hold`: StreamHandler's
   * inOuterTurn) and then takes its workspace (`run`); no task holds a workspace's turn and waits for an
   * organization's. A presence stream's turn (`presence-…`) is held alone: a revoke or deletion writes its
   * MembershipEnded there without taking it (its expected revision orders them), and no presence command waits for a
   * workspace's.
   */
  async hold(keys: Iterable<string>): Promise<() => void> {
    const releases: (() => void)[] = [];
    for (const key of [...new Set(keys)].sort())
      await new Promise<void>((taken) => {
        void this.run(key, () => {
          taken();
          return new Promise<void>((release) => releases.push(release));
        });
      });
    return () => {
      for (const release of releases.splice(0)) release();
    };
  }
}
