// Fakes shared by the integration-event publisher's specs: events, a scripted subscription, a wait.
import type { RecordedEvent, Subscription } from '@rollcall/event-store';

export const recorded = (position: bigint): RecordedEvent => ({
  id: `00000000-0000-4000-8000-${position.toString().padStart(12, '0')}`,
  stream: 'organization-1',
  type: 'OrganizationCreated',
  revision: position,
  position,
  data: { organizationId: 'o-1', n: Number(position) },
  metadata: { schemaVersion: 1 },
  created: new Date(),
});

/** A subscription that delivers `steps` in order (an Error fails it there), then stays open if `live`. */
export function scripted(steps: (RecordedEvent | Error)[], live: boolean): Subscription & { closed: () => boolean } {
  let closed = false;
  let wake: (() => void) | undefined;
  async function* events(): AsyncGenerator<RecordedEvent> {
    for (const step of steps) {
      if (closed) return;
      if (step instanceof Error) throw step;
      yield step;
    }
    if (live && !closed) await new Promise<void>((resolve) => (wake = resolve));
  }
  const iterator = events();
  return {
    [Symbol.asyncIterator]: () => iterator,
    unsubscribe: async () => {
      closed = true;
      wake?.();
    },
    closed: () => closed,
  };
}

export async function waitUntil(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
