/**
 * The notary thread's loop (notary-worker.ts wires it to the lease, the tree and the log): while this process holds
 * the notary lease, fold the log's new events into the tree and sign a checkpoint at least every `checkpointMs`;
 * otherwise stand by.
 *
 * Every step can fail with the data dir's disk (the lease and the tree are SQLite files there): full, read-only, an
 * I/O error. A failure is reported (`error` in the status: /health's `audit` and `rollcall_audit_notary_failing`),
 * logged once per distinct message, and the step is tried again a second later, until the fault is gone. Probe 51 F1
 * (session 47): the lease check and the checkpoint sat outside the loop's error handling, so the first full disk ended
 * the thread for good, on every replica at once, and inclusion proofs answered 503 AUDIT_BEHIND "retry in a second"
 * until each process was restarted.
 */
import { DEFAULT_CLOCK_SKEW_MS } from '@rollcall/audit';

export interface NotaryLoopParts {
  /** whether this process holds the notary lease (renewing it: a write); `leader`: its answer at the last check */
  leader: { leads(): boolean; readonly leader: boolean; release(): void };
  notary: { catchUp(max: number): Promise<number>; checkpoint(): unknown; thinCheckpoints(keepEveryMs: number): { deleted: number; more: boolean }; readonly size: number };
  /** the stored tree, as the lease holder left it (a standby reports its size) */
  tree: { size(): number; latestCheckpoint(): { size: number; signedAt?: Date } | undefined };
  checkpointMs: number;
  /** every checkpoint signed in this last span is kept, older ones thinned to one an hour (0: every one kept for good) */
  keepEveryCheckpointMs: number;
  /** how often an idle notary looks for new events */
  pollMs: number;
  /** how often a standby asks for the lease */
  standbyMs: number;
  status(status: NotaryStatus): void;
  log(level: 'info' | 'error', message: string): void;
  sleep(ms: number): Promise<void>;
  /** milliseconds on a clock that never steps back (performance.now()): when the next checkpoint is due */
  now(): number;
  /** the wall clock (Date.now() unless a test sets it): compared with when the last checkpoint was signed */
  wall?(): number;
}

export interface NotaryStatus {
  size: number;
  checkpointSize: number | null;
  /** this process holds the lease */
  notarizing: boolean;
  /** the last step's failure, while the steps fail */
  error?: string;
}

/** how long a failed step waits before it is tried again */
export const NOTARY_RETRY_MS = 1000;
/** how often the lease holder thins the checkpoints (Notary.thinCheckpoints) */
export const THIN_CHECKPOINTS_EVERY_MS = 3_600_000;
/** leaves folded per step */
const BATCH = 5000;

export class NotaryLoop {
  private stopping = false;
  private lastError: string | undefined;
  private lastCheckpoint: number;
  /** when the checkpoints were last thinned to the end (undefined: not yet, by this process) */
  private lastThinned: number | undefined;
  /** checkpoints thinned by the steps of this round (logged once it ends) */
  private thinnedNow = 0;
  /** the wall clock was behind the last signed checkpoint at the last look (checkClock) */
  private clockBehind = false;
  /** what the last status said of the lease */
  private reportedLeading = false;

  constructor(private readonly parts: NotaryLoopParts) {
    this.lastCheckpoint = parts.now();
  }

  stop(): void {
    this.stopping = true;
  }

  /** the first step, before the thread says it started: a lease holder signs the tree as it finds it */
  async begin(): Promise<void> {
    const p = this.parts;
    await this.attempt(async () => {
      if (p.leader.leads()) p.notary.checkpoint();
    });
    this.report();
  }

  /** until stop(): then a last checkpoint, and the lease let go */
  async run(): Promise<void> {
    const p = this.parts;
    while (!this.stopping) {
      let waitMs = 0;
      const ok = await this.attempt(async () => {
        if (!p.leader.leads()) {
          this.report();
          waitMs = p.standbyMs;
          return;
        }
        // just took the lease (a failover on an idle log signs nothing new): said at once, not at the next checkpoint
        // (probe 58 F5: /health said no process notarized until the next write)
        if (!this.reportedLeading) this.report();
        const added = await p.notary.catchUp(BATCH);
        // checkpoints are signed here, between batches: a checkpoint's leaves are always in the store already
        if (p.now() - this.lastCheckpoint >= p.checkpointMs) {
          this.checkClock();
          if (p.notary.checkpoint()) this.report();
          this.lastCheckpoint = p.now();
        }
        // one step per turn of the loop (a year of checkpoints takes many: notarizing goes on between them)
        if (p.keepEveryCheckpointMs > 0 && (this.lastThinned === undefined || p.now() - this.lastThinned >= THIN_CHECKPOINTS_EVERY_MS)) {
          const step = p.notary.thinCheckpoints(p.keepEveryCheckpointMs);
          this.thinnedNow += step.deleted;
          if (!step.more) {
            if (this.thinnedNow > 0) p.log('info', `notary: ${this.thinnedNow} checkpoints older than ${p.keepEveryCheckpointMs / 3_600_000} h thinned to one an hour`);
            [this.lastThinned, this.thinnedNow] = [p.now(), 0];
          }
        }
        if (added === 0) waitMs = p.pollMs;
      });
      if (!ok) waitMs = NOTARY_RETRY_MS;
      if (waitMs > 0) await p.sleep(waitMs);
    }
    // the last steps, as the process stops: tried once, their failure logged, and no "notarized again" said for them
    // (probe 54 F3: a stop during a full disk logged a recovery, its checkpoint having nothing new to sign)
    this.quietly(() => {
      if (p.leader.leader) p.notary.checkpoint();
    });
    this.report();
    this.quietly(() => p.leader.release());
  }

  private quietly(step: () => void): void {
    try {
      step();
    } catch (error) {
      this.parts.log('error', `notary, stopping: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /**
   * Says so (once while it lasts) when the wall clock is behind the last signed checkpoint by more than verify's
   * tolerance: it was stepped back, and every entry written until it catches up is dated before a checkpoint signed
   * before it, which `rollcall-audit verify` reports as ENTRY_BACKDATED, as it would a clock set back to rewrite
   * history (probe 55 F5: nothing said so as it happened).
   */
  private checkClock(): void {
    const p = this.parts;
    const signedAt = p.tree.latestCheckpoint()?.signedAt?.getTime();
    const behindMs = signedAt === undefined ? 0 : signedAt - (p.wall ?? Date.now)();
    if (behindMs > DEFAULT_CLOCK_SKEW_MS && !this.clockBehind)
      p.log(
        'error',
        `notary: the clock is ${Math.round(behindMs / 1000)} s behind the last signed checkpoint (stepped back?): entries written until it catches up are dated before it, and rollcall-audit verify will report them as ENTRY_BACKDATED; slew clocks rather than step them (docs/verifiable-history.md)`,
      );
    this.clockBehind = behindMs > DEFAULT_CLOCK_SKEW_MS;
  }

  private report(): void {
    const p = this.parts;
    let stored: Pick<NotaryStatus, 'size' | 'checkpointSize'>;
    try {
      stored = { size: p.leader.leader ? p.notary.size : p.tree.size(), checkpointSize: p.tree.latestCheckpoint()?.size ?? null };
    } catch {
      // the tree unreadable too: the size the notary holds in memory
      stored = { size: p.notary.size, checkpointSize: null };
    }
    this.reportedLeading = p.leader.leader;
    p.status({ ...stored, notarizing: p.leader.leader, ...(this.lastError !== undefined && { error: this.lastError }) });
  }

  private async attempt(step: () => Promise<void>): Promise<boolean> {
    try {
      await step();
      this.succeeded();
      return true;
    } catch (error) {
      this.failed(error);
      return false;
    }
  }

  private succeeded(): void {
    if (this.lastError === undefined) return;
    this.lastError = undefined;
    this.parts.log('info', 'notary: the log is notarized again');
    this.report();
  }

  private failed(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (message !== this.lastError)
      this.parts.log('error', `notary: ${message}; tried again every ${NOTARY_RETRY_MS / 1000} s until it succeeds (no restart needed)`);
    this.lastError = message;
    this.report();
  }
}
