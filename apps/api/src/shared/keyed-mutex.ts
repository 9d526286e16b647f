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

  /**
   * Takes the turns of several keys, one after the other in sorted order, and resolves with the function that gives
   * them all back. Two callers holding some keys and waiting for others could wait for each other forever; in one
   * order they cannot, and a task of `run` holds one key only, so it never waits while holding one.
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
