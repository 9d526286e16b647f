import type { Access } from '@rollcall/domain';
import { DAY_MS, type FieldValue, InvalidQueryError, type Query, type ReadStore } from '../port';
import { PERMISSION_HISTORY, type HistoryChange, type HistoryEntryDoc, atPositionKey } from '../projections/permission-history';
import { encodeCursor } from '../store/query-common';
import { type CsvOptions, csvStream, list, restrictionsCell, safeCell } from './csv';

export interface HistoryFilters {
  /** entries about this member */
  userId?: string;
  /** entries caused by this actor */
  actorId?: string;
  /** the entries of one request (its correlationId: X-Request-Id) */
  correlationId?: string;
  /**
   * the entries of one invitation (sent, resent, cancelled, accepted), and of one API key (probe 80 F3, F13: "what
   * became of Maria's invitation?", "what did your support key do?"). Rare questions: no index of their own, the
   * workspace's history in log order is scanned for them (~1 µs an entry here)
   */
  invitationId?: string;
  apiKeyId?: string;
  /** entries of these kinds of change (any of them; probe 69 F3: "who changed grants this month?") */
  change?: readonly HistoryChange[];
  /** ISO time, inclusive */
  from?: string;
  /** ISO time, inclusive */
  to?: string;
  /** default `asc` (oldest first) */
  direction?: 'asc' | 'desc';
}

export interface ListHistoryOptions extends HistoryFilters {
  /** default 50, at most 500 */
  limit?: number;
  cursor?: string;
}

export interface HistoryPage {
  items: HistoryEntryDoc[];
  nextCursor?: string;
}

function historyWhere(workspaceId: string, f: HistoryFilters): Record<string, FieldValue | FieldValue[]> {
  const where: Record<string, FieldValue | FieldValue[]> = { workspaceId };
  if (f.userId !== undefined) where.userId = f.userId;
  if (f.actorId !== undefined) where.actorId = f.actorId;
  if (f.correlationId !== undefined) where.correlationId = f.correlationId;
  if (f.invitationId !== undefined) where.invitationId = f.invitationId;
  if (f.apiKeyId !== undefined) where.apiKeyId = f.apiKeyId;
  if (f.change !== undefined) {
    // one list however it is written (`joined,joined` is `joined`; the order of the kinds does not matter): its cursors
    // are the same list's (probe 72 F8)
    const kinds = [...new Set(f.change)].sort();
    where.change = kinds.length === 1 ? kinds[0]! : kinds;
  }
  return where;
}

const inRange = (e: HistoryEntryDoc, f: HistoryFilters): boolean =>
  (f.from === undefined || e.at >= f.from) && (f.to === undefined || e.at <= f.to);

/** ISO times compared as strings must share one format: normalise to `Date#toISOString` */
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** The instant of a bound, as ISO text. Both bounds are inclusive: a date as `to` means through the end of that day (UTC). */
const iso = (value: string | undefined, name: 'from' | 'to'): string | undefined => {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new InvalidQueryError(`${name} must be an ISO-8601 time, got ${JSON.stringify(value)}`, name);
  if (name === 'to') return new Date(DATE_ONLY.test(value) ? ms + DAY_MS - 1 : ms).toISOString();
  // entry times are whole milliseconds: a `from` between two of them (…02.9849) starts at the next one, not the one
  // before it (Date.parse drops what is past the millisecond)
  return new Date(finerThanMs(value) ? ms + 1 : ms).toISOString();
};

/** whether a time's fraction of a second has a non-zero digit past the third (02.9849Z; not 02.9840Z) */
const finerThanMs = (value: string): boolean => /\.\d{3}\d*[1-9]/.test(value);

/** a valid bound as given: its millisecond and the digits past it (as nanoseconds); a date as `to`, its day's end */
const exactly = (value: string, name: 'from' | 'to'): [ms: number, ns: number] => {
  if (name === 'to' && DATE_ONLY.test(value)) return [Date.parse(value) + DAY_MS - 1, 999_999];
  const finer = /\.\d{3}(\d{1,6})/.exec(value)?.[1];
  return [Date.parse(value), finer === undefined ? 0 : Number(finer.padEnd(6, '0'))];
};

/**
 * Both bounds as ISO text (the history's; the organization's changes take the same). A range that ends before it starts, as given, is refused (as the presence report's), not
 * answered empty; one that holds no whole millisecond (`from` = `to` = …57.388999Z, which `iso` rounds apart) is
 * answered empty (session 22's probe: it was refused).
 */
export const instantRange = (from: string | undefined, to: string | undefined): { from?: string; to?: string } => {
  const bounds = { from: iso(from, 'from'), to: iso(to, 'to') };
  if (from !== undefined && to !== undefined) {
    const [a, b] = [exactly(from, 'from'), exactly(to, 'to')];
    if (a[0] > b[0] || (a[0] === b[0] && a[1] > b[1])) throw new InvalidQueryError('from must not be after to', 'from');
  }
  return bounds;
};

/**
 * The permission history of a workspace (rule 17), by member, actor and time range. Without a time range it is
 * in log order (`position`). With one it is in time order, then log order (`atPosition`), and the first page
 * starts right at the range: the read store has no range filter, so a keyset cursor placed at `from` (or `to`
 * when descending) makes its index seek there; entries past the other end end the list.
 */
export async function listHistory(store: ReadStore, workspaceId: string, options: ListHistoryOptions = {}): Promise<HistoryPage> {
  const f = { ...options, ...instantRange(options.from, options.to) };
  const direction = f.direction ?? 'asc';
  const where = historyWhere(workspaceId, f);
  if (f.from === undefined && f.to === undefined) {
    const page = await store.find<HistoryEntryDoc>(PERMISSION_HISTORY, { where, sort: { field: 'position', direction, values: 'number' }, limit: f.limit, cursor: f.cursor });
    return page;
  }
  const sort = { field: 'atPosition', direction, values: 'string' } as const;
  const start = direction === 'asc' ? f.from : f.to;
  // the range is applied here, not by the query: its cursors name it too (probe 54 F1: one reused under another `from`
  // answered an empty last page)
  const listKey = JSON.stringify([f.from ?? null, f.to ?? null]);
  // asc: after (`${from}`, '') = every entry at or after `from`; desc: before (`${to}|~`, '') = at or before `to`
  const cursor =
    f.cursor ?? (start === undefined ? undefined : encodeCursor(sort, { value: direction === 'asc' ? start : `${start}|~`, id: '' }, { where, listKey }));
  const page = await store.find<HistoryEntryDoc>(PERMISSION_HISTORY, { where, sort, limit: f.limit, cursor, listKey });
  const items = page.items.filter((e) => inRange(e, f));
  return items.length < page.items.length ? { items } : page;
}

/**
 * An entry's change-specific facts as clients see them: `{expiresAt}` for invitations, `{contacts}` for a revoke. The
 * link version stays inside (it only tells the projection which link is current), like the rest of the storage shape.
 */
export const publicDetails = (details: HistoryEntryDoc['details']): Record<string, unknown> | null => {
  if (!details) return null;
  const { linkVersion: _linkVersion, ...rest } = details;
  return rest;
};

export const HISTORY_CSV_COLUMNS = [
  'at',
  'change',
  'user_id',
  'invitation_id',
  'email',
  'actor_id',
  'before_roles',
  'before_restrictions',
  'before_grants',
  'after_roles',
  'after_restrictions',
  'after_grants',
  'details',
  'event_id',
  'position',
  // added last, so that the columns before keep their places (probe 69 F2, F5, F10)
  'workspace_id',
  'correlation_id',
  'api_key_id',
] as const;

const accessCells = (access: Access | null): string[] =>
  access ? [list(access.roles), restrictionsCell(access.restrictions), list(access.grants)] : ['', '', ''];

/** The permission history as CSV, streamed in bounded memory (same filters as listHistory, log order). */
export function exportHistoryCsv(store: ReadStore, workspaceId: string, filters: HistoryFilters = {}, csv: CsvOptions = {}) {
  const f = { ...filters, ...instantRange(filters.from, filters.to) };
  const query: Omit<Query, 'limit' | 'cursor'> = { where: historyWhere(workspaceId, f), sort: { field: 'position', direction: f.direction ?? 'asc' } };
  async function* rows(): AsyncIterable<string[]> {
    for await (const e of store.stream<HistoryEntryDoc>(PERMISSION_HISTORY, query)) {
      if (!inRange(e, f)) continue;
      yield [
        e.at,
        e.change,
        e.userId ?? '',
        e.invitationId ?? '',
        safeCell(e.email),
        e.actorId ?? '',
        ...accessCells(e.before),
        ...accessCells(e.after),
        e.details ? JSON.stringify(publicDetails(e.details)) : '',
        e.eventId,
        String(e.position),
        e.workspaceId,
        // the request id is the client's (even an invitee's: their acceptance's X-Request-Id): defused as an address is
        // (probe 70 F1: `+SUM(1;2)` reached the auditor's spreadsheet as a formula)
        safeCell(e.correlationId),
        e.apiKeyId ?? '',
      ];
    }
  }
  return csvStream(HISTORY_CSV_COLUMNS, rows(), csv);
}

export { atPositionKey };
