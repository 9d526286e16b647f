import { Inject, Optional } from '@nestjs/common';
import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import {
  type AccessExplanation,
  type OrganizationState,
  type WorkspaceInfo,
  type WorkspaceState,
  accessModel,
  activeMember,
  domainError,
  effectivePermissions,
  evolveOrganization,
  evolveWorkspace,
  explainPermissions,
  initialOrganizationState,
  initialWorkspaceState,
  isOrgAdmin,
  teamsOf,
  validationFailed,
  visiblePartnerTeams,
} from '@rollcall/domain';
import type { EventStore } from '@rollcall/event-store';
import { EVENT_STORE } from '../shared/tokens';
import { DomainException } from '../shared/command-path/stream-handler';
import { organizationStream, workspaceStream } from '../shared/command-path/stream-states';
import { AsOfQuery } from './dtos';
import { ReplayCheckpoints } from './replay-checkpoints';
import { YIELD_EVERY, aTurnOfTheLoop, foldStream } from './stream-fold';
import { organizationRows, workspaceRows } from '../shared/command-path/state-rows';
import { AccessAsOf, ReplayBasis } from './resources';

/** `?asOf=T&explain=true`: the access at T, and with `explain`, why (docs/rules.md#rule-17). */
export class AccessAsOfParams extends AsOfQuery {
  @ApiPropertyOptional({ enum: ['true', 'false'], description: 'also say which role or grant gave each permission, and which restriction or plan removed the others' })
  @IsOptional()
  @IsIn(['true', 'false'])
  explain?: 'true' | 'false';
}

export class AccessAsOfQuery {
  constructor(
    readonly organizationId: string,
    readonly workspaceId: string,
    readonly userId: string,
    /** the instant asked about; undefined: now (asOfInstant) */
    readonly asOf: Date | undefined,
    readonly explain = false,
  ) {}
}

export class RosterAsOfQuery {
  constructor(
    readonly organizationId: string,
    readonly workspaceId: string,
    /** the instant asked about; undefined: now (asOfInstant) */
    readonly asOf: Date | undefined,
  ) {}
}

const SOURCES = { type: 'array' as const, items: { type: 'string' as const }, description: '`role:<name>`, `grant:<name>` or `restriction:<name>`' };
const GRANTED = { type: 'object' as const, properties: { permission: { type: 'string' as const }, from: SOURCES }, required: ['permission', 'from'] };
const MISSING = {
  type: 'object' as const,
  properties: {
    permission: { type: 'string' as const },
    reason: { type: 'string' as const, enum: ['removed', 'not_given'] },
    by: { ...SOURCES, description: '`removed`: the restrictions that removed it' },
    from: { ...SOURCES, description: '`removed`: what had given it' },
    givenBy: { ...SOURCES, description: '`not_given`: the roles or grants of the model that would give it' },
  },
  required: ['permission', 'reason'],
};
const IGNORED = {
  type: 'object' as const,
  properties: { restriction: { type: 'string' as const }, reason: { type: 'string' as const, enum: ['role', 'plan'] }, detail: { type: 'string' as const } },
  required: ['restriction', 'reason', 'detail'],
};

class Explained {
  @ApiProperty({
    type: 'array',
    items: GRANTED,
    description: 'each effective permission with the roles (`role:<name>`) or grants (`grant:<name>`) that gave it',
    example: [{ permission: 'messages', from: ['role:agent'] }],
  })
  granted!: AccessExplanation['granted'];
  @ApiProperty({
    type: 'array',
    items: MISSING,
    description: "each permission of the workspace's access model the user lacked: `removed` by restrictions (`restriction:<name>`), or `not_given` by any role or grant they held",
    example: [{ permission: 'shortcuts', reason: 'removed', by: ['restriction:workflows'], from: ['role:agent'] }],
  })
  missing!: AccessExplanation['missing'];
  @ApiProperty({ type: 'array', items: IGNORED, description: 'restrictions held without effect: not valid for the roles held, or not offered on the plan', example: [] })
  ignored!: AccessExplanation['ignored'];
  @ApiProperty({
    nullable: true,
    description: 'the data scopes and the restriction that set each; null for a user who held no access then (revoked, deleted, none)',
    example: { contact_visibility: { value: 'all', by: null }, mask_contact_info: { value: false, by: null } },
  })
  scopes!: AccessExplanation['scopes'] | null;
}

/** The access at a time T; with `explain=true`, the reasons too. */
export class ExplainedAccessAsOf extends AccessAsOf {
  @ApiPropertyOptional({ type: Explained, description: 'with `explain=true` only' })
  explanation?: Explained;
}

/** A partner's team visible in the workspace at T (rule 16), with its members then: who from outside could be asked into its chats. */
export class PartnerTeamAsOf {
  @ApiProperty({ description: "the partner workspace that owns the team", example: '3d1f7a90-5b2c-5e4d-8a6b-1c2d3e4f5a6b' })
  workspaceId!: string;
  @ApiProperty({ description: "the partner workspace's organization", example: '9a8b7c6d-5e4f-5a3b-8c2d-1e0f9a8b7c6d' })
  organizationId!: string;
  @ApiProperty({ example: '5f0c7a3e-2b1d-5c4e-8f9a-0b1c2d3e4f5a' })
  teamId!: string;
  @ApiProperty({ description: 'its name at that time', example: 'Partner tier 2' })
  name!: string;
  @ApiProperty({ type: [String], description: "the team's members at that time, by user id (active members of the partner workspace: rule 14); nothing else of the other organization", example: [] })
  members!: string[];
}

/** Every member's access at a time T, replayed. */
export class RosterAsOf {
  @ApiProperty({ example: '7c9e6679-7425-5de3-944b-e07fc1f90ae7' })
  workspaceId!: string;
  @ApiProperty({ format: 'date-time', example: '2026-03-01T12:00:00.000Z' })
  asOf!: string;
  @ApiProperty({ enum: ['standard', 'advanced', 'enterprise'], description: "the workspace's plan at T (it decides which restrictions were accepted: probe 39c F8)" })
  plan!: string;
  @ApiProperty({ type: [AccessAsOf], description: 'every user who had been a member by T, by user id; non-active ones hold no access' })
  members!: AccessAsOf[];
  @ApiProperty({ type: [String], description: "the organization's admins at T: an owner's authority in every workspace (rule 5)", example: [] })
  orgAdmins!: string[];
  @ApiProperty({
    type: [PartnerTeamAsOf],
    description: "the partner teams visible here at T (rule 16: linked, shared by their workspace, chosen by this one), each with its members then, by partner workspace and name; replayed from both workspaces' streams",
  })
  partnerTeams!: PartnerTeamAsOf[];
  @ApiProperty({ type: ReplayBasis, description: "the events folded of this workspace's and its organization's streams (the partners' streams, replayed to the same T for `partnerTeams`, are not counted: their activity is theirs)" })
  basedOn!: ReplayBasis;
}

interface Replayed {
  org: OrganizationState;
  ws: WorkspaceState;
  info: WorkspaceInfo;
  /** the instant answered for: the one asked about, or now (this server's, or the latest change's when later) */
  asOf: Date;
  basedOn: { eventsReplayed: number; lastPosition: string | null };
  /** hands the states folded to the checkpoints, once the answer no longer reads them */
  release(): void;
}

/** how far past this server's clock an `asOf` may be and still mean "now": a client's clock that runs ahead */
const AS_OF_AHEAD_MS = 60_000;

/**
 * The instant an `asOf` asks about: undefined (now) when it is absent or at most AS_OF_AHEAD_MS ahead. A later one is
 * refused: the access at a time not reached yet is not known, and an answer labelled with it would change as that
 * time came (session 22's probe: `asOf=9999-12-31` was answered with today's access). Now is every change the log
 * holds, not those dated up to this server's clock: another replica's clock may run ahead, and rule 17 dates a change
 * no earlier than the one before it, so the log may hold changes dated after this clock's now (probe 29: a replica's
 * "access now" left out its own acknowledged change for as long as the other's clock was ahead, and a clock behind
 * the log answered 404 for a workspace it had just written to).
 */
export function asOfInstant(asOf: string | undefined, now = Date.now()): Date | undefined {
  if (asOf === undefined) return undefined;
  const at = new Date(asOf).getTime();
  // not a date (the DTO refuses it first): the replay says so, not "in the future"
  if (Number.isNaN(at)) return new Date(at);
  // later than AS_OF_AHEAD_MS ahead: the replay refuses it unless the log holds changes dated at or after it
  // (aheadOfLog), as it does when another replica's clock runs ahead (probe 89 F11: the time of an entry of the
  // history, or the label of "now", was refused as "in the future" for as long as this clock was behind the log)
  if (at >= now && at <= now + AS_OF_AHEAD_MS) return undefined;
  // a day past this clock is no replica's skew: refused before any replay (asOf=9999-12-31 folded nothing)
  if (at > now + AS_OF_SKEW_MS) refuseFuture(now);
  return new Date(at);
}

/** how far ahead of this server's clock a log may be dated (another replica's clock) for an `asOf` to be looked up there */
const AS_OF_SKEW_MS = 24 * 3_600_000;

/** an `asOf` ahead of this server's clock (past AS_OF_AHEAD_MS) and of every change the streams read hold: not reached yet */
const aheadOfLog = (asOf: Date | undefined, latest: { at: number }, now = Date.now()): boolean =>
  asOf !== undefined && asOf.getTime() > now + AS_OF_AHEAD_MS && asOf.getTime() > latest.at;

function refuseFuture(now: number): never {
  throw new DomainException(
    validationFailed([{ field: 'asOf', message: `must not be in the future (it is ${new Date(now).toISOString()} here): leave it out to ask about now` }]),
  );
}

const once = (f: () => void) => {
  let done = false;
  return () => {
    if (!done) f();
    done = true;
  };
};

/**
 * The organization's and the workspace's streams folded up to T (the changes that had happened at T, as the history
 * dates them) through the deciders' own evolve: the point-in-time answers are computed, never read from a stored
 * answer (rule 17). Each stream from a state an earlier replay reached when one fits (stream-fold.ts).
 */
async function replay(store: EventStore, checkpoints: ReplayCheckpoints, organizationId: string, workspaceId: string, asOf: Date | undefined): Promise<Replayed> {
  if (asOf !== undefined && (!(asOf instanceof Date) || Number.isNaN(asOf.getTime()))) throw new DomainException(validationFailed([{ field: 'asOf', message: 'must be a valid date' }]));
  // asked about now: the answer is labelled with this server's now, or the latest change's time when that is later
  const latest = { at: Date.now() };
  const orgStream = organizationStream(organizationId);
  const org = await foldStream(store, checkpoints, orgStream, initialOrganizationState, evolveOrganization, asOf, latest);
  const keepOrg = () => checkpoints.keep(orgStream, { ...org, rows: organizationRows(org.state) });
  const info = org.state.workspaces.get(workspaceId);
  if (!info) {
    keepOrg();
    throw new DomainException(domainError('WORKSPACE_NOT_FOUND', `Workspace ${workspaceId} did not exist at ${(asOf ?? new Date(latest.at)).toISOString()}.`));
  }
  const wsStream = workspaceStream(workspaceId);
  const ws = await foldStream(store, checkpoints, wsStream, () => initialWorkspaceState(info), evolveWorkspace, asOf, latest).catch((error: unknown) => {
    keepOrg();
    throw error;
  });
  const last = [org.lastPosition, ws.lastPosition].reduce((a, b) => (a === null || (b !== null && b > a) ? b : a), null);
  const keep = once(() => {
    keepOrg();
    checkpoints.keep(wsStream, { ...ws, rows: workspaceRows(ws.state) });
  });
  if (aheadOfLog(asOf, latest)) {
    keep();
    refuseFuture(Date.now());
  }
  return {
    org: org.state,
    ws: ws.state,
    info,
    asOf: asOf ?? new Date(latest.at),
    basedOn: { eventsReplayed: org.events + ws.events, lastPosition: last === null ? null : last.toString() },
    // once only: a state kept may be taken and folded on by the next replay
    release: keep,
  };
}

function accessOf({ org, ws, info, asOf, basedOn }: Replayed, userId: string, explain: boolean): ExplainedAccessAsOf {
  const member = ws.members.get(userId);
  const active = activeMember({ org, ws }, userId);
  const status = active ? 'active' : org.users.get(userId)?.deleted && member ? 'deleted' : member ? 'revoked' : 'none';
  const access = active?.access ?? { roles: [], restrictions: {}, grants: [] };
  const model = accessModel(info.accessModel);
  // the plan at that time (a workspace's plan may change: WorkspacePlanChanged, folded into ws)
  const eff = effectivePermissions(access, model, ws.info.plan);
  return {
    userId,
    workspaceId: info.workspaceId,
    asOf: asOf.toISOString(),
    status,
    orgAdmin: isOrgAdmin(org, userId),
    roles: access.roles,
    restrictions: access.restrictions,
    grants: access.grants,
    permissions: eff.permissions,
    // a user who held no access then saw no contact at all: not "every contact, unmasked" (probe 80 F12)
    scopes: active ? eff.scopes : null,
    teams: teamsOf(ws.teams, userId).map((t) => ({ teamId: t.teamId, name: t.name })),
    basedOn,
    // (its scopes too: null for a user who held no access then, as the answer's: probe 81 F2)
    ...(explain && { explanation: { ...explainPermissions(access, model, ws.info.plan), ...(!active && { scopes: null }) } }),
  };
}

/** "What access did user X have in workspace W at time T?" (and, asked to, why) */
@QueryHandler(AccessAsOfQuery)
export class AccessAsOfHandler implements IQueryHandler<AccessAsOfQuery, ExplainedAccessAsOf> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Optional() private readonly checkpoints: ReplayCheckpoints = ReplayCheckpoints.none(),
  ) {}

  async execute(q: AccessAsOfQuery): Promise<ExplainedAccessAsOf> {
    const replayed = await replay(this.store, this.checkpoints, q.organizationId, q.workspaceId, q.asOf);
    try {
      return accessOf(replayed, q.userId, q.explain);
    } finally {
      replayed.release();
    }
  }
}

/**
 * The partner teams visible in the replayed workspace at its T, with their members then (probe 33 O9: an auditor asked
 * who from outside could be routed its chats at T; no history entry of this workspace records a partner's changes).
 * Each partner whose team the workspace had chosen is replayed to the same T, and visibility decided as the commands
 * decide it (visiblePartnerTeams). Its events are not added to the basis (probe 52 F2).
 */
async function partnerTeamsAt(store: EventStore, checkpoints: ReplayCheckpoints, replayed: Replayed, asOf: Date | undefined): Promise<PartnerTeamAsOf[]> {
  const { ws } = replayed;
  const owners = new Set(ws.teams.chosenPartnerTeams.values());
  const partners = [...ws.teams.partners.values()].filter((p) => owners.has(p.workspaceId));
  if (partners.length === 0) return [];
  // now (asOf undefined) is every change the partners' streams hold, as for this workspace (rule 17)
  const partnerStates = await Promise.all(partners.map((p) => replay(store, checkpoints, p.organizationId, p.workspaceId, asOf)));
  // the partners' events are not counted in `basedOn`: their number and latest position, readable at any T, told this
  // workspace how busy the partner's organization was, none of which it shared (probe 52 F2)
  const organizationOf = new Map(partners.map((p) => [p.workspaceId, p.organizationId]));
  const visible = visiblePartnerTeams(ws, partnerStates.map((p) => p.ws));
  for (const partner of partnerStates) partner.release();
  return [...visible.values()]
    .map(({ workspaceId, team }) => ({ workspaceId, organizationId: organizationOf.get(workspaceId)!, teamId: team.teamId, name: team.name, members: [...team.members].sort() }))
    .sort((a, b) => a.workspaceId.localeCompare(b.workspaceId) || a.name.localeCompare(b.name) || a.teamId.localeCompare(b.teamId));
}

/**
 * The roster as replayed, its members to be formatted a thousand at a time: a 100,000-member roster is ~45 MB of
 * JSON, which one `JSON.stringify` built in one piece, holding the event loop and the whole text (probe 42 F1).
 * roster-json.ts formats it in parts (the API sends those as a stream), or whole.
 */
export interface ReplayedRoster extends Omit<RosterAsOf, 'members'> {
  /** every user who had been a member by T, by user id, a thousand at a time, a turn of the event loop between */
  members(): AsyncIterable<ExplainedAccessAsOf[]>;
}

/** "Who had which access in workspace W at time T?" — one replay, every member; and the partner teams seen then. */
@QueryHandler(RosterAsOfQuery)
export class RosterAsOfHandler implements IQueryHandler<RosterAsOfQuery, ReplayedRoster> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Optional() private readonly checkpoints: ReplayCheckpoints = ReplayCheckpoints.none(),
  ) {}

  async execute(q: RosterAsOfQuery): Promise<ReplayedRoster> {
    const replayed = await replay(this.store, this.checkpoints, q.organizationId, q.workspaceId, q.asOf);
    const userIds = [...replayed.ws.members.keys()].sort();
    let partnerTeams: PartnerTeamAsOf[];
    try {
      partnerTeams = await partnerTeamsAt(this.store, this.checkpoints, replayed, q.asOf);
    } catch (error) {
      replayed.release();
      throw error;
    }
    const orgAdmins = [...replayed.org.users.keys()].filter((userId) => isOrgAdmin(replayed.org, userId)).sort();
    return {
      workspaceId: q.workspaceId,
      asOf: replayed.asOf.toISOString(),
      plan: replayed.ws.info.plan,
      // the states are read until the last member is formatted; a roster whose members are never read keeps none
      async *members() {
        try {
          for (let i = 0; i < userIds.length; i += YIELD_EVERY) {
            if (i > 0) await aTurnOfTheLoop();
            yield userIds.slice(i, i + YIELD_EVERY).map((userId) => accessOf(replayed, userId, false));
          }
        } finally {
          replayed.release();
        }
      },
      orgAdmins,
      partnerTeams,
      basedOn: replayed.basedOn,
    };
  }
}
