import { Inject, Injectable } from '@nestjs/common';
import type { EventStore } from '@rollcall/event-store';
import { Metrics } from '../infrastructure/metrics';
import { EVENT_STORE } from '../shared/tokens';

/** how long a write refused for its disk keeps the event store down in /health when nothing was committed since */
export const STORAGE_FAULT_WINDOW_MS = 30_000;

interface Refusal {
  cause: string;
  /** when (the wall clock's time, for /health's sentence) */
  at: number;
  /** when, on a clock that never steps: the window is measured on it (probe 55: a wall clock stepped back stretched such windows) */
  elapsedAt: number;
  /** the log's head when it was refused (read right after): a commit past it, by any process, ends the fault */
  head?: bigint;
}

/**
 * The storage faults this process answered (503 EVENT_STORE_UNAVAILABLE), for /metrics and /health. Probe 41 F1: with
 * the disk full, every write was refused while /health said `eventStore: up` (the store answered its ping: reads work)
 * and no metric counted the refusals. Now a write refused for its disk (not a read's fault, not a lock another
 * process held: the ProblemFilter says which) reads the event store as down until the log takes a commit again (its
 * head moves past where it was, whoever wrote: probe 41b F1, where any 2xx request cleared it, one that wrote nothing
 * too), or for STORAGE_FAULT_WINDOW_MS after the last refusal when nothing is committed (a balancer that took the
 * replica out sends nothing: it is tried again then).
 */
@Injectable()
export class StorageFaults {
  private last: Refusal | undefined;

  constructor(
    @Inject(Metrics) private readonly metrics: Metrics,
    @Inject(EVENT_STORE) private readonly store: Pick<EventStore, 'headPosition'>,
  ) {}

  /** a request answered 503 because a store could not be used; `writeRefused`: a write, for the store's disk */
  refused(cause: string, { writeRefused }: { writeRefused: boolean }, elapsed = performance.now()): void {
    this.metrics.storageFaults.inc({ cause });
    if (!writeRefused) return;
    const refusal: Refusal = { cause, at: Date.now(), elapsedAt: elapsed };
    this.last = refusal;
    this.store.headPosition().then(
      (head) => (refusal.head = head),
      () => undefined,
    );
  }

  /** the refusal the event store is down for now, if any */
  async current(elapsed = performance.now()): Promise<Refusal | undefined> {
    const refusal = this.last;
    if (!refusal) return undefined;
    const over = elapsed - refusal.elapsedAt > STORAGE_FAULT_WINDOW_MS || (refusal.head !== undefined && (await this.store.headPosition().catch(() => refusal.head!)) > refusal.head);
    if (!over) return refusal;
    if (this.last === refusal) this.last = undefined;
    return undefined;
  }
}
