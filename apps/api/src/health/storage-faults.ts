import { Inject, Injectable } from '@nestjs/common';
import { Metrics } from '../infrastructure/metrics';

/** how long an answered storage fault keeps the event store down in /health when no write succeeded since */
export const STORAGE_FAULT_WINDOW_MS = 30_000;

/**
 * The storage faults this process answered (503 EVENT_STORE_UNAVAILABLE: a full, read-only or failing disk), for
 * /health and /metrics. Probe 41 F1: with the disk full, every write was refused while /health said `eventStore: up`
 * (the store answered its ping: reads work) and no metric counted the refusals, so no balancer or alert heard of it.
 * Now the event store reads as down from a refusal until a write succeeds, or for STORAGE_FAULT_WINDOW_MS after the
 * last refusal when none is tried (a balancer that took the replica out sends none: it is tried again then).
 */
@Injectable()
export class StorageFaults {
  private last: { cause: string; at: number } | undefined;

  constructor(@Inject(Metrics) private readonly metrics: Metrics) {}

  /** a request answered 503 because the store could not be used (problemFor's `storage`) */
  refused(cause: string, now = Date.now()): void {
    this.last = { cause, at: now };
    this.metrics.storageFaults.inc({ cause });
  }

  /** a write answered with success: the store takes writes again */
  wrote(): void {
    this.last = undefined;
  }

  /** the fault the store is down for now, if any */
  current(now = Date.now()): { cause: string; at: number } | undefined {
    if (this.last && now - this.last.at > STORAGE_FAULT_WINDOW_MS) this.last = undefined;
    return this.last;
  }
}
