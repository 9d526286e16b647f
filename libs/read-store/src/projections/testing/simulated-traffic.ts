import { ACCESS_MODELS, PLANS, type AccessModelName, type Restrictions, activeMember, hasAddress, presenceStream } from '@rollcall/domain';
import { EventLog, HOURS_48 } from './event-log';

/** One step of simulated console activity; numbers choose among what exists (modulo), so any values are valid. */
export interface Step {
  op: number;
  a: number;
  b: number;
  c: number;
}
export const OP_COUNT = 22;

interface WsTrack {
  workspaceId: string;
  organizationId: string;
  model: AccessModelName;
  /** users that were members at some point (the deciders refuse the ones that are not active any more) */
  members: string[];
  pending: string[];
  /** teams created here (the deciders refuse the deleted ones) */
  teams: string[];
}

const accessFor = (model: AccessModelName, n: number): { roles: string[]; restrictions?: Restrictions; grants?: string[] } => {
  switch (model) {
    case 'levels': {
      const choice = n % 6;
      if (choice === 0) return { roles: ['manager'], restrictions: { data_export: true } };
      if (choice === 1) return { roles: ['manager'] };
      if (choice === 2) return { roles: ['agent'], restrictions: { contact_visibility: 'team_and_self' } };
      if (choice === 3) return { roles: ['owner'] };
      return { roles: ['agent'] };
    }
    case 'permissions': {
      const toggles = ['reporting', 'users', 'settings', 'ib_designer', 'ib_publisher', 'ib_data', 'wfb_user'];
      return { roles: ['member'], grants: toggles.filter((_, i) => (n >> i) & 1) };
    }
    case 'studio': {
      const roles = ['operator', 'content_manager', 'analyst', 'producer', 'environment_manager', 'developer'];
      const picked = roles.filter((_, i) => (n >> i) & 1);
      return { roles: picked.length > 0 ? picked : ['operator'] };
    }
  }
};

const pick = <T>(list: readonly T[], n: number): T | undefined => (list.length === 0 ? undefined : list[n % list.length]);
/** one of the `window` newest: people answer recent invitations, not the ones that expired long ago */
const pickRecent = <T>(list: readonly T[], n: number, window = 3): T | undefined =>
  list.length === 0 ? undefined : list[list.length - 1 - (n % Math.min(window, list.length))];

/**
 * Drives an EventLog with random but valid console activity over several organizations and workspaces:
 * invitations (accepted, resent, cancelled, expired), access changes, revokes, profile changes, deletions, teams
 * and their members, sharing, networked workspaces (across organizations) and their choices of partner teams.
 * Deterministic for a given sequence of steps. (Named so since session 62: it was `Activity`, the name of ADR 0036's
 * last-use feature too, apps/api/src/activity: probe 103 F18.)
 */
export class SimulatedTraffic {
  readonly log: EventLog;
  private readonly tracks: WsTrack[] = [];
  private readonly orgIds: string[] = [];
  private seq = 0;

  constructor(
    log: EventLog,
    /**
     * `closings`: now and then an organization made for it is closed (docs/adr/0035) — off for the benchmarks, whose
     * logs keep the workload they measured
     */
    private readonly options: { emailsPerOrg: number; maxWorkspaces?: number; longPauses?: boolean; closings?: boolean } = { emailsPerOrg: 12 },
  ) {
    this.log = log;
  }

  admin(organizationId: string): string {
    return `${organizationId}-admin`;
  }

  addOrganization(organizationId: string): void {
    this.log.createOrganization(organizationId, {
      userId: this.admin(organizationId),
      email: `admin@${organizationId}.test`,
      displayName: `Admin ${organizationId}`,
    });
    this.orgIds.push(organizationId);
  }

  addWorkspace(organizationId: string, workspaceId: string, model: AccessModelName, plan = PLANS[this.tracks.length % PLANS.length]): void {
    if (this.log.createWorkspace(organizationId, workspaceId, this.admin(organizationId), plan, model))
      this.tracks.push({ workspaceId, organizationId, model, members: [this.admin(organizationId)], pending: [], teams: [] });
  }

  get workspaceCount(): number {
    return this.tracks.length;
  }

  /** runs one step; returns whether it appended anything */
  step({ op, a, b, c }: Step): boolean {
    const before = this.log.position;
    const ws = pick(this.tracks, a);
    if (!ws) return false;
    const admin = this.admin(ws.organizationId);
    // mostly the org admin acts; sometimes a member does (and may be refused: nothing is appended then)
    const actor = c % 5 === 0 ? (pick(ws.members, c) ?? admin) : admin;
    const now = this.log.now;
    const base = { workspaceId: ws.workspaceId, actorId: actor, now };
    switch (op % OP_COUNT) {
      case 0:
      case 1: {
        const email = `user${b % this.options.emailsPerOrg}@${ws.organizationId}.test`;
        const invitationId = `inv-${++this.seq}`;
        const d = this.log.workspace({ type: 'InviteMember', ...base, invitationId, email, ttlSeconds: HOURS_48, ...accessFor(ws.model, c) });
        if (d.ok) ws.pending.push(invitationId);
        break;
      }
      case 2:
      case 3: {
        const invitationId = pickRecent(ws.pending, b);
        if (!invitationId) break;
        const userId = `u-${++this.seq}`;
        const d = this.log.accept(ws.workspaceId, invitationId, userId, c % 2 === 0 ? `Name ${c % 97}` : undefined);
        if (d.ok) {
          const accepted = d.events.find((e) => e.type === 'InvitationAccepted');
          if (accepted?.type === 'InvitationAccepted' && !ws.members.includes(accepted.data.userId)) ws.members.push(accepted.data.userId);
          ws.pending.splice(ws.pending.indexOf(invitationId), 1);
        }
        break;
      }
      case 4: {
        const invitationId = pickRecent(ws.pending, b);
        if (invitationId) this.log.workspace({ type: 'ResendInvitation', ...base, invitationId, ttlSeconds: HOURS_48 });
        // now and then its link copied too (a record on the mail stream, which the permission history reads)
        if (invitationId && c % 7 === 3) this.log.linkCopied(ws.workspaceId, invitationId, actor);
        break;
      }
      case 5: {
        const invitationId = pickRecent(ws.pending, b);
        if (invitationId && this.log.workspace({ type: 'CancelInvitation', ...base, invitationId }).ok)
          ws.pending.splice(ws.pending.indexOf(invitationId), 1);
        break;
      }
      case 6:
      case 7: {
        const userId = pick(ws.members, b);
        if (userId) this.log.workspace({ type: 'ChangeAccess', ...base, userId, ...accessFor(ws.model, c) });
        break;
      }
      case 8: {
        const userId = pick(ws.members, b);
        const to = c % 2 === 0 ? pick(ws.members, c) : undefined;
        if (userId) this.log.workspace({ type: 'RevokeAccess', ...base, userId, reassignContactsTo: to });
        break;
      }
      case 9: {
        const userId = pick(ws.members, b);
        if (!userId) break;
        // now and then an API key issued, or one of two revoked: no projection reads them, the log holds them all the same
        if (c % 13 === 12) {
          const keys = [...(this.log.orgs.get(ws.organizationId)?.apiKeys.keys() ?? [])];
          if (c % 26 === 25 && keys.length > 0) this.log.organization({ type: 'LabelApiKey', organizationId: ws.organizationId, actorId: admin, now, keyId: keys[0]!, label: `Key ${b % 5}` });
          else if (keys.length > 1) this.log.organization({ type: 'RevokeApiKey', organizationId: ws.organizationId, actorId: admin, now, keyId: keys[0]! });
          else this.log.organization({ type: 'IssueApiKey', organizationId: ws.organizationId, actorId: admin, now, apiKey: { keyId: `key-${b}-${c}`, secretHash: 'e'.repeat(64) } });
          break;
        }
        // now and then a member made an org admin, or no longer one (rule 5): an entry in every workspace's history
        if (c % 7 === 6 && userId !== admin) {
          const orgAdmin = this.log.orgs.get(ws.organizationId)?.users.get(userId)?.orgAdmin !== true;
          this.log.organization({ type: 'ChangeOrgAdmin', organizationId: ws.organizationId, actorId: admin, now, userId, orgAdmin });
          break;
        }
        const changes =
          c % 3 === 0
            ? { displayName: `Renamed ${c % 89}`, alias: c % 2 === 0 ? `al${c % 7}` : null }
            : c % 3 === 1
              ? { email: `moved${c % 50}-${userId}@${ws.organizationId}.test` }
              : { avatarUrl: `https://img.test/${c % 13}.png` };
        const decided = this.log.organization({ type: 'UpdateProfile', organizationId: ws.organizationId, actorId: c % 4 === 0 ? userId : admin, now, userId, changes });
        // most email changes are confirmed through their link (rule 10); some are left pending
        const requested = decided.ok ? decided.events.find((e) => e.type === 'EmailChangeRequested') : undefined;
        if (requested?.type === 'EmailChangeRequested' && c % 5 !== 0)
          this.log.organization({ type: 'ConfirmEmailChange', organizationId: ws.organizationId, userId, version: requested.data.version, now });
        // and of those left pending, some are withdrawn: the user asks for the address they have
        const current = this.log.orgs.get(ws.organizationId)?.users.get(userId)?.email;
        if (requested?.type === 'EmailChangeRequested' && c % 10 === 0 && current)
          this.log.organization({ type: 'UpdateProfile', organizationId: ws.organizationId, actorId: admin, now, userId, changes: { email: current } });
        break;
      }
      case 10: {
        const userId = pick(ws.members, b);
        if (userId && userId !== admin) this.log.deleteUser(ws.organizationId, admin, userId);
        break;
      }
      case 11: {
        // time passes (with long pauses, pending links expire); now and then a workspace is created
        if (this.options.longPauses === false) this.log.advance(b % 60);
        else this.log.advance(b % 4 === 0 ? HOURS_48 + 60 : 60 * (1 + (b % 120)));
        if (c % 7 === 0 && this.tracks.length < (this.options.maxWorkspaces ?? 64)) {
          const organizationId = pick(this.orgIds, c)!;
          this.addWorkspace(organizationId, `ws-${++this.seq}`, ACCESS_MODELS[c % ACCESS_MODELS.length]!);
        }
        // an organization made to be closed later, and the latest such one closed (never the world's first two)
        if (this.options.closings && c % 11 === 3 && this.tracks.length < (this.options.maxWorkspaces ?? 64)) {
          const organizationId = `org-x${++this.seq}`;
          this.addOrganization(organizationId);
          this.addWorkspace(organizationId, `ws-${++this.seq}`, ACCESS_MODELS[c % ACCESS_MODELS.length]!);
        }
        if (this.options.closings && c % 11 === 5 && this.orgIds.length > 2) this.closeOrganization(this.orgIds.at(-1)!);
        // now and then the user list downloaded (a record no projection reads)
        if (c % 13 === 7) this.log.exported(ws.organizationId, actor, ws.workspaceId);
        break;
      }
      case 19:
        this.presenceStep(ws, actor, { b, c });
        break;
      case 21:
        // an address erased on request (rule 12): refused while a user holds or held it, erased if only invited
        this.log.eraseAddress(ws.organizationId, actor, `user${b % this.options.emailsPerOrg}@${ws.organizationId}.test`);
        break;
      default:
        this.teamStep(op % OP_COUNT, ws, actor, { b, c });
    }
    this.log.advance(1);
    return this.log.position !== before;
  }

  /** docs/adr/0035: as the API closes one — begun, every user deleted, every address only invited erased, closed */
  private closeOrganization(organizationId: string): void {
    const system = 'system';
    const now = this.log.now;
    if (!this.log.organization({ type: 'StartClosingOrganization', organizationId, actorId: system, now, confirmName: this.log.orgs.get(organizationId)!.name }).ok) return;
    for (const [userId, user] of this.log.orgs.get(organizationId)!.users) if (!user.deleted) this.log.deleteUser(organizationId, system, userId);
    for (const { state } of this.log.workspaces.values())
      if (state.info.organizationId === organizationId)
        for (const inv of state.invitations.values()) if (inv.inviteeUserId === null && hasAddress(inv)) this.log.eraseAddress(organizationId, system, inv.email);
    this.log.organization({ type: 'FinishClosingOrganization', organizationId, actorId: system, now });
    this.orgIds.splice(this.orgIds.indexOf(organizationId), 1);
  }

  /** rule 13, op 19: a heartbeat, a lapse, a forced offline, or the offline that follows a revoke or a deletion */
  private presenceStep(ws: WsTrack, actor: string, { b, c }: { b: number; c: number }): void {
    const userId = pick(ws.members, b);
    if (!userId) return;
    const base = { workspaceId: ws.workspaceId, now: this.log.now };
    const state = this.log.presences.get(presenceStream(ws.workspaceId, userId));
    const active = activeMember({ org: this.log.orgs.get(ws.organizationId)!, ws: this.log.workspaces.get(ws.workspaceId)!.state }, userId);
    if (!active) this.log.presence({ type: 'MemberLeft', ...base, userId, reason: c % 2 === 0 ? 'revoked' : 'deleted' });
    else if (c % 4 === 0) this.log.presence({ type: 'TimeOut', ...base, userId, lastSeenAt: state?.lastSeenAt ?? base.now, timeoutSeconds: 60 });
    else if (c % 4 === 1) this.log.presence({ type: 'SetOffline', ...base, actorId: actor, userId });
    // a user someone else set offline stays offline until a heartbeat resumes (docs/adr/0032): half of them do
    else this.log.presence({ type: 'Heartbeat', ...base, actorId: userId, status: c % 4 === 2 ? 'online' : 'away', resume: c % 8 < 4 });
  }

  /** rules 14-16: ops 12-18 (the ops before them keep their numbers: benchmarks pick them by number) */
  private teamStep(op: number, ws: WsTrack, actor: string, { b, c }: { b: number; c: number }): void {
    const base = { workspaceId: ws.workspaceId, actorId: actor, now: this.log.now };
    const teamId = pick(ws.teams, b);
    switch (op) {
      case 12: {
        // few names, so some are taken (TEAM_NAME_TAKEN appends nothing)
        const id = `team-${++this.seq}`;
        if (this.log.teams({ type: 'CreateTeam', ...base, teamId: id, name: `Team ${c % 9}${c % 2 === 0 ? '' : ' '}` }).ok) ws.teams.push(id);
        break;
      }
      case 13:
      case 14: {
        const userId = pick(ws.members, c);
        if (teamId && userId) this.log.teams({ type: 'AddTeamMember', ...base, teamId, userId });
        break;
      }
      case 15: {
        if (!teamId) break;
        if (c % 4 === 0) this.log.teams({ type: 'DeleteTeam', ...base, teamId });
        else if (c % 4 === 1) this.log.teams({ type: 'RenameTeam', ...base, teamId, name: `TEAM ${c % 9}` });
        else {
          const userId = pick(ws.members, c);
          if (userId) this.log.teams({ type: 'RemoveTeamMember', ...base, teamId, userId });
        }
        break;
      }
      case 16: {
        if (!teamId) break;
        // with one partner, or with every partner linked now (refused where there is none: nothing appended)
        const partners = [...this.log.workspaces.get(ws.workspaceId)!.state.teams.partners.keys()];
        const partnerWorkspaceId = c % 2 === 0 ? pick(partners, b) : undefined;
        this.log.teams({ type: 'SetTeamSharing', ...base, teamId, shared: c % 3 !== 0, ...(partnerWorkspaceId !== undefined && { partnerWorkspaceId }) });
        break;
      }
      case 17: {
        // the system links two workspaces (of any organizations), or, now and then, unlinks them
        const partner = pick(this.tracks, b);
        if (!partner || partner === ws) break;
        const linked = this.log.workspaces.get(ws.workspaceId)!.state.teams.partners.has(partner.workspaceId);
        if (!linked) this.log.network('NetworkWorkspaces', ws.workspaceId, partner.workspaceId);
        else if (c % 3 === 0) this.log.network('UnnetworkWorkspaces', ws.workspaceId, partner.workspaceId);
        break;
      }
      case 20:
        // the system changes the plan (a downgrade is refused while a member or an invitation is masked)
        this.log.plan(ws.workspaceId, (['standard', 'advanced', 'enterprise'] as const)[c % 3]!);
        break;
      case 18: {
        // a team of a partner (shared or not: the decider refuses what is not offered)
        const state = this.log.workspaces.get(ws.workspaceId)!.state;
        const offered = [...state.teams.partners.keys()].flatMap((id) => this.tracks.find((t) => t.workspaceId === id)?.teams ?? []);
        const partnerTeam = pick(offered, b);
        if (partnerTeam) this.log.teams({ type: 'SetPartnerTeamVisibility', ...base, teamId: partnerTeam, visible: c % 4 !== 0 });
        break;
      }
    }
  }
}

/** mulberry32: a small deterministic PRNG (uniform 32-bit integers) */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** a deterministic random step: `a` picks among `workspaces`, `b` and `c` among their contents */
export const randomStep = (next: () => number, workspaces: number): Step => ({
  op: next() % OP_COUNT,
  a: next() % workspaces,
  b: next() % 1_000_003,
  c: next() % 1_000_003,
});

/**
 * The property tests' world before their random steps: two organizations, org-a with a `levels` workspace on
 * `advanced` and a `studio` one, org-b with a `permissions` one (addresses from 8 per organization).
 */
export function smallWorld(): SimulatedTraffic {
  const activity = new SimulatedTraffic(new EventLog(), { emailsPerOrg: 8, closings: true });
  activity.addOrganization('org-a');
  activity.addOrganization('org-b');
  activity.addWorkspace('org-a', 'ws-a1', 'levels', 'advanced');
  activity.addWorkspace('org-a', 'ws-a2', 'studio');
  activity.addWorkspace('org-b', 'ws-b1', 'permissions');
  return activity;
}
