/**
 * `work`'s value, or `late`'s once `ms` have passed without it (`work` goes on; a rejection of it is the caller's).
 * One wait at most, for an answer that must not hang on a transport: the mail hand-off before a command answers, the
 * mail dispatcher's sends and its stop. The timer does not hold the process open.
 */
export function settledWithin<T>(ms: number, work: Promise<T>, late: () => T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => resolve(late()), ms);
    timer.unref();
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
