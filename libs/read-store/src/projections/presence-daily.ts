import type { DomainEvent } from '@rollcall/domain';
import { DAY_MS } from '../port';
import { type Doc, type Projection, type ProjectionReader, type ProjectionWrite, remove, upsert } from './projection';

/**
 * `presence_daily` (docs/rules.md#read-models): how long each user was online and away, per workspace and UTC day
 * (docs/rules.md#rule-13). Fed by PresenceChanged only, which names users by their pseudonymous id: a deleted user's
 * statistics stay (docs/rules.md#rule-12); the report joins the profile, which is erased.
 *
 * - `presence_daily/${workspaceId}:${day}:${userId}`: milliseconds `onlineMs` and `awayMs` of closed intervals on
 *   that day; an interval that spans midnight is split at it.
 * - `presence_open/${workspaceId}:${userId}`: the interval still open (status `online` or `away` since `since`);
 *   the report counts it up to the time it is read.
 *
 * An interval ends with the transition that ends it, as the status showed it; but a timeout ends it at the user's
 * last heartbeat: nobody was heard from after it, however late the silence was noticed.
 */
export const PRESENCE_DAILY = 'presence_daily';
export const PRESENCE_OPEN = 'presence_open';

export interface PresenceDayDoc extends Doc {
  workspaceId: string;
  organizationId: string;
  userId: string;
  /** YYYY-MM-DD, UTC */
  day: string;
  onlineMs: number;
  awayMs: number;
}

export interface PresenceOpenDoc extends Doc {
  workspaceId: string;
  organizationId: string;
  userId: string;
  status: 'online' | 'away';
  since: string;
}


export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
export const presenceDayId = (workspaceId: string, day: string, userId: string): string => `${workspaceId}:${day}:${userId}`;
export const presenceOpenId = (workspaceId: string, userId: string): string => `${workspaceId}:${userId}`;

/** the names of the days seen lately, by number since the epoch (a rebuild names ~400,000 days: a Date each) */
const dayNames = new Map<number, string>();
const dayName = (dayNumber: number): string => {
  let name = dayNames.get(dayNumber);
  if (name === undefined) {
    if (dayNames.size >= 4096) dayNames.clear();
    dayNames.set(dayNumber, (name = utcDay(dayNumber * DAY_MS)));
  }
  return name;
};

/** [start, end) cut at each UTC midnight: the milliseconds of each day it touches */
export function splitByUtcDay(startMs: number, endMs: number): { day: string; ms: number }[] {
  const parts: { day: string; ms: number }[] = [];
  for (let from = startMs; from < endMs; ) {
    const dayNumber = Math.floor(from / DAY_MS);
    const to = Math.min(endMs, (dayNumber + 1) * DAY_MS);
    parts.push({ day: dayName(dayNumber), ms: to - from });
    from = to;
  }
  return parts;
}

async function applyPresence(event: DomainEvent, read: ProjectionReader): Promise<ProjectionWrite[]> {
  if (event.type !== 'PresenceChanged') return [];
  const d = event.data;
  const openId = presenceOpenId(d.workspaceId, d.userId);
  const open = await read.get<PresenceOpenDoc>(PRESENCE_OPEN, openId);
  const writes: ProjectionWrite[] = [];
  if (open) {
    const since = Date.parse(open.since);
    // an interval ending in offline ends at the user's last heartbeat, however it ends (a timeout, an admin, a revoke, a
    // deletion): the silence before it is not presence (probe 38 F10: all but a timeout counted it, up to the timeout)
    const end = d.status === 'offline' && d.lastSeenAt ? Math.max(since, Math.min(Date.parse(d.changedAt), Date.parse(d.lastSeenAt))) : Date.parse(d.changedAt);
    const field = open.status === 'online' ? 'onlineMs' : 'awayMs';
    for (const { day, ms } of splitByUtcDay(since, end)) {
      const id = presenceDayId(d.workspaceId, day, d.userId);
      const doc = (await read.get<PresenceDayDoc>(PRESENCE_DAILY, id)) ?? {
        _id: id,
        workspaceId: d.workspaceId,
        organizationId: d.organizationId,
        userId: d.userId,
        day,
        onlineMs: 0,
        awayMs: 0,
      };
      writes.push(upsert(PRESENCE_DAILY, { ...doc, [field]: doc[field] + ms }));
    }
  }
  if (d.status === 'offline') {
    if (open) writes.push(remove(PRESENCE_OPEN, openId));
  } else {
    const next: PresenceOpenDoc = { _id: openId, workspaceId: d.workspaceId, organizationId: d.organizationId, userId: d.userId, status: d.status, since: d.changedAt };
    writes.push(upsert(PRESENCE_OPEN, next));
  }
  return writes;
}

export const presenceDailyProjection: Projection = {
  name: PRESENCE_DAILY,
  // 2: every interval ending in offline ends at the last heartbeat (was: timeouts only); replayed at the upgrade (ADR 0015)
  version: 2,
  collections: {
    // a report reads one workspace's days in a range (equality on both: the days are listed)
    [PRESENCE_DAILY]: { indexes: [], compound: [['workspaceId', 'day']] },
    [PRESENCE_OPEN]: { indexes: ['workspaceId'] },
  },
  eventTypes: ['PresenceChanged'],
  apply: (e, read) => applyPresence(e.event, read),
};
