import { openDatabase } from '@rollcall/event-store';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';
import { Logger } from '@nestjs/common';

/** Who heartbeated when: one user's lease in one workspace (docs/rules.md#presence-details). Not an event. */
export interface Lease {
  workspaceId: string;
  organizationId: string;
  userId: string;
  /** epoch milliseconds of the user's latest heartbeat */
  lastSeenAt: number;
}

export const leaseId = (workspaceId: string, userId: string): string => `${workspaceId}:${userId}`;

/** Where leases are kept, shared by every replica that shares the backend (the data dir, or MongoDB). */
export interface LeaseBackend {
  /** upserts each lease; a stored lease keeps the later `lastSeenAt` (two replicas may save out of order) */
  save(leases: readonly Lease[]): Promise<void>;
  get(workspaceId: string, userId: string): Promise<Lease | undefined>;
  /** the stored leases of these users in the workspace (one query for a page of members) */
  getMany(workspaceId: string, userIds: readonly string[]): Promise<Lease[]>;
  /** leases not renewed since `before` (epoch ms), oldest first */
  lapsed(before: number, limit: number): Promise<Lease[]>;
  /** removes the lease, unless it was renewed after `notAfter` (a heartbeat that came in meanwhile keeps it) */
  release(workspaceId: string, userId: string, notAfter: number): Promise<void>;
  /** leases renewed after `after` (in the future: the wall clock stepped back) taken as renewed at `to`; how many */
  pullBack(after: number, to: number): Promise<number>;
  close(): Promise<void>;
}

/** The lease port the presence feature uses. */
export interface LeaseStore {
  /** a heartbeat that changes nothing: kept in memory, saved with the next periodic flush */
  touch(lease: Lease): void;
  /** whether this process heard the user at or after `since` (epoch ms): no lease is read (false: ask `get`) */
  heardSince(workspaceId: string, userId: string, since: number): boolean;
  /** when this process last heard the user (epoch ms), undefined if it has not since its lease was released */
  heardAt(workspaceId: string, userId: string): number | undefined;
  /** saved now, before a transition is appended: an online user always has a lease that can lapse */
  persist(lease: Lease): Promise<void>;
  get(workspaceId: string, userId: string): Promise<Lease | undefined>;
  /** the latest lease (this process's or the stored one) of each of these users that has one */
  getMany(workspaceId: string, userIds: readonly string[]): Promise<Lease[]>;
  lapsed(before: number, limit: number): Promise<Lease[]>;
  release(workspaceId: string, userId: string, notAfter: number): Promise<void>;
  /** leases renewed after `after` taken as renewed at `to` (LeaseBackend.pullBack), this process's too */
  pullBack(after: number, to: number): Promise<number>;
  /** saves what is only in memory */
  flush(): Promise<void>;
  close(): Promise<void>;
}
export const LEASE_STORE = Symbol('LeaseStore');

/** this process's lease or the stored one, whichever was renewed last */
const later = (mine: Lease | undefined, stored: Lease | undefined): Lease | undefined =>
  !mine ? stored : stored && stored.lastSeenAt > mine.lastSeenAt ? stored : mine;

/** leases saved per transaction by a periodic flush */
const FLUSH_SLICE = 128;

/**
 * Heartbeats are cheap: a heartbeat renews the lease in memory; the leases renewed since the last flush are saved
 * every `flushMs` (in slices of FLUSH_SLICE), and at once before a transition. What a crash loses is at most `flushMs` of
 * last-seen time, well inside the timeout ("accurate to the timeout", docs/rules.md#rule-13).
 */
export class BufferedLeaseStore implements LeaseStore {
  /** this process's latest heartbeat per lease (never older than the backend's) */
  private readonly local = new Map<string, Lease>();
  private dirty = new Map<string, Lease>();
  private flushing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly backend: LeaseBackend,
    flushMs = 1000,
  ) {
    this.timer = setInterval(() => void this.flush().catch(() => undefined), flushMs);
    this.timer.unref();
  }

  touch(lease: Lease): void {
    const id = leaseId(lease.workspaceId, lease.userId);
    const known = this.local.get(id);
    if (known && known.lastSeenAt >= lease.lastSeenAt) return;
    this.local.set(id, lease);
    this.dirty.set(id, lease);
  }

  heardSince(workspaceId: string, userId: string, since: number): boolean {
    return (this.heardAt(workspaceId, userId) ?? Number.NEGATIVE_INFINITY) >= since;
  }

  heardAt(workspaceId: string, userId: string): number | undefined {
    return this.local.get(leaseId(workspaceId, userId))?.lastSeenAt;
  }

  async persist(lease: Lease): Promise<void> {
    this.touch(lease);
    const id = leaseId(lease.workspaceId, lease.userId);
    const latest = this.local.get(id)!;
    this.dirty.delete(id);
    await this.backend.save([latest]);
  }

  async get(workspaceId: string, userId: string): Promise<Lease | undefined> {
    return later(this.local.get(leaseId(workspaceId, userId)), await this.backend.get(workspaceId, userId));
  }

  async getMany(workspaceId: string, userIds: readonly string[]): Promise<Lease[]> {
    const stored = new Map((await this.backend.getMany(workspaceId, userIds)).map((l) => [l.userId, l]));
    return userIds.flatMap((userId) => later(this.local.get(leaseId(workspaceId, userId)), stored.get(userId)) ?? []);
  }

  async lapsed(before: number, limit: number): Promise<Lease[]> {
    await this.flush();
    const found = await this.backend.lapsed(before, limit);
    // renewed here after the flush: not lapsed
    return found.filter((l) => (this.local.get(leaseId(l.workspaceId, l.userId))?.lastSeenAt ?? 0) < before);
  }

  async release(workspaceId: string, userId: string, notAfter: number): Promise<void> {
    const id = leaseId(workspaceId, userId);
    const mine = this.local.get(id);
    if (mine && mine.lastSeenAt <= notAfter) {
      this.local.delete(id);
      this.dirty.delete(id);
    }
    await this.backend.release(workspaceId, userId, notAfter);
  }

  async pullBack(after: number, to: number): Promise<number> {
    for (const map of [this.local, this.dirty])
      for (const [id, l] of map) if (l.lastSeenAt > after) map.set(id, { ...l, lastSeenAt: to });
    await this.flush();
    return this.backend.pullBack(after, to);
  }

  flush(): Promise<void> {
    // one flush at a time, in order: a later flush never overtakes an earlier one, and runs even when that one
    // failed (its leases went back to `dirty`; a chain left rejected would never save a lease again)
    this.flushing = this.flushing.catch(() => undefined).then(async () => {
      if (this.dirty.size === 0) return;
      const batch = [...this.dirty.values()];
      this.dirty = new Map();
      // in slices, each saved in its own turn of the event loop: one second of 10,000 users' renewals saved in one
      // go held the event loop (a SQLite upsert each) for tens of milliseconds, and every heartbeat waited for it
      for (let from = 0; from < batch.length; from += FLUSH_SLICE) {
        try {
          await this.backend.save(batch.slice(from, from + FLUSH_SLICE));
        } catch (error) {
          // keep the unsaved ones for the next flush, unless renewed meanwhile
          for (const l of batch.slice(from)) {
            const id = leaseId(l.workspaceId, l.userId);
            if (!this.dirty.has(id)) this.dirty.set(id, l);
          }
          throw error;
        }
      }
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush().catch(() => undefined);
    await this.backend.close();
  }
}

interface LeaseRow {
  workspace_id: string;
  organization_id: string;
  user_id: string;
  last_seen: number | bigint;
}

const fromRow = (r: LeaseRow): Lease => ({ workspaceId: r.workspace_id, organizationId: r.organization_id, userId: r.user_id, lastSeenAt: Number(r.last_seen) });

/**
 * Embedded: the table `leases` in `${dataDir}/presence.sqlite` (WAL). Every API process on the data dir sees the
 * others' saved leases, so any of them can sweep them; a restart finds the leases that lapsed while it was down.
 */
export class SqliteLeaseBackend implements LeaseBackend {
  private readonly db: DatabaseSync;
  private readonly stmt: Record<'upsert' | 'get' | 'lapsed' | 'release' | 'anyAfter' | 'pullBack', StatementSync>;
  private readonly checkpointer: WalCheckpointer;

  /** `checkpointMs`: how often the checkpoint thread copies the WAL into the database file */
  constructor(dataDir: string, { checkpointMs = 1000 }: { checkpointMs?: number } = {}) {
    const path = join(dataDir, 'presence.sqlite');
    // wal_autocheckpoint=0: this connection (the event loop's) never checkpoints; the thread does
    this.db = openDatabase(path, {
      setUp: `PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;
      CREATE TABLE IF NOT EXISTS leases (id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, organization_id TEXT NOT NULL,
        user_id TEXT NOT NULL, last_seen INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS leases_by_last_seen ON leases (last_seen)`,
    });
    // without the thread, the WAL would grow for good: this connection checkpoints again, as SQLite does by default
    this.checkpointer = new WalCheckpointer(path, checkpointMs, () => {
      if (this.db.isOpen) this.db.exec('PRAGMA wal_autocheckpoint=1000');
    });
    this.stmt = {
      upsert: this.db.prepare(
        `INSERT INTO leases (id, workspace_id, organization_id, user_id, last_seen) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET last_seen = MAX(last_seen, excluded.last_seen)`,
      ),
      get: this.db.prepare('SELECT workspace_id, organization_id, user_id, last_seen FROM leases WHERE id = ?'),
      lapsed: this.db.prepare('SELECT workspace_id, organization_id, user_id, last_seen FROM leases WHERE last_seen < ? ORDER BY last_seen LIMIT ?'),
      release: this.db.prepare('DELETE FROM leases WHERE id = ? AND last_seen <= ?'),
      anyAfter: this.db.prepare('SELECT 1 FROM leases WHERE last_seen > ? LIMIT 1'),
      pullBack: this.db.prepare('UPDATE leases SET last_seen = ? WHERE last_seen > ?'),
    };
  }

  private queue: { leases: readonly Lease[]; done: (error?: unknown) => void }[] = [];

  /** saves queued in the same turn of the event loop share one transaction (transitions come in bursts) */
  save(leases: readonly Lease[]): Promise<void> {
    if (leases.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      if (this.queue.length === 0) setImmediate(() => this.commit());
      this.queue.push({ leases, done: (error) => (error ? reject(error) : resolve()) });
    });
  }

  private commit(): void {
    const batch = this.queue;
    this.queue = [];
    try {
      this.db.exec('BEGIN IMMEDIATE');
      for (const { leases } of batch)
        for (const l of leases) this.stmt.upsert.run(leaseId(l.workspaceId, l.userId), l.workspaceId, l.organizationId, l.userId, l.lastSeenAt);
      this.db.exec('COMMIT');
      for (const { done } of batch) done();
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      for (const { done } of batch) done(error);
    }
  }

  async get(workspaceId: string, userId: string): Promise<Lease | undefined> {
    const row = this.stmt.get.get(leaseId(workspaceId, userId)) as LeaseRow | undefined;
    return row ? fromRow(row) : undefined;
  }

  async getMany(workspaceId: string, userIds: readonly string[]): Promise<Lease[]> {
    // primary-key lookups on this process's connection: a few µs each, no round trip to batch away
    return userIds.flatMap((userId) => {
      const row = this.stmt.get.get(leaseId(workspaceId, userId)) as LeaseRow | undefined;
      return row ? [fromRow(row)] : [];
    });
  }

  async lapsed(before: number, limit: number): Promise<Lease[]> {
    return (this.stmt.lapsed.all(before, limit) as unknown as LeaseRow[]).map(fromRow);
  }

  async release(workspaceId: string, userId: string, notAfter: number): Promise<void> {
    this.stmt.release.run(leaseId(workspaceId, userId), notAfter);
  }

  async pullBack(after: number, to: number): Promise<number> {
    // asked at every sweep and almost never true: a read first (an UPDATE takes the file's write lock even for no row)
    if (this.stmt.anyAfter.get(after) === undefined) return 0;
    return Number(this.stmt.pullBack.run(to, after).changes);
  }

  async close(): Promise<void> {
    if (this.queue.length > 0) this.commit();
    // the thread's connection first: the last one to close checkpoints what is left and removes the WAL
    await this.checkpointer.stop();
    if (this.db.isOpen) this.db.close();
  }
}

/** A second connection on a thread of its own that checkpoints the WAL every `everyMs` (PASSIVE: never blocks writes). */
const CHECKPOINT_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(workerData.path, { timeout: 5000 });
const timer = setInterval(() => {
  try {
    db.exec('PRAGMA wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message) });
  }
}, workerData.everyMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * Checkpoints an embedded lease file off the event loop. A checkpoint copies the WAL into the database file and
 * fsyncs both: run by the connection that commits (SQLite's default, every 1,000 WAL pages: every few seconds under
 * heartbeats), it held the event loop 15-40 ms each time on this machine, and up to 90 ms while the disk was busy.
 * The thread's code is a string run with `eval`, as the read store's bulk writer does (the same from sources, tests
 * and the build).
 */
class WalCheckpointer {
  private readonly logger = new Logger('PresenceLeases');
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private stopping = false;

  constructor(path: string, everyMs: number, onGone: () => void) {
    // execArgv []: none of the process's preloads (-r) run in the thread; it needs only node:sqlite
    this.worker = new Worker(CHECKPOINT_THREAD, { eval: true, workerData: { path, everyMs }, execArgv: [], name: 'presence-wal' });
    this.worker.unref();
    this.worker.on('message', (m: { error?: string }) => this.logger.warn(`presence.sqlite checkpoint: ${m.error}`));
    this.worker.on('error', (error) => this.logger.error(`presence.sqlite checkpoint thread: ${error.message}`));
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', () => {
        if (!this.stopping) onGone();
        resolve();
      }),
    );
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.worker.postMessage('stop');
    const late = setTimeout(() => void this.worker.terminate(), 5000);
    await this.exited;
    clearTimeout(late);
  }
}
