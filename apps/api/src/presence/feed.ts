import { Logger } from '@nestjs/common';
import { type PresenceChanged, fromStored } from '@rollcall/domain';
import type { EventStore, RecordedEvent, Subscription } from '@rollcall/event-store';
import type { StreamStates } from '../shared/stream-states';

/** One presence transition as subscribers receive it (docs/rules.md#presence-details). */
export interface PresenceMessage {
  /** the event's global position: the SSE `id` */
  position: bigint;
  workspaceId: string;
  /** the SSE message, formatted and encoded once for every subscriber of the workspace */
  frame: Buffer;
}

/** The transitions of one workspace delivered in one turn of the event loop, in log order, with their frames joined. */
export interface PresenceBatch {
  messages: PresenceMessage[];
  /** every message's frame, in order: one write per subscriber */
  frames: Buffer;
}

/** A membership that ended, seen in the log (AccessRevoked, UserDeletedFromWorkspace): the user goes offline. */
export interface MemberLeftSeen {
  eventId: string;
  workspaceId: string;
  organizationId: string;
  userId: string;
  reason: 'revoked' | 'deleted';
}

/** The event types the feed follows: transitions for subscribers, ended memberships for the offline reaction. */
const FOLLOWED = ['PresenceChanged', 'AccessRevoked', 'UserDeletedFromWorkspace'];

/** `id:` and `data:` of one transition; the data is the public shape `{userId, status, previous, reason, lastSeenAt, at}`. */
export const presenceFrame = (position: bigint, e: PresenceChanged): Buffer =>
  Buffer.from(`id: ${position}\ndata: ${JSON.stringify({
    userId: e.data.userId,
    status: e.data.status,
    previous: e.data.previous,
    reason: e.data.reason,
    lastSeenAt: e.data.lastSeenAt,
    at: e.data.changedAt,
  })}\n\n`);

/** A recorded PresenceChanged of that workspace as a message, or undefined. */
export function presenceMessage(recorded: RecordedEvent, workspaceId?: string): PresenceMessage | undefined {
  const event = fromStored(recorded);
  if (event?.type !== 'PresenceChanged' || (workspaceId !== undefined && event.data.workspaceId !== workspaceId)) return undefined;
  return { position: recorded.position, workspaceId: event.data.workspaceId, frame: presenceFrame(recorded.position, event) };
}

/**
 * One subscription per process to the event log (EventStore.subscribe), from the head at start: every presence
 * transition, decided by this replica or any other, is handed to the SSE subscribers of its workspace, and marks
 * this process's cached presence state stale (so a heartbeat's "nothing changes" is judged on what the log says).
 * Ended memberships are handed to `onLeft`.
 *
 * The embedded store wakes subscriptions only for appends of its own process: with `pollMs`, the head is polled
 * and the subscription restarted from the last position it delivered when another process appended (the same as
 * the projector does). KurrentDB subscriptions need no polling.
 */
export class PresenceFeed {
  private readonly logger = new Logger('PresenceFeed');
  private readonly listeners = new Map<string, Set<(batch: PresenceBatch) => void>>();
  /** transitions seen in this turn of the event loop, per workspace, until `flush` hands them to the subscribers */
  private pending = new Map<string, PresenceMessage[]>();
  private subscription: Subscription | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private poller: NodeJS.Timeout | undefined;
  private polledHead = -1n;
  /** the poll ended the subscription on purpose: subscribe again at once */
  private restart = false;
  /** position of the last followed event delivered (the head at start before any) */
  position = -1n;
  onLeft: (left: MemberLeftSeen) => void = () => undefined;

  constructor(
    private readonly store: EventStore,
    private readonly states: StreamStates,
    private readonly options: { pollMs?: number; retryMs?: number } = {},
  ) {}

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.position = await this.store.headPosition();
    this.polledHead = this.position;
    this.loop = this.run();
    if (this.options.pollMs !== undefined) {
      this.poller = setInterval(() => void this.poll(), this.options.pollMs);
      this.poller.unref();
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.poller) clearInterval(this.poller);
    await this.subscription?.unsubscribe();
    await this.loop;
  }

  /** Transitions of one workspace from now on; returns the unsubscribe function. */
  listen(workspaceId: string, listener: (batch: PresenceBatch) => void): () => void {
    const set = this.listeners.get(workspaceId) ?? this.listeners.set(workspaceId, new Set()).get(workspaceId)!;
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(workspaceId);
    };
  }

  get subscribers(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }

  private async run(): Promise<void> {
    while (this.running) {
      const subscription = this.store.subscribe({ fromPosition: this.position, filter: { eventTypes: FOLLOWED } });
      this.subscription = subscription;
      try {
        for await (const recorded of subscription) {
          if (recorded.position <= this.position) continue;
          this.position = recorded.position;
          this.deliver(recorded);
        }
        // ended by the poll: again at once; ended by itself (the store closing): not in a busy loop
        if (!this.restart && this.running) await new Promise((r) => setTimeout(r, this.options.retryMs ?? 1000));
        this.restart = false;
      } catch (error) {
        if (!this.running) return;
        this.logger.error(`presence feed: ${(error as Error).message}; subscribing again from position ${this.position}`);
        await new Promise((r) => setTimeout(r, this.options.retryMs ?? 1000));
      }
    }
  }

  private deliver(recorded: RecordedEvent): void {
    this.states.observed(recorded.stream, recorded.revision);
    const event = fromStored(recorded);
    if (event?.type === 'PresenceChanged') {
      const ws = event.data.workspaceId;
      if (!this.listeners.has(ws)) return;
      if (this.pending.size === 0) setImmediate(() => this.flush());
      const messages = this.pending.get(ws) ?? this.pending.set(ws, []).get(ws)!;
      messages.push({ position: recorded.position, workspaceId: ws, frame: presenceFrame(recorded.position, event) });
    } else if (event?.type === 'AccessRevoked' || event?.type === 'UserDeletedFromWorkspace') {
      const d = event.data;
      const reason = event.type === 'AccessRevoked' ? 'revoked' : 'deleted';
      this.onLeft({ eventId: recorded.id, workspaceId: d.workspaceId, organizationId: d.organizationId, userId: d.userId, reason });
    }
  }

  /**
   * Hands each workspace's transitions of this turn to its subscribers: a write to a socket costs a system call (tens
   * of microseconds on a busy machine), so transitions that arrive together cost one write per subscriber, not one
   * each. All at once, in log order: yielding between subscribers made a busy event loop deliver seconds late.
   */
  private flush(): void {
    const pending = this.pending;
    this.pending = new Map();
    for (const [ws, messages] of pending) {
      const listeners = this.listeners.get(ws);
      if (!listeners) continue;
      const batch = { messages, frames: messages.length === 1 ? messages[0]!.frame : Buffer.concat(messages.map((m) => m.frame)) };
      for (const listener of listeners)
        try {
          listener(batch);
        } catch (error) {
          this.logger.error(`presence subscriber failed: ${(error as Error).message}`);
        }
    }
  }

  /** another process appended: restart the subscription from the last delivered position (embedded store) */
  private async poll(): Promise<void> {
    try {
      const head = await this.store.headPosition();
      if (head <= this.polledHead) return;
      this.polledHead = head;
      if (head > this.position && this.subscription) {
        this.restart = true;
        await this.subscription.unsubscribe();
      }
    } catch {
      // the store is closing or unreachable: the subscription loop reports it
    }
  }
}
