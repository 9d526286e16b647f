import { Inject, Optional } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { type NetworkCommand, type TeamCommand, type TeamEvent, type TeamsContext, decideNetwork, decideTeams } from '@rollcall/domain';
import { type CommandContext, createdId } from '../shared/command-path/command-context';
import { DomainException, StreamHandler, type Target, type Written } from '../shared/command-path/stream-handler';
import { workspaceStream } from '../shared/command-path/stream-states';
import { type WorkspaceRef, loadWorkspace, workspace } from '../shared/command-path/targets';
import { loadPartners, partnerTeamSentence, workspacePair, workspaceWithPartners } from './team-targets';
import { APP_CONFIG } from '../shared/tokens';
import type { Config } from '../config';

/** What a console asks of a workspace's teams (the command without workspace, actor and time, which the request gives). */
export type TeamAction =
  | { type: 'CreateTeam'; name: string }
  | { type: 'RenameTeam'; teamId: string; name: string }
  | { type: 'DeleteTeam'; teamId: string }
  | { type: 'AddTeamMember'; teamId: string; userId: string }
  | { type: 'RemoveTeamMember'; teamId: string; userId: string }
  | { type: 'SetTeamSharing'; teamId: string; shared: boolean; partnerWorkspaceId?: string }
  | { type: 'SetPartnerTeamVisibility'; teamId: string; visible: boolean };

export class TeamCommandRequest {
  constructor(
    readonly ref: WorkspaceRef,
    readonly ctx: CommandContext,
    readonly action: TeamAction,
  ) {}
}

export interface TeamAnswer {
  teamId: string;
  /** whether anything changed (a PUT or DELETE that finds things as asked changes nothing) */
  changed: boolean;
  position: string;
  name?: string;
  userId?: string;
  shared?: boolean;
  /** sharing: the partners the change reached (none when nothing changed) */
  partnerWorkspaceIds?: string[];
  visible?: boolean;
}

const eventOf = <T extends TeamEvent['type']>(events: TeamEvent[], type: T) => events.find((e): e is Extract<TeamEvent, { type: T }> => e.type === type);

/** The answer of a team command, from its events (decided now, or read back for a retry whose answer was lost). */
function answerOf(action: TeamAction, teamId: string, done: Written<unknown, TeamEvent>): TeamAnswer {
  const base = { teamId, changed: done.events.length > 0, position: done.position };
  switch (action.type) {
    case 'CreateTeam': {
      // a replay's team is its events' (the id derived from a key as an earlier version derived it: probe 40 F1)
      const created = eventOf(done.events, 'TeamCreated');
      return { ...base, teamId: created?.data.teamId ?? teamId, name: created?.data.name ?? action.name.trim() };
    }
    case 'RenameTeam': {
      const renamed = eventOf(done.events, 'TeamRenamed');
      return { ...base, name: renamed?.data.name ?? action.name.trim() };
    }
    case 'DeleteTeam':
      return base;
    case 'AddTeamMember':
    case 'RemoveTeamMember':
      return { ...base, userId: action.userId };
    case 'SetTeamSharing': {
      const change = eventOf(done.events, 'TeamShared') ?? eventOf(done.events, 'TeamUnshared');
      return { ...base, shared: action.shared, partnerWorkspaceIds: change?.data.partnerWorkspaceIds ?? [] };
    }
    case 'SetPartnerTeamVisibility':
      return { ...base, visible: action.visible };
  }
}

/**
 * Rules 14 and 16 (docs/rules.md#teams): every team command goes through the workspace stream, the boundary it
 * shares with revokes and deletions (docs/adr/0009). Choosing a partner team also reads the partners' states.
 */
@CommandHandler(TeamCommandRequest)
export class TeamCommandHandler implements ICommandHandler<TeamCommandRequest, TeamAnswer> {
  constructor(
    @Inject(StreamHandler) private readonly streams: StreamHandler,
    /** the quotas (absent in tests that build the handler alone: the domain's defaults) */
    @Optional() @Inject(APP_CONFIG) private readonly config?: Pick<Config, 'quotas'>,
  ) {}

  async execute({ ref, ctx, action }: TeamCommandRequest): Promise<TeamAnswer> {
    const teamId = action.type === 'CreateTeam' ? createdId(ctx, 'team') : action.teamId;
    // a member added or removed: about them, a keyed retry after their deletion is 410 also when nothing changed (probe 120 F1)
    if (action.type === 'AddTeamMember' || action.type === 'RemoveTeamMember') ctx.aboutUsers = [action.userId];
    // ctx.now is read when deciding: the command is dated no earlier than the stream's last change (StreamHandler)
    const quota = action.type === 'CreateTeam' && { maxTeams: this.config?.quotas.teamsPerWorkspace };
    const command: TeamCommand = { ...action, ...quota, teamId, workspaceId: ref.workspaceId, actorId: ctx.actorId, now: ctx.now };
    const decide = (c: TeamsContext) => decideTeams(command, c);
    // an org admin's authority rests on the organization's stream: checked too (targets.ts `workspace`)
    const actedBy = { actorId: ctx.actorId, decide };
    const target: Target<TeamsContext> =
      action.type === 'SetPartnerTeamVisibility' ? workspaceWithPartners(ref, action.teamId, actedBy, this.streams.states) : workspace(ref, actedBy, this.streams.states);
    const done = await this.streams.handle(target, ctx, decide, { checkLoaded: true }).catch((error: unknown) => this.partnerTeamRefusal(ref, action, error));
    return answerOf(action, teamId, done);
  }

  /**
   * A command on a partner's team (rename, members, sharing) is TEAM_NOT_FOUND here, as the domain decides on this
   * workspace's own teams; when a partner shares that team with this workspace the sentence says whose it is (probe
   * 120 F2: "does not exist in this workspace", of a team the console showed in the list). Read on the refusal only.
   */
  private async partnerTeamRefusal(ref: WorkspaceRef, action: TeamAction, error: unknown): Promise<never> {
    if (!(error instanceof DomainException) || error.error.code !== 'TEAM_NOT_FOUND' || action.type === 'CreateTeam' || action.type === 'SetPartnerTeamVisibility') throw error;
    const { context } = await loadWorkspace(this.streams.states, ref);
    const sentence = partnerTeamSentence(context.ws, await loadPartners(this.streams.states, context.ws), action.teamId, 'manage');
    throw sentence ? new DomainException({ ...error.error, message: sentence }) : error;
  }
}

export class NetworkCommandRequest {
  constructor(
    readonly type: NetworkCommand['type'],
    readonly ref: WorkspaceRef,
    readonly partner: WorkspaceRef,
    readonly ctx: CommandContext,
  ) {}
}

export interface NetworkAnswer {
  workspaceId: string;
  partnerWorkspaceId: string;
  networked: boolean;
  position: string;
}

/**
 * Rule 16: the system links (or unlinks) two workspaces, of any organizations. Both streams get their event in one
 * atomic append, each at its expected revision: a racing command on either workspace is decided again.
 */
@CommandHandler(NetworkCommandRequest)
export class NetworkCommandHandler implements ICommandHandler<NetworkCommandRequest, NetworkAnswer> {
  constructor(@Inject(StreamHandler) private readonly streams: StreamHandler) {}

  async execute({ type, ref, partner, ctx }: NetworkCommandRequest): Promise<NetworkAnswer> {
    const command = (): NetworkCommand => ({ type, actorId: ctx.actorId, now: ctx.now, workspaceId: ref.workspaceId, partnerWorkspaceId: partner.workspaceId });
    const done = await this.streams.handle(workspacePair(ref, partner), ctx, (c) => decideNetwork(command(), c), {
      route: (e) => workspaceStream(e.data.workspaceId),
    });
    return { workspaceId: ref.workspaceId, partnerWorkspaceId: partner.workspaceId, networked: type === 'NetworkWorkspaces', position: done.position };
  }
}
