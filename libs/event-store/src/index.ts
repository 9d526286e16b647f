export * from './port';
export { DataDirProblem } from './data-dir-problem';
export { newEventId, uuidV5 } from './event-id';
export {
  SqliteEventStore,
  DuplicateEventIdError,
  type SqliteEventStoreOptions,
  type Durability,
} from './sqlite/sqlite-event-store';
export { isBusy, openDatabase, retryWhileBusy, type OpenDatabaseOptions } from './sqlite/open-database';
export { workerEntry } from './worker-entry';
export { dataFromParent, preloadWorker, startWorker } from './preloaded-workers';
export { KurrentDbEventStore, normalizeConnectionString } from './kurrentdb/kurrentdb-event-store';
export { createEventStore, type EventStoreConfig } from './create-event-store';
export { type KeyStore, SqliteKeyStore, MongoKeyStore } from './shredding/key-store';
export { erasedSubjectsOf, FORGET_KEYS_WITH_EVENT, KEYS_FORGOTTEN_WITH_EVENT, KeyForgottenSinceSealedError, KeyTracesLeftError } from './shredding/erased-subjects';
export { erasedFieldsOf } from './shredding/sealed-values';
export { PersonalDataEventStore, type PersonalDataPolicy, sealValue, openValue } from './shredding/personal-data-event-store';
export { createRollcallEventStore, PERSONAL_DATA, type PersonalData, type SnapshotSealing } from './rollcall-event-store';
export * from './snapshots';
export { processRunning } from './process-running';
export { syncDirectory, writeFileDurably } from './durable-file';
export { kurrentDriver, mongoDriver } from './drivers/lazy-drivers';
