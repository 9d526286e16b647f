import type { EventStore } from '@rollcall/event-store';

/**
 * `store`, running `before.run` (once, then cleared) when the next append of a command is sent: another replica's
 * write committed between a command's load and its append (the race tests).
 */
export function hooked(store: EventStore, before: { run?: () => Promise<unknown> }): EventStore {
  const hook = async () => {
    const run = before.run;
    before.run = undefined;
    await run?.();
  };
  return new Proxy(store, {
    get: (target, name) =>
      name === 'append' || name === 'appendMany'
        ? async (...args: unknown[]) => {
            await hook();
            return (target[name] as (...a: unknown[]) => unknown).apply(target, args);
          }
        : Reflect.get(target, name, target),
  });
}
