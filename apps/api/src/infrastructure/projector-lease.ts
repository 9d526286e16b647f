import { openDatabase } from '@rollcall/event-store';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

/** how long a lease lasts without renewal */
export const LEASE_TTL_MS = 5_000;
/** how often the holder renews it, and a standby asks for it */
export const LEASE_RENEW_MS = 1_000;
/** a holder on this host whose process still runs keeps the lease this much longer (a slow holder, not a dead one) */
const ALIVE_GRACE_MS = 30_000;

/**
 * One projector per embedded read store at a time. Every API process over a data dir runs a projector thread, but two
 * projectors over one read store corrupt what accumulates: each reads documents the other already moved past the
 * event it applies, and presence time is counted twice (test/replicas.e2e-spec.ts). So the projector thread of each
 * process asks for this lease; the holder projects and renews it, the others stand by and take over when it is
 * released (a process stopping) or has lapsed (a process killed: at once when its pid on this host is gone).
 *
 * A row in `${dataDir}/projector-lease.sqlite`, taken and renewed in IMMEDIATE transactions
 * (docs/adr/0011-replicas-over-one-embedded-data-dir.md).
 */
export class ProjectorLease {
  readonly holder = `${hostname()}|${process.pid}|${randomUUID()}`;
  private readonly db: DatabaseSync;

  constructor(dataDir: string) {
    this.db = openDatabase(join(dataDir, 'projector-lease.sqlite'), {
      setUp: `CREATE TABLE IF NOT EXISTS projector_lease (id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT NOT NULL, expires INTEGER NOT NULL)`,
    });
  }

  /** Takes the lease, or renews it; false while another holder's lease runs. */
  tryAcquire(now = Date.now()): boolean {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const row = this.db.prepare('SELECT holder, expires FROM projector_lease WHERE id = 1').get() as { holder: string; expires: number } | undefined;
      const free = !row || row.holder === this.holder || lapsed(row.holder, Number(row.expires), now);
      if (free)
        this.db
          .prepare('INSERT INTO projector_lease (id, holder, expires) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, expires = excluded.expires')
          .run(this.holder, now + LEASE_TTL_MS);
      this.db.exec('COMMIT');
      return free;
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  /** Gives the lease up (a standby takes it at its next try). */
  release(): void {
    this.db.prepare('DELETE FROM projector_lease WHERE holder = ?').run(this.holder);
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

/** Lapsed: past its expiry, and its holder is gone (same host, no such process) or has not renewed for long. */
function lapsed(holder: string, expires: number, now: number): boolean {
  const [host, pid] = holder.split('|');
  if (host === hostname() && pid !== String(process.pid) && !running(Number(pid))) return true;
  return expires <= now && (host !== hostname() || expires + ALIVE_GRACE_MS <= now);
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
