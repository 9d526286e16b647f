import { Inject, Injectable, Optional } from '@nestjs/common';
import { DEFAULT_QUOTAS, chosenPartnerTeam, domainError, sharedPartnerTeam, visiblePartnerTeam, visiblePartnerTeams } from '@rollcall/domain';
import { type InviteeView, type OfferedTeamView, type ReadStore, TEAMS_PAGE_MAX, type TeamPage, listOfferedTeams, listTeamInvitees, pageTeamInvitees, pageTeams } from '@rollcall/read-store';
import type { Principal } from '../shared/auth';
import { type MinPosition, ReadAccess, badQuery } from '../shared/reads/read-access';
import { DomainException } from '../shared/command-path/stream-handler';
import { StreamStates } from '../shared/command-path/stream-states';
import { loadWorkspace } from '../shared/command-path/targets';
import { APP_CONFIG, READ_STORE } from '../shared/tokens';
import type { Config } from '../config';
import { LAST_SEEN, type LastSeen, withLiveLastSeen } from '../shared/last-seen';
import { loadPartners, partnerTeamSentence } from './team-targets';

export interface TeamInvitees {
  teamId: string;
  name: string;
  partner?: { workspaceId: string; workspaceName: string | null };
  items: InviteeView[];
  /** asked in pages (`limit`): absent on the last one */
  nextCursor?: string;
}

/** a page of the invite lookup: `limit` invitees after `cursor` (the page before's nextCursor) */
export interface InviteesPageAsked {
  limit: number;
  cursor?: string;
}

const teamNotFound = (teamId: string, sentence = `Team ${teamId} does not exist in this workspace.`) => new DomainException(domainError('TEAM_NOT_FOUND', sentence));

/**
 * The reads of rules 15 and 16. What they list comes from the read models; whether a partner's team may be seen at
 * all is decided from the decision states of both workspaces (loaded from their streams), so that unsharing or
 * unlinking hides a team at once, not when the read models catch up, and a team no partner shares with this
 * workspace is a 404 to it, as an unknown one is.
 */
@Injectable()
export class TeamReads {
  constructor(
    @Inject(ReadAccess) private readonly access: ReadAccess,
    @Inject(StreamStates) private readonly states: StreamStates,
    @Inject(READ_STORE) private readonly store: ReadStore,
    @Inject(LAST_SEEN) private readonly lastSeen: LastSeen,
    /** the quotas (absent in tests that build the reads alone: the domain's defaults) */
    @Optional() @Inject(APP_CONFIG) private readonly config?: Pick<Config, 'quotas'>,
  ) {}

  /** every member (and the org admins) may read them: a chat router asks on an agent's behalf (rule 15) */
  private async prepare(principal: Principal, ws: string, actorId: string, minPosition?: MinPosition) {
    const ref = await this.access.prepare(principal, ws, actorId, 'teams', minPosition);
    const { context } = await loadWorkspace(this.states, ref);
    return { ws: context.ws, partners: await loadPartners(this.states, context.ws) };
  }

  /** Own teams, then the partner teams visible now (rule 16). */
  /** a page of the team list: `limit` own teams (at most and by default 500), the visible partner teams on the last */
  async list(principal: Principal, ws: string, actorId: string, minPosition?: MinPosition, page: { limit?: number; cursor?: string } = {}): Promise<TeamPage & { quota: { used: number; limit: number } }> {
    const live = await this.prepare(principal, ws, actorId, minPosition);
    const visible = visiblePartnerTeams(live.ws, live.partners);
    const teams = await pageTeams(this.store, ws, { limit: page.limit ?? TEAMS_PAGE_MAX, ...(page.cursor !== undefined && { cursor: page.cursor }) }).catch(badQuery);
    // the workspace's own teams as its decision state counts them (the quota's count), current at once
    const quota = { used: live.ws.teams.teams.size, limit: this.config?.quotas.teamsPerWorkspace ?? DEFAULT_QUOTAS.teamsPerWorkspace };
    return { ...teams, items: teams.items.filter((t) => t.partner === undefined || visible.has(t.teamId)), quota };
  }

  /** The partner teams offered now, and whether this workspace chose each (rule 16). */
  async offered(principal: Principal, ws: string, actorId: string, minPosition?: MinPosition): Promise<OfferedTeamView[]> {
    const live = await this.prepare(principal, ws, actorId, minPosition);
    const offered = await listOfferedTeams(this.store, ws).catch(badQuery);
    // shared and chosen as the decision states say now (the read model may trail): a team chosen and then unshared is
    // listed, not shared, so that the choice it keeps can be seen and withdrawn (rule 16; probe 30)
    return offered.flatMap((t) => {
      const shared = sharedPartnerTeam(live.ws, live.partners, t.teamId) !== undefined;
      if (!shared && !chosenPartnerTeam(live.ws, live.partners, t.teamId)) return [];
      return [{ ...t, shared, visible: live.ws.teams.chosenPartnerTeams.has(t.teamId) }];
    });
  }

  /** The invite lookup (rule 15): an own team, or a partner team that is shared with this workspace and chosen. */
  async invitees(principal: Principal, ws: string, actorId: string, teamId: string, minPosition?: MinPosition, page?: InviteesPageAsked): Promise<TeamInvitees> {
    const live = await this.prepare(principal, ws, actorId, minPosition);
    // the decision state says who is in the team now: a revoke or deletion the read models have not applied yet
    // never shows the member (it removed them from their teams in the same append)
    // and the online and away members' last-seen time is their latest heartbeat in the team's workspace (rule 13)
    const inTeam = async (workspaceId: string, members: ReadonlySet<string>): Promise<Pick<TeamInvitees, 'items' | 'nextCursor'>> => {
      if (!page) return { items: await withLiveLastSeen(this.lastSeen, workspaceId, (await listTeamInvitees(this.store, { teamId, workspaceId })).filter((i: InviteeView) => members.has(i.userId))) };
      const { items, nextCursor } = await pageTeamInvitees(this.store, { teamId, workspaceId }, { only: members, ...page }).catch(badQuery);
      return { items: await withLiveLastSeen(this.lastSeen, workspaceId, items), ...(nextCursor !== undefined && { nextCursor }) };
    };
    const own = live.ws.teams.teams.get(teamId);
    if (own) return { teamId, name: own.name, ...(await inTeam(ws, own.members)) };
    const partner = visiblePartnerTeam(live.ws, live.partners, teamId);
    if (!partner) throw teamNotFound(teamId, partnerTeamSentence(live.ws, live.partners, teamId, 'look up'));
    const listed = await inTeam(partner.workspaceId, partner.team.members);
    const workspaceName = live.partners.find((p) => p.info.workspaceId === partner.workspaceId)?.info.name ?? null;
    return { teamId, name: partner.team.name, partner: { workspaceId: partner.workspaceId, workspaceName }, ...listed };
  }
}
