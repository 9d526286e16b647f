import type { Decision, DomainEvent, Restrictions } from '@rollcall/domain';
import { EventLog, HOURS_48 } from './event-log';

export const ORG = 'org-1';
export const ADMIN = 'admin';
export const WS = 'ws-1';

type AccessInput = { roles?: string[]; restrictions?: Restrictions; grants?: string[] };

const must = (d: Decision<DomainEvent>): DomainEvent[] => {
  if (!d.ok) throw new Error(`refused: ${d.error.code}: ${d.error.message}`);
  return d.events;
};

/** An EventLog with org-1 (admin `admin`, "Ada Admin") and, unless told otherwise, workspace ws-1 (levels). */
export class LogScenario {
  readonly log = new EventLog();
  private seq = 0;

  constructor(workspaces: string[] = [WS]) {
    this.log.createOrganization(ORG, { userId: ADMIN, email: 'ada@acme.test', displayName: 'Ada Admin' });
    for (const ws of workspaces) this.workspace(ws);
  }

  workspace(workspaceId: string, plan: 'standard' | 'advanced' | 'enterprise' = 'advanced', model: 'levels' | 'permissions' | 'studio' = 'levels'): this {
    if (!this.log.createWorkspace(ORG, workspaceId, ADMIN, plan, model)) throw new Error(`cannot create ${workspaceId}`);
    return this;
  }

  invite(email: string, access: AccessInput = {}, ws = WS, by = ADMIN): string {
    const invitationId = `inv-${++this.seq}`;
    must(this.log.workspace({ type: 'InviteMember', workspaceId: ws, actorId: by, now: this.log.now, invitationId, email, ttlSeconds: HOURS_48, ...access }));
    return invitationId;
  }

  accept(invitationId: string, userId: string, ws = WS, displayName?: string): this {
    must(this.log.accept(ws, invitationId, userId, displayName));
    return this;
  }

  /** invites `${userId}@acme.test` and accepts as `userId` */
  member(userId: string, access: AccessInput = {}, ws = WS, displayName?: string): this {
    return this.accept(this.invite(`${userId}@acme.test`, access, ws), userId, ws, displayName);
  }

  resend(invitationId: string, ws = WS): this {
    must(this.log.workspace({ type: 'ResendInvitation', workspaceId: ws, actorId: ADMIN, now: this.log.now, invitationId, ttlSeconds: HOURS_48 }));
    return this;
  }

  cancel(invitationId: string, ws = WS): this {
    must(this.log.workspace({ type: 'CancelInvitation', workspaceId: ws, actorId: ADMIN, now: this.log.now, invitationId }));
    return this;
  }

  change(userId: string, access: AccessInput, ws = WS, by = ADMIN): this {
    must(this.log.workspace({ type: 'ChangeAccess', workspaceId: ws, actorId: by, now: this.log.now, userId, ...access }));
    return this;
  }

  revoke(userId: string, ws = WS, reassignContactsTo?: string): this {
    must(this.log.workspace({ type: 'RevokeAccess', workspaceId: ws, actorId: ADMIN, now: this.log.now, userId, reassignContactsTo }));
    return this;
  }

  /** A profile change; a new email is confirmed through its link at once (rule 10), as the user would. */
  profile(userId: string, changes: { displayName?: string; alias?: string | null; avatarUrl?: string | null; email?: string }): this {
    const decided = must(this.log.organization({ type: 'UpdateProfile', organizationId: ORG, actorId: ADMIN, now: this.log.now, userId, changes }));
    const requested = decided.find((e) => e.type === 'EmailChangeRequested');
    if (requested?.type === 'EmailChangeRequested')
      must(this.log.organization({ type: 'ConfirmEmailChange', organizationId: ORG, userId, version: requested.data.version, now: this.log.now }));
    return this;
  }

  /** An email change requested and left unconfirmed (rule 10): its link's version. */
  requestEmail(userId: string, email: string): number {
    const decided = must(this.log.organization({ type: 'UpdateProfile', organizationId: ORG, actorId: ADMIN, now: this.log.now, userId, changes: { email } }));
    const requested = decided.find((e) => e.type === 'EmailChangeRequested');
    if (requested?.type !== 'EmailChangeRequested') throw new Error('no email change was requested');
    return requested.data.version;
  }

  /** Rule 5: the admin makes the user an org admin, or takes it away. */
  orgAdmin(userId: string, orgAdmin: boolean): this {
    must(this.log.organization({ type: 'ChangeOrgAdmin', organizationId: ORG, actorId: ADMIN, now: this.log.now, userId, orgAdmin }));
    return this;
  }

  deleteUser(userId: string): this {
    must(this.log.deleteUser(ORG, ADMIN, userId));
    return this;
  }

  eraseAddress(email: string): this {
    must(this.log.eraseAddress(ORG, ADMIN, email));
    return this;
  }

  advance(seconds: number): this {
    this.log.advance(seconds);
    return this;
  }

  get events() {
    return this.log.events;
  }
}
