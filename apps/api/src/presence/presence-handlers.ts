import { Inject, Injectable, Logger } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import {
  type PresenceContext,
  type PresenceChanged,
  type PresenceCommand,
  type PresenceState,
  type ReportedStatus,
  SYSTEM_ACTOR,
  activeMember,
  decidePresence,
  presenceStream,
} from '@rollcall/domain';
import { type CommandContext, newCommandContext } from '../shared/command-path/command-context';
import { DomainException, StreamHandler } from '../shared/command-path/stream-handler';
import { IdempotencyKeyErasedError } from '../shared/command-path/idempotency';
import { StreamStates } from '../shared/command-path/stream-states';
import { type WorkspaceRef, presence } from '../shared/command-path/targets';
import { LEASE_STORE, type Lease, type LeaseStore } from './leases';

export interface PresenceOptions {
  timeoutSeconds: number;
  /** how often the sweeper looks for lapsed leases */
  sweepMs: number;
  /** how often an SSE stream sends a comment line */
  keepAliveMs: number;
}
export const PRESENCE_OPTIONS = Symbol('PresenceOptions');

/** Lapses are noticed within a quarter of the timeout (at least every 5 s, at most every 250 ms). */
export const sweepIntervalMs = (timeoutSeconds: number): number => Math.min(5000, Math.max(250, (timeoutSeconds * 1000) / 4));

const iso = (ms: number): string => new Date(ms).toISOString();

/** What a heartbeat answers: the status now, whether it changed, and when the lease lapses without another one. */
export interface HeartbeatAnswer {
  userId: string;
  status: ReportedStatus;
  previous: PresenceState['status'];
  changed: boolean;
  lastSeenAt: string;
  expiresAt: string;
  /** only when the heartbeat appended a transition */
  position?: string;
}

export class HeartbeatCommand {
  constructor(
    readonly ref: WorkspaceRef,
    readonly ctx: CommandContext,
    readonly status: ReportedStatus,
    /** the user chose to be online again after someone set them offline (docs/adr/0032) */
    readonly resume = false,
  ) {}
}

/**
 * Transitions nobody asked for: a lapsed lease (the sweeper) and an ended membership (the feed). Every replica may
 * decide the same one at the same time: the command's idempotency key names the lapse (or the event that ended the
 * membership), so their event ids are equal, and the append's expected revision lets one of them through; the others
 * find the user offline and decide nothing (docs/adr/0006).
 */
@Injectable()
export class PresenceReactions {
  private readonly logger = new Logger('Presence');

  constructor(
    @Inject(StreamHandler) private readonly streams: StreamHandler,
    @Inject(LEASE_STORE) private readonly leases: LeaseStore,
    @Inject(PRESENCE_OPTIONS) private readonly options: PresenceOptions,
  ) {}

  /** The lease lapsed: offline with the lease's last-seen time (reason timeout, or revoked/deleted). */
  async timeOut(lease: Lease, nowMs: number): Promise<PresenceChanged[]> {
    const ref = { organizationId: lease.organizationId, workspaceId: lease.workspaceId };
    // read again just before deciding: a heartbeat since the sweep read it (on any replica) renewed it
    const latest = Math.max(lease.lastSeenAt, (await this.leases.get(lease.workspaceId, lease.userId))?.lastSeenAt ?? 0);
    const events = await this.decideOrRefused(ref, `presence:timeout:${lease.workspaceId}:${lease.userId}:${lease.lastSeenAt}`, nowMs, {
      type: 'TimeOut',
      workspaceId: lease.workspaceId,
      userId: lease.userId,
      now: iso(nowMs),
      lastSeenAt: iso(latest),
      timeoutSeconds: this.options.timeoutSeconds,
    });
    await this.leases.release(lease.workspaceId, lease.userId, lease.lastSeenAt);
    return events;
  }

  /** Revoked or deleted: offline at once (reason revoked/deleted), decided once whichever replicas see it. */
  async memberLeft(left: { eventId: string; workspaceId: string; organizationId: string; userId: string; reason: 'revoked' | 'deleted' }, nowMs: number) {
    const lease = await this.leases.get(left.workspaceId, left.userId);
    const events = await this.decide(left, `presence:left:${left.eventId}`, nowMs, {
      type: 'MemberLeft',
      workspaceId: left.workspaceId,
      userId: left.userId,
      reason: left.reason,
      now: iso(nowMs),
      lastSeenAt: lease ? iso(lease.lastSeenAt) : null,
    });
    // (nothing decided: already offline, or a member again since, whose lease this is not to end)
    if (lease && events.length > 0) await this.leases.release(left.workspaceId, left.userId, lease.lastSeenAt);
    return events;
  }

  /** a lease of a workspace that does not exist (any more) is dropped, not swept forever */
  private async decideOrRefused(...args: Parameters<PresenceReactions['decide']>): Promise<PresenceChanged[]> {
    try {
      return await this.decide(...args);
    } catch (error) {
      if (error instanceof DomainException) return [];
      throw error;
    }
  }

  private async decide(ref: WorkspaceRef, key: string, nowMs: number, command: PresenceCommand & { userId: string }): Promise<PresenceChanged[]> {
    const ctx = newCommandContext({ actorId: SYSTEM_ACTOR, idempotencyKey: key, now: iso(nowMs) });
    try {
      const done = await this.streams.handle(presence(ref, command.userId), ctx, (c) => decidePresence(command, c));
      return done.replayed ? [] : (done.events as PresenceChanged[]);
    } catch (error) {
      // this reaction's key (derived from the event reacted to) was written by another replica, about a user deleted
      // since: a replay, no longer answered in full, and nothing to do (probe 51 F3: it logged an error telling the
      // operator to "use a new key" for each deletion two replicas saw)
      if (error instanceof IdempotencyKeyErasedError) return [];
      this.logger.error(`presence ${command.type} of ${command.userId} in ${ref.workspaceId}: ${(error as Error).message}`);
      throw error;
    }
  }
}

/**
 * Rule 13 (docs/rules.md#rule-13): the actor reports their own status. Cheap when nothing changes: the status and
 * the membership come from this process's cached states (kept fresh by the presence feed, which sees every
 * transition and ended membership in the log), and the lease is renewed in memory. Anything else is decided on
 * fresh state through the StreamHandler, with the lease saved first, so that an online user always has a lease
 * that can lapse.
 */
@CommandHandler(HeartbeatCommand)
export class HeartbeatHandler implements ICommandHandler<HeartbeatCommand> {
  constructor(
    @Inject(StreamHandler) private readonly streams: StreamHandler,
    @Inject(StreamStates) private readonly states: StreamStates,
    @Inject(LEASE_STORE) private readonly leases: LeaseStore,
    @Inject(PRESENCE_OPTIONS) private readonly options: PresenceOptions,
    @Inject(PresenceReactions) private readonly reactions: PresenceReactions,
  ) {}

  async execute({ ref, ctx, status, resume }: HeartbeatCommand): Promise<HeartbeatAnswer> {
    const userId = ctx.actorId;
    const now = Date.parse(ctx.now);
    const lease: Lease = { workspaceId: ref.workspaceId, organizationId: ref.organizationId, userId, lastSeenAt: now };
    const answer = { userId, status, lastSeenAt: ctx.now, expiresAt: iso(now + this.options.timeoutSeconds * 1000) };
    const live = await this.liveLease(ref, userId, now);
    const cached = this.states.peek<PresenceState>(presenceStream(ref.workspaceId, userId));
    // not while a command of the stream is under way in this process (a forced offline): decided in turn after it
    // instead, and refused when it held them offline; one touched before it decides is in its last seen (probe 88 F6:
    // answered online with a time the hold then lost)
    if (live && cached?.status === status && (await this.isActiveCached(ref, userId)) && !this.streams.busy(presenceStream(ref.workspaceId, userId))) {
      this.leases.touch(lease);
      return { ...answer, previous: status, changed: false };
    }
    await this.leases.persist(lease);
    const decide = (c: PresenceContext) => decidePresence({ type: 'Heartbeat', workspaceId: ref.workspaceId, actorId: userId, now: ctx.now, status, resume }, c);
    // decided on the member's membership and appended at the presence stream's revision: a revoke or deletion
    // committed meanwhile wrote MembershipEnded there and sends it back, to be refused (targets.ts `presence`)
    const done = await this.streams.handle(presence(ref, userId), ctx, decide).catch(async (error: unknown) => {
      // held offline (docs/adr/0032): they stay offline, so no lease of theirs may lapse into a second transition
      if (error instanceof DomainException && error.error.code === 'FORCED_OFFLINE') await this.leases.release(ref.workspaceId, userId, now);
      throw error;
    });
    const event = done.events[0] as PresenceChanged | undefined;
    if (!event) return { ...answer, previous: status, changed: false };
    return { ...answer, previous: event.data.previous, changed: true, position: done.position };
  }

  /**
   * Whether the user holds a lease that has not lapsed (false: the heartbeat is decided on fresh state, never answered
   * from the cached status). A heartbeat after a silence past the timeout comes after a lapse, whether or not the
   * sweeper has recorded it yet (it looks every quarter of the timeout): the lapse is recorded first, as the sweeper
   * would (offline at the last heartbeat, reason timeout, decided once whoever records it), and this heartbeat starts
   * a new interval (probe 47 F1: answered "no change", it kept the interval open, and the report counted the silence
   * as presence, by the sweeper's phase alone). No lease at all: a lapse recorded and released by a sweep this
   * process's cache may not show yet (probe 47 F2: the first heartbeat after a restart answered "online, no change"
   * beside the sweep's timeout). Cheap when this process heard the user within the timeout: no lease is read then.
   */
  private async liveLease(ref: WorkspaceRef, userId: string, now: number): Promise<boolean> {
    const lapsedBefore = now - this.options.timeoutSeconds * 1000;
    if (this.leases.heardSince(ref.workspaceId, userId, lapsedBefore)) return true;
    const last = await this.leases.get(ref.workspaceId, userId);
    if (last && last.lastSeenAt < lapsedBefore) await this.reactions.timeOut(last, now);
    return last !== undefined && last.lastSeenAt >= lapsedBefore;
  }

  private async isActiveCached(ref: WorkspaceRef, userId: string): Promise<boolean> {
    const org = await this.states.organizationCached(ref.organizationId);
    const ws = await this.states.workspaceCached(org, ref.workspaceId);
    return ws !== undefined && activeMember({ org, ws }, userId) !== undefined;
  }
}

export class SetOfflineCommand {
  constructor(readonly ref: WorkspaceRef, readonly ctx: CommandContext, readonly userId: string) {}
}

export interface SetOfflineAnswer {
  userId: string;
  status: 'offline';
  previous: PresenceState['status'];
  changed: boolean;
  lastSeenAt: string | null;
  position: string;
}

/**
 * Rule 13: someone with the authority to manage members sets a user offline (reason `forced`: held until the user
 * resumes, docs/adr/0032), or a member sets themself offline (reason `self`: a sign-out).
 */
@CommandHandler(SetOfflineCommand)
export class SetOfflineHandler implements ICommandHandler<SetOfflineCommand> {
  constructor(
    @Inject(StreamHandler) private readonly streams: StreamHandler,
    @Inject(LEASE_STORE) private readonly leases: LeaseStore,
  ) {}

  async execute({ ref, ctx, userId }: SetOfflineCommand): Promise<SetOfflineAnswer> {
    // about this user: a keyed retry after their deletion is 410, also when nothing changed (no events name them; probe 120 F1)
    ctx.aboutUsers = [userId];
    const lease = await this.leases.get(ref.workspaceId, userId);
    // the latest heartbeat heard when deciding: also one this process answered after the lease was read (probe 88 F6)
    let heard = lease?.lastSeenAt ?? Number.NEGATIVE_INFINITY;
    const decide = (c: PresenceContext) => {
      heard = Math.max(lease?.lastSeenAt ?? Number.NEGATIVE_INFINITY, this.leases.heardAt(ref.workspaceId, userId) ?? Number.NEGATIVE_INFINITY);
      return decidePresence({ type: 'SetOffline', workspaceId: ref.workspaceId, actorId: ctx.actorId, now: ctx.now, userId, lastSeenAt: Number.isFinite(heard) ? iso(heard) : null }, c);
    };
    // an org admin's authority rests on the organization's stream: checked too (targets.ts `workspace`)
    const done = await this.streams.handle(presence(ref, userId, { actorId: ctx.actorId, decide }, this.streams.states), ctx, decide, { checkLoaded: true });
    // offline needs no lease; a heartbeat after this one is a new lease (and a transition back online), kept: only
    // what the decision heard is released
    if (Number.isFinite(heard)) await this.leases.release(ref.workspaceId, userId, heard);
    const event = done.events[0] as PresenceChanged | undefined;
    return {
      userId,
      status: 'offline',
      previous: event?.data.previous ?? 'offline',
      changed: event !== undefined,
      lastSeenAt: event?.data.lastSeenAt ?? done.context.presence.lastSeenAt,
      position: done.position,
    };
  }
}
