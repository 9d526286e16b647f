/**
 * The SQLite connection of a `SqliteReadStore`: opening (pragmas, metadata tables, the SQL functions the
 * store's SQL calls), a bounded cache of prepared statements, and the two kinds of transaction it uses.
 */
import { openDatabase } from '@rollcall/event-store';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { createMetaTables, searchText } from './schema';

/** page cache of a connection, KiB (`PRAGMA cache_size` when negative) */
export const CACHE_KIB = 65_536;
/** page cache during a bulk load: the unique id index of a large table takes random writes */
export const BULK_CACHE_KIB = 524_288;
/**
 * pages the WAL may hold before a commit copies them back into the file (SQLite's default: 1,000). A projector's
 * commit writes ~18 pages per event, nearly all index leaves its next commits write again (the same workspaces' index
 * ranges): a checkpoint copies each page once however often it was written since the last one, so a longer WAL
 * copies far fewer. Measured on a captured bench:http log (CPU per event projected): 224 µs at 1,000, 187 at 10,000,
 * ~173 at 30,000. 10,000 pages keep the WAL at ~40 MiB (docs/adr/0010-command-throughput.md).
 */
export const WAL_AUTOCHECKPOINT_PAGES = 10_000;
/** statements are built per query shape; bounded, so that odd queries do not pile up prepared statements */
const STATEMENT_CACHE_SIZE = 256;

export class SqliteConnection {
  readonly db: DatabaseSync;
  private readonly statements = new Map<string, StatementSync>();

  /** set while `snapshot` or `holdSnapshot` keeps a read transaction open */
  private reading = false;

  /** `cacheKib`: the page cache (default CACHE_KIB) */
  constructor(path: string, options: { busyTimeoutMs: number; synchronous: 'FULL' | 'NORMAL'; cacheKib?: number }) {
    this.db = openDatabase(path, { busyTimeoutMs: options.busyTimeoutMs });
    try {
      this.configure(options.synchronous, options.cacheKib ?? CACHE_KIB);
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  private configure(synchronous: 'FULL' | 'NORMAL', cacheKib: number): void {
    this.db.exec(`
      PRAGMA synchronous = ${synchronous};
      -- rule 12 at rest: a deleted or overwritten document's bytes are zeroed, in the pages a commit writes and in
      -- the pages it frees (a large document's overflow pages), so a deleted user's name and address do not linger
      -- in the file (FAST left freed pages as they were: a clean-clone CI run found an address in one)
      PRAGMA secure_delete = ON;
      PRAGMA cache_size = -${cacheKib};
      PRAGMA temp_store = MEMORY;
      PRAGMA analysis_limit = 1000;
      PRAGMA wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES};
    `);
    createMetaTables(this.db);
    // lower-casing is JavaScript's (`toLowerCase`, Unicode-aware) on both sides of a search, never SQLite's
    this.db.function('rs_search_text', { deterministic: true }, (type, value) => {
      if (type === 'text') return searchText(value);
      return type === 'array' ? searchText(JSON.parse(value as string)) : null;
    });
    this.db.function('rs_icontains', { deterministic: true }, (haystack, needle) =>
      typeof haystack === 'string' && typeof needle === 'string' && haystack.toLowerCase().includes(needle)
        ? 1
        : 0,
    );
  }

  exec(sql: string): void {
    this.db.exec(sql);
  }

  /** a prepared statement from the cache (least recently used evicted); `bigints` reads integers as bigint */
  stmt(sql: string, bigints = false): StatementSync {
    const key = bigints ? `B${sql}` : `N${sql}`;
    let statement = this.statements.get(key);
    if (statement) {
      this.statements.delete(key);
    } else {
      statement = this.db.prepare(sql);
      statement.setReadBigInts(bigints);
      if (this.statements.size >= STATEMENT_CACHE_SIZE) {
        this.statements.delete(this.statements.keys().next().value as string);
      }
    }
    this.statements.set(key, statement);
    return statement;
  }

  /** a write transaction, taking the write lock at once (no deadlock-prone upgrade from a read lock) */
  transaction<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn();
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  /**
   * a read transaction, so that the statements of one query (search probe, keyset parts) see the same data; inside
   * a read transaction already open (`holdSnapshot`, another `snapshot`), that one. Inside a write transaction it
   * throws, as SQLite does (a read there would see uncommitted rows).
   */
  snapshot<T>(fn: () => T): T {
    if (this.reading) return fn();
    this.db.exec('BEGIN');
    this.reading = true;
    try {
      return fn();
    } finally {
      this.reading = false;
      this.db.exec('COMMIT');
    }
  }

  /** a read transaction held until the function returned is called (`readTogether`: across turns of the event loop) */
  holdSnapshot(): () => void {
    this.db.exec('BEGIN');
    this.reading = true;
    return () => {
      this.reading = false;
      if (this.db.isTransaction) this.db.exec('COMMIT');
    };
  }

  close(): void {
    this.statements.clear();
    this.db.close();
  }
}
