import { Logger } from '@nestjs/common';
import type { EventStore } from '@rollcall/event-store';
import { PROJECTIONS, Projector, createReadStore, registerProjectorMetrics } from '@rollcall/read-store';
import type { Config } from '../config';
import type { Metrics } from './metrics';
import type { ReadSide } from './read-side';

/**
 * The read store (MongoDB or embedded SQLite) and, by default, the projector running in this process over the
 * application's event store. With ROLLCALL_PROJECTOR=external, apps/projector runs the projections and
 * `waitFor` polls their checkpoints in the read store.
 */
export async function createReadSide(config: Config, events: EventStore, metrics: Metrics): Promise<ReadSide> {
  const store = await createReadStore({ mongoUrl: config.mongoUrl, dataDir: config.dataDir });
  const logger = new Logger('Projector');
  const projector = config.projectorInProcess
    ? new Projector({ eventStore: events, readStore: store, projections: PROJECTIONS, logger: { info: (m) => logger.log(m), error: (m) => logger.error(m) } })
    : undefined;
  if (projector) registerProjectorMetrics(projector, metrics.registry);

  const pollCheckpoints = async (position: bigint, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const checkpoints = await Promise.all(PROJECTIONS.map((p) => store.checkpoint(p.name)));
      if (checkpoints.every((c) => c !== undefined && c >= position)) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  return {
    store,
    ping: () => store.ping(),
    projections: () => projector?.status() ?? [],
    waitFor: (position, timeoutMs) => (projector ? projector.waitFor(position, timeoutMs) : pollCheckpoints(position, timeoutMs)),
    start: async () => {
      if (projector) await projector.start();
      else await store.init(Projector.collectionsOf(PROJECTIONS));
    },
    close: async () => {
      await projector?.stop();
      await store.close();
    },
  };
}
