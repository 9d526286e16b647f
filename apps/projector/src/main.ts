// The projector worker (production): projects the global log into the read models, from their checkpoints.
// Serves GET /health (503 when a projection has failed) and GET /metrics (Prometheus, with ROLLCALL_METRICS_TOKEN as
// the API's) on PROJECTOR_PORT. It projects only while it holds the projector's lease, as the API's projector thread
// does: a file of the embedded data dir (docs/adr/0011 point 4), or with MongoDB a document there (docs/adr/0014,
// second pass): it never projects beside another.
import { createServer } from 'node:http';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { DataDirProblem, createRollcallEventStore } from '@rollcall/event-store';
import { PROJECTIONS } from '../../../libs/read-store/src/projections';
import { registerProjectorMetrics } from '../../../libs/read-store/src/projector';
import { createReadStore } from '../../../libs/read-store/src/store-factory';
import { scrapeRefusal } from '../../api/src/health/metrics-scrape';
import { leasedProjections } from '../../api/src/infrastructure/leased-projector';
import { claimDataDir, releaseDataDir } from '../../api/src/infrastructure/data-format';
import { checkPortsFree } from '../../api/src/infrastructure/ports-free';
import { unreachableStore } from '../../api/src/infrastructure/unreachable-store';
import { createLogger, readLogSettings } from '../../api/src/logging';
import { portProblem } from '../../api/src/settings';
import { exitOnProblems, missingEventLog, projectorConfig, protectUsedDataDir } from './config';

// LOG_LEVEL and LOG_FORMAT as in the API: the same validation, the same JSON (or pretty) lines and redaction
const problems: string[] = [];
const logSettings = readLogSettings(process.env, problems);
const config = projectorConfig(process.env, problems);
// before anything creates the data dir: a projector over a log it made itself reported healthy (probe 32 F5)
const noLog = missingEventLog(config);
if (noLog) problems.push(`${noLog} Start the API on it first`);
exitOnProblems(problems);
protectUsedDataDir(config);
// no process of another version serves the data dir, and none later wrote it (docs/adr/0020)
try {
  claimDataDir(config.dataDir, 'projector');
  // (forgotten as it exits: probe 94 F1)
  process.once('exit', () => releaseDataDir(config.dataDir));
} catch (error) {
  if (!(error instanceof DataDirProblem)) throw error;
  exitOnProblems([error.message]);
}
const log = createLogger('projector', logSettings);

async function main(): Promise<void> {
  // a port another process holds refuses the start before it takes a lease and projects (probe 96 F6: it projected the
  // whole log, then was refused for its port)
  await checkPortsFree([{ port: config.port }]).catch((error: unknown) => {
    const problem = portProblem('PROJECTOR_PORT', config.port, error);
    if (!problem) throw error;
    console.error(problem);
    process.exit(78);
  });
  // the application's event store: personal fields are decrypted as read (and read as null once shredded)
  const { store: eventStore } = await createRollcallEventStore({ eventstoreUrl: config.eventstoreUrl, mongoUrl: config.mongoUrl, dataDir: config.dataDir });
  const readStore = await createReadStore({ mongoUrl: config.mongoUrl, dataDir: config.dataDir, warn: (m) => log.warn(m) });
  const logger = { info: (m: string) => log.info(m), error: (m: string) => log.error(m) };
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // polls the log for the API's appends every 200 ms (embedded); commits each batch at once (no linger)
  const projectors = leasedProjections({ eventStore, readStore }, { ...config, pollIntervalMs: 200 }, logger);
  // the projector leading now (none while standing by)
  registerProjectorMetrics({ status: () => projectors.status() }, registry);
  await projectors.start();
  log.info({ projections: PROJECTIONS.map((p) => p.name), leading: projectors.current !== undefined }, 'projector started');

  const server = createServer((req, res) => {
    void (async () => {
      if (req.url === '/metrics') {
        const refused = scrapeRefusal(config.metricsToken, req.headers.authorization);
        if (refused) res.writeHead(refused.status, { 'content-type': 'application/problem+json' }).end(JSON.stringify(refused));
        else res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
      } else if (req.url === '/health') {
        // standing by (another process holds the lease): healthy, nothing of its own to report — but projections
        // stopped before a later version's event, the lease let go for an upgraded process (LeasedProjector.handOver)
        const status = projectors.status();
        const ok = status.every((s) => s.state === 'running');
        const body = status.map((s) => ({ ...s, checkpoint: s.checkpoint?.toString() ?? null, lag: s.lag.toString() }));
        const state = status.length === 0 ? 'standby' : ok ? 'ok' : 'degraded';
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: state, projections: body }));
      } else {
        res.writeHead(404).end();
      }
    })().catch((error: unknown) => res.writeHead(500).end(String(error)));
  });
  server.once('error', (error: NodeJS.ErrnoException) => {
    // the port another process listens on is the operator's to fix, said in one sentence as a bad setting is
    const problem = portProblem('PROJECTOR_PORT', config.port, error);
    console.error(problem ?? error);
    void projectors.stop().finally(() => process.exit(problem ? 78 : 1));
  });
  server.listen(config.port, () => log.info({ address: server.address() }, 'health and metrics listening'));

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    server.close();
    await projectors.stop();
    await readStore.close();
    await eventStore.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  // files of the data dir that do not belong together: the operator's to fix, as a bad setting is (exit 78)
  if (error instanceof DataDirProblem) {
    log.fatal(error.message);
    process.exit(78);
  }
  const unreachable = unreachableStore(error, config);
  if (unreachable) {
    log.fatal(unreachable);
    process.exit(69);
  }
  log.fatal({ err: error }, 'projector failed');
  process.exit(1);
});
