import { InvalidQueryError, type ReadStore } from '../port';
import { MEMBERS, type MemberDoc, memberId } from '../projections/members';
import { sortKey } from '../projections/sort-key';
import { TEAMS, TEAM_CHOICES, TEAM_LINKS, TEAM_ROSTERS, type TeamChoiceDoc, type TeamDoc, type TeamLinkDoc, type TeamRosterDoc } from '../projections/teams';
import { WORKSPACES, type WorkspaceDoc } from '../projections/workspaces';

/** A team as the API serves it (rules 15 and 16): never a storage document. */
export interface TeamView {
  teamId: string;
  name: string;
  memberCount: number;
  shared: boolean;
  /**
   * own teams: the partner workspaces it is offered to now (rule 16, docs/adr/0040); never on a partner's team (whom
   * else a partner shares with is not this workspace's to know)
   */
  sharedWith?: { workspaceId: string; workspaceName: string | null }[];
  /** own teams shared before session 62 with every partner, present and future: true (absent otherwise) */
  sharedWithEveryPartner?: true;
  /** present on a networked partner's team: whose it is */
  partner?: { workspaceId: string; workspaceName: string | null };
}

/** A partner team offered to a workspace (shared by a partner), and whether the workspace chose to see it. */
export interface OfferedTeamView {
  teamId: string;
  name: string;
  memberCount: number;
  /** the workspace chose to see it */
  visible: boolean;
  /** the partner shares it now (a team chosen and then unshared is listed too: its choice can be withdrawn) */
  shared: boolean;
  partner: { workspaceId: string; workspaceName: string | null };
}

/**
 * A team member as the invite lookup returns them (rule 15): who they are and their presence, nothing of their
 * access or email. The same fields for a partner's team: a partner never sees more (rule 16).
 */
export interface InviteeView {
  userId: string;
  displayName: string | null;
  alias: string | null;
  avatarUrl: string | null;
  presence: 'online' | 'away' | 'offline';
  lastSeenAt: string | null;
}

/** what the lookup reads of a member document: a tenth of it */
/** (not `userId`: the roster names it, and each field read is a look-up into every document) */
const INVITEE_FIELDS = ['status', 'displayName', 'sortName', 'alias', 'avatarUrl', 'presence', 'lastSeenAt'];

const all = async <T>(items: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
};

/**
 * Teams in name order, then by id, each given with its document's `sortName` (the name's key, folded once by the
 * projection: folding it again here cost ~0.75 µs a name, ~10 ms for 500 partner teams sorted in the comparator)
 */
function byName<T extends { teamId: string }>(keyed: [sortName: string, team: T][]): T[] {
  keyed.sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x.teamId < y.teamId ? -1 : x.teamId > y.teamId ? 1 : 0));
  return keyed.map(([, team]) => team);
}

/** an own team as listed: the partners it is shared with named as the partner-teams list names them */
const ownView = (t: TeamDoc, partnerNames: ReadonlyMap<string, string | null>): TeamView => ({
  teamId: t.teamId,
  name: t.name,
  memberCount: t.memberCount,
  shared: t.shared,
  sharedWith: t.sharedWith.map((workspaceId) => ({ workspaceId, workspaceName: partnerNames.get(workspaceId) ?? null })),
  ...(t.sharedWithEveryPartner && { sharedWithEveryPartner: true as const }),
});

/** rule 16: `t` is offered to `workspaceId` now, as the read model has it (the caller checks the decision states) */
const offeredTo = (t: TeamDoc, workspaceId: string): boolean => t.sharedWith.includes(workspaceId);

/** the workspace's network partners and their names */
async function partnersOf(store: ReadStore, workspaceId: string): Promise<Map<string, string | null>> {
  const links = await all(store.stream<TeamLinkDoc>(TEAM_LINKS, { where: { workspaceId } }));
  const names = await store.getMany<WorkspaceDoc>(WORKSPACES, links.map((l) => l.partnerWorkspaceId));
  return new Map(links.map((l) => [l.partnerWorkspaceId, names.get(l.partnerWorkspaceId)?.doc.name ?? null]));
}

/** the most teams of its own a page of the team list holds (the read store's largest page) */
export const TEAMS_PAGE_MAX = 500;

/** A page of the team list (pageTeams). */
export interface TeamPage {
  items: TeamView[];
  /** absent on the last page */
  nextCursor?: string;
}

/**
 * The team list of a workspace (rules 15 and 16) in pages: its own teams by name, `limit` at a time (a keyset over
 * their name's key: a page costs its size, not the list's), then, on the last page, the partner teams it sees: those it
 * chose, while the partner shares them and the workspaces are networked (the workspace's own choices: few). The whole
 * list in one answer held the event loop ~1.5 s at 27,000 teams, for every tenant (probe 59). A cursor is the store's,
 * bound to the workspace.
 */
export async function pageTeams(store: ReadStore, workspaceId: string, page: { limit: number; cursor?: string }): Promise<TeamPage> {
  const own = await store.find<TeamDoc>(TEAMS, { where: { workspaceId }, sort: { field: 'sortName', direction: 'asc', values: 'string' }, limit: page.limit, cursor: page.cursor });
  // (the partners' names read only when a team of the page is shared)
  const partnerNames = own.items.some((t) => t.sharedWith.length > 0) ? await partnersOf(store, workspaceId) : new Map<string, string | null>();
  const items = own.items.map((t) => ownView(t, partnerNames));
  if (own.nextCursor !== undefined) return { items, nextCursor: own.nextCursor };
  return { items: [...items, ...(await partnerTeamViews(store, workspaceId))] };
}

/** The whole team list (pageTeams' pages, joined): for tests and benches; the API answers pages. */
export async function listTeams(store: ReadStore, workspaceId: string): Promise<TeamView[]> {
  const teams: TeamView[] = [];
  let cursor: string | undefined;
  do {
    const page = await pageTeams(store, workspaceId, { limit: TEAMS_PAGE_MAX, cursor });
    teams.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return teams;
}

/** the partner teams a workspace sees, by name (rule 16) */
async function partnerTeamViews(store: ReadStore, workspaceId: string): Promise<TeamView[]> {
  const [partners, choices] = await Promise.all([partnersOf(store, workspaceId), all(store.stream<TeamChoiceDoc>(TEAM_CHOICES, { where: { workspaceId } }))]);
  const chosen = choices.filter((c) => partners.has(c.partnerWorkspaceId));
  const teams = await store.getMany<TeamDoc>(TEAMS, chosen.map((c) => c.teamId));
  const visible: [string, TeamView][] = [];
  for (const c of chosen) {
    const team = teams.get(c.teamId)?.doc;
    if (!team || !offeredTo(team, workspaceId) || team.workspaceId !== c.partnerWorkspaceId) continue;
    const partner = { workspaceId: team.workspaceId, workspaceName: partners.get(team.workspaceId) ?? null };
    visible.push([team.sortName, { teamId: team.teamId, name: team.name, memberCount: team.memberCount, shared: true, partner }]);
  }
  return byName(visible);
}

/** The teams the workspace's partners share with it, and which of them it chose to see (rule 16). */
export async function listOfferedTeams(store: ReadStore, workspaceId: string): Promise<OfferedTeamView[]> {
  const [partners, choices] = await Promise.all([partnersOf(store, workspaceId), all(store.stream<TeamChoiceDoc>(TEAM_CHOICES, { where: { workspaceId } }))]);
  const chosen = new Set(choices.map((c) => c.teamId));
  const offered: [string, OfferedTeamView][] = [];
  for (const [partnerId, workspaceName] of partners)
    for await (const t of store.stream<TeamDoc>(TEAMS, { where: { workspaceId: partnerId }, sort: { field: 'sortName', direction: 'asc' } }))
      if (offeredTo(t, workspaceId) || chosen.has(t.teamId)) {
        // a chosen team no longer shared with this workspace: as it last saw it, not as its owner changed it since
        // (probe 52 F1)
        const shared = offeredTo(t, workspaceId);
        const seen = shared ? undefined : t.asSharedWith[workspaceId];
        const [name, memberCount, key] = seen ? [seen.name, seen.memberCount, sortKey(seen.name)] : [t.name, t.memberCount, t.sortName];
        offered.push([key, { teamId: t.teamId, name, memberCount, visible: chosen.has(t.teamId), shared, partner: { workspaceId: partnerId, workspaceName } }]);
      }
  return byName(offered);
}

/**
 * The invite lookup (rule 15): the team's active members with their display name, alias, avatar and presence, by
 * display name, each with its sort key (its name's, or '' without a name). The team's roster is one document; names
 * and presence come from the `members` documents of the team's own workspace (presence is written there), read in
 * one batch.
 */
async function sortedInvitees(store: ReadStore, team: { teamId: string; workspaceId: string }): Promise<[sortKey: string, view: InviteeView][]> {
  const userIds = (await store.get<TeamRosterDoc>(TEAM_ROSTERS, team.teamId))?.doc.userIds ?? [];
  const ids = userIds.map((userId) => memberId(team.workspaceId, userId));
  const members = await store.getMany<MemberDoc>(MEMBERS, ids, { fields: INVITEE_FIELDS });
  // [sort key, view] pairs: sorted as they are, then the views taken out (no copy of each view without its key)
  const invitees: [sortKey: string, view: InviteeView][] = [];
  for (let i = 0; i < userIds.length; i++) {
    const userId = userIds[i]!;
    const m = members.get(ids[i]!)?.doc;
    // a revoke or deletion takes the member out of the team in the same append; a lagging batch must not show them
    if (m?.status !== 'active') continue;
    const view: InviteeView = {
      userId,
      displayName: m.displayName,
      alias: m.alias,
      avatarUrl: m.avatarUrl,
      presence: m.presence ?? 'offline',
      lastSeenAt: m.lastSeenAt ?? null,
    };
    // a named member's `sortName` is their name's sort key, folded once by the projection (members version 2); one
    // without a name sorts first (its `sortName` is its address's, which the lookup does not show)
    invitees.push([m.displayName === null ? '' : m.sortName, view]);
  }
  invitees.sort(([a, x], [b, y]) => compareInvitees(a, x.userId, b, y.userId));
  return invitees;
}

const compareInvitees = (a: string, aId: string, b: string, bId: string): number => (a < b ? -1 : a > b ? 1 : aId < bId ? -1 : aId > bId ? 1 : 0);

/** The whole invite lookup (sortedInvitees), in one list. */
export async function listTeamInvitees(store: ReadStore, team: { teamId: string; workspaceId: string }): Promise<InviteeView[]> {
  return (await sortedInvitees(store, team)).map(([, view]) => view);
}

export interface InviteePage {
  items: InviteeView[];
  /** absent on the last page */
  nextCursor?: string;
}

/**
 * where a page ends: the last invitee's sort key and user id, and the team, opaque to clients. Another team's cursor is
 * refused as the lists' are (probe 50 F4); one given out before session 48 names no team and is taken as it was.
 */
const inviteeCursor = (sortKey: string, userId: string, teamId: string) => Buffer.from(JSON.stringify([sortKey, userId, teamId])).toString('base64url');
function readInviteeCursor(cursor: string, teamId: string): [sortKey: string, userId: string] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const [sortKey, userId, team] = Array.isArray(parsed) && (parsed.length === 2 || parsed.length === 3) ? (parsed as unknown[]) : [];
  if (typeof sortKey !== 'string' || typeof userId !== 'string' || (team !== undefined && team !== teamId)) throw new InvalidQueryError("not a cursor of this team's invite lookup", 'cursor');
  return [sortKey, userId];
}

/**
 * A page of the invite lookup (probe 42 F5: a 5,000-member team was 730 KB in one answer, more than NATS carries): the
 * invitees among `only` (the team's members as the decision state says: undefined, every one the read model lists),
 * `limit` of them after `cursor` (nextCursor of the page before), in the lookup's order. Each page reads the team's
 * members again: an invitee renamed between two pages may move across the cursor, as in the user list.
 */
export async function pageTeamInvitees(
  store: ReadStore,
  team: { teamId: string; workspaceId: string },
  page: { only?: ReadonlySet<string>; limit: number; cursor?: string },
): Promise<InviteePage> {
  const after = page.cursor === undefined ? undefined : readInviteeCursor(page.cursor, team.teamId);
  const sorted = (await sortedInvitees(store, team)).filter(([, view]) => page.only === undefined || page.only.has(view.userId));
  // the first invitee past the cursor: a binary search over the sorted pairs
  let start = 0;
  if (after) {
    let end = sorted.length;
    while (start < end) {
      const mid = (start + end) >> 1;
      const [key, view] = sorted[mid]!;
      if (compareInvitees(key, view.userId, after[0], after[1]) <= 0) start = mid + 1;
      else end = mid;
    }
  }
  const slice = sorted.slice(start, start + page.limit);
  const last = slice.at(-1);
  const more = start + slice.length < sorted.length;
  return { items: slice.map(([, view]) => view), ...(more && last && { nextCursor: inviteeCursor(last[0], last[1].userId, team.teamId) }) };
}
