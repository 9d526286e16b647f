import { join } from 'node:path';
import { KurrentDbEventStore } from './kurrentdb/kurrentdb-event-store';
import type { EventStore } from './port';
import { type Durability, SqliteEventStore } from './sqlite/sqlite-event-store';

export interface EventStoreConfig {
  /** EVENTSTORE_URL (`esdb://…` or `kurrentdb://…`): when set, the KurrentDB adapter is used */
  eventstoreUrl?: string;
  /** ROLLCALL_DATA_DIR: the embedded store lives in `${dataDir}/events.sqlite` */
  dataDir: string;
  /** embedded store only; default 'full' */
  durability?: Durability;
  /** embedded store only: who copies the WAL back into the file (SqliteEventStoreOptions.checkpoints) */
  checkpoints?: 'commit' | 'thread';
  /** embedded store only: where the group commit runs (SqliteEventStoreOptions.writer) */
  writer?: 'inline' | 'thread';
  /** embedded store only: SqliteEventStoreOptions.onKeysMoved */
  onKeysMoved?: (count: number, ms: number) => void;
  /** embedded store only: SqliteEventStoreOptions.onOrganizationIndexBuilt */
  onOrganizationIndexBuilt?: (ms: number) => void;
}

/** The KurrentDB adapter when a URL is given, else the embedded SQLite store under dataDir. */
export function createEventStore(config: EventStoreConfig): EventStore {
  const url = config.eventstoreUrl?.trim();
  if (url) return new KurrentDbEventStore(url);
  return new SqliteEventStore(join(config.dataDir, 'events.sqlite'), {
    durability: config.durability ?? 'full',
    checkpoints: config.checkpoints,
    writer: config.writer,
    onKeysMoved: config.onKeysMoved,
    onOrganizationIndexBuilt: config.onOrganizationIndexBuilt,
  });
}
