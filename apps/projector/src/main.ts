// The projector worker (production): projects the global log into the read models, from their checkpoints.
// Serves GET /health (503 when a projection has failed) and GET /metrics (Prometheus) on PROJECTOR_PORT.
import { createServer } from 'node:http';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { createRollcallEventStore } from '@rollcall/event-store';
import { PROJECTIONS } from '../../../libs/read-store/src/projections';
import { Projector, registerProjectorMetrics } from '../../../libs/read-store/src/projector';
import { createReadStore } from '../../../libs/read-store/src/store-factory';
import { createLogger, readLogSettings } from '../../api/src/logging';
import { projectorConfig } from './config';

// LOG_LEVEL and LOG_FORMAT as in the API: the same validation, the same JSON (or pretty) lines and redaction
const problems: string[] = [];
const logSettings = readLogSettings(process.env, problems);
if (problems.length > 0) {
  console.error(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  process.exit(78);
}
const log = createLogger('projector', logSettings);

async function main(): Promise<void> {
  const config = projectorConfig();
  // the application's event store: personal fields are decrypted as read (and read as null once shredded)
  const { store: eventStore } = await createRollcallEventStore({ eventstoreUrl: config.eventstoreUrl, mongoUrl: config.mongoUrl, dataDir: config.dataDir });
  const readStore = await createReadStore({ mongoUrl: config.mongoUrl, dataDir: config.dataDir });
  const projector = new Projector({
    eventStore,
    readStore,
    projections: PROJECTIONS,
    logger: { info: (m) => log.info(m), error: (m) => log.error(m) },
    // the embedded store notifies subscriptions of appends made in the same process only: poll for the API's
    pollIntervalMs: config.eventstoreUrl ? undefined : 200,
  });
  await projector.start();
  log.info({ projections: PROJECTIONS.map((p) => p.name) }, 'projector started');

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  registerProjectorMetrics(projector, registry);
  const server = createServer((req, res) => {
    void (async () => {
      if (req.url === '/metrics') {
        res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
      } else if (req.url === '/health') {
        const status = projector.status();
        const ok = status.every((s) => s.state === 'running');
        const body = status.map((s) => ({ ...s, checkpoint: s.checkpoint?.toString() ?? null, lag: s.lag.toString() }));
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ok ? 'ok' : 'degraded', projections: body }));
      } else {
        res.writeHead(404).end();
      }
    })().catch((error: unknown) => res.writeHead(500).end(String(error)));
  });
  server.listen(config.port, () => log.info({ address: server.address() }, 'health and metrics listening'));

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    server.close();
    await projector.stop();
    await readStore.close();
    await eventStore.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  log.fatal({ err: error }, 'projector failed');
  process.exit(1);
});
