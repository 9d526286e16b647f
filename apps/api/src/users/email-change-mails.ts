import { join } from 'node:path';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { openDatabase } from '@rollcall/event-store';

/**
 * When confirmation links were mailed for a user's email changes: what the limit of docs/adr/0038 counts. Kept beside
 * the log, where every API process of the deployment reads it (amended in session 61: counted per process, a user
 * behind a balancer over N replicas could be asked about N times the limit), as the last days of use are (ADR 0036): a
 * mail is no decision, and its time in the organization's state would grow every snapshot.
 */
export interface EmailChangeMails {
  /** the times (epoch ms) of the confirmations mailed for the user at or after `since`, oldest first */
  since(organizationId: string, userId: string, since: number): Promise<number[]>;
  /** one mailed at `at`; any mailed before `forgetBefore` (for anyone) may be forgotten now */
  mailed(organizationId: string, userId: string, at: number, forgetBefore: number): Promise<void>;
  close(): Promise<void>;
}
export const EMAIL_CHANGE_MAILS = Symbol('EmailChangeMails');

/**
 * In this process's memory only: for a handler built alone (the tests that build UpdateProfileHandler without the
 * module); the API's module always provides the shared store (app.module.ts).
 */
export class ProcessEmailChangeMails implements EmailChangeMails {
  private readonly mails: { key: string; at: number }[] = [];

  async since(organizationId: string, userId: string, since: number): Promise<number[]> {
    const key = `${organizationId}\n${userId}`;
    return this.mails.filter((m) => m.key === key && m.at >= since).map((m) => m.at);
  }

  async mailed(organizationId: string, userId: string, at: number, forgetBefore: number): Promise<void> {
    this.mails.splice(0, this.mails.filter((m) => m.at < forgetBefore).length);
    this.mails.push({ key: `${organizationId}\n${userId}`, at });
  }

  async close(): Promise<void> {}
}

/** Embedded: a table in `${dataDir}/api.sqlite` (WAL: the replicas on the data dir share it). */
export class SqliteEmailChangeMails implements EmailChangeMails {
  private readonly db: DatabaseSync;
  private readonly select: StatementSync;
  private readonly insert: StatementSync;
  private readonly forget: StatementSync;

  constructor(dataDir: string) {
    this.db = openDatabase(join(dataDir, 'api.sqlite'), {
      setUp: `CREATE TABLE IF NOT EXISTS email_change_mails (organization_id TEXT NOT NULL, user_id TEXT NOT NULL, mailed_at INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS email_change_mails_by_user ON email_change_mails (organization_id, user_id, mailed_at);
        CREATE INDEX IF NOT EXISTS email_change_mails_by_time ON email_change_mails (mailed_at)`,
    });
    this.select = this.db.prepare('SELECT mailed_at FROM email_change_mails WHERE organization_id = ? AND user_id = ? AND mailed_at >= ? ORDER BY mailed_at');
    this.insert = this.db.prepare('INSERT INTO email_change_mails (organization_id, user_id, mailed_at) VALUES (?, ?, ?)');
    // an hour's mails at most are kept: the table stays as small as the last hour's email changes
    this.forget = this.db.prepare('DELETE FROM email_change_mails WHERE mailed_at < ?');
  }

  async since(organizationId: string, userId: string, since: number): Promise<number[]> {
    return (this.select.all(organizationId, userId, since) as { mailed_at: number }[]).map((row) => Number(row.mailed_at));
  }

  async mailed(organizationId: string, userId: string, at: number, forgetBefore: number): Promise<void> {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      this.insert.run(organizationId, userId, at);
      this.forget.run(forgetBefore);
      this.db.exec('COMMIT');
    } catch (error) {
      // SQLite may have rolled back itself (a full disk): a ROLLBACK then fails and hides the cause (probe 96 F8)
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.db.isOpen) this.db.close();
  }
}
