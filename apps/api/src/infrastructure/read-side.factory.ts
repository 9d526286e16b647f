import type { EventStore } from '@rollcall/event-store';
import type { Config } from '../config';
import type { Metrics } from './metrics';
import type { ReadSide } from './read-side';

/**
 * Temporary until the projector lands (issue 5): no read models yet, so there is nothing to wait for and
 * readiness is the event store's.
 */
export function createReadSide(_config: Config, store: EventStore, _metrics: Metrics): ReadSide {
  return {
    ping: () => store.ping(),
    waitFor: async () => undefined,
    updateLagMetrics: async () => undefined,
    start: async () => undefined,
    close: async () => undefined,
  };
}
