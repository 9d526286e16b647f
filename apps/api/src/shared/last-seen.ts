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
