import type { Event } from '../shared/events';

/** A user's presence in one workspace (docs/rules.md#rule-13). */
export type PresenceStatus = 'online' | 'away' | 'offline';
/** What a heartbeat may report: `offline` is never reported, it is what silence (or an admin) makes of a user. */
export type ReportedStatus = 'online' | 'away';
export const REPORTED_STATUSES: readonly ReportedStatus[] = ['online', 'away'];

/**
 * Why the status changed: the user's own heartbeat, no heartbeat within the timeout, someone else (a member
 * manager) setting them offline (`forced`: it holds until the user resumes, docs/adr/0032), the user setting
 * themself offline (`self`: a sign-out; since session 51, before it such a change was `forced` too), or their
 * membership ending (revoked, or the user deleted: docs/rules.md#rule-11, #rule-12).
 */
export type PresenceReason = 'heartbeat' | 'timeout' | 'forced' | 'self' | 'revoked' | 'deleted';

/**
 * A presence event (docs/rules.md#presence-details): a change of status, on the user's own presence stream
 * `presence-{workspaceId}-{userId}`. Heartbeats that change nothing are not events.
 *
 * - `lastSeenAt`: the user's last heartbeat as known when the change was decided (for a timeout, the lapsed
 *   lease's time, not the time the lapse was noticed).
 * - `changedAt`: when the change was decided.
 * No personal data: the user is named by their pseudonymous id only, so reporting keeps it after a deletion
 * (docs/rules.md#rule-12).
 */
export type PresenceChanged = Event<
  'PresenceChanged',
  {
    workspaceId: string;
    organizationId: string;
    userId: string;
    status: PresenceStatus;
    previous: PresenceStatus;
    reason: PresenceReason;
    lastSeenAt: string | null;
    changedAt: string;
    /**
     * a forced offline that holds (docs/adr/0032), recorded as such since session 59; a `forced` transition recorded
     * without it holds nothing: versions before 2026-12-06 recorded a manager's set-offline as `forced` too, with no
     * hold, and a console of theirs knows no `resume` (probe 93 F4: such members were held after an upgrade)
     */
    holds?: true;
  }
>;

/**
 * A member's membership in the workspace ended (revoked, or the user deleted): written on their presence stream in
 * the same atomic append as the AccessRevoked or UserDeletedFromWorkspace that ended it, when they were an active
 * member. It changes no presence state (the feed's reaction to the revoke makes them offline, a PresenceChanged); it
 * moves the stream's revision, so that a status change decided on their membership before the end, which appends to
 * this stream at the revision it loaded, is sent back, decided again and refused (docs/rules.md#presence-details,
 * docs/adr/0006, "Session 31"). It never meets writes to the workspace that do not end this membership. No personal
 * data (pseudonymous ids only).
 */
export type MembershipEnded = Event<
  'MembershipEnded',
  { workspaceId: string; organizationId: string; userId: string; reason: 'revoked' | 'deleted'; endedAt: string }
>;

export type PresenceEvent = PresenceChanged | MembershipEnded;

/** One stream per user and workspace: presence never contends with membership changes (docs/adr/0006). */
export const presenceStream = (workspaceId: string, userId: string): string => `presence-${workspaceId}-${userId}`;
/** The prefix of every presence stream of a workspace (stream ids may share prefixes: check `data.workspaceId` too). */
export const presenceStreamPrefix = (workspaceId: string): string => `presence-${workspaceId}-`;
