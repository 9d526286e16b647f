import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ReadStore } from './port';
import { MongoReadStore, SqliteReadStore } from './store';

export interface ReadStoreConfig {
  /** MONGO_URL: when set, the MongoDB adapter is used */
  mongoUrl?: string;
  /** ROLLCALL_DATA_DIR: the embedded store lives in `${dataDir}/read.sqlite` */
  dataDir: string;
  /** where the MongoDB adapter's warnings go (a standalone server commits without transactions) */
  warn?: (message: string) => void;
}

/**
 * MongoDB when a URL is given, else the embedded SQLite read store under dataDir. The embedded one runs with
 * `synchronous=NORMAL`: read models are derived data, and a commit lost to a power cut loses documents and
 * checkpoint together (WAL keeps them atomic), so the projector simply projects those events again.
 */
export async function createReadStore(config: ReadStoreConfig): Promise<ReadStore> {
  const url = config.mongoUrl?.trim();
  if (url) return MongoReadStore.connect(url, { ...(config.warn && { warn: config.warn }) });
  mkdirSync(config.dataDir, { recursive: true });
  return new SqliteReadStore({ path: join(config.dataDir, 'read.sqlite'), synchronous: 'NORMAL' });
}
