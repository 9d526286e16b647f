import { Logger } from '@nestjs/common';
import { type PresenceChanged, fromStored } from '@rollcall/domain';
import type { EventStore, RecordedEvent, Subscription } from '@rollcall/event-store';
import { erasedSubjectsOf } from '../shared/erasure/address-erasure';
import type { StreamStates } from '../shared/command-path/stream-states';
import { type FanoutOptions, PresenceFanout, type PresenceMessage, type PresenceSink } from './fanout';

export type { PresenceBatch, PresenceMessage } from './fanout';

/** A membership that ended, seen in the log (AccessRevoked, UserDeletedFromWorkspace): the user goes offline. */
export interface MemberLeftSeen {
  eventId: string;
  workspaceId: string;
  organizationId: string;
  userId: string;
  reason: 'revoked' | 'deleted';
}

/** Where the authority to read a workspace may have changed: a member's access in it, or a user of its organization. */
export type AuthorityChangeSeen =
  /** a member's access in the workspace changed or ended */
  | { workspaceId: string }
  /** a user of the organization was deleted (org admins included): every workspace of it */
  | { organizationId: string };

/** access changes that can take the user list's permission away (an open stream is checked again: presence-streams.ts) */
const ACCESS_CHANGES = ['AccessLevelChanged', 'RestrictionsChanged', 'GrantsChanged'];

/**
 * The event types the feed follows: transitions for subscribers, ended memberships for the offline reaction, user
 * deletions for the erasure of their addresses from this process's memory (shared/erasure/address-erasure.ts), every
 * change of access, after which the open streams of the workspace check their reader's authority again, and the
 * MembershipEnded markers, only so that the states know their presence stream moved (`observed`).
 */
// (AddressErased: only for the subjects it erased, handed on below)
export const FOLLOWED: readonly string[] = ['PresenceChanged', 'MembershipEnded', 'AccessRevoked', 'UserDeletedFromWorkspace', 'UserDeleted', 'AddressErased', 'OrgAdminChanged', 'ApiKeyRevoked', ...ACCESS_CHANGES];

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
 * One subscription per process to the event log (EventStore.subscribe), from the head when the feed is built
 * (`from`): every presence transition, decided by this replica or any other, goes to the SSE subscribers of its workspace, and marks
 * this process's cached presence state stale (so a heartbeat's "nothing changes" is judged on what the log says).
 * Ended memberships are handed to `onLeft`, the subjects a user deletion erased to `onErased`.
 *
 * Being the process's one follower of the log, it also carries what other replicas decided that this process must act
 * on at once, beyond presence (probe 38b F14: a reader looking for those would not look here): erasures (`onErased`,
 * rule 12: shared/erasure/address-erasure.ts, shared/snapshots/snapshots.ts), org-admin and access changes that end streams
 * (`onAuthorityChanged`, rules 1 and 5: presence-streams.ts), and API-key revocations (`onApiKeyRevoked`, which
 * organizations/api-keys.ts wires to the authenticator).
 *
 * The embedded store wakes subscriptions only for appends of its own process: with `pollMs`, the head is polled
 * and the subscription restarted from the last position it delivered when another process appended (the same as
 * the projector does). KurrentDB subscriptions need no polling.
 */
export class PresenceFeed {
  private readonly logger = new Logger('PresenceFeed');
  /** the SSE subscribers, by workspace: writes in slices of the event loop (fanout.ts) */
  private readonly fanout: PresenceFanout;
  private subscription: Subscription | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private poller: NodeJS.Timeout | undefined;
  private polledHead = -1n;
  /** the poll ended the subscription on purpose: subscribe again at once */
  private restart = false;
  /** position of the last followed event delivered (where it follows from, before any) */
  position = -1n;
  /** the subjects the last deletion heard erased (its events name them all: handed on once) */
  private lastErased = '';
  private started = false;
  /** a head the poll found no followed event up to (past `position`): a key forgotten at it was heard of too */
  private scannedThrough = -1n;
  onLeft: (left: MemberLeftSeen) => void = () => undefined;
  onErased: (subjectIds: string[]) => unknown = () => undefined;
  /** erasures handed on and still running (their promise), with the position delivered before their first event */
  private readonly erasing = new Map<Promise<unknown>, bigint>();
  onAuthorityChanged: (change: AuthorityChangeSeen) => void = () => undefined;
  /** an organization's API key was revoked, by this process or another (organizations/api-keys.ts ApiKeyRevocations) */
  onApiKeyRevoked: (organizationId: string, keyId: string) => void = () => undefined;

  constructor(
    private readonly store: EventStore,
    private readonly states: StreamStates,
    /**
     * `from`: where to follow the log from (default: its head at start). The app gives the head read before any command
     * could load a state: a deletion between a state's load and start() is then handed on too (review, session 18).
     */
    private readonly options: { pollMs?: number; retryMs?: number; fanout?: FanoutOptions; from?: bigint } = {},
  ) {
    this.fanout = new PresenceFanout(options.fanout);
    if (options.from !== undefined) this.position = options.from;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    // the first start from `from` (or the head); a later one goes on from where the feed stopped: nothing twice, and
    // no deletion in between missed (review, session 18)
    if (!this.started) this.position = this.options.from ?? (await this.store.headPosition());
    this.started = true;
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
  listen(workspaceId: string, sink: PresenceSink): () => void {
    return this.fanout.listen(workspaceId, sink);
  }

  get subscribers(): number {
    return this.fanout.subscribers;
  }

  /** slices, writes and messages of the fan-out so far */
  get fanoutStats(): Readonly<PresenceFanout['stats']> {
    return this.fanout.stats;
  }

  private async run(): Promise<void> {
    while (this.running) {
      const subscription = this.store.subscribe({ fromPosition: this.position, filter: { eventTypes: [...FOLLOWED] } });
      this.subscription = subscription;
      try {
        for await (const recorded of subscription) {
          if (recorded.position <= this.position) continue;
          const before = this.position;
          this.position = recorded.position;
          this.deliver(recorded, before);
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

  /**
   * The position through which every deletion was heard *and handled*: `position`, held back before the first event of
   * a deletion whose erasure (onErased's promise: the states holding its addresses dropped) is still running.
   */
  get heardThrough(): bigint {
    let heard = this.scannedThrough > this.position ? this.scannedThrough : this.position;
    for (const before of this.erasing.values()) if (before < heard) heard = before;
    return heard;
  }

  private deliver(recorded: RecordedEvent, before: bigint): void {
    this.states.observed(recorded.stream, recorded.revision);
    // The first event of a deletion's append that this feed follows names the subjects it erased (erasureMetadata), and
    // hands them on here, so that `position` past a deletion's first event means it was heard (the snapshot writer's
    // check: ADR 0003, "Erasure and sealing race", point 7). Its UserDeleted (AddressErased) names them too: handed on once.
    const erased = erasedSubjectsOf(recorded.metadata);
    if (erased.length > 0) {
      const named = erased.join(' ');
      if (named !== this.lastErased) {
        const erasing = Promise.resolve(this.onErased(erased)).catch(() => undefined);
        this.erasing.set(erasing, before);
        void erasing.finally(() => this.erasing.delete(erasing));
      }
      this.lastErased = named;
    }
    const event = fromStored(recorded);
    if (event?.type === 'PresenceChanged') {
      const ws = event.data.workspaceId;
      if (this.fanout.has(ws)) this.fanout.publish({ position: recorded.position, workspaceId: ws, frame: presenceFrame(recorded.position, event) });
    } else if (event?.type === 'AccessRevoked' || event?.type === 'UserDeletedFromWorkspace') {
      const d = event.data;
      const reason = event.type === 'AccessRevoked' ? 'revoked' : 'deleted';
      this.onLeft({ eventId: recorded.id, workspaceId: d.workspaceId, organizationId: d.organizationId, userId: d.userId, reason });
      this.onAuthorityChanged({ workspaceId: d.workspaceId });
    } else if (event?.type === 'UserDeleted' || event?.type === 'OrgAdminChanged') {
      // an org admin reads every workspace's stream, a member there or not: no longer one, each checks again (review, session 26)
      this.onAuthorityChanged({ organizationId: event.data.organizationId });
    } else if (event?.type === 'ApiKeyRevoked') {
      this.onApiKeyRevoked(event.data.organizationId, event.data.keyId);
      // the streams opened with it, or with its tickets, end (probe 83 F2): every stream of the organization checks its key
      this.onAuthorityChanged({ organizationId: event.data.organizationId });
    } else if (event && ACCESS_CHANGES.includes(event.type)) {
      this.onAuthorityChanged({ workspaceId: (event.data as { workspaceId: string }).workspaceId });
    }
  }

  /** another process appended: restart the subscription from the last delivered position (embedded store) */
  private async poll(): Promise<void> {
    try {
      const head = await this.store.headPosition();
      if (head <= this.polledHead) return;
      this.polledHead = head;
      // only events this feed does not follow since its position: it has heard of everything up to the head (a key
      // forgotten on its own, at the head, by another process's pass at start: its tombstone is there; review, session 18)
      const from = this.position;
      let followed = false;
      for await (const _ of this.store.readAll({ fromPosition: from, filter: { eventTypes: [...FOLLOWED] }, maxCount: 1 })) followed = true;
      if (!followed && head > this.scannedThrough) this.scannedThrough = head;
      // a followed event waits: the subscription (woken only by this process's commits) reads again from its position
      if (followed && this.subscription) {
        this.restart = true;
        await this.subscription.unsubscribe();
      }
    } catch {
      // the store is closing or unreachable: the subscription loop reports it
    }
  }
}
