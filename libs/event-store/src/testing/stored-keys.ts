import type { DatabaseSync } from 'node:sqlite';
import { KEY_BUCKETS, keyTableOf } from '../sqlite/key-buckets';

export { keyTableOf };

/**
 * For tests that look into events.sqlite: a temporary view `all_subject_keys` (subject, key) over the tables the keys
 * are spread over (../sqlite/key-buckets.ts), on this connection. Returns the connection.
 */
export function withAllKeysView(db: DatabaseSync): DatabaseSync {
  const tables = Array.from({ length: KEY_BUCKETS }, (_, b) => `SELECT subject, key FROM subject_keys_${b.toString(16).padStart(2, '0')}`);
  db.exec(`CREATE TEMP VIEW IF NOT EXISTS all_subject_keys AS ${tables.join(' UNION ALL ')}`);
  return db;
}
