import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, readErasureRewriteMs, readEventstoreUrl, readInt, readMetricsToken, readMongoUrl } from '../../api/src/settings';
import { protectDataDir } from '../../api/src/shared/data-dir-access';

/** The projector worker's configuration, from the environment (the same variables as the API). */
export interface ProjectorConfig {
  /** EVENTSTORE_URL: KurrentDB/EventStoreDB; unset: the embedded SQLite event store in dataDir */
  eventstoreUrl?: string;
  /** MONGO_URL: MongoDB; unset: the embedded SQLite read store in dataDir */
  mongoUrl?: string;
  /** ROLLCALL_DATA_DIR (default ./data) */
  dataDir: string;
  /** PROJECTOR_PORT: /health and /metrics (default 9464; 0 = random) */
  port: number;
  /** ROLLCALL_METRICS_TOKEN, as the API's: /metrics answers only `Authorization: Bearer <token>`; unset, it is off */
  metricsToken?: string;
  /** ROLLCALL_ERASURE_REWRITE_SECONDS, as the API's (settings.ts readErasureRewriteMs), in ms */
  erasureRewriteMs: number;
}

/** The configuration, or the problems with it (each names its variable; the store URLs checked as the API checks them). */
export function projectorConfig(env: NodeJS.ProcessEnv, problems: string[]): ProjectorConfig {
  // read as the API reads its numbers: a blank value, 0x10 or 1e3 is refused, not taken for 0 or 16 (probe 32 F6)
  const port = readInt(env, 'PROJECTOR_PORT', 9464, problems);
  return {
    eventstoreUrl: readEventstoreUrl(env, problems),
    mongoUrl: readMongoUrl(env, problems),
    dataDir: resolve(env.ROLLCALL_DATA_DIR?.trim() || './data'),
    port,
    metricsToken: readMetricsToken(env, problems),
    erasureRewriteMs: readErasureRewriteMs(env, problems),
  };
}

/**
 * Over the embedded event store, the sentence for a data dir without an event log: a mistyped or missing
 * ROLLCALL_DATA_DIR (or another working directory, the default being ./data) would be created empty, and a projector
 * would report healthy, lag 0, while projecting nothing (probe 32 F5); a rebuild would rebuild from nothing (probe 8).
 * With EVENTSTORE_URL there is no local log.
 */
export function missingEventLog(config: ProjectorConfig): string | undefined {
  if (config.eventstoreUrl || existsSync(join(config.dataDir, 'events.sqlite'))) return undefined;
  return `No event log in ${config.dataDir} (events.sqlite): is ROLLCALL_DATA_DIR the API's data dir?`;
}

/** Stops the process with the API's message and exit code (78) when the configuration has problems. */
export function exitOnProblems(problems: string[]): void {
  if (problems.length === 0) return;
  console.error(new ConfigError(problems).message);
  process.exit(78);
}

/**
 * The data dir as the API keeps it (0700, its files 0600, umask 077), when this process uses it (an embedded store):
 * a projector or a rebuild started before the API, or beside it, made the event log, the keys and the read models
 * world-readable until the API's next start (probe 30 F4). Stops the process as a bad setting does when it cannot.
 */
export function protectUsedDataDir(config: ProjectorConfig): void {
  if (config.eventstoreUrl && config.mongoUrl) return;
  try {
    protectDataDir(config.dataDir);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(78);
  }
}
