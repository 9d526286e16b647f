import { Logger } from '@nestjs/common';
import { FUTURE_LAST_SEEN_TOLERANCE_SECONDS } from '@rollcall/domain';
import type { LeaseStore } from './leases';
import type { PresenceReactions } from './presence-handlers';

const BATCH = 500;
const CONCURRENCY = 8;
/** batches per pass: leases that keep failing (the store down) wait for the next pass instead of spinning */
const MAX_BATCHES = 20;
/**
 * A lease renewed further than this in the future was renewed before the wall clock stepped back (NTP correcting a
 * clock that ran fast): it is taken as renewed now, so that a user silent since goes offline a timeout after the
 * step is seen, not the step plus a timeout later (probe 55 F3: 11 minutes online after a 10-minute step, a last-seen
 * time in the future). Beyond the clocks of replicas that agree (NTP keeps them within milliseconds).
 */
export const FUTURE_LEASE_TOLERANCE_MS = FUTURE_LAST_SEEN_TOLERANCE_SECONDS * 1000;

/**
 * Finds leases not renewed within the timeout and makes their users offline (docs/rules.md#rule-13). Every replica
 * sweeps the shared leases (the data dir's, or MongoDB's); the presence stream's expected revision makes each lapse
 * one `timeout` transition however many replicas see it. Leases that lapsed while no process ran are found by the
 * first sweep after a start, and go offline with their true last-seen time.
 */
export class PresenceSweeper {
  private readonly logger = new Logger('PresenceSweeper');
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<number> | undefined;

  constructor(
    private readonly leases: LeaseStore,
    private readonly reactions: PresenceReactions,
    private readonly options: { timeoutSeconds: number; sweepMs: number; now?: () => number },
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.sweep().catch((e: Error) => this.logger.error(`presence sweep: ${e.message}`)), this.options.sweepMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.sweeping?.catch(() => undefined);
  }

  /** One pass (never two at once in a process); returns how many transitions this process appended. */
  sweep(): Promise<number> {
    this.sweeping ??= this.pass().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async pass(): Promise<number> {
    let appended = 0;
    for (let batch = 0; batch < MAX_BATCHES; batch++) {
      const now = (this.options.now ?? Date.now)();
      if (batch === 0) await this.pullBackFuture(now);
      const lapsed = await this.leases.lapsed(now - this.options.timeoutSeconds * 1000, BATCH);
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(CONCURRENCY, lapsed.length) }, async () => {
          while (next < lapsed.length) {
            const lease = lapsed[next++]!;
            try {
              appended += (await this.reactions.timeOut(lease, now)).length;
            } catch {
              // logged by the reactions; the lease stays and the next pass tries again
            }
          }
        }),
      );
      if (lapsed.length < BATCH) break;
    }
    return appended;
  }

  private async pullBackFuture(now: number): Promise<void> {
    const pulled = await this.leases.pullBack(now + FUTURE_LEASE_TOLERANCE_MS, now);
    if (pulled > 0)
      this.logger.warn(
        `${pulled} presence lease(s) renewed after ${new Date(now).toISOString()} (the wall clock stepped back, or another replica's runs ahead): taken as renewed now; keep the clocks of the replicas in step, slewed rather than stepped`,
      );
  }
}
