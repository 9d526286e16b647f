import { domainError, validationFailed } from '../shared/errors';
import { addSeconds, isAtOrAfter } from '../shared/events';
import { type Decision, accept, reject } from '../shared/result';
import { authorizeMemberManagement, checkAssignment, isActor } from '../workspace/authority';
import { activeUser } from '../organization/state';
import { notAMember } from '../workspace/refusals';
import { activeMember, type WorkspaceContext } from '../workspace/state';
import { type PresenceChanged, type PresenceReason, type PresenceStatus, REPORTED_STATUSES, type ReportedStatus } from './events';

/** One user's presence in one workspace, folded from their presence stream. */
export interface PresenceState {
  status: PresenceStatus;
  /** the last heartbeat the stream knows of (a transition's); null: never seen */
  lastSeenAt: string | null;
  /** when the current status began; null: never changed */
  since: string | null;
  /**
   * offline because someone else set them offline (reason `forced`): their heartbeats are refused until one says
   * `resume` (docs/adr/0032). Absent: not held (states cached before session 51 had no such field)
   */
  heldOffline?: boolean;
}

export const initialPresenceState = (): PresenceState => ({ status: 'offline', lastSeenAt: null, since: null });

/** Whether a presence change holds the member offline: a forced one recorded as holding (`holds`, docs/adr/0032 "Session 59"). */
export const holdsOffline = (event: PresenceChanged): boolean => event.data.reason === 'forced' && event.data.holds === true;

export const evolvePresence = (_state: PresenceState, event: PresenceChanged): PresenceState => ({
  status: event.data.status,
  lastSeenAt: event.data.lastSeenAt,
  since: event.data.changedAt,
  ...(holdsOffline(event) && { heldOffline: true }),
});

/**
 * The end of a membership (MembershipEnded on the presence stream) lets go of a forced offline: someone invited
 * again is not held by what a manager did to their earlier membership.
 */
export const presenceAfterMembershipEnded = (state: PresenceState): PresenceState => {
  if (!state.heldOffline) return state;
  const { heldOffline: _held, ...rest } = state;
  return rest;
};

/** A presence command decides over the user's presence and the workspace (membership, authority). */
export interface PresenceContext extends WorkspaceContext {
  presence: PresenceState;
}

interface Base {
  workspaceId: string;
  /** ISO time of the command: the domain never reads a clock */
  now: string;
}

/** The actor reports their own status (rule 13): only an active member may. */
export interface Heartbeat extends Base {
  type: 'Heartbeat';
  actorId: string;
  status: ReportedStatus;
  /** the user chose to be online again after someone set them offline (docs/adr/0032) */
  resume?: boolean;
}

/**
 * Someone with the authority to manage members sets another user offline (rule 13: "an admin can set a user
 * offline"), or a member sets themself offline (a sign-out: no authority needed).
 */
export interface SetOffline extends Base {
  type: 'SetOffline';
  actorId: string;
  userId: string;
  /** the user's latest heartbeat known outside the stream (their lease), if any */
  lastSeenAt?: string | null;
}

/** The sweeper found the user's lease lapsed: no heartbeat since `lastSeenAt`. */
export interface TimeOut extends Base {
  type: 'TimeOut';
  userId: string;
  lastSeenAt: string;
  timeoutSeconds: number;
}

/** The user's membership ended (AccessRevoked, UserDeletedFromWorkspace seen in the log): they are offline. */
export interface MemberLeft extends Base {
  type: 'MemberLeft';
  userId: string;
  reason: 'revoked' | 'deleted';
  lastSeenAt?: string | null;
}

export type PresenceCommand = Heartbeat | SetOffline | TimeOut | MemberLeft;

/**
 * How far after a timeout's `now` a transition's last-seen time may lie and still count: further, it was recorded before
 * the wall clock stepped back (docs/rules.md#rule-13, "The clock"); nearer, it is a heartbeat that came in while the
 * sweeper decided, or a replica's clock a little ahead.
 */
export const FUTURE_LAST_SEEN_TOLERANCE_SECONDS = 5;

const latest = (a: string | null | undefined, b: string | null | undefined): string | null => {
  if (!a) return b ?? null;
  if (!b) return a;
  return Date.parse(a) >= Date.parse(b) ? a : b;
};

const changed = (
  command: Base & { userId: string },
  ctx: PresenceContext,
  status: PresenceStatus,
  reason: PresenceReason,
  lastSeenAt: string | null,
): PresenceChanged => ({
  type: 'PresenceChanged',
  version: 1,
  data: {
    workspaceId: command.workspaceId,
    organizationId: ctx.org.organizationId,
    userId: command.userId,
    status,
    previous: ctx.presence.status,
    reason,
    lastSeenAt,
    changedAt: command.now,
  },
});

/**
 * Held offline in `member`'s membership (docs/adr/0032): a forced offline dated at or after their latest join. One dated
 * before it is an earlier membership's — a set-offline decided on a state from before a revoke can land on the
 * presence stream after its MembershipEnded (sessions 51–52) — and holds nothing, for their heartbeats as for a
 * manager's next set-offline (probe 74 F3: that one appended nothing and was lost).
 */
const heldIn = (current: PresenceState, member: { joinedAt: string }): boolean =>
  current.status === 'offline' && current.heldOffline === true && (current.since === null || isAtOrAfter(current.since, member.joinedAt));

/** a heartbeat, or a sign-out, of someone who is no member here */
const notReportingHere = () => domainError('INSUFFICIENT_AUTHORITY', 'Only an active member of this workspace can report presence here.');

/**
 * Rule 13 (docs/rules.md#rule-13): only a change of status is an event. A heartbeat that repeats the current
 * status, a timeout of a lease that was renewed meanwhile, or setting an offline user offline decides nothing.
 */
export function decidePresence(command: PresenceCommand, ctx: PresenceContext): Decision<PresenceChanged> {
  const current = ctx.presence;
  switch (command.type) {
    case 'Heartbeat': {
      if (!REPORTED_STATUSES.includes(command.status))
        return reject(validationFailed([{ field: 'status', message: 'must be online or away' }]));
      const member = activeMember(ctx, command.actorId);
      if (!member) return reject(notReportingHere());
      if (current.status === command.status) return accept([]);
      // set offline by someone else: that holds until the user chooses to be online again, which the console says
      // with `resume` (docs/adr/0032; probe 65 F2: the next heartbeat of a console that could not know undid it) — in
      // that membership: a hold dated before the member's latest join is an earlier membership's (a set-offline that
      // crossed a revoke landed after its MembershipEnded: sessions 51–52 saw it hold the member invited again)
      if (heldIn(current, member) && command.resume !== true)
        return reject(
          domainError(
            'FORCED_OFFLINE',
            `A member manager set you offline in this workspace${current.since ? ` at ${current.since}` : ''}; you stay offline until you choose to be online again (a heartbeat with "resume": true).`,
          ),
        );
      return accept([changed({ ...command, userId: command.actorId }, ctx, command.status, 'heartbeat', command.now)]);
    }
    case 'SetOffline': {
      // one's own presence is one's own (rule 13: "anyone themself"): a sign-out needs no authority over members
      // (probe 65 F7: an agent was refused for lacking the member-management permission)
      if (command.userId === command.actorId) {
        // as their heartbeats are: no member here (a revoked one still online may still sign out)
        if (!activeMember(ctx, command.actorId) && current.status === 'offline')
          return reject(notReportingHere());
        if (current.status === 'offline') return accept([]);
        return accept([changed(command, ctx, 'offline', 'self', latest(current.lastSeenAt, command.lastSeenAt))]);
      }
      const actor = authorizeMemberManagement(ctx, command.actorId);
      if (!isActor(actor)) return reject(actor!);
      const target = activeMember(ctx, command.userId);
      // a revoked or deleted member is kept in the state but is no member any more; one still online (the feed has
      // not yet turned their departure into a transition) may be set offline
      if (!target && current.status === 'offline')
        return reject(notAMember(ctx, command.userId));
      // an act on that member: rule 2 applies as to a revoke (under levels a manager makes agents offline, never an
      // owner or another manager: probe 37 F2)
      const rank = target ? checkAssignment(ctx, actor, target.access, undefined) : undefined;
      if (rank) return reject(rank);
      // held already in this membership: nothing to add (a hold of an earlier one is none: held again, probe 74 F3)
      if (target ? heldIn(current, target) : current.status === 'offline' && current.heldOffline) return accept([]);
      // one whose membership ended (a revoke or a deletion decided just before this): offline for that reason, and not
      // held — no membership is left to hold, and their next one must not be (probe 68 F2: a set-offline sent with the
      // revoke was appended after its MembershipEnded, and the member invited again was refused FORCED_OFFLINE)
      if (!target) return accept([changed(command, ctx, 'offline', activeUser(ctx.org, command.userId) ? 'revoked' : 'deleted', latest(current.lastSeenAt, command.lastSeenAt))]);
      // a member already offline (signed out, timed out, never seen) is held all the same: the one change of this rule
      // that is not a change of status, offline → offline, so that the manager's act outlasts a console that only
      // lost its network for a minute (probe 66 F1); it opens and closes no interval of the report
      const forced = changed(command, ctx, 'offline', 'forced', latest(current.lastSeenAt, command.lastSeenAt));
      return accept([{ ...forced, data: { ...forced.data, holds: true } }]);
    }
    case 'TimeOut': {
      if (current.status === 'offline') return accept([]);
      // a transition's last-seen time after `now` was recorded before the wall clock stepped back: the lease (which the
      // sweeper took as renewed at the step) says when the user was heard, or they would stay online for the whole
      // step (probe 55 F3; docs/rules.md#rule-13)
      // (beyond a tolerance: a heartbeat that renewed the lease after the sweeper took its now is a little later than
      // it, and its transition must still count: probe 58 F4; the sweeper's own tolerance, FUTURE_LEASE_TOLERANCE_MS)
      const recorded = current.lastSeenAt !== null && isAtOrAfter(addSeconds(command.now, FUTURE_LAST_SEEN_TOLERANCE_SECONDS), current.lastSeenAt) ? current.lastSeenAt : null;
      const lastSeenAt = latest(recorded, command.lastSeenAt)!;
      // a heartbeat renewed the lease after the sweeper read it: not lapsed
      if (!isAtOrAfter(command.now, addSeconds(lastSeenAt, command.timeoutSeconds))) return accept([]);
      // a lapse is a timeout even when the membership ended meanwhile: nobody was heard from since lastSeenAt (the
      // reaction to AccessRevoked / UserDeletedFromWorkspace decides `revoked` / `deleted` as it happens)
      return accept([changed(command, ctx, 'offline', 'timeout', lastSeenAt)]);
    }
    case 'MemberLeft': {
      if (current.status === 'offline') return accept([]);
      // a member again (invited again and accepted since the revoke this reacts to, which a replica may see late): that
      // membership did not end (probe 66 F3: the reaction put a re-joined, online member offline, reason revoked)
      if (activeMember(ctx, command.userId)) return accept([]);
      return accept([changed(command, ctx, 'offline', command.reason, latest(current.lastSeenAt, command.lastSeenAt))]);
    }
  }
}
