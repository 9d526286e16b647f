import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { openDatabase } from '@rollcall/event-store';

/**
 * The last day an API key authenticated a request, and the last day a user acted (a request made in their name that
 * succeeded): probe 75 F3, F4 — "which keys are still used" and "who has not been active for 90 days" had no answer,
 * an org admin with no membership and an API-only user never being "seen". Kept beside the log, not in it
 * (docs/adr/0036): a use is no decision, and an event per key or user per day would move every position a client
 * compares and grow the organization's stream with its traffic.
 */
export type ActivityKind = 'key' | 'user';

export interface ActivityMark {
  organizationId: string;
  kind: ActivityKind;
  id: string;
  /** a UTC day, `YYYY-MM-DD` */
  on: string;
}

export interface ActivityStore {
  /** keeps each mark's day unless a later one is kept already */
  record(marks: readonly ActivityMark[]): Promise<void>;
  /** the last day of each of `ids` that has one */
  lastOn(organizationId: string, kind: ActivityKind, ids: readonly string[]): Promise<Map<string, string>>;
  close(): Promise<void>;
}
export const ACTIVITY_STORE = Symbol('ActivityStore');

/** Embedded: a table in `${dataDir}/api.sqlite` (beside the kept answers; WAL: replicas on the data dir share it). */
export class SqliteActivityStore implements ActivityStore {
  private readonly db: DatabaseSync;
  private readonly upsert;
  private readonly select;

  constructor(dataDir: string) {
    this.db = openDatabase(join(dataDir, 'api.sqlite'), {
      setUp: `CREATE TABLE IF NOT EXISTS activity (organization_id TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, last_on TEXT NOT NULL, PRIMARY KEY (organization_id, kind, id)) WITHOUT ROWID`,
    });
    this.select = this.db.prepare('SELECT id, last_on FROM activity WHERE organization_id = ?2 AND kind = ?3 AND id IN (SELECT value FROM json_each(?1))');
    // a day as text orders as the day
    this.upsert = this.db.prepare(
      'INSERT INTO activity (organization_id, kind, id, last_on) VALUES (?, ?, ?, ?) ON CONFLICT (organization_id, kind, id) DO UPDATE SET last_on = max(last_on, excluded.last_on)',
    );
  }

  async record(marks: readonly ActivityMark[]): Promise<void> {
    if (marks.length === 0) return;
    this.db.exec('BEGIN IMMEDIATE');
    try {
      for (const m of marks) this.upsert.run(m.organizationId, m.kind, m.id, m.on);
      this.db.exec('COMMIT');
    } catch (error) {
      // SQLite may have rolled back itself (a full disk): a ROLLBACK then fails, and its error hid the cause (probe 96 F8)
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  async lastOn(organizationId: string, kind: ActivityKind, ids: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    if (ids.length === 0) return found;
    // the ids as one JSON array bound to one statement prepared once: an `IN (?, ?, …)` of a page's length prepared on
    // every call took ~0.8 ms for 200 users, ~0.25 ms so (probe 78 F5: the users list ~1 ms slower with lastActiveOn)
    for (const row of this.select.all(JSON.stringify(ids), organizationId, kind) as { id: string; last_on: string }[]) found.set(row.id, row.last_on);
    return found;
  }

  async close(): Promise<void> {
    if (this.db.isOpen) this.db.close();
  }
}
