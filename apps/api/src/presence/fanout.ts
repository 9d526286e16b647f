import { Logger } from '@nestjs/common';

/** One presence transition as subscribers receive it (docs/rules.md#presence-details). */
export interface PresenceMessage {
  /** the event's global position: the SSE `id` */
  position: bigint;
  workspaceId: string;
  /** the SSE message, formatted and encoded once for every subscriber of the workspace */
  frame: Buffer;
}

/** What one subscriber has not been written yet, in log order, with the frames joined: one write to its socket. */
export interface PresenceBatch {
  messages: PresenceMessage[];
  /** every message's frame, in order */
  frames: Buffer;
}

export type PresenceSink = (batch: PresenceBatch) => void;

interface Subscriber {
  sink: PresenceSink;
  /** published since this subscriber's last write, in order */
  pending: PresenceMessage[];
  queued: boolean;
  closed: boolean;
}

export interface FanoutOptions {
  /**
   * How long one slice of writes may hold the event loop: between slices, requests (heartbeats) are answered. A
   * write to a socket is a system call of tens of microseconds on a busy machine: 1,000 subscribers in one go held
   * the loop for 20-30 ms, and every heartbeat arriving meanwhile waited for them.
   */
  sliceMs?: number;
  /**
   * When the rest of a turn of the event loop took longer than `sliceMs` (requests queue up), the next slice may
   * take as long, up to this (5 ms by default): the fan-out keeps about half of a busy event loop instead of falling
   * behind by seconds.
   */
  maxSliceMs?: number;
  /** the clock slices are timed by (milliseconds; `performance.now` but in specs, whose machine's pace is not theirs) */
  now?: () => number;
}

/**
 * Hands each workspace's transitions to its subscribers in slices of the event loop. Every subscriber keeps the
 * messages published since its last write; the pump writes to the subscribers that have some, in the order they
 * fell behind, until `sliceMs` has passed (a sink writes to its socket at once, so the clock sees the system calls),
 * and yields to the event loop (setImmediate) between slices; when the rest of the event loop's turn took longer,
 * the next slice may take as long (up to `maxSliceMs`): about half of a busy loop, so delivery keeps up. Whatever arrives while a subscriber waits for its turn
 * goes out in the same write: under a burst of transitions, writes per subscriber are bounded by how fast the
 * pump goes round, not by the number of transitions. Order per subscriber is the publishing order (log order).
 */
export class PresenceFanout {
  private readonly logger = new Logger('PresenceFanout');
  private readonly workspaces = new Map<string, Set<Subscriber>>();
  /** subscribers with pending messages, first behind first; `head` is the next to write */
  private queue: Subscriber[] = [];
  private head = 0;
  private scheduled = false;
  private readonly sliceMs: number;
  private readonly maxSliceMs: number;
  private readonly now: () => number;
  /** when the last slice of the pass under way ended (undefined between passes) */
  private lastSliceEnd: number | undefined;
  /** slices run, writes made and messages they carried (a spec shows transitions sharing writes) */
  readonly stats = { slices: 0, writes: 0, messages: 0 };

  constructor(options: FanoutOptions = {}) {
    this.sliceMs = options.sliceMs ?? 1;
    // 5 ms, not 10: `bench:presence` alternated (session 55, load ~1.3–2.7): heartbeat p99 at 500/s 14.4 and 12.0 ms
    // against 23.1 and 21.0, delivery p99 62 and 46 ms against 82 and 67 — a heartbeat waits behind a shorter slice,
    // and the pump still keeps up
    this.maxSliceMs = Math.max(this.sliceMs, options.maxSliceMs ?? 5);
    this.now = options.now ?? (() => performance.now());
  }

  /** Messages of one workspace published from now on; returns the unsubscribe function. */
  listen(workspaceId: string, sink: PresenceSink): () => void {
    const subscriber: Subscriber = { sink, pending: [], queued: false, closed: false };
    const set = this.workspaces.get(workspaceId) ?? this.workspaces.set(workspaceId, new Set()).get(workspaceId)!;
    set.add(subscriber);
    return () => {
      subscriber.closed = true;
      subscriber.pending = [];
      set.delete(subscriber);
      if (set.size === 0 && this.workspaces.get(workspaceId) === set) this.workspaces.delete(workspaceId);
    };
  }

  has(workspaceId: string): boolean {
    return this.workspaces.has(workspaceId);
  }

  get subscribers(): number {
    let n = 0;
    for (const set of this.workspaces.values()) n += set.size;
    return n;
  }

  /** Queues the message for every subscriber of its workspace; the writes happen in later turns of the event loop. */
  publish(message: PresenceMessage): void {
    const set = this.workspaces.get(message.workspaceId);
    if (!set) return;
    for (const subscriber of set) {
      subscriber.pending.push(message);
      if (!subscriber.queued) {
        subscriber.queued = true;
        this.queue.push(subscriber);
      }
    }
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.pump());
    }
  }

  private pump(): void {
    const started = this.now();
    // what the event loop did since the previous slice: as long again for this one, within sliceMs..maxSliceMs
    const others = this.lastSliceEnd === undefined ? 0 : started - this.lastSliceEnd;
    const deadline = started + Math.min(this.maxSliceMs, Math.max(this.sliceMs, others));
    let writes = 0;
    // subscribers of one workspace that fell behind at the same message hold the same messages: one join for all
    let joined: PresenceBatch | undefined;
    while (this.head < this.queue.length) {
      const subscriber = this.queue[this.head++]!;
      subscriber.queued = false;
      const messages = subscriber.pending;
      if (subscriber.closed || messages.length === 0) continue;
      subscriber.pending = [];
      if (joined?.messages[0] !== messages[0] || joined.messages.length !== messages.length)
        joined = { messages, frames: messages.length === 1 ? messages[0]!.frame : Buffer.concat(messages.map((m) => m.frame)) };
      writes++;
      this.stats.messages += messages.length;
      try {
        subscriber.sink(joined);
      } catch (error) {
        this.logger.error(`presence subscriber failed: ${(error as Error).message}`);
      }
      // a sink writes to its socket before it returns (sse.ts): the clock includes the system call
      if (this.now() >= deadline) break;
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 4096) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.stats.slices++;
    this.stats.writes += writes;
    if (this.head < this.queue.length) {
      this.lastSliceEnd = this.now();
      setImmediate(() => this.pump());
    } else {
      this.lastSliceEnd = undefined;
      this.scheduled = false;
    }
  }
}
