import { subjectId } from './shredding';
import {
  type DataExported,
  type InvitationLinkCopied,
  invitationLink,
  mailStream,
  addressFormsErased,
  addressesSealedUnder,
  addressSubjectsErased,
  decideEraseAddress,
  deletionSubjects,
  erasedInvitationSubjects,
  type AccessModelName,
  type Decision,
  type DomainEvent,
  type OrganizationCommand,
  type OrganizationState,
  type Plan,
  type PresenceChanged,
  type PresenceCommand,
  type TeamEvent,
  type PresenceState,
  type TeamCommand,
  type WorkspaceCommand,
  type WorkspaceEvent,
  type WorkspaceState,
  SYSTEM_ACTOR,
  activeMember,
  addSeconds,
  addressesErasedWith,
  decideDeleteUser,
  decideNetwork,
  decideOrganization,
  decidePlan,
  decidePresence,
  decideTeams,
  decideWorkspace,
  evolveOrganization,
  evolvePresence,
  evolveWorkspace,
  initialOrganizationState,
  initialPresenceState,
  presenceStream,
  initialWorkspaceState,
  toStored,
  withMembershipsEnded,
} from '@rollcall/domain';
import type { NewEvent, RecordedEvent } from '@rollcall/event-store';

export const LOG_T0 = '2026-03-01T09:00:00.000Z';
export const HOURS_48 = 48 * 3600;

/** One append of one decision: what the command side would hand to `EventStore.append`. */
export interface LoggedAppend {
  stream: string;
  events: NewEvent[];
}

/**
 * A global event log written by the real deciders, the way the API writes it: each command is decided on its
 * stream's state, its events are appended (with metadata) and folded. `events` are the recorded events with
 * positions 1..n (the embedded store's positions when `appends` are replayed into an empty one, in order).
 * Refused commands append nothing, so every sequence of calls yields a valid log.
 */
export class EventLog {
  readonly events: RecordedEvent[] = [];
  readonly appends: LoggedAppend[] = [];
  readonly orgs = new Map<string, OrganizationState>();
  readonly workspaces = new Map<string, { organizationId: string; state: WorkspaceState }>();
  now = LOG_T0;
  private readonly revisions = new Map<string, bigint>();
  /** each presence stream's state (docs/rules.md#rule-13) */
  readonly presences = new Map<string, PresenceState>();
  private commands = 0;

  constructor(private readonly keepEvents = true) {}

  advance(seconds: number): this {
    this.now = addSeconds(this.now, seconds);
    return this;
  }

  createOrganization(organizationId: string, admin: { userId: string; email: string; displayName: string }): boolean {
    return this.organization({
      type: 'CreateOrganization',
      organizationId,
      actorId: SYSTEM_ACTOR,
      now: this.now,
      name: `Org ${organizationId}`,
      admin,
      apiKey: { keyId: `key-${organizationId}`, secretHash: '0'.repeat(64) },
    }).ok;
  }

  createWorkspace(organizationId: string, workspaceId: string, actorId: string, plan?: Plan, model?: AccessModelName): boolean {
    return this.organization({
      type: 'CreateWorkspace',
      organizationId,
      actorId,
      now: this.now,
      workspaceId,
      name: `Workspace ${workspaceId}`,
      plan,
      accessModel: model,
    }).ok;
  }

  organization(command: OrganizationCommand): Decision<DomainEvent> {
    const org = this.org(command.organizationId);
    const decision = decideOrganization(command, org);
    if (decision.ok) {
      for (const e of decision.events) {
        evolveOrganization(org, e);
        if (e.type === 'WorkspaceCreated')
          this.workspaces.set(e.data.workspaceId, {
            organizationId: e.data.organizationId,
            state: initialWorkspaceState(org.workspaces.get(e.data.workspaceId)!),
          });
      }
      this.record(`organization-${command.organizationId}`, decision.events, 'actorId' in command ? command.actorId : command.userId);
    }
    return decision;
  }

  workspace(command: WorkspaceCommand): Decision<DomainEvent> {
    const ws = this.workspaces.get(command.workspaceId);
    if (!ws) throw new Error(`unknown workspace ${command.workspaceId}`);
    const context = { org: this.org(ws.organizationId), ws: ws.state };
    // a revoke writes MembershipEnded on the member's presence stream too, in the same append (docs/rules.md#presence-details)
    const decision = withMembershipsEnded(decideWorkspace(command, context), (_, userId) => activeMember(context, userId) !== undefined);
    if (decision.ok) {
      const own = decision.events.filter((e) => e.type !== 'MembershipEnded');
      for (const e of own) evolveWorkspace(ws.state, e as WorkspaceEvent);
      const actorId = 'actorId' in command ? command.actorId : command.newUserId;
      // one command, one append: its events share their metadata, as the API's do
      const n = ++this.commands;
      this.recordMembershipsEnded(decision.events, actorId, n);
      this.record(`workspace-${command.workspaceId}`, own, actorId, {}, n);
    }
    return decision;
  }

  /** A team command (rules 14-16), decided with the states of the workspace's network partners, as the API does. */
  teams(command: TeamCommand): Decision<DomainEvent> {
    const ws = this.workspaces.get(command.workspaceId);
    if (!ws) throw new Error(`unknown workspace ${command.workspaceId}`);
    const partners = [...ws.state.teams.partners.keys()].map((id) => this.workspaces.get(id)!.state);
    const decision = decideTeams(command, { org: this.org(ws.organizationId), ws: ws.state, partners });
    if (decision.ok) {
      for (const e of decision.events) evolveWorkspace(ws.state, e);
      this.record(`workspace-${command.workspaceId}`, decision.events, command.actorId);
    }
    return decision;
  }

  /** Team events appended as an earlier version wrote them (no decider asked), folded into the workspace's state. */
  givenTeamEvents(workspaceId: string, events: TeamEvent[], actorId: string): void {
    const ws = this.workspaces.get(workspaceId)!;
    for (const e of events) evolveWorkspace(ws.state, e);
    this.record(`workspace-${workspaceId}`, events, actorId);
  }

  /** Links (or unlinks) two workspaces as the system does (rule 16): one event in each workspace's stream. */
  network(type: 'NetworkWorkspaces' | 'UnnetworkWorkspaces', workspaceId: string, partnerWorkspaceId: string): Decision<DomainEvent> {
    const [a, b] = [this.workspaces.get(workspaceId)!, this.workspaces.get(partnerWorkspaceId)!];
    const decision = decideNetwork(
      { type, actorId: SYSTEM_ACTOR, now: this.now, workspaceId, partnerWorkspaceId },
      { ws: { org: this.org(a.organizationId), ws: a.state }, partner: { org: this.org(b.organizationId), ws: b.state } },
    );
    if (decision.ok) {
      // both workspaces' events in one append, under one metadata
      const n = ++this.commands;
      for (const e of decision.events) {
        evolveWorkspace(this.workspaces.get(e.data.workspaceId)!.state, e);
        this.record(`workspace-${e.data.workspaceId}`, [e], SYSTEM_ACTOR, {}, n);
      }
    }
    return decision;
  }

  /** The system changes a workspace's plan (refused while a member carries a restriction the new plan does not accept). */
  plan(workspaceId: string, plan: Plan): Decision<DomainEvent> {
    const ws = this.workspaces.get(workspaceId)!;
    const decision = decidePlan({ type: 'ChangePlan', actorId: SYSTEM_ACTOR, now: this.now, workspaceId, plan }, { org: this.org(ws.organizationId), ws: ws.state });
    if (decision.ok) {
      for (const e of decision.events) evolveWorkspace(ws.state, e);
      this.record(`workspace-${workspaceId}`, decision.events, SYSTEM_ACTOR);
    }
    return decision;
  }

  /** A presence command (rule 13) on the user's `presence-{ws}-{user}` stream, decided on the workspace and that stream. */
  /** `recordedAs`: the events as another version would have recorded them (an upgrade's data) */
  presence(command: PresenceCommand, recordedAs: (event: PresenceChanged) => PresenceChanged = (event) => event): Decision<DomainEvent> {
    const ws = this.workspaces.get(command.workspaceId);
    if (!ws) throw new Error(`unknown workspace ${command.workspaceId}`);
    const stream = presenceStream(command.workspaceId, command.type === 'Heartbeat' ? command.actorId : command.userId);
    const state = this.presences.get(stream) ?? initialPresenceState();
    const decision = decidePresence(command, { org: this.org(ws.organizationId), ws: ws.state, presence: state });
    if (decision.ok) {
      const events = decision.events.map(recordedAs);
      this.presences.set(stream, events.reduce(evolvePresence, state));
      this.record(stream, events, 'actorId' in command ? command.actorId : SYSTEM_ACTOR);
    }
    return decision;
  }

  /** As the API does it: join the organization (a new user, unless the email is known), then accept. */
  accept(workspaceId: string, invitationId: string, newUserId: string, displayName?: string): Decision<DomainEvent> {
    const ws = this.workspaces.get(workspaceId)!;
    const inv = ws.state.invitations.get(invitationId);
    if (!inv) return decideWorkspace({ type: 'AcceptInvitation', workspaceId, now: this.now, invitationId, linkVersion: 0, newUserId }, { org: this.org(ws.organizationId), ws: ws.state });
    const accept: WorkspaceCommand = { type: 'AcceptInvitation', workspaceId, now: this.now, invitationId, linkVersion: inv.linkVersion, newUserId, displayName };
    const check = decideWorkspace(accept, { org: this.org(ws.organizationId), ws: ws.state });
    if (!check.ok) return check;
    const userId = (check.events[0] as Extract<DomainEvent, { type: 'InvitationAccepted' }>).data.userId;
    const join = this.organization({ type: 'JoinOrganization', organizationId: ws.organizationId, actorId: userId, now: this.now, newUserId: userId, email: inv.email, displayName });
    if (!join.ok) return join;
    return this.workspace(accept);
  }

  deleteUser(organizationId: string, actorId: string, userId: string): Decision<DomainEvent> {
    const org = this.org(organizationId);
    const workspaces = [...this.workspaces.values()].filter((w) => w.organizationId === organizationId).map((w) => w.state);
    const active = new Set(workspaces.filter((ws) => activeMember({ org, ws }, userId)).map((ws) => ws.info.workspaceId));
    const decision = withMembershipsEnded(decideDeleteUser({ type: 'DeleteUser', organizationId, actorId, now: this.now, userId }, { org, workspaces }), (workspaceId) => active.has(workspaceId));
    if (decision.ok) {
      // as the API decides them, before its events are applied: the subjects the deletion forgets (the tests' ids,
      // testing/shredding.ts)
      const erased = addressesErasedWith(org, workspaces, userId);
      const erasedSubjects = [
        ...deletionSubjects(userId, organizationId, addressesSealedUnder(workspaces, erased, 'organization'), addressesSealedUnder(workspaces, erased, undefined)),
        ...erasedInvitationSubjects(decision.events, workspaces),
      ].map(subjectId);
      this.recordErasure(organizationId, decision.events, actorId, erasedSubjects);
    }
    return decision;
  }

  /**
   * An erasure's events as the API appends them, in one atomic append: the workspaces' (and the presence streams'
   * MembershipEnded), then UserDeleted or AddressErased on the organization's stream, naming the subjects it forgot.
   */
  private recordErasure(organizationId: string, events: DomainEvent[], actorId: string, erasedSubjects: string[]): void {
    // one command: every event of the append carries its metadata (its request, its time), as the API's do
    const n = ++this.commands;
    for (const e of events)
      if (e.type === 'MembershipEnded') this.recordMembershipsEnded([e], actorId, n);
      else if (e.type === 'UserDeleted' || e.type === 'AddressErased') {
        evolveOrganization(this.org(organizationId), e);
        this.record(`organization-${organizationId}`, [e], actorId, { erasedSubjects }, n);
      } else {
        evolveWorkspace(this.workspaces.get((e.data as { workspaceId: string }).workspaceId)!.state, e as WorkspaceEvent);
        this.record(`workspace-${(e.data as { workspaceId: string }).workspaceId}`, [e], actorId, {}, n);
      }
  }

  /** an address only invited, erased (rule 12), appended as the API appends it: the workspaces' events, then AddressErased */
  eraseAddress(organizationId: string, actorId: string, email: string): Decision<DomainEvent> {
    const org = this.org(organizationId);
    const workspaces = [...this.workspaces.values()].filter((w) => w.organizationId === organizationId).map((w) => w.state);
    const decision = decideEraseAddress({ type: 'EraseAddress', organizationId, actorId, now: this.now, email, erasureId: `erasure-${this.commands + 1}` }, { org, workspaces });
    if (!decision.ok) return decision;
    const { withinOrganization, shared } = addressFormsErased(workspaces, email);
    const erasedSubjects = [
      ...addressSubjectsErased(organizationId, withinOrganization, shared),
      ...erasedInvitationSubjects(decision.events, workspaces),
    ].map(subjectId);
    this.recordErasure(organizationId, decision.events, actorId, erasedSubjects);
    return decision;
  }

  /** a download recorded (DataExported), appended as the API appends it: a record on the organization's stream */
  exported(organizationId: string, actorId: string, workspaceId: string): void {
    const event: DataExported = { type: 'DataExported', version: 1, data: { organizationId, what: 'members', workspaceId, exportedAt: this.now } };
    evolveOrganization(this.org(organizationId), event);
    this.record(`organization-${organizationId}`, [event], actorId);
  }

  /**
   * a copy of a pending invitation's link recorded (InvitationLinkCopied), as the API appends it on the organization's
   * mail stream, when the actor may copy it (the domain's invitationLink); returns whether it was recorded
   */
  linkCopied(workspaceId: string, invitationId: string, actorId: string): boolean {
    const ws = this.workspaces.get(workspaceId);
    if (!ws) throw new Error(`unknown workspace ${workspaceId}`);
    const link = invitationLink({ org: this.org(ws.organizationId), ws: ws.state }, actorId, invitationId);
    if (!link.ok) return false;
    const { linkVersion, expiresAt } = link.invitation;
    const event: InvitationLinkCopied = { type: 'InvitationLinkCopied', version: 1, data: { organizationId: ws.organizationId, workspaceId, invitationId, linkVersion, expiresAt, copiedAt: this.now } };
    this.record(mailStream(ws.organizationId), [event], actorId);
    return true;
  }

  /** the MembershipEnded markers among a decision's events, each on its member's presence stream */
  private recordMembershipsEnded(events: DomainEvent[], actorId: string, n?: number): void {
    for (const e of events) if (e.type === 'MembershipEnded') this.record(presenceStream(e.data.workspaceId, e.data.userId), [e], actorId, {}, n);
  }

  /** appends one decision's events with metadata, as the command side stores them (`n`: the command's number, given when one command appends to several streams) */
  private record(stream: string, events: DomainEvent[], actorId: string, more: Record<string, unknown> = {}, n = ++this.commands): void {
    if (events.length === 0) return;
    const metadata = { actorId, correlationId: `corr-${n}`, causationId: `corr-${n}`, idempotencyKey: `cmd-${n}`, occurredAt: this.now, ...more };
    // ids unique within the command too, whose streams are recorded one call each
    const from = n === this.lastCommand ? this.commandEvents : 0;
    this.lastCommand = n;
    this.commandEvents = from + events.length;
    const batch: NewEvent[] = events.map((e, i) => ({ id: `evt-${n}-${from + i}`, ...toStored(e, metadata) }));
    this.appends.push({ stream, events: batch });
    let revision = this.revisions.get(stream) ?? -1n;
    for (const e of batch) {
      revision++;
      this.position++;
      if (this.keepEvents)
        this.events.push({ ...e, stream, revision, position: this.position, created: new Date(Date.parse(this.now)) });
    }
    this.revisions.set(stream, revision);
  }

  /** position of the last event recorded */
  position = 0n;
  /** the command the last events recorded were of, and how many it has recorded (their ids) */
  private lastCommand = 0;
  private commandEvents = 0;

  /** the appends recorded since the last call (a long generator hands them to the store chunk by chunk) */
  takeAppends(): LoggedAppend[] {
    return this.appends.splice(0, this.appends.length);
  }

  private org(organizationId: string): OrganizationState {
    let org = this.orgs.get(organizationId);
    if (!org) {
      org = initialOrganizationState();
      this.orgs.set(organizationId, org);
    }
    return org;
  }
}
