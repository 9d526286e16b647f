import { DAY_MS, InvalidQueryError, type ReadStore } from '../port';
import { ORG_USERS, type OrgUserDoc, orgUserId } from '../projections/org-users';
import { PRESENCE_DAILY, PRESENCE_OPEN, type PresenceDayDoc, type PresenceOpenDoc, splitByUtcDay } from '../projections/presence-daily';
import { csvStream, safeCell } from './csv';

/** One user's day in the presence report (docs/rules.md#rule-13). */
export interface PresenceReportRow {
  /** YYYY-MM-DD, UTC */
  date: string;
  userId: string;
  /** null once the user is deleted (docs/rules.md#rule-12): their statistics stay under their pseudonymous id */
  email: string | null;
  displayName: string | null;
  deleted: boolean;
  onlineSeconds: number;
  awaySeconds: number;
}

export interface PresenceReport {
  from: string;
  to: string;
  items: PresenceReportRow[];
}

/** the longest range one report covers */
export const MAX_REPORT_DAYS = 366;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** a calendar date (YYYY-MM-DD) as the epoch ms of its UTC midnight; InvalidQueryError otherwise (a 400) */
function dayStart(value: string, name: string): number {
  const m = DATE.exec(value);
  // setUTCFullYear, not Date.UTC: Date.UTC reads the years 0-99 as 1900-1999
  const ms = m ? new Date(0).setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN;
  if (!m || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== value)
    throw new InvalidQueryError(`${name} must be a calendar date YYYY-MM-DD, got ${JSON.stringify(value)}`, name);
  return ms;
}

/**
 * Seconds online and away per user per UTC day of the workspace, from `from` to `to` inclusive: the closed intervals
 * of `presence_daily`, plus the intervals still open counted up to `nowMs` less the presence timeout (`timeoutMs`).
 * Rows only for days with presence. Deleted users stay, under their pseudonymous id, with `email` and `displayName`
 * null (docs/rules.md#rule-12).
 *
 * Why not up to now: an open interval's user was heard from within the timeout, not necessarily since, and a timeout
 * closes the interval at the last heartbeat; counted up to the read, a figure already reported went down when it came
 * (session 22's probe: 12 s away, then nothing). Counted up to now less the timeout, and no further than the user's
 * last heartbeat (`lastHeard`: the sweeper records a lapse a moment after it), it stays at or below what the interval
 * is closed at.
 */
export async function presenceReport(
  store: ReadStore,
  workspaceId: string,
  range: {
    from: string;
    to: string;
    nowMs: number;
    timeoutMs: number;
    /** each of these users' last heartbeat (epoch ms) where known: an open interval is counted no further */
    lastHeard?: (userIds: string[]) => Promise<Map<string, number>>;
  },
): Promise<PresenceReport> {
  const start = dayStart(range.from, 'from');
  const end = dayStart(range.to, 'to') + DAY_MS;
  if (end <= start) throw new InvalidQueryError('from must not be after to', 'from');
  if ((end - start) / DAY_MS > MAX_REPORT_DAYS) throw new InvalidQueryError(`a report covers at most ${MAX_REPORT_DAYS} days`, 'to');
  const days: string[] = [];
  for (let t = start; t < end; t += DAY_MS) days.push(new Date(t).toISOString().slice(0, 10));

  const totals = new Map<string, { date: string; organizationId: string; userId: string; onlineMs: number; awayMs: number }>();
  const add = (date: string, organizationId: string, userId: string, field: 'onlineMs' | 'awayMs', ms: number) => {
    const key = `${date}\n${userId}`;
    const row = totals.get(key) ?? totals.set(key, { date, organizationId, userId, onlineMs: 0, awayMs: 0 }).get(key)!;
    row[field] += ms;
  };
  // one snapshot: the commit that closes an interval moves it from presence_open to presence_daily (read apart, the
  // two could fall on either side of it and the interval be in neither)
  const [closed, stillOpen] = (await store.readTogether([
    { collection: PRESENCE_DAILY, query: { where: { workspaceId, day: days }, sort: { field: 'day', direction: 'asc' } } },
    { collection: PRESENCE_OPEN, query: { where: { workspaceId } } },
  ])) as [PresenceDayDoc[], PresenceOpenDoc[]];
  for (const d of closed) {
    if (d.onlineMs > 0) add(d.day, d.organizationId, d.userId, 'onlineMs', d.onlineMs);
    if (d.awayMs > 0) add(d.day, d.organizationId, d.userId, 'awayMs', d.awayMs);
  }
  // a user whose lease lapsed and whose timeout is not recorded yet (the sweeper's lag) was last heard before now less
  // the timeout: counted to then, not further, where the timeout will close the interval (probe 29: a figure went
  // down by a second when it did)
  const heard = stillOpen.length > 0 && range.lastHeard ? await range.lastHeard(stillOpen.map((o) => o.userId)) : new Map<string, number>();
  for (const open of stillOpen) {
    const from = Math.max(start, Date.parse(open.since));
    const to = Math.min(end, range.nowMs - range.timeoutMs, heard.get(open.userId) ?? Number.POSITIVE_INFINITY);
    for (const { day, ms } of splitByUtcDay(from, to)) add(day, open.organizationId, open.userId, open.status === 'online' ? 'onlineMs' : 'awayMs', ms);
  }

  const rows = [...totals.values()];
  const profiles = await store.getMany<OrgUserDoc>(ORG_USERS, [...new Set(rows.map((r) => orgUserId(r.organizationId, r.userId)))]);
  const items = rows
    .map((r): PresenceReportRow => {
      const user = profiles.get(orgUserId(r.organizationId, r.userId))?.doc;
      return {
        date: r.date,
        userId: r.userId,
        email: user?.email ?? null,
        displayName: user?.displayName ?? null,
        deleted: user?.deleted ?? false,
        onlineSeconds: Math.round(r.onlineMs / 1000),
        awaySeconds: Math.round(r.awayMs / 1000),
      };
    })
    .sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
  return { from: range.from, to: range.to, items };
}

export const PRESENCE_REPORT_CSV_COLUMNS = ['date', 'user_id', 'email', 'display_name', 'deleted', 'online_seconds', 'away_seconds'] as const;

/** The report as CSV (personal fields of deleted users empty). */
export function presenceReportCsv(report: PresenceReport) {
  async function* rows(): AsyncIterable<string[]> {
    for (const r of report.items)
      yield [r.date, r.userId, safeCell(r.email), safeCell(r.displayName), String(r.deleted), String(r.onlineSeconds), String(r.awaySeconds)];
  }
  return csvStream(PRESENCE_REPORT_CSV_COLUMNS, rows());
}
