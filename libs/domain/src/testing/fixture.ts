import type { AccessModelName, Plan, Restrictions } from '../access-model';
import { decideOrganization, type OrganizationCommand } from '../organization/decider';
import type { OrganizationEvent } from '../organization/events';
import { evolveOrganization, initialOrganizationState, type OrganizationState } from '../organization/state';
import { addSeconds, SYSTEM_ACTOR } from '../shared/events';
import type { Decision } from '../shared/result';
import type { DomainError } from '../shared/errors';
import { ORGANIZATION_EVENT_TYPES } from '../upcasting';
import { decideDeleteUser } from '../users/delete-user';
import { decideEraseAddress } from '../users/erase-address';
import { decideWorkspace, type WorkspaceCommand } from '../workspace/decider';
import type { WorkspaceEvent } from '../workspace/events';
import { evolveWorkspace, initialWorkspaceState, type WorkspaceContext, type WorkspaceState } from '../workspace/state';

export const T0 = '2026-03-01T09:00:00.000Z';
export const HOURS_48 = 48 * 3600;
export const ORG = 'org-1';
export const WS = 'ws-1';
export const ADMIN = 'admin';

type AnyEvent = OrganizationEvent | WorkspaceEvent;

/**
 * Given/when/then for the deciders. `given` steps are commands run through the real deciders (so a scenario
 * cannot reach a state the domain would refuse); `when` decides a command without applying it; `then`
 * assertions read the Decision.
 */
export class Scenario {
  org: OrganizationState = initialOrganizationState();
  ws: WorkspaceState | undefined;
  now = T0;
  private seq = 0;

  constructor(readonly accessModel: AccessModelName = 'levels', readonly plan: Plan = 'standard') {
    this.applyOrg(
      this.must(
        decideOrganization(
          {
            type: 'CreateOrganization',
            organizationId: ORG,
            actorId: SYSTEM_ACTOR,
            now: this.now,
            name: 'Acme',
            admin: { userId: ADMIN, email: 'admin@acme.test', displayName: 'Ada Admin' },
            apiKey: { keyId: 'key-1', secretHash: 'f'.repeat(64) },
          },
          this.org,
        ),
      ),
    );
    this.applyOrg(
      this.must(
        decideOrganization(
          { type: 'CreateWorkspace', organizationId: ORG, actorId: ADMIN, now: this.now, workspaceId: WS, name: 'Support', plan, accessModel },
          this.org,
        ),
      ),
    );
  }

  get ctx(): WorkspaceContext {
    this.ws ??= initialWorkspaceState(this.org.workspaces.get(WS)!);
    return { org: this.org, ws: this.ws };
  }

  advance(seconds: number): this {
    this.now = addSeconds(this.now, seconds);
    return this;
  }

  /** Invites `email` (as ADMIN unless `by`) and returns the invitation id. */
  invited(email: string, access: { roles?: string[]; restrictions?: Restrictions; grants?: string[] } = {}, by = ADMIN): string {
    const invitationId = `inv-${++this.seq}`;
    this.given({ type: 'InviteMember', workspaceId: WS, actorId: by, now: this.now, invitationId, email, ttlSeconds: HOURS_48, ...access });
    return invitationId;
  }

  /** Invites and accepts: the user `userId` becomes an active member with the given access. */
  member(userId: string, access: { roles?: string[]; restrictions?: Restrictions; grants?: string[] } = {}): this {
    const invitationId = this.invited(`${userId}@acme.test`, access);
    this.accepted(invitationId, userId);
    return this;
  }

  accepted(invitationId: string, newUserId: string, linkVersion?: number): this {
    const inv = this.ctx.ws.invitations.get(invitationId)!;
    const join = decideOrganization(
      { type: 'JoinOrganization', organizationId: ORG, actorId: newUserId, now: this.now, newUserId, email: inv.email },
      this.org,
    );
    this.applyOrg(this.must(join));
    return this.given({
      type: 'AcceptInvitation',
      workspaceId: WS,
      now: this.now,
      invitationId,
      linkVersion: linkVersion ?? inv.linkVersion,
      newUserId,
    });
  }

  /** Runs a workspace command and applies its events; throws if the domain refuses it. */
  given(command: WorkspaceCommand): this {
    for (const e of this.must(decideWorkspace(command, this.ctx))) evolveWorkspace(this.ctx.ws, e);
    return this;
  }

  givenOrg(command: OrganizationCommand): this {
    this.applyOrg(this.must(decideOrganization(command, this.org)));
    return this;
  }

  when(command: WorkspaceCommand): Decision<WorkspaceEvent> {
    return decideWorkspace(command, this.ctx);
  }

  whenOrg(command: OrganizationCommand): Decision<OrganizationEvent> {
    return decideOrganization(command, this.org);
  }

  /** An organization command decided with the workspaces' pending invitations (email → invited user or null). */
  whenOrgWith(command: OrganizationCommand, pendingInvitations: ReadonlyMap<string, string | null>): Decision<OrganizationEvent> {
    return decideOrganization(command, this.org, { pendingInvitations });
  }

  whenDelete(userId: string, actorId = ADMIN) {
    return decideDeleteUser(
      { type: 'DeleteUser', organizationId: ORG, actorId, now: this.now, userId },
      { org: this.org, workspaces: [this.ctx.ws] },
    );
  }

  whenEraseAddress(email: string, actorId = ADMIN) {
    return decideEraseAddress(
      { type: 'EraseAddress', organizationId: ORG, actorId, now: this.now, email, erasureId: 'erasure-1' },
      { org: this.org, workspaces: [this.ctx.ws] },
    );
  }

  /** Applies decided events to the organization or the workspace, by type (a deletion decides both). */
  applyOrg(events: (OrganizationEvent | WorkspaceEvent)[]): void {
    for (const e of events)
      if ((ORGANIZATION_EVENT_TYPES as readonly string[]).includes(e.type)) evolveOrganization(this.org, e as OrganizationEvent);
      else evolveWorkspace(this.ctx.ws, e as WorkspaceEvent);
  }

  private must<E extends AnyEvent>(decision: Decision<E>): E[] {
    if (!decision.ok) throw new Error(`given step refused: ${decision.error.code}: ${decision.error.message}`);
    return decision.events;
  }
}

/** Base fields of a workspace command issued now by `actorId`. */
export const by = (s: Scenario, actorId: string) => ({ workspaceId: WS, actorId, now: s.now });

export function expectError(decision: Decision<unknown>, code: string): DomainError {
  if (decision.ok) throw new Error(`expected ${code}, but the command was accepted with ${JSON.stringify(decision.events)}`);
  expect(decision.error.code).toBe(code);
  expect(decision.error.message.length).toBeGreaterThan(10);
  return decision.error;
}

/** Asserts the event types; returns the events with loosely typed data for further assertions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function expectEvents<E extends { type: string }>(decision: Decision<E>, types: string[]): Array<E & { data: any }> {
  if (!decision.ok) throw new Error(`expected ${types.join(', ')}, but got ${decision.error.code}: ${decision.error.message}`);
  expect(decision.events.map((e) => e.type)).toEqual(types);
  return decision.events as Array<E & { data: any }>;
}
