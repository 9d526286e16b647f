import { DAY_MS, InvalidQueryError, type ReadStore } from '../port';
import { ORG_USERS, type OrgUserDoc, orgUserId } from '../projections/org-users';
import { PRESENCE_DAILY, PRESENCE_OPEN, type PresenceDayDoc, type PresenceOpenDoc, splitByUtcDay } from '../projections/presence-daily';
import { type CsvOptions, csvStream, safeCell } from './csv';

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
  /** the workspace the report is of: reports of several workspaces put together keep where each row came from (probe 85 F1) */
  workspaceId: string;
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

/** what a report is read with: the range, and how open intervals are counted (see presenceReportDays) */
export interface PresenceReportRange {
  from: string;
  to: string;
  nowMs: number;
  timeoutMs: number;
  /** each of these users' last heartbeat (epoch ms) where known: an open interval is counted no further */
  lastHeard?: (userIds: string[]) => Promise<Map<string, number>>;
}

/** a page of the report: whole days, from `from` on, until `limit` rows are reached or the range ends */
export interface PresenceReportPage {
  /** rows per page, reached at a day's end (a page never splits a day): 1 to 10,000; none: the whole range */
  limit?: number;
  /** `nextCursor` of the page before, with the same `from` and `to` */
  cursor?: string;
}

export const REPORT_PAGE_MAX = 10_000;
/** the rows a report without `limit` may hold: past it, refused (page it, or ask for the CSV) */
export const REPORT_WHOLE_MAX = 100_000;
/** the rows a read of several days aims at: sparse days are read many at once, busy ones one at a time */
const WINDOW_ROWS = 5_000;
const WINDOW_MAX_DAYS = 32;

/** the days of a range, checked: YYYY-MM-DD each, `from` not after `to`, at most MAX_REPORT_DAYS */
function reportDays(range: { from: string; to: string }): string[] {
  const start = dayStart(range.from, 'from');
  const end = dayStart(range.to, 'to') + DAY_MS;
  if (end <= start) throw new InvalidQueryError('from must not be after to', 'from');
  if ((end - start) / DAY_MS > MAX_REPORT_DAYS) throw new InvalidQueryError(`a report covers at most ${MAX_REPORT_DAYS} days`, 'to');
  const days: string[] = [];
  for (let t = start; t < end; t += DAY_MS) days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}

/**
 * Seconds online and away per user per UTC day of the workspace, from `from` to `to` inclusive, a day at a time (in
 * bounded memory: a year of 5,000 users is ~1.8 million rows): the closed intervals of `presence_daily`, plus the
 * intervals still open counted up to `nowMs` less the presence timeout (`timeoutMs`). Rows only for days with
 * presence, by user id within a day. Deleted users stay, under their pseudonymous id, with `email` and `displayName`
 * null (docs/rules.md#rule-12). Days are read a few at a time, each read in one snapshot (a window grows while its
 * days are sparse and shrinks when they are busy: a year of an idle workspace is ~10 reads, not 366).
 *
 * Why not up to now: an open interval's user was heard from within the timeout, not necessarily since, and a timeout
 * closes the interval at the last heartbeat; counted up to the read, a figure already reported went down when it came
 * (session 22's probe: 12 s away, then nothing). Counted up to now less the timeout, and no further than the user's
 * last heartbeat (`lastHeard`: the sweeper records a lapse a moment after it), it stays at or below what the interval
 * is closed at.
 */
export async function* presenceReportDays(store: ReadStore, workspaceId: string, range: PresenceReportRange): AsyncGenerator<{ day: string; items: PresenceReportRow[] }> {
  const days = reportDays(range);
  for (let i = 0, size = 1; i < days.length; ) {
    const window = days.slice(i, i + size);
    i += window.length;
    const byDay = await reportOfDays(store, workspaceId, window, range);
    let rows = 0;
    for (const day of window) {
      const items = byDay.get(day) ?? [];
      rows += items.length;
      yield { day, items };
    }
    size = rows < WINDOW_ROWS / 2 ? Math.min(size * 2, WINDOW_MAX_DAYS) : rows > WINDOW_ROWS ? Math.max(1, size >> 1) : size;
  }
}

/**
 * The report (PresenceReportPage): with `limit`, one page of whole days, paged with `nextCursor` until it is absent;
 * without, the whole range, refused past REPORT_WHOLE_MAX rows (probe 42b F3: a default page cut a year's report to
 * four months under a 200 for a client that did not know of pages).
 */
export async function presenceReport(
  store: ReadStore,
  workspaceId: string,
  range: PresenceReportRange,
  page: PresenceReportPage = {},
): Promise<PresenceReport & { nextCursor?: string }> {
  const days = reportDays(range);
  const limit = page.limit;
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1 || limit > REPORT_PAGE_MAX)) throw new InvalidQueryError(`limit must be an integer from 1 to ${REPORT_PAGE_MAX}`, 'limit');
  const first = page.cursor === undefined ? range.from : dayOfCursor(page.cursor, workspaceId, range, days);
  const items: PresenceReportRow[] = [];
  for await (const { day, items: rows } of presenceReportDays(store, workspaceId, { ...range, from: first })) {
    items.push(...rows);
    if (limit === undefined && items.length > REPORT_WHOLE_MAX)
      throw new InvalidQueryError(`the report holds more than ${REPORT_WHOLE_MAX} rows: ask for it in pages (limit, then nextCursor) or as CSV (format=csv)`, 'limit');
    if (limit !== undefined && items.length >= limit && day !== range.to) {
      const next = days[days.indexOf(day) + 1]!;
      // the days left all to come: no page holds them yet (probe 89 F7: the last full page led to an empty one)
      if (next > dayOf(range.nowMs + CLOCK_MARGIN_MS)) break;
      return { from: range.from, to: range.to, items, nextCursor: cursorOf(next, workspaceId, range) };
    }
  }
  return { from: range.from, to: range.to, items };
}

/** how far another replica's clock may run ahead: a day that begins later than this past now holds no presence yet */
const CLOCK_MARGIN_MS = 10 * 60_000;
const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/**
 * a cursor names the next page's first day, the workspace and the range it was given for (opaque to clients, as the
 * lists' are): another workspace's cursor is refused as the lists' are (probe 50 F4), not taken as a day to start at
 */
const cursorOf = (day: string, ws: string, range: { from: string; to: string }): string => Buffer.from(JSON.stringify({ day, ws, from: range.from, to: range.to }), 'utf8').toString('base64url');

function dayOfCursor(cursor: string, workspaceId: string, range: { from: string; to: string }, days: readonly string[]): string {
  let parsed: { day?: unknown; ws?: unknown; from?: unknown; to?: unknown } | undefined;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as typeof parsed;
  } catch {
    parsed = undefined;
  }
  const day = parsed?.day;
  // a cursor given out before session 48 names no workspace: taken as it was
  const otherWorkspace = parsed?.ws !== undefined && parsed.ws !== workspaceId;
  if (typeof day !== 'string' || otherWorkspace || parsed?.from !== range.from || parsed?.to !== range.to || !days.includes(day))
    throw new InvalidQueryError(`cursor is not a nextCursor of this workspace's report from ${range.from} to ${range.to}`, 'cursor');
  return day;
}

/** the rows of these days, read in one snapshot (readTogether: a closing interval moves between the two collections) */
async function reportOfDays(store: ReadStore, workspaceId: string, days: readonly string[], range: PresenceReportRange): Promise<Map<string, PresenceReportRow[]>> {
  const start = Date.parse(`${days[0]!}T00:00:00.000Z`);
  const end = Date.parse(`${days[days.length - 1]!}T00:00:00.000Z`) + DAY_MS;
  const totals = new Map<string, { date: string; organizationId: string; userId: string; onlineMs: number; awayMs: number }>();
  const add = (date: string, organizationId: string, userId: string, field: 'onlineMs' | 'awayMs', ms: number) => {
    const key = `${date}\n${userId}`;
    const row = totals.get(key) ?? totals.set(key, { date, organizationId, userId, onlineMs: 0, awayMs: 0 }).get(key)!;
    row[field] += ms;
  };
  // one snapshot: the commit that closes an interval moves it from presence_open to presence_daily (read apart, the
  // two could fall on either side of it and the interval be in neither)
  const [closed, open] = (await store.readTogether([
    { collection: PRESENCE_DAILY, query: { where: { workspaceId, day: [...days] } } },
    { collection: PRESENCE_OPEN, query: { where: { workspaceId } } },
  ])) as [PresenceDayDoc[], PresenceOpenDoc[]];
  for (const d of closed) {
    if (d.onlineMs > 0) add(d.day, d.organizationId, d.userId, 'onlineMs', d.onlineMs);
    if (d.awayMs > 0) add(d.day, d.organizationId, d.userId, 'awayMs', d.awayMs);
  }
  // a user whose lease lapsed and whose timeout is not recorded yet (the sweeper's lag) was last heard before now less
  // the timeout: counted to then, not further, where the timeout will close the interval (probe 29: a figure went
  // down by a second when it did)
  const stillOpen = open.filter((o) => Date.parse(o.since) < end);
  const heard = stillOpen.length > 0 && range.lastHeard ? await range.lastHeard(stillOpen.map((o) => o.userId)) : new Map<string, number>();
  for (const o of stillOpen) {
    const from = Math.max(start, Date.parse(o.since));
    const to = Math.min(end, range.nowMs - range.timeoutMs, heard.get(o.userId) ?? Number.POSITIVE_INFINITY);
    for (const { day, ms } of splitByUtcDay(from, to)) add(day, o.organizationId, o.userId, o.status === 'online' ? 'onlineMs' : 'awayMs', ms);
  }

  const rows = [...totals.values()];
  const profiles = await store.getMany<OrgUserDoc>(ORG_USERS, [...new Set(rows.map((r) => orgUserId(r.organizationId, r.userId)))]);
  const byDay = new Map<string, PresenceReportRow[]>();
  for (const r of rows) {
    const user = profiles.get(orgUserId(r.organizationId, r.userId))?.doc;
    const row: PresenceReportRow = {
      date: r.date,
      userId: r.userId,
      email: user?.email ?? null,
      displayName: user?.displayName ?? null,
      deleted: user?.deleted ?? false,
      onlineSeconds: Math.round(r.onlineMs / 1000),
      awaySeconds: Math.round(r.awayMs / 1000),
      workspaceId,
    };
    const day = byDay.get(r.date);
    if (day) day.push(row);
    else byDay.set(r.date, [row]);
  }
  for (const day of byDay.values()) day.sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
  return byDay;
}

// workspace_id last (probe 85 F1): the columns before it kept their places for the readers of before
export const PRESENCE_REPORT_CSV_COLUMNS = ['date', 'user_id', 'email', 'display_name', 'deleted', 'online_seconds', 'away_seconds', 'workspace_id'] as const;

/** The report's rows as CSV (personal fields of deleted users empty), streamed as they come (presenceReportDays). */
export function presenceReportCsv(items: AsyncIterable<PresenceReportRow> | Iterable<PresenceReportRow>, csv: CsvOptions = {}) {
  async function* rows(): AsyncIterable<string[]> {
    for await (const r of items)
      yield [r.date, r.userId, safeCell(r.email), safeCell(r.displayName), String(r.deleted), String(r.onlineSeconds), String(r.awaySeconds), r.workspaceId];
  }
  return csvStream(PRESENCE_REPORT_CSV_COLUMNS, rows(), csv);
}
