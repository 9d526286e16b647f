import { openDatabase, processRunning } from '@rollcall/event-store';
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

export type LeaseJob = 'projector' | 'notary' | 'publisher' | 'publisher_tcp' | 'mail';

/**
 * One thread at a time, among the API processes over a data dir, does a job that must not run twice:
 * - `projector`: two projectors over one embedded read store corrupt what accumulates (each reads documents the other
 *   already moved past the event it applies, and presence time is counted twice: test/replicas.e2e-spec.ts);
 * - `notary`: two notaries over one `audit.sqlite` fold the same log into the same tree twice (one of them for nothing);
 * - `publisher` (NATS) and `publisher_tcp`: two publishers of integration events on a transport send every event twice
 *   and move its checkpoint file in turns;
 * - `mail`: two mail dispatchers send every mail they find unsent twice (mail/mail-dispatcher.ts).
 * The thread of each process asks for the job's lease; the holder does the job and renews it, the others stand by and
 * take over when it is released (a process stopping) or has lapsed (a process killed: at once when its pid on this
 * host is gone).
 *
 * A row in `${dataDir}/${job}-lease.sqlite`, taken and renewed in IMMEDIATE transactions
 * (docs/adr/0011-replicas-over-one-embedded-data-dir.md).
 */
export class Lease {
  readonly holder = `${hostname()}|${process.pid}|${randomUUID()}`;
  private readonly db: DatabaseSync;
  private readonly table: string;
  private readonly raiseWanted;
  private readonly selectWanted;
  private readonly selectHolder;
  private readonly upsertHolder;

  constructor(dataDir: string, job: LeaseJob) {
    this.table = `${job}_lease`;
    // synchronous=NORMAL (as presence.sqlite's): a renewal is not fsynced. Every second the publisher's and the mail
    // dispatcher's renewals ran on the event loop, and behind the event store's commits an fsync took up to 2-6 ms
    // there (p99, measured beside an fsync load; 0.1-0.2 ms without it), once a second per job. What a power loss can
    // lose is the last renewals of holders that are gone after it anyway: their pid is gone, or the lease lapses.
    this.db = openDatabase(join(dataDir, `${job}-lease.sqlite`), {
      setUp: `PRAGMA synchronous = NORMAL;
        CREATE TABLE IF NOT EXISTS ${this.table} (id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT NOT NULL, expires INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS wanted (id INTEGER PRIMARY KEY CHECK (id = 1), position INTEGER NOT NULL)`,
    });
    this.selectHolder = this.db.prepare(`SELECT holder, expires FROM ${this.table} WHERE id = 1`);
    this.upsertHolder = this.db.prepare(
      `INSERT INTO ${this.table} (id, holder, expires) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, expires = excluded.expires`,
    );
    // prepared once: the leading thread reads the wanted position every 25 ms
    this.raiseWanted = this.db.prepare('INSERT INTO wanted (id, position) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET position = MAX(position, excluded.position)');
    this.selectWanted = this.db.prepare('SELECT position FROM wanted WHERE id = 1');
    this.selectWanted.setReadBigInts(true);
  }

  /**
   * A standby tells the holder that a reader waits for `position` (the projector's lingering, commit-linger.ts: the
   * holder's thread reads it with `wanted()`). One statement: of two standbys asking at once, the higher stays.
   */
  want(position: bigint): void {
    this.raiseWanted.run(position);
  }

  /** the highest position a standby's reader asked for (undefined: none yet) */
  wanted(): bigint | undefined {
    return (this.selectWanted.get() as { position: bigint } | undefined)?.position;
  }

  /** Takes the lease, or renews it; false while another holder's lease runs. */
  tryAcquire(now = Date.now()): boolean {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const row = this.selectHolder.get() as { holder: string; expires: number } | undefined;
      const free = !row || row.holder === this.holder || lapsed(row.holder, Number(row.expires), now);
      if (free) this.upsertHolder.run(this.holder, now + LEASE_TTL_MS);
      this.db.exec('COMMIT');
      return free;
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  /** Gives the lease up (a standby takes it at its next try). */
  release(): void {
    this.db.prepare(`DELETE FROM ${this.table} WHERE holder = ?`).run(this.holder);
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

/**
 * The two clocks a lease's loop reads: the wall clock, which leases are written in (compared across processes), and an
 * elapsed one that never steps, which says when to ask again. Probe 55 F2: the period between asks was measured on the
 * wall clock, and after it stepped back (NTP correcting a clock that ran fast) no holder renewed and no standby asked
 * for as long as the step: a killed holder's notary, publishers and mail dispatcher were not taken over for 5–10 min.
 */
export interface LeaseClocks {
  wall(): number;
  elapsed(): number;
}
export const PROCESS_CLOCKS: LeaseClocks = { wall: () => Date.now(), elapsed: () => performance.now() };

/**
 * A loop's view of its lease: `leads()` takes or renews it at most every LEASE_RENEW_MS (between, it answers what it
 * last learned) and tells the loop when leadership changes hands: `taken` (resume from what the last holder left),
 * `lost` (stand by). The notary and the integration-event publisher ask it once per turn of their loops.
 */
export class LeaseLeader {
  private leading = false;
  /** when it last asked, on the elapsed clock (none yet: a thread's elapsed clock starts near 0) */
  private checkedAt: number | undefined;
  /** after standDown, no ask before this time on the elapsed clock */
  private quietUntil = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly lease: Lease,
    private readonly on: { taken(): void; lost(): void },
    private readonly clocks: LeaseClocks = PROCESS_CLOCKS,
  ) {}

  leads(): boolean {
    const elapsed = this.clocks.elapsed();
    if (elapsed < this.quietUntil) return false;
    if (this.checkedAt !== undefined && elapsed - this.checkedAt < LEASE_RENEW_MS) return this.leading;
    this.checkedAt = elapsed;
    const held = this.lease.tryAcquire(this.clocks.wall());
    if (held && !this.leading) this.on.taken();
    else if (!held && this.leading) this.on.lost();
    this.leading = held;
    return held;
  }

  /** whether it led at its last check */
  get leader(): boolean {
    return this.leading;
  }

  /** lets the lease go if this process leads (a standby takes it at its next try) */
  release(): void {
    if (this.leading) this.lease.release();
    this.leading = false;
  }

  /** lets the lease go, and asks for it again only after `quietMs` (another process takes it meanwhile) */
  standDown(quietMs: number): void {
    this.release();
    this.quietUntil = this.clocks.elapsed() + quietMs;
  }
}

/** Lapsed: past its expiry, and its holder is gone (same host, no such process) or has not renewed for long. */
export function lapsed(holder: string, expires: number, now: number): boolean {
  const [host, pid] = holder.split('|');
  if (host === hostname() && pid !== String(process.pid) && !processRunning(Number(pid))) return true;
  return expires <= now && (host !== hostname() || expires + ALIVE_GRACE_MS <= now);
}
