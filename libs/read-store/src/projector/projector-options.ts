import type { EventStore } from '@rollcall/event-store';
import type { ReadStore } from '../port';
import type { Projection } from '../projections/projection';

/** The projector's options and the status it reports (kept apart from its runtime, projector.ts). */
export interface ProjectorLogger {
  info(message: string): void;
  error(message: string): void;
}

export interface ProjectorOptions {
  eventStore: EventStore;
  readStore: ReadStore;
  projections: readonly Projection[];
  /** commit after this many events (default 1000), or as soon as the log has nothing more to give */
  batchSize?: number;
  /**
   * While idle, look at the log's head this often and re-subscribe when it moved (default: never). For an event
   * store whose subscriptions only hear appends made in-process: the embedded SQLite store read by a separate
   * projector process.
   */
  pollIntervalMs?: number;
  /**
   * While the log is busy (the previous batch had `lingerAbove`+ events, default 100), commit at most once per
   * `lingerMs` (default 0: whenever the subscription pauses); a waiting reader (`waitFor`, `hurry`) ends the wait.
   * Larger batches cost less CPU and fewer bytes per event (commit-linger.ts).
   */
  lingerMs?: number;
  lingerAbove?: number;
  /**
   * Rule 12 at rest: at most one rewrite of the read store for deletions per this many ms (default 0: after each
   * deletion's commit). ErasurePurgeOptions.minIntervalMs; the API's ROLLCALL_ERASURE_REWRITE_SECONDS.
   */
  erasureRewriteMinIntervalMs?: number;
  /** documents kept in memory between batches (default 50,000; 0: none) */
  cacheSize?: number;
  /** wait before re-subscribing after the event or read store failed (default 1000 ms) */
  retryDelayMs?: number;
  /** consecutive failed commits after which a projection is reported `degraded` (default 3) */
  degradedAfter?: number;
  logger?: ProjectorLogger;
  /** false: the caller already ran `readStore.init` for these collections (rebuild) */
  initStore?: boolean;
  /** true: the projections' collections were just reset (rebuild): every write lands, the cache can trust them */
  freshStore?: boolean;
}

export interface ProjectionStatus {
  name: string;
  /** global position of the last event committed (undefined: nothing yet) */
  checkpoint: bigint | undefined;
  /** how far the checkpoint is behind the head of the log, in positions (events, in the embedded store) */
  lag: bigint;
  /** events handled (applied or skipped) since start */
  processed: number;
  /** failed: stopped on an event it threw on; degraded: running, but `degradedAfter`+ commits failed in a row */
  state: 'running' | 'degraded' | 'failed' | 'stopped';
  /** why the projection stopped: `${eventId} at ${position}: ${message}` */
  error?: string;
  /** it stopped before an event a later version of Rollcall wrote (docs/adr/0020 point 4): an upgraded process must project it */
  laterVersion?: true;
  /** consecutive failed commits (present when the last commit failed) */
  commitFailures?: number;
  /** the last failed commit's error (present with commitFailures) */
  commitError?: string;
  /** the purge a deletion left undone runs before any event is projected (ErasurePurge.atStart: a VACUUM) */
  purging?: true;
}
