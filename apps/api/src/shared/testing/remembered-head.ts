import type { EventStore } from '@rollcall/event-store';

/**
 * `store`, except that its unbounded reads of `stream` stop at the revision `remembered()` gives (while it gives one):
 * a model of the embedded store answering a stream it read within the same turn of the event loop from the head it
 * noted then (KnownHeads.currentThisTurn), behind another process's commit. A read bounded by `toPosition` goes on, as
 * the embedded store's go to the file.
 */
export function rememberingHead(store: EventStore, stream: string, remembered: () => bigint | undefined): EventStore {
  return new Proxy(store, {
    get: (target, name) =>
      name === 'readStream'
        ? (read: string, options: Parameters<EventStore['readStream']>[1] = {}) =>
            (async function* () {
              const head = read === stream && options.toPosition === undefined ? remembered() : undefined;
              for await (const e of target.readStream(read, options)) if (head === undefined || e.revision <= head) yield e;
            })()
        : Reflect.get(target, name, target),
  });
}
