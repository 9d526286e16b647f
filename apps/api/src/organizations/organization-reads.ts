import { Inject, Injectable, Optional } from '@nestjs/common';
import { DEFAULT_QUOTAS, type Invitation, type OrganizationState, type Restrictions, type UserProfile, type WorkspaceInfo, type WorkspaceState, activeMember, domainError, emailKey, isOrgAdmin } from '@rollcall/domain';
import type { Config } from '../config';
import { APP_CONFIG, READ_STORE } from '../shared/tokens';
import { ProblemException, problem } from '../shared/http/problem';
import { DomainException } from '../shared/command-path/stream-handler';
import { StreamStates } from '../shared/command-path/stream-states';
import { aTurnOfTheLoop } from '../members/stream-fold';
import { ORG_USERS, type OrgUserDoc, type ReadStore, orgUserId, searchKey } from '@rollcall/read-store';
import { ActivityRecorder } from '../activity/activity-recorder';

/** An organization's user as an org admin sees them; a deleted user keeps only their pseudonymous id and dates (rule 12). */
export interface OrgUserView {
  userId: string;
  email: string | null;
  displayName: string | null;
  alias: string | null;
  avatarUrl: string | null;
  orgAdmin: boolean;
  deleted: boolean;
  /** when they were deleted and by whom (an org admin's id or `system`), null while they are not; `deletedBy` null for deletions recorded before 2026-12-07 (the organization's changes name who) */
  deletedAt: string | null;
  deletedBy: string | null;
  joinedAt: string;
  /**
   * an email change requested and not confirmed yet (rule 10): the address it would move to, until when the link
   * works, and what became of its mail as the read models know it (mailedAt, mailRefusedAt: null while not known)
   */
  pendingEmail: { email: string; expiresAt: string; expired: boolean; taken: boolean | null; mailedAt: string | null; mailRefusedAt: string | null } | null;
  /** the last day (UTC) a request made in their name succeeded (docs/adr/0036); null: never since session 54 */
  lastActiveOn: string | null;
}

/** One user's standing in each workspace of the organization they were ever a member of. */
export interface OrgUserWorkspaceView {
  workspaceId: string;
  name: string;
  /** `deleted`: the user was deleted (rule 12); their memberships hold no roles since (probe 44 F7: "revoked", with roles) */
  status: 'active' | 'revoked' | 'deleted';
  roles: string[];
  /** the rest of the access, as the member list has it: under `permissions` the grants are what tells an owner from a chat-only member (probe 69 F4) */
  restrictions: Restrictions;
  grants: string[];
  joinedAt: string;
  /** a revoked membership's: when, and by whom (a user id, or `system`); null while active, and for a membership the user's deletion ended (probe 80 F14) */
  revokedAt: string | null;
  revokedBy: string | null;
}

/**
 * An invitation pending for them in a workspace they are no active member of: an existing user's address invited is
 * bound to them (rule 8). Probes 82 F5 and 84 F7: the users CSV's `invited_workspaces` listed them, this read did not.
 */
export interface OrgUserInvitationView {
  workspaceId: string;
  name: string;
  invitationId: string;
  roles: string[];
  restrictions: Restrictions;
  grants: string[];
  invitedAt: string;
  /** when its current link stops working */
  expiresAt: string;
  /** its current link is past expiresAt: it can be resent, or cancelled */
  expired: boolean;
  /** who sent it (a user id, or `system`; null only for an invitation recorded without one) */
  invitedBy: string | null;
}

export interface OrgWorkspaceView {
  workspaceId: string;
  name: string;
  plan: string;
  accessModel: string;
  createdAt: string;
}

/**
 * whether a user's pending email change asks for an address another user of the organization holds since (they
 * confirmed it first): its link can only answer EMAIL_TAKEN (probe 94 F4: read as pending until it expired)
 */
export const pendingEmailTaken = (org: OrganizationState, u: UserProfile): boolean => {
  if (u.pendingEmail === null) return false;
  const holder = org.byEmail.get(emailKey(u.pendingEmail.email));
  return holder !== undefined && holder !== u.userId;
};

/** whether a user's pending email change's link has expired at `now` (false with none pending) */
export const pendingEmailExpired = (u: UserProfile, now: number): boolean => u.pendingEmail !== null && now >= Date.parse(u.pendingEmail.expiresAt);

/** what the read models know of a pending email change's mail (org_users' `emailConfirmation`), by user id */
export type PendingMails = ReadonlyMap<string, { mailedAt: string | null; mailRefusedAt: string | null }>;

const userView = (org: OrganizationState, u: UserProfile, lastActiveOn: string | null, mails: PendingMails, now = Date.now()): OrgUserView => ({
  userId: u.userId,
  email: u.deleted ? null : u.email,
  displayName: u.deleted ? null : u.displayName,
  alias: u.deleted ? null : u.alias,
  avatarUrl: u.deleted ? null : u.avatarUrl,
  orgAdmin: u.orgAdmin,
  deleted: u.deleted,
  deletedAt: u.deleted ? (u.deletedAt ?? null) : null,
  deletedBy: u.deleted ? (u.deletedBy ?? null) : null,
  joinedAt: u.joinedAt,
  // `expired` as of the read, as an invitation's (probe 89 F4: a console compared the time with its own clock)
  pendingEmail:
    u.deleted || !u.pendingEmail
      ? null
      : {
          email: u.pendingEmail.email,
          expiresAt: u.pendingEmail.expiresAt,
          expired: pendingEmailExpired(u, now),
          taken: pendingEmailTaken(org, u),
          mailedAt: mails.get(u.userId)?.mailedAt ?? null,
          mailRefusedAt: mails.get(u.userId)?.mailRefusedAt ?? null,
        },
  lastActiveOn,
});

/**
 * The organization as a whole, for its org admins (rule 5: they administer the account): its users, one user with the
 * workspaces they are or were in, its workspaces (probe 39b F5: no route listed them; the respond.io pages keep
 * referring to the organization's users). Read from the organization's and its workspaces' decision states, so current
 * at once (no `X-Min-Position`): a user revoked from every workspace is found here, to delete them.
 */
@Injectable()
export class OrganizationReads {
  constructor(
    @Inject(StreamStates) private readonly states: StreamStates,
    /** the quotas (absent in tests that build the reads alone: the domain's defaults) */
    @Optional() @Inject(APP_CONFIG) private readonly config?: Pick<Config, 'quotas'>,
    /** the days users last acted (absent in tests that build the reads alone: null for everyone) */
    @Optional() @Inject(ActivityRecorder) private readonly activity?: ActivityRecorder,
    /** what became of pending email changes' mails (absent in tests that build the reads alone: null for everyone) */
    @Optional() @Inject(READ_STORE) private readonly readModels?: ReadStore,
  ) {}

  /**
   * What the read models know of these users' pending email changes' mails: the org_users documents' records of the
   * same link version (the mail stream is no decision state's: probe 101 F4, probe 106 F5)
   */
  async pendingMails(organizationId: string, users: UserProfile[]): Promise<PendingMails> {
    const pending = users.filter((u) => !u.deleted && u.pendingEmail);
    if (pending.length === 0 || !this.readModels) return new Map();
    const docs = await this.readModels.getMany<OrgUserDoc>(ORG_USERS, pending.map((u) => orgUserId(organizationId, u.userId)), { fields: ['emailConfirmation'] });
    const mails = new Map<string, { mailedAt: string | null; mailRefusedAt: string | null }>();
    for (const u of pending) {
      const known = docs.get(orgUserId(organizationId, u.userId))?.doc.emailConfirmation;
      if (known && known.version === u.pendingEmail!.version) mails.set(u.userId, known);
    }
    return mails;
  }

  /** `reader`: the org admin reading (undefined: the operator, who marks nobody) */
  private async lastActive(organizationId: string, userIds: string[], reader: string | undefined): Promise<Map<string, string>> {
    return (await this.activity?.lastOn(organizationId, 'user', userIds, reader)) ?? new Map();
  }

  /**
   * The organization's state once `actorId` may read this user's entry: their own (`self`: a user not deleted, no org
   * admin: probe 97 F4, the email change they asked for, awaiting confirmation, had no read but an org admin's), or as
   * an org admin.
   */
  private async readableBy(organizationId: string, actorId: string | undefined, userId: string): Promise<{ org: OrganizationState; self: boolean }> {
    const { state } = await this.states.organization(organizationId);
    if (actorId !== undefined && actorId === userId && !isOrgAdmin(state, actorId) && state.users.get(userId)?.deleted === false) {
      if (await this.activeSomewhere(state, userId)) return { org: state, self: true };
      // said as it is: not "only an org admin" (probe 99 F6), an active member reads their own
      throw new DomainException(domainError('INSUFFICIENT_AUTHORITY', 'You are not an active member of any workspace of this organization: your own entry is read while you are one, or by an org admin.'));
    }
    return { org: checkedOrgAdmin(state, organizationId, actorId), self: false };
  }

  /**
   * an active member of one of the organization's workspaces: a user revoked from every one reads nothing, as they can
   * edit nothing (rule 10), and a read of theirs would mark them active (probe 98 F3)
   */
  private async activeSomewhere(org: OrganizationState, userId: string): Promise<boolean> {
    for (const workspaceId of org.workspaces.keys()) {
      const ws = (await this.states.workspace(org, workspaceId))?.state;
      if (ws && activeMember({ org, ws }, userId)) return true;
    }
    return false;
  }

  /** The organization's state once `actorId` may read it as its org admin (undefined: the system key, the operator). */
  async asOrgAdmin(organizationId: string, actorId: string | undefined): Promise<OrganizationState> {
    return checkedOrgAdmin((await this.states.organization(organizationId)).state, organizationId, actorId);
  }

  /**
   * Checks that `actorId` may read the organization as its org admin (undefined: the system key, any organization);
   * answers the revision of the organization's stream the check read (its changes up to there: organization-changes.ts),
   * from the one load the check made.
   */
  async orgAdminReading(organizationId: string, actorId: string | undefined): Promise<bigint> {
    const { state, expected } = await this.states.organization(organizationId);
    checkedOrgAdmin(state, organizationId, actorId);
    return typeof expected === 'bigint' ? expected : -1n;
  }

  /** Users in the order they joined the organization; a page after `after` (a user id of the previous page). */
  async users(organizationId: string, actorId: string | undefined, page: { after?: string; limit: number; q?: string }): Promise<{ items: OrgUserView[]; next: string | null }> {
    const org = await this.asOrgAdmin(organizationId, actorId);
    const items: UserProfile[] = [];
    // `q`: an address, a name or an alias, or part of one, folded as the user list's search (probe 80 F2: support had
    // no way from an address to a user but a page-by-page read); deleted users have none of them
    const needle = page.q === undefined || page.q.trim() === '' ? undefined : searchKey(page.q.trim());
    // (a text of characters that show nothing folds to nothing, and matches nobody, as the user list's: probe 82 F6)
    const matches = (user: UserProfile) =>
      needle === undefined || (needle !== '' && !user.deleted && [user.email, user.displayName, user.alias].some((text) => text && searchKey(text).includes(needle)));
    // a Map keeps the order users were added in: the order they joined (O(users) to find `after`: an org's users are in memory)
    let started = page.after === undefined;
    let more = false;
    for (const user of org.users.values()) {
      if (!started) {
        started = user.userId === page.after;
        continue;
      }
      if (!matches(user)) continue;
      if (items.length === page.limit) {
        more = true;
        break;
      }
      items.push(user);
    }
    if (!started)
      throw new ProblemException(
        problem(400, 'VALIDATION_FAILED', 'after names no user of this organization; send the next of a previous page.', [{ field: 'after', message: 'names no user of this organization' }]),
      );
    const active = await this.lastActive(organizationId, items.map((u) => u.userId), actorId);
    const mails = await this.pendingMails(organizationId, items);
    return { items: items.map((u) => userView(org, u, active.get(u.userId) ?? null, mails)), next: more ? items.at(-1)!.userId : null };
  }

  /**
   * One user with the workspaces they are or were a member of, in the organization's order (oldest workspace first),
   * and the invitations pending for them in the others; with `limit`, a page of memberships after workspace `after`
   * (probe 53 F3: a user in ~7,000 workspaces was one answer, past a NATS server's max_payload). A page loads the states
   * of the workspaces it passes over, not all of them: `next` is the last one listed when the page is full and
   * workspaces are left to look through (the next page may then be empty), null once none are left. The invitations
   * are those of the workspaces the page looked through: up to its last membership, or to the end on the last page.
   */
  async user(
    organizationId: string,
    actorId: string | undefined,
    userId: string,
    page: { after?: string; limit?: number } = {},
  ): Promise<OrgUserView & { workspaces: OrgUserWorkspaceView[]; workspacesNext: string | null; invitations: OrgUserInvitationView[] }> {
    const { org, self } = await this.readableBy(organizationId, actorId, userId);
    const user = org.users.get(userId);
    if (!user) throw new DomainException(domainError('USER_NOT_FOUND', `User ${userId} is not a user of this organization.`));
    const all = inCreationOrder(org);
    const view = userView(org, user, (await this.lastActive(organizationId, [userId], actorId)).get(userId) ?? null, await this.pendingMails(organizationId, [user]));
    // whether another user holds the address asked for is the org admins' to know: a member asking for addresses and
    // reading `taken` back would learn which are the organization's users (probe 98 F1; probe 83 F1's promise)
    if (view.pendingEmail && self) view.pendingEmail.taken = null;
    const workspaces: OrgUserWorkspaceView[] = [];
    const invitations: OrgUserInvitationView[] = [];
    const now = Date.now();
    for (let i = startAfter(all, page.after); i < all.length; i++) {
      if (page.limit !== undefined && workspaces.length === page.limit) return { ...view, workspaces, workspacesNext: workspaces.at(-1)!.workspaceId, invitations };
      const info = all[i]!;
      const ws = (await this.states.workspace(org, info.workspaceId))?.state;
      const member = ws?.members.get(userId);
      // as the users CSV's `invited_workspaces`; a deleted user has none (the deletion cancelled them)
      if (ws && !user.deleted)
        for (const inv of ws.invitations.values())
          if (inv.inviteeUserId === userId && pendingForNonMember(ws, inv))
            invitations.push({
              workspaceId: info.workspaceId,
              name: info.name,
              invitationId: inv.invitationId,
              roles: [...inv.access.roles],
              restrictions: { ...inv.access.restrictions },
              grants: [...inv.access.grants],
              invitedAt: inv.invitedAt,
              expiresAt: inv.expiresAt,
              expired: now >= Date.parse(inv.expiresAt),
              invitedBy: inv.invitedBy,
            });
      if (!member) continue;
      const deleted = user.deleted;
      workspaces.push({
        workspaceId: info.workspaceId,
        name: info.name,
        status: deleted ? 'deleted' : member.status,
        roles: deleted ? [] : [...member.access.roles],
        restrictions: deleted ? {} : { ...member.access.restrictions },
        grants: deleted ? [] : [...member.access.grants],
        joinedAt: member.joinedAt,
        revokedAt: member.revokedAt ?? null,
        revokedBy: member.revokedBy ?? null,
      });
    }
    return { ...view, workspaces, workspacesNext: null, invitations };
  }

  /**
   * The organization's workspaces, oldest first (actorId undefined: the system key); with `limit`, a page after `after`
   * (the `next` of the page before), and only the page's workspaces are loaded (their plan: probe 53 F3, 7,500 in one
   * answer loaded every one).
   */
  async workspaces(
    organizationId: string,
    actorId: string | undefined,
    page: { after?: string; limit?: number } = {},
  ): Promise<{ items: OrgWorkspaceView[]; next: string | null; quota: { used: number; limit: number }; closingSince: string | null; closedAt: string | null }> {
    const org = await this.asOrgAdmin(organizationId, actorId);
    const all = inCreationOrder(org);
    const start = startAfter(all, page.after);
    // a page of 1,000 unless asked for fewer: the whole list of a 20,000-workspace organization held the event loop ~2 s
    // per request (each workspace's plan read from its state; probe 59)
    const slice = all.slice(start, start + (page.limit ?? WORKSPACES_PAGE_MAX));
    const items: OrgWorkspaceView[] = [];
    // the plan as the workspace's own state has it (it may have changed since its creation: WorkspacePlanChanged); a
    // turn of the event loop every 50 workspaces, so that a full page (1,000, the default quota: ~0.4 s of states
    // loaded, probe 59) does not hold every other tenant's requests meanwhile
    for (const [i, { workspaceId, name, plan, accessModel, createdAt }] of slice.entries()) {
      if (i > 0 && i % 50 === 0) await aTurnOfTheLoop();
      items.push({ workspaceId, name, plan: (await this.states.workspace(org, workspaceId))?.state.info.plan ?? plan, accessModel, createdAt });
    }
    const quota = { used: org.workspaces.size, limit: this.config?.quotas.workspacesPerOrganization ?? DEFAULT_QUOTAS.workspacesPerOrganization };
    // the operator's way to tell a closed organization (probes 77 F10, 79 F7: nothing said it)
    return { items, next: start + slice.length < all.length ? slice.at(-1)!.workspaceId : null, quota, closingSince: org.closingSince ?? null, closedAt: org.closedAt ?? null };
  }
}

/**
 * An invitation pending (expired included: it can be resent or cancelled) for an existing user (rule 8: bound to them)
 * in a workspace they are no active member of: the user detail's `invitations`, the users CSV's `invited_workspaces`.
 */
export const pendingForNonMember = (ws: WorkspaceState, inv: Invitation): inv is Invitation & { inviteeUserId: string } =>
  inv.status === 'pending' && inv.inviteeUserId !== null && ws.members.get(inv.inviteeUserId)?.status !== 'active';

/** the most workspaces a page of the organization's list holds, and its size when no limit is asked */
const WORKSPACES_PAGE_MAX = 1000;

/** the organization's workspaces, oldest first (ties by id): the order of its workspace list and of a user's */
const inCreationOrder = (org: OrganizationState): WorkspaceInfo[] =>
  [...org.workspaces.values()].sort((a, b) => (a.createdAt === b.createdAt ? (a.workspaceId < b.workspaceId ? -1 : 1) : a.createdAt < b.createdAt ? -1 : 1));

/** where a page after workspace `after` (a previous page's next) starts; one that names no workspace of it is a 400 */
function startAfter(all: readonly WorkspaceInfo[], after: string | undefined): number {
  if (after === undefined) return 0;
  const start = all.findIndex((w) => w.workspaceId === after) + 1;
  if (start === 0)
    throw new ProblemException(
      problem(400, 'VALIDATION_FAILED', 'after names no workspace of this organization; send the next of a previous page.', [{ field: 'after', message: 'names no workspace of this organization' }]),
    );
  return start;
}

/** the organization as `actorId` may read it: it exists, and they are its org admin (undefined: the system key) */
function checkedOrgAdmin(org: OrganizationState, organizationId: string, actorId: string | undefined): OrganizationState {
  if (!org.exists) throw new DomainException(domainError('ORGANIZATION_NOT_FOUND', `Organization ${organizationId} does not exist.`));
  if (actorId !== undefined && !isOrgAdmin(org, actorId)) throw new DomainException(domainError('INSUFFICIENT_AUTHORITY', "Only an organization admin can read the organization's users, workspaces, changes and events."));
  return org;
}
