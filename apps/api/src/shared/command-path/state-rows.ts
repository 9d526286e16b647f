import type { OrganizationState, WorkspaceState } from '@rollcall/domain';

/** The rows an organization's state holds: what the state cache's and the kept replays' memory budgets count. */
export const organizationRows = (org: OrganizationState) => org.users.size + org.workspaces.size + org.apiKeys.size;
/** The rows a workspace's state holds (every invitation ever sent among them: closed ones stay, docs/performance.md) */
export const workspaceRows = (ws: WorkspaceState) => {
  let rows = ws.members.size + ws.invitations.size;
  for (const team of ws.teams.teams.values()) rows += 1 + team.members.size;
  return rows;
};

/**
 * The rows the cached decision states hold, by stream, the least recently loaded first: what bounds the cache by
 * size (ROLLCALL_STATE_CACHE_ROWS). A count of streams alone did not: a workspace's state holds every invitation ever
 * sent, and 48 workspaces of a soak held ~96 MB (probe 108 F1); a row costs ~0.4–0.6 KB of heap (docs/performance.md).
 */
export class RowBudget {
  private readonly rows = new Map<string, number>();
  private total = 0;
  /** the stream noted last */
  private latest: string | undefined;

  constructor(readonly max: number) {}

  /**
   * `stream` holds `rows` now and was loaded last. Returns the streams to drop, the least recently loaded first, until
   * the rest fits: never `stream` itself nor the one loaded just before it (a command loads its organization, then its
   * workspace: states over the budget stay while in use), nor one `evictable` refuses (a state holding a command in flight).
   */
  note(stream: string, rows: number, evictable: (stream: string) => boolean): string[] {
    const before = this.latest;
    this.latest = stream;
    this.total += rows - (this.rows.get(stream) ?? 0);
    this.rows.delete(stream);
    this.rows.set(stream, rows);
    const over: string[] = [];
    let excess = this.total - this.max;
    for (const [oldest, held] of this.rows) {
      if (excess <= 0) break;
      if (oldest === stream || oldest === before || !evictable(oldest)) continue;
      over.push(oldest);
      excess -= held;
    }
    return over;
  }

  /** `stream` is no longer cached */
  forget(stream: string): void {
    this.total -= this.rows.get(stream) ?? 0;
    this.rows.delete(stream);
  }
}
