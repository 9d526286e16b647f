import { join } from 'node:path';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { openDatabase } from '@rollcall/event-store';

/**
 * The confirmation links mailed for users' email changes: what the limit of docs/adr/0038 counts. Kept beside the log,
 * where every API process of the deployment reads it (amended in session 61: counted per process, a user behind a
 * balancer over N replicas could be asked about N times the limit), as the last days of use are (ADR 0036): a mail is
 * no decision, and its time in the organization's state would grow every snapshot.
 *
 * A mail's slot is taken before the change is decided, in one step with the count (probe 99 F1: a count read first and
 * a mail noted once sent let requests sent together through, 15 of 20 at a limit of 5), and given back when no mail
 * goes out after all (the change refused, replayed, or a withdrawal).
 *
 * A slot holds the request's key (its Idempotency-Key as the log records it, and its fingerprint: a key reused for
 * another body is another request) when the client sent one: the same
 * request sent again while its slot is held — to another replica at once, its first answer lost — takes none and is
 * not refused: it is decided as that request, found by its key in the log (probe 109 F1: at the user's last slot of
 * the hour one of the two answered 429 while the other made the change and mailed it).
 */
export interface EmailChangeMails {
  /**
   * One of the user's `limit` slots since `since` taken at `at`: its id, to give it back; or, when `limit` are taken
   * already, the times (epoch ms) of those, oldest first; or `sameRequest` when a slot taken earlier for `requestKey`
   * is held (none taken). Slots older than `since` (anyone's) may be forgotten now.
   */
  take(organizationId: string, userId: string, at: number, since: number, limit: number, requestKey?: string): Promise<TakenSlot>;
  /** a slot taken for a mail that did not go out */
  giveBack(slot: string): Promise<void>;
  close(): Promise<void>;
}
export const EMAIL_CHANGE_MAILS = Symbol('EmailChangeMails');
export type TakenSlot = { slot: string } | { taken: number[] } | { sameRequest: true };

/**
 * In this process's memory only: for a handler built alone (the tests that build UpdateProfileHandler without the
 * module); the API's module always provides the shared store (app.module.ts).
 */
export class ProcessEmailChangeMails implements EmailChangeMails {
  private readonly slots = new Map<string, { key: string; at: number; requestKey: string | undefined }>();
  private next = 0;

  async take(organizationId: string, userId: string, at: number, since: number, limit: number, requestKey?: string): Promise<TakenSlot> {
    for (const [slot, s] of this.slots) if (s.at < since) this.slots.delete(slot);
    const key = `${organizationId}\n${userId}`;
    const theirs = [...this.slots.values()].filter((s) => s.key === key);
    if (requestKey !== undefined && theirs.some((s) => s.requestKey === requestKey)) return { sameRequest: true };
    const taken = theirs.map((s) => s.at).sort((a, b) => a - b);
    if (taken.length >= limit) return { taken };
    const slot = String(++this.next);
    this.slots.set(slot, { key, at, requestKey });
    return { slot };
  }

  async giveBack(slot: string): Promise<void> {
    this.slots.delete(slot);
  }

  async close(): Promise<void> {}
}

/**
 * Embedded: a table in `${dataDir}/api.sqlite` (WAL: the replicas on the data dir share it). A take is one write
 * transaction (`BEGIN IMMEDIATE`: the count and the new row under the database's write lock, so two replicas never both
 * take the last slot); the table holds the last hour's slots only.
 */
export class SqliteEmailChangeMails implements EmailChangeMails {
  private readonly db: DatabaseSync;
  private readonly select: StatementSync;
  private readonly sameRequest: StatementSync;
  private readonly insert: StatementSync;
  private readonly forget: StatementSync;
  private readonly remove: StatementSync;

  constructor(dataDir: string) {
    this.db = openDatabase(join(dataDir, 'api.sqlite'), {
      setUp: `CREATE TABLE IF NOT EXISTS email_change_mails (organization_id TEXT NOT NULL, user_id TEXT NOT NULL, mailed_at INTEGER NOT NULL, request_key TEXT);
        CREATE INDEX IF NOT EXISTS email_change_mails_by_user ON email_change_mails (organization_id, user_id, mailed_at);
        CREATE INDEX IF NOT EXISTS email_change_mails_by_time ON email_change_mails (mailed_at)`,
    });
    addRequestKey(this.db);
    this.select = this.db.prepare('SELECT mailed_at FROM email_change_mails WHERE organization_id = ? AND user_id = ? AND mailed_at >= ? ORDER BY mailed_at');
    this.sameRequest = this.db.prepare('SELECT 1 FROM email_change_mails WHERE organization_id = ? AND user_id = ? AND mailed_at >= ? AND request_key = ? LIMIT 1');
    this.insert = this.db.prepare('INSERT INTO email_change_mails (organization_id, user_id, mailed_at, request_key) VALUES (?, ?, ?, ?)');
    this.forget = this.db.prepare('DELETE FROM email_change_mails WHERE mailed_at < ?');
    this.remove = this.db.prepare('DELETE FROM email_change_mails WHERE rowid = ?');
  }

  async take(organizationId: string, userId: string, at: number, since: number, limit: number, requestKey?: string): Promise<TakenSlot> {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      this.forget.run(since);
      if (requestKey !== undefined && this.sameRequest.get(organizationId, userId, since, requestKey) !== undefined) {
        this.db.exec('COMMIT');
        return { sameRequest: true };
      }
      const taken = (this.select.all(organizationId, userId, since) as { mailed_at: number }[]).map((row) => Number(row.mailed_at));
      const slot = taken.length < limit ? String(this.insert.run(organizationId, userId, at, requestKey ?? null).lastInsertRowid) : undefined;
      this.db.exec('COMMIT');
      return slot === undefined ? { taken } : { slot };
    } catch (error) {
      // SQLite may have rolled back itself (a full disk): a ROLLBACK then fails and hides the cause (probe 96 F8)
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  async giveBack(slot: string): Promise<void> {
    this.remove.run(Number(slot));
  }

  async close(): Promise<void> {
    if (this.db.isOpen) this.db.close();
  }
}

/** The request's key, added to a table made before session 65 (two replicas starting together: one adds it) */
function addRequestKey(db: DatabaseSync): void {
  const has = () => (db.prepare('PRAGMA table_info(email_change_mails)').all() as { name: string }[]).some((c) => c.name === 'request_key');
  if (has()) return;
  try {
    db.exec('ALTER TABLE email_change_mails ADD COLUMN request_key TEXT');
  } catch (error) {
    if (!has()) throw error;
  }
}
