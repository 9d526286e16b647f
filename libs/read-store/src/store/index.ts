export { SqliteReadStore, type SqliteReadStoreOptions } from './sqlite-read-store';
export { DEFAULT_LIMIT, MAX_LIMIT } from './query-common';
