import type { DatabaseSync } from 'node:sqlite';
import { BUCKET_TABLES, keyTableOf } from '../sqlite/key-buckets';

export { keyTableOf };

/**
 * For tests that look into events.sqlite: a temporary view `all_subject_keys` (subject, key) over the tables the keys
 * are spread over (../sqlite/key-buckets.ts), on this connection. Returns the connection.
 */
export function withAllKeysView(db: DatabaseSync): DatabaseSync {
  const tables = BUCKET_TABLES.map((table) => `SELECT subject, key FROM ${table}`);
  db.exec(`CREATE TEMP VIEW IF NOT EXISTS all_subject_keys AS ${tables.join(' UNION ALL ')}`);
  return db;
}
