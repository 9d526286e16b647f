/**
 * The live last-seen time of members (docs/rules.md#rule-13): presence records only status changes as events, so the
 * read models know when a member's status last changed; the time of their latest heartbeat lives in the presence
 * leases. Reads overlay it, so `lastSeenAt` is accurate to the lease flush (1 s), well inside the timeout.
 * Implemented by the presence feature; member reads depend on this port only.
 */
export interface LastSeen {
  /** ISO time of each user's latest heartbeat in the workspace, for the users that have a lease */
  of(workspaceId: string, userIds: readonly string[]): Promise<Map<string, string>>;
}
export const LAST_SEEN = Symbol('LastSeen');

/** The later of the read model's last-seen time and the lease's. */
export const laterOf = (a: string | null | undefined, b: string | undefined): string | null =>
  b === undefined ? (a ?? null) : a === null || a === undefined || Date.parse(b) > Date.parse(a) ? b : a;

type Live = { userId: string; presence: string; lastSeenAt: string | null };
const isLive = (m: object): m is Live =>
  'presence' in m && (m.presence === 'online' || m.presence === 'away') && 'userId' in m && typeof m.userId === 'string';

/**
 * `items` with the online and away members' `lastSeenAt` set to their latest heartbeat when it is later (the read
 * model has their last status change): every read that shows a last-seen time goes through here (the user list, one
 * member, the CSV export, the team invite lookup).
 */
export async function withLiveLastSeen<T extends object>(lastSeen: LastSeen, workspaceId: string, items: T[]): Promise<T[]> {
  const live = (items as object[]).filter(isLive);
  if (live.length === 0) return items;
  const seen = await lastSeen.of(workspaceId, live.map((m) => m.userId));
  return items.map((m) => {
    if (!isLive(m)) return m;
    const latest = seen.get(m.userId);
    return latest === undefined ? m : ({ ...m, lastSeenAt: laterOf(m.lastSeenAt, latest) } as T);
  });
}
