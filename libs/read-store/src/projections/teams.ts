import type { DomainEvent } from '@rollcall/domain';
import { type Doc, type Projection, type ProjectionReader, type ProjectionWrite, remove, upsert } from './projection';
import { sortKey } from './sort-key';

/**
 * `teams` (docs/rules.md#teams): the teams of every workspace, their members, the network links and the partner
 * teams each workspace chose to see (rules 14-16). No personal data: users are ids; their names and presence are
 * read from `members` when the invite lookup asks (queries/teams.ts).
 *
 * - `teams/${teamId}`: a team, with its member count and the partners it is shared with. Deleted with the team.
 * - `team_rosters/${teamId}`: the ids of its members, sorted: the invite lookup reads one document, then the members'
 *   documents in one batch (revokes and deletions decide their TeamMemberRemoved, and a team's members leave it
 *   before it is deleted, so no other event changes a roster). Reads of rosters far outnumber membership changes.
 * - `team_links/${workspaceId}:${partnerWorkspaceId}`: the workspace is networked with the partner (each side has its own).
 * - `team_choices/${workspaceId}:${teamId}`: the workspace chose to see that partner team. The choice stands while the
 *   workspaces are linked (unlinking forgets it); the team is visible while it is also shared and not deleted.
 */
export const TEAMS = 'teams';
export const TEAM_ROSTERS = 'team_rosters';
export const TEAM_LINKS = 'team_links';
export const TEAM_CHOICES = 'team_choices';

export interface TeamDoc extends Doc {
  teamId: string;
  workspaceId: string;
  name: string;
  /** sort key: the lower-cased name */
  sortName: string;
  memberCount: number;
  /** offered to at least one partner now (or shared before session 62 with every partner: `sharedWithEveryPartner`) */
  shared: boolean;
  /** the partner workspaces it is offered to now, in the order they got it (rule 16, docs/adr/0040) */
  sharedWith: string[];
  /** shared before session 62 (a TeamShared naming no partner): a partner linked later gets it too */
  sharedWithEveryPartner: boolean;
  /**
   * Per partner it is no longer offered to (unshared, not unlinked): the name and member count that partner last saw.
   * A partner workspace that chose the team still lists its choice, so that it can be withdrawn, with these and never
   * the team's later name or size: the owner's changes after unsharing are not shared (rule 16; probe 52 F1).
   */
  asSharedWith: Record<string, { name: string; memberCount: number }>;
  createdAt: string;
}

export interface TeamRosterDoc extends Doc {
  teamId: string;
  workspaceId: string;
  /** sorted */
  userIds: string[];
}

export interface TeamLinkDoc extends Doc {
  workspaceId: string;
  partnerWorkspaceId: string;
  partnerOrganizationId: string;
  since: string;
}

export interface TeamChoiceDoc extends Doc {
  workspaceId: string;
  teamId: string;
  partnerWorkspaceId: string;
}

const linkId = (workspaceId: string, partnerWorkspaceId: string): string => `${workspaceId}:${partnerWorkspaceId}`;
const choiceId = (workspaceId: string, teamId: string): string => `${workspaceId}:${teamId}`;
const sortName = (name: string): string => sortKey(name);

/** the partners `workspaceId` is linked with now */
async function partnersOf(read: ProjectionReader, workspaceId: string): Promise<string[]> {
  return (await read.findBy<TeamLinkDoc>(TEAM_LINKS, 'workspaceId', workspaceId)).map((l) => l.partnerWorkspaceId);
}

const union = (a: readonly string[], b: readonly string[]): string[] => [...a, ...b.filter((p) => !a.includes(p))];

/** a team's sharing fields: offered to `sharedWith` (and, shared before session 62, to every partner) */
function sharing(team: TeamDoc, sharedWith: string[], everyPartner: boolean): Pick<TeamDoc, 'shared' | 'sharedWith' | 'sharedWithEveryPartner' | 'asSharedWith'> {
  // a partner it is offered to again sees it live, not as it last saw it
  const asSharedWith = Object.fromEntries(Object.entries(team.asSharedWith ?? {}).filter(([p]) => !sharedWith.includes(p)));
  return { shared: everyPartner || sharedWith.length > 0, sharedWith, sharedWithEveryPartner: everyPartner, asSharedWith };
}

/** the team with some fields changed; nothing when the team is gone */
async function changeTeam(read: ProjectionReader, teamId: string, change: (team: TeamDoc) => Partial<TeamDoc>): Promise<ProjectionWrite[]> {
  const team = await read.get<TeamDoc>(TEAMS, teamId);
  return team ? [upsert(TEAMS, { ...team, ...change(team) })] : [];
}

async function applyTeams(event: DomainEvent, read: ProjectionReader): Promise<ProjectionWrite[]> {
  switch (event.type) {
    case 'TeamCreated': {
      const d = event.data;
      const team: TeamDoc = { _id: d.teamId, teamId: d.teamId, workspaceId: d.workspaceId, name: d.name, sortName: sortName(d.name), memberCount: 0, shared: false, sharedWith: [], sharedWithEveryPartner: false, asSharedWith: {}, createdAt: d.createdAt };
      return [upsert(TEAMS, team)];
    }
    case 'TeamRenamed':
      return changeTeam(read, event.data.teamId, () => ({ name: event.data.name, sortName: sortName(event.data.name) }));
    case 'TeamDeleted':
      return [remove(TEAMS, event.data.teamId), remove(TEAM_ROSTERS, event.data.teamId)];
    case 'TeamShared': {
      const d = event.data;
      // before session 62: with every partner, present and future (those linked now listed)
      const partners = d.partnerWorkspaceIds ?? (await partnersOf(read, d.workspaceId));
      return changeTeam(read, d.teamId, (team) =>
        sharing(team, union(team.sharedWith, partners), d.partnerWorkspaceIds === undefined || team.sharedWithEveryPartner),
      );
    }
    case 'TeamUnshared': {
      const d = event.data;
      const ended = d.partnerWorkspaceIds ?? [];
      return changeTeam(read, d.teamId, (team) => {
        const left = d.partnerWorkspaceIds === undefined ? [] : team.sharedWith.filter((p) => !ended.includes(p));
        const after = sharing(team, left, false);
        // what each partner it is taken from last saw of it
        for (const p of team.sharedWith) if (!left.includes(p)) after.asSharedWith[p] = { name: team.name, memberCount: team.memberCount };
        return after;
      });
    }
    case 'TeamMemberAdded':
    case 'TeamMemberRemoved': {
      const d = event.data;
      const roster = (await read.get<TeamRosterDoc>(TEAM_ROSTERS, d.teamId)) ?? { _id: d.teamId, teamId: d.teamId, workspaceId: d.workspaceId, userIds: [] };
      const added = event.type === 'TeamMemberAdded';
      if (roster.userIds.includes(d.userId) === added) return [];
      const userIds = added ? [...roster.userIds, d.userId].sort() : roster.userIds.filter((id) => id !== d.userId);
      return [upsert(TEAM_ROSTERS, { ...roster, userIds }), ...(await changeTeam(read, d.teamId, () => ({ memberCount: userIds.length })))];
    }
    case 'WorkspacesNetworked': {
      const d = event.data;
      const link: TeamLinkDoc = {
        _id: linkId(d.workspaceId, d.partnerWorkspaceId),
        workspaceId: d.workspaceId,
        partnerWorkspaceId: d.partnerWorkspaceId,
        partnerOrganizationId: d.partnerOrganizationId,
        since: d.networkedAt,
      };
      // a team shared before session 62 with every partner is offered to this one too
      const teams = await read.findBy<TeamDoc>(TEAMS, 'workspaceId', d.workspaceId);
      return [
        upsert(TEAM_LINKS, link),
        ...teams.filter((t) => t.sharedWithEveryPartner).map((t) => upsert(TEAMS, { ...t, ...sharing(t, union(t.sharedWith, [d.partnerWorkspaceId]), true) })),
      ];
    }
    case 'WorkspacesUnnetworked': {
      const d = event.data;
      const choices = await read.findBy<TeamChoiceDoc>(TEAM_CHOICES, 'workspaceId', d.workspaceId);
      // the unlink ends the sharing with that partner (docs/adr/0040), and what it last saw is no one's to list
      const teams = await read.findBy<TeamDoc>(TEAMS, 'workspaceId', d.workspaceId);
      const gone = d.partnerWorkspaceId;
      return [
        remove(TEAM_LINKS, linkId(d.workspaceId, gone)),
        ...choices.filter((c) => c.partnerWorkspaceId === gone).map((c) => remove(TEAM_CHOICES, c._id)),
        ...teams
          .filter((t) => t.sharedWith.includes(gone) || gone in t.asSharedWith)
          .map((t) => {
            const { [gone]: _, ...asSharedWith } = t.asSharedWith;
            return upsert(TEAMS, { ...t, ...sharing(t, t.sharedWith.filter((p) => p !== gone), t.sharedWithEveryPartner), asSharedWith });
          }),
      ];
    }
    case 'PartnerTeamVisibilityChanged': {
      const d = event.data;
      const id = choiceId(d.workspaceId, d.teamId);
      if (!d.visible) return [remove(TEAM_CHOICES, id)];
      const choice: TeamChoiceDoc = { _id: id, workspaceId: d.workspaceId, teamId: d.teamId, partnerWorkspaceId: d.partnerWorkspaceId };
      return [upsert(TEAM_CHOICES, choice)];
    }
    default:
      return [];
  }
}

export const teamsProjection: Projection = {
  name: 'teams',
  // 2: `sortName` folds accents (sort-key.ts); 3: accents only, not every combining mark (Indic vowel signs, kana
  // voicing marks stay); 4: `asShared`, what partners last saw of a team no longer shared; 5: sharing per partner
  // (`sharedWith`, `sharedWithEveryPartner`, `asSharedWith`: docs/adr/0040)
  version: 5,
  collections: {
    // a workspace's teams by name (the team list)
    [TEAMS]: { indexes: [], compound: [['workspaceId', 'sortName']] },
    [TEAM_ROSTERS]: { indexes: [] },
    [TEAM_LINKS]: { indexes: ['workspaceId'] },
    [TEAM_CHOICES]: { indexes: ['workspaceId'] },
  },
  eventTypes: [
    'TeamCreated',
    'TeamRenamed',
    'TeamDeleted',
    'TeamShared',
    'TeamUnshared',
    'TeamMemberAdded',
    'TeamMemberRemoved',
    'WorkspacesNetworked',
    'WorkspacesUnnetworked',
    'PartnerTeamVisibilityChanged',
  ],
  apply: (e, read) => applyTeams(e.event, read),
};
