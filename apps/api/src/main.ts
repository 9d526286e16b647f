import { DataDirProblem } from '@rollcall/event-store';
import { type Config, loadConfig } from './config';
import { createLogger } from './logging';
import { ConfigError, portProblem } from './settings';
import { setHeapGrowingPercent } from './infrastructure/heap-growing';
import { checkPortsFree } from './infrastructure/ports-free';
import { checkDataDir } from './infrastructure/log-not-behind';
import { DATA_FORMAT, claimDataDir, releaseDataDir, watchOtherProcesses } from './infrastructure/data-format';
import type { EventStore } from '@rollcall/event-store';
import { EVENT_STORE } from './shared/tokens';
import { dataDirStartProblem, unreachableStore } from './infrastructure/unreachable-store';
import { storageFault } from './shared/storage-fault';
import { openFilesLimit, openFilesProblem } from './presence/open-files';
import { type LocalSecrets, loadLocalSecrets } from './shared/secrets';
import { refuseUnlessItsJournal } from './backup/journal-marker';

let config: Config | undefined;
let secrets: LocalSecrets | undefined;

async function main() {
  config = loadConfig();
  setHeapGrowingPercent(config.heapGrowingPercent);
  // a port another process holds stops the start before anything is made in the data dir (ports-free.ts)
  await checkPortsFree([
    { port: config.port, host: '0.0.0.0' },
    { port: config.tcpPort, host: '127.0.0.1' },
  ]);
  // a data dir that used an erasure journal is served with it only (probe 116 F1, probe 117 F1), before anything in it is opened
  refuseUnlessItsJournal(config);
  // loaded here, not by startApp, so that a start failing after the secrets were stored (a busy port) still shows the
  // system key it generated: the data dir keeps only its hash, and the next start shows nothing (probe 32 F2)
  secrets = loadLocalSecrets(config.dataDir, config);
  // no process of another version serves this data dir, and none later wrote it (docs/adr/0020): claimed before anything
  // opens the log, which moves an earlier version's keys into this version's layout (probe 93 F1: a start refused
  // beside a live earlier process had moved them first, and that process answered 500 for every key it looked up)
  const { upgradedFrom, uncleanStops } = claimDataDir(config.dataDir, 'api');
  const dataDir = config.dataDir;
  process.once('exit', () => releaseDataDir(dataDir));
  // files of the data dir that do not belong together stop the start before anything is served (probe 33 F5, F6)
  await checkDataDir(config);
  if (upgradedFrom !== undefined) {
    // a record of when the point past which only a backup rolls back was passed: a JSON line under LOG_FORMAT=json, as
    // every other record, so that a log shipper keeps it (probe 93 F6: it was plain text)
    const message = `Data dir ${config.dataDir} upgraded from ${upgradedFrom === 0 ? 'a version without a data-format mark' : `data format ${upgradedFrom}`} to ${DATA_FORMAT}: earlier versions refuse it from now on (or, before session 38, misread it); roll back only by restoring the backup taken before this start (README, "Upgrading")`;
    createLogger('api', { level: 'info', format: config.logFormat }).warn({ event: 'data_dir_upgraded', fromFormat: upgradedFrom, toFormat: DATA_FORMAT, dataDir: config.dataDir }, message);
  }
  for (const stop of uncleanStops ?? [])
    // what an operator restarting after an incident asks first (probe 95 F6: a start after a SIGKILL logged as a clean one)
    createLogger('api', { level: 'info', format: config.logFormat }).warn(
      { event: 'unclean_stop', stoppedPid: stop.pid, role: stop.role, startedAt: new Date(stop.started).toISOString(), dataDir: config.dataDir },
      `The ${stop.role} process ${stop.pid} on this data dir (started ${new Date(stop.started).toISOString()}) did not stop cleanly (killed or crashed): a client whose write it had not answered retries it with its Idempotency-Key; nothing to repair`,
    );
  // the app's module graph (Nest, Fastify, every feature: ~2 s of CPU to load) only once the configuration and the data
  // dir were found usable: a start refused above answers at once (the start-problem tests start dozens of them)
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startApp } = require('./bootstrap') as typeof import('./bootstrap');
  // a stop by a signal ends by raising it again once the app closed (bootstrap.ts), past any 'exit' listener: the
  // registration is forgotten then, not before (the other processes' reads look for this one's commits meanwhile)
  const running = await startApp(config, undefined, secrets, () => releaseDataDir(dataDir));
  // alone on the data dir, the embedded store's reads need not look at other processes' commits (data-format.ts)
  const store = running.app.get<EventStore>(EVENT_STORE);
  if (store.othersMayWrite) watchOtherProcesses(config.dataDir, (others) => store.othersMayWrite!(others));
  // (HTTP listens on every interface, the message patterns on the loopback only: probe 38b F13)
  const listening = `Rollcall API on ${running.url} (every interface; docs: ${running.url}/docs), message patterns on tcp://127.0.0.1:${running.tcpPort} (loopback only)`;
  const stores = `event store: ${config.eventstoreUrl ? 'EventStoreDB' : 'embedded SQLite'} · read store: ${config.mongoUrl ? 'MongoDB' : 'embedded SQLite'}`;
  if (config.logFormat === 'json') {
    // one record, as every other line on stdout under LOG_FORMAT=json (probe 95 F10: two plain lines a log shipper
    // refused), with what an operator paged at night asks first (probe 95 F6): the data format, the log's head
    createLogger('api', { level: 'info', format: 'json' }).info(
      { event: 'api_started', url: running.url, tcpPort: running.tcpPort, dataDir: config.dataDir, dataFormat: DATA_FORMAT, logHead: String(await store.headPosition()), node: process.version },
      `${listening}; data: ${config.dataDir} · ${stores}`,
    );
  } else {
    console.log(listening);
    console.log(`Data: ${config.dataDir} · ${stores}`);
  }
  if (running.generatedSystemKey) {
    // a secret: never a log record; on stderr under LOG_FORMAT=json, where stdout is the shipped log
    const show = config.logFormat === 'json' ? console.error : console.log;
    show('\nA system API key was generated for this data dir. It is shown only now; keep it:');
    show(`\n  ROLLCALL_SYSTEM_API_KEY=${running.generatedSystemKey}\n`);
  }
}

/** the generated key of a start that failed: stored (hashed) all the same, so the next start over the data dir takes it */
function showKeyOfFailedStart(): void {
  if (!secrets?.generatedSystemKey) return;
  console.error('A system API key was generated for this data dir before the start failed, and is kept (hashed) there. It is shown only now; keep it:');
  console.error(`\n  ROLLCALL_SYSTEM_API_KEY=${secrets.generatedSystemKey}\n`);
}

/**
 * What stops the start and is the operator's to fix, as one sentence naming the setting: a bad value, a data dir that
 * cannot be used, a port another process listens on. Exit 78 (EX_CONFIG); anything else is a failure (exit 1).
 */
function startupProblem(error: unknown): string | undefined {
  if (error instanceof ConfigError || error instanceof DataDirProblem) return error.message;
  const { port } = (error ?? {}) as { port?: unknown };
  if (typeof port !== 'number') return undefined;
  return portProblem(port === config?.port ? 'PORT' : port === config?.tcpPort ? 'ROLLCALL_TCP_PORT' : 'the port', port, error);
}

main().catch((error: unknown) => {
  showKeyOfFailedStart();
  const problem = startupProblem(error);
  const unreachable = problem ? undefined : unreachableStore(error, config ?? {});
  const disk = problem || unreachable ? undefined : dataDirStartProblem(error, config?.dataDir, storageFault);
  const files = problem || unreachable || disk ? undefined : openFilesProblem(error, openFilesLimit());
  console.error(problem ?? unreachable ?? disk?.message ?? files ?? error);
  process.exit(problem ? 78 : unreachable ? 69 : (disk?.exitCode ?? (files ? 75 : 1)));
});
