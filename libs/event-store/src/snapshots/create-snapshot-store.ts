import { join } from 'node:path';
import { kurrentDriver } from '../drivers/lazy-drivers';
import { normalizeConnectionString } from '../kurrentdb/kurrentdb-event-store';
import { KurrentDbSnapshotStore } from './kurrentdb-snapshot-store';
import type { SnapshotStore } from './snapshot-store';
import { SqliteSnapshotStore } from './sqlite-snapshot-store';

/** Snapshots live where the events do: a snapshot stream per aggregate in KurrentDB, else `${dataDir}/snapshots.sqlite`. */
export function createSnapshotStore(config: { eventstoreUrl?: string; dataDir: string }): SnapshotStore {
  const url = config.eventstoreUrl?.trim();
  if (!url) return new SqliteSnapshotStore(join(config.dataDir, 'snapshots.sqlite'));
  const client = kurrentDriver().KurrentDBClient.connectionString(normalizeConnectionString(url));
  const store = new KurrentDbSnapshotStore(client);
  return Object.assign(store, { close: () => client.dispose() });
}
