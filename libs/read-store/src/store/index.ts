export { SqliteReadStore, type SqliteReadStoreOptions } from './sqlite-read-store';
export { MongoReadStore } from './mongo-read-store';
export { DEFAULT_LIMIT, MAX_LIMIT } from './query-common';
