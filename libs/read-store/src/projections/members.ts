import { accessModel, type Access, type DomainEvent, holdsOffline, profileChangeOf } from '@rollcall/domain';
import { type ProjectedEvent, type Projection, type ProjectionReader, type ProjectionWrite, actorOf, remove, upsert } from './projection';
import { type ErasedAddress, erasedAddresses, reaches, rememberAddress } from './erased-addresses';
import { searchTextOf, sortKey } from './sort-key';
import type { MemberDoc, MemberUserDoc } from './members-docs';

/**
 * `members`: the user list of every workspace (docs/rules.md#rule-9), pending invitations included.
 *
 * - `members/${workspaceId}:${userId}`: a member (`kind: 'member'`), `active` or `revoked`. A revoked member
 *   is kept (history and reporting show them); the list shows pending + active by default.
 * - `members/${workspaceId}:inv:${invitationId}`: a pending invitation (`kind: 'invitation'`). Accepting
 *   deletes it and creates (or re-activates) the member; cancelling deletes it (the history keeps it).
 * - UserDeleted (rule 12) deletes the user's member documents in every workspace (active or revoked), so no
 *   personal data of theirs stays in the user list; the permission history keeps their pseudonymous id. As the
 *   event store's crypto-shredding forgets the addresses the deletion erased (those of the user's that no other
 *   living user holds or held), pending invitations to those addresses (in the user's organization; in any, for
 *   invitations sent before session 24) keep their place in the list with `email: null`, as a rebuild shows them.
 * - `member_users/${organizationId}:${userId}`: internal lookup of the org user's profile, written only when it
 *   changes. A profile change (rule 10) reaches the user's member documents through `userId`, and a deletion the
 *   pending invitations to the addresses it erased through `email` (both indexed for that).
 */
export const MEMBERS = 'members';
export const MEMBER_USERS = 'member_users';

export type { MemberDoc, MemberStatus, MemberUserDoc, MemberView } from './members-docs';

export const memberId = (workspaceId: string, userId: string): string => `${workspaceId}:${userId}`;
export const invitationDocId = (workspaceId: string, invitationId: string): string => `${workspaceId}:inv:${invitationId}`;
const userKey = (organizationId: string, userId: string): string => `${organizationId}:${userId}`;

const sortName = (displayName: string | null, email: string | null): string => sortKey(displayName ?? email ?? '');
/** the keys a document is sorted and found by, from the profile it shows (set wherever that profile is) */
const keysOf = (p: { email: string | null; displayName: string | null; alias: string | null }) => ({
  sortName: sortName(p.displayName, p.email),
  searchText: searchTextOf(p),
});

/**
 * A member's presence, last-seen time and the key `sort=lastSeen` orders by: online and away members first, then the
 * others, each by last seen. What the document holds of an online member is the time of their last status change;
 * their latest heartbeat (what reads show: apps/api/src/shared/last-seen.ts) is within the presence timeout of now,
 * later than that of anyone who timed out. Sorted by the stored time alone, a member online all day came after one
 * who left an hour ago (review, session 26); so ordered, the list is as accurate as the times it shows (rule 13).
 */
export const presenceFields = (presence: MemberDoc['presence'], lastSeenAt: string | null, held: { since: string; by: string | null } | null = null) => ({
  presence,
  lastSeenAt,
  heldOfflineSince: held?.since ?? null,
  heldOfflineBy: held?.by ?? null,
  seenOrder: `${presence === 'offline' ? 0 : 1}${lastSeenAt ?? ''}`,
});

type Profile = Pick<MemberDoc, 'email' | 'displayName' | 'alias' | 'avatarUrl'>;
const profileOf = (user: MemberUserDoc | undefined, fallbackEmail: string | null): Profile => ({
  email: user?.email ?? fallbackEmail,
  displayName: user?.displayName ?? null,
  alias: user?.alias ?? null,
  avatarUrl: user?.avatarUrl ?? null,
});

function newMember(
  base: { workspaceId: string; organizationId: string; userId: string; invitationId: string | null },
  profile: Profile,
  access: Access,
  times: { invitedAt: string | null; joinedAt: string },
): MemberDoc {
  return {
    _id: memberId(base.workspaceId, base.userId),
    workspaceId: base.workspaceId,
    organizationId: base.organizationId,
    kind: 'member',
    userId: base.userId,
    invitationId: base.invitationId,
    ...profile,
    status: 'active',
    roles: access.roles,
    restrictions: access.restrictions,
    grants: access.grants,
    invitedAt: times.invitedAt,
    joinedAt: times.joinedAt,
    revokedAt: null,
    expiresAt: null,
    linkVersion: null,
    ...presenceFields('offline', null),
    teamIds: [],
    ...keysOf(profile),
  };
}

/** personal fields read as null once the event store has forgotten their subject (crypto-shredding) */
/**
 * Rule 12: the pending invitations addressed to what the deletion erased (in any organization) lose the address: the
 * addresses of the subjects it names (erasedAddresses), not every address the user had (one another living user holds
 * or held too is theirs, and is not erased: docs/rules.md#rule-12, probe 23)
 */
async function eraseInvitations(read: ProjectionReader, addresses: readonly ErasedAddress[]): Promise<ProjectionWrite[]> {
  const writes: ProjectionWrite[] = [];
  for (const address of addresses)
    for (const doc of await read.findBy<MemberDoc>(MEMBERS, 'email', address.email))
      if (doc.kind === 'invitation' && reaches(address, doc)) writes.push(upsert(MEMBERS, { ...doc, email: null, ...keysOf({ email: null, displayName: null, alias: null }) }));
  return writes;
}

/** the user's member documents (active or revoked) in the organization */
async function membershipsOf(read: ProjectionReader, organizationId: string, userId: string): Promise<MemberDoc[]> {
  const docs = await read.findBy<MemberDoc>(MEMBERS, 'userId', userId);
  return docs.filter((doc) => doc.organizationId === organizationId);
}

/** the user's profile copied into each of their member documents */
async function spreadProfile(read: ProjectionReader, user: MemberUserDoc): Promise<ProjectionWrite[]> {
  const writes: ProjectionWrite[] = [];
  for (const member of await membershipsOf(read, user.organizationId, user.userId)) {
    const profile = profileOf(user, member.email);
    writes.push(upsert(MEMBERS, { ...member, ...profile, ...keysOf(profile) }));
  }
  return writes;
}

async function applyMembers(e: ProjectedEvent, read: ProjectionReader): Promise<ProjectionWrite[]> {
  const event: DomainEvent = e.event;
  switch (event.type) {
    case 'UserJoinedOrganization': {
      const d = event.data;
      const key = userKey(d.organizationId, d.userId);
      const previous = await read.get<MemberUserDoc>(MEMBER_USERS, key);
      const user: MemberUserDoc = {
        _id: key,
        organizationId: d.organizationId,
        userId: d.userId,
        email: d.email,
        displayName: d.displayName,
        alias: previous?.alias ?? null,
        avatarUrl: previous?.avatarUrl ?? null,
      };
      // A user new to the organization has no member document in it to copy the profile into: every writer of one
      // (WorkspaceCreated's owner, an org admin; InvitationAccepted, which starts the lookup itself when the join has
      // not) leaves this lookup behind it, and only UserDeleted removes the lookup, with every member document of the
      // user. So the search by userId (~50 us a join, with its query planning) is needed only for a join that comes
      // after the lookup exists (an acceptance projected first).
      if (!previous) return [upsert(MEMBER_USERS, user)];
      return [upsert(MEMBER_USERS, user), ...(await spreadProfile(read, user))];
    }
    case 'UserProfileUpdated':
    case 'EmailChangeConfirmed': {
      const d = profileChangeOf(event)!;
      const previous = await read.get<MemberUserDoc>(MEMBER_USERS, userKey(d.organizationId, d.userId));
      if (!previous) return [];
      const c = d.changes;
      const user: MemberUserDoc = {
        ...previous,
        ...(c.email !== undefined && { email: c.email }),
        ...(c.displayName !== undefined && { displayName: c.displayName }),
        ...(c.alias !== undefined && { alias: c.alias }),
        ...(c.avatarUrl !== undefined && { avatarUrl: c.avatarUrl }),
      };
      return [upsert(MEMBER_USERS, user), ...(await spreadProfile(read, user))];
    }
    case 'UserDeleted': {
      const d = event.data;
      const key = userKey(d.organizationId, d.userId);
      const memberships = await membershipsOf(read, d.organizationId, d.userId);
      const workspaceIds = new Set([...memberships.map((m) => m.workspaceId), ...d.workspaceIds]);
      const erased = await erasedAddresses(read, MEMBER_USERS, e);
      return [
        ...[...workspaceIds].map((ws) => remove(MEMBERS, memberId(ws, d.userId))),
        remove(MEMBER_USERS, key),
        ...erased.writes,
        ...(await eraseInvitations(read, erased.addresses)),
      ];
    }
    case 'AddressErased': {
      // an address only invited (rule 12): its pending invitations were cancelled (removed) in the same append; what
      // is left is the address remembered under its subjects, and any invitation document still holding it
      const erased = await erasedAddresses(read, MEMBER_USERS, e);
      return [...erased.writes, ...(await eraseInvitations(read, erased.addresses))];
    }
    case 'WorkspaceCreated': {
      const d = event.data;
      const key = userKey(d.organizationId, d.ownerUserId);
      const user = await read.get<MemberUserDoc>(MEMBER_USERS, key);
      const owner = accessModel(d.accessModel).ownerAccess;
      const member = newMember(
        { workspaceId: d.workspaceId, organizationId: d.organizationId, userId: d.ownerUserId, invitationId: null },
        profileOf(user, null),
        { roles: [...owner.roles], grants: [...owner.grants], restrictions: {} },
        { invitedAt: null, joinedAt: d.createdAt },
      );
      return [upsert(MEMBERS, member)];
    }
    case 'UserInvited': {
      const d = event.data;
      const invitation: MemberDoc = {
        _id: invitationDocId(d.workspaceId, d.invitationId),
        workspaceId: d.workspaceId,
        organizationId: d.organizationId,
        kind: 'invitation',
        userId: null,
        invitationId: d.invitationId,
        inviteeUserId: d.inviteeUserId ?? null,
        email: d.email,
        displayName: null,
        alias: null,
        avatarUrl: null,
        status: 'pending',
        roles: d.access.roles,
        restrictions: d.access.restrictions,
        grants: d.access.grants,
        invitedAt: d.invitedAt,
        joinedAt: null,
        revokedAt: null,
        expiresAt: d.expiresAt,
        linkVersion: d.linkVersion,
        mailedAt: null,
        mailRefusedAt: null,
        invitedBy: d.invitedBy ?? null,
        ...presenceFields('offline', null),
        teamIds: [],
        ...keysOf({ email: d.email, displayName: null, alias: null }),
        ...((d.addressKey === 'organization' || d.addressKey === 'invitation') && { addressKey: d.addressKey }),
      };
      return [upsert(MEMBERS, invitation), ...(await rememberAddress(read, MEMBER_USERS, e, 'email', d.email))];
    }
    case 'InvitationResent': {
      const d = event.data;
      const invitation = await read.get<MemberDoc>(MEMBERS, invitationDocId(d.workspaceId, d.invitationId));
      if (!invitation) return [];
      return [upsert(MEMBERS, { ...invitation, expiresAt: d.expiresAt, linkVersion: d.linkVersion, mailedAt: null, mailRefusedAt: null })];
    }
    case 'InvitationMailed':
    case 'InvitationMailRefused': {
      // the current link's mail was handed over, or refused for good (probe 46 F4: the console could not tell); an older
      // link's record changes nothing
      const d = event.data;
      const invitation = await read.get<MemberDoc>(MEMBERS, invitationDocId(d.workspaceId, d.invitationId));
      if (invitation?.linkVersion !== d.linkVersion) return [];
      const mailed = 'mailedAt' in d ? { mailedAt: d.mailedAt, mailRefusedAt: null } : { mailedAt: null, mailRefusedAt: d.refusedAt };
      return [upsert(MEMBERS, { ...invitation, ...mailed })];
    }
    case 'InvitationCancelled':
      return [remove(MEMBERS, invitationDocId(event.data.workspaceId, event.data.invitationId))];
    case 'InvitationAccepted': {
      const d = event.data;
      const invId = invitationDocId(d.workspaceId, d.invitationId);
      const invitation = await read.get<MemberDoc>(MEMBERS, invId);
      const key = userKey(d.organizationId, d.userId);
      const known = await read.get<MemberUserDoc>(MEMBER_USERS, key);
      // normally UserJoinedOrganization (or the user's earlier membership) came first; if not, start the lookup here
      const user: MemberUserDoc = known ?? {
        _id: key,
        organizationId: d.organizationId,
        userId: d.userId,
        email: d.email,
        displayName: null,
        alias: null,
        avatarUrl: null,
      };
      const joined = newMember(
        { workspaceId: d.workspaceId, organizationId: d.organizationId, userId: d.userId, invitationId: d.invitationId },
        profileOf(user, d.email),
        d.access,
        { invitedAt: invitation?.invitedAt ?? null, joinedAt: d.acceptedAt },
      );
      // someone revoked and invited again keeps when they were last seen here: rule 13 shows it wherever the member is
      // shown, and the revoked row showed it a moment before (version 7; probe 34 F3: it read null, "never")
      const before = await read.get<MemberDoc>(MEMBERS, joined._id);
      const member = before?.lastSeenAt ? { ...joined, ...presenceFields('offline', before.lastSeenAt) } : joined;
      const writes = [remove(MEMBERS, invId), upsert(MEMBERS, member)];
      if (!known) writes.push(upsert(MEMBER_USERS, user));
      return writes;
    }
    case 'AccessLevelChanged':
    case 'RestrictionsChanged':
    case 'GrantsChanged': {
      const d = event.data;
      const member = await read.get<MemberDoc>(MEMBERS, memberId(d.workspaceId, d.userId));
      if (!member) return [];
      if (event.type === 'AccessLevelChanged') return [upsert(MEMBERS, { ...member, roles: event.data.after })];
      if (event.type === 'GrantsChanged') return [upsert(MEMBERS, { ...member, grants: event.data.after })];
      return [upsert(MEMBERS, { ...member, restrictions: event.data.after })];
    }
    case 'AccessRevoked': {
      const d = event.data;
      const member = await read.get<MemberDoc>(MEMBERS, memberId(d.workspaceId, d.userId));
      if (!member) return [];
      // who revoked it (probe 80 F14: only the history said it): the event's `revokedBy`, as the decision state and the
      // organization's user read take it (an older event's is its metadata's actor: upcasting.ts)
      return [upsert(MEMBERS, { ...member, status: 'revoked', revokedAt: d.revokedAt, revokedBy: d.revokedBy ?? null, teamIds: [], ...presenceFields('offline', member.lastSeenAt) })];
    }
    // rule 14: the member's teams (`?team=` filters by them); revokes and deletions decide their own removals
    case 'TeamMemberAdded':
    case 'TeamMemberRemoved': {
      const d = event.data;
      const member = await read.get<MemberDoc>(MEMBERS, memberId(d.workspaceId, d.userId));
      if (!member) return [];
      const others = member.teamIds.filter((id) => id !== d.teamId);
      return [upsert(MEMBERS, { ...member, teamIds: event.type === 'TeamMemberAdded' ? [...others, d.teamId] : others })];
    }
    case 'PresenceChanged': {
      const d = event.data;
      const member = await read.get<MemberDoc>(MEMBERS, memberId(d.workspaceId, d.userId));
      if (!member) return [];
      // a member manager's set-offline holds until the member resumes (docs/rules.md#rule-13, docs/adr/0032): the
      // presence decider refuses their heartbeats meanwhile, and every later change of their presence ends it (an
      // offline → offline set-offline of a member held already appends nothing: the hold keeps its first time)
      // (who: the command's actor, from the event's metadata — probe 69 F6 asked who forced someone offline)
      // (a `forced` change recorded without `holds`, by a version before the holds, holds nothing: probe 93 F4)
      const held = holdsOffline(event) ? { since: d.changedAt, by: actorOf(e) } : null;
      return [upsert(MEMBERS, { ...member, ...presenceFields(d.status, d.lastSeenAt ?? member.lastSeenAt, held) })];
    }
    default:
      return [];
  }
}

export const membersProjection: Projection = {
  name: 'members',
  // 2: `sortName` folds accents (sort-key.ts); 3: `searchText`, what `q` matches (folded as well), and the folding
  // removes accents only, not every combining mark; 4: the same documents, replayed once: a data dir written before
  // docs/adr/0003's "Erasure and sealing race" may hold an invitation's address whose key that race forgot; 5: a
  // deletion erases the addresses it erased (erasedSubjects), not every address the user had (probe 23), and
  // `member_users` keeps no list of addresses; 6: `seenOrder`, `sort=lastSeen` with online and away members first; 7:
  // a member who joins again keeps their last seen (probe 34 F3); 8: an invitation's `mailedAt` and `mailRefusedAt` (InvitationMailed, InvitationMailRefused);
  // 9: `heldOfflineSince` and `heldOfflineBy`, a member manager's set-offline that holds (docs/adr/0032); 10: `searchText`
  // without the Arabic tatweel and with hiragana as katakana (probe 73 F7); 11: an invitation's `inviteeUserId`, the
  // user it is bound to (probe 82 F5: the members CSV's `user_id` was empty on such a row), and a revoked member's
  // `revokedBy` (probe 80 F14); 12: a `forced` change holds only when recorded as holding (`holds`: probe 93 F4); 13: an
  // invitation's `invitedBy` (probe 82 F7)
  version: 13,
  collections: {
    [MEMBERS]: {
      // Every query of the list pins workspaceId and sorts (queries/members.ts): the compounds below serve them all
      // (status, roles, teams and presence are checked on the rows they yield). The single-field indexes are the
      // projection's own lookups (a user's memberships, the invitations to an address); others would only be
      // maintained on every write (roles and teamIds hold arrays, which the SQLite adapter matches without them).
      indexes: ['userId', 'email'],
      // one workspace's list in each sort order: a page reads just that page, however large the workspace
      compound: [
        ['workspaceId', 'sortName'],
        ['workspaceId', 'email'],
        ['workspaceId', 'joinedAt'],
        ['workspaceId', 'seenOrder'],
      ],
      // one folded text per document (searchText): case, accents and the address's Unicode domain set aside
      search: ['searchText'],
      // the API lists and searches it at once: after a reset its indexes and search rows are kept from the start of
      // the replay, not built by the first list request over everything replayed, on the API's thread
      readyAtReset: true,
    },
    [MEMBER_USERS]: { indexes: [] },
  },
  eventTypes: [
    'PresenceChanged',
    'UserJoinedOrganization',
    'UserProfileUpdated',
    'EmailChangeConfirmed',
    'UserDeleted',
    'AddressErased',
    'WorkspaceCreated',
    'UserInvited',
    'InvitationResent',
    'InvitationMailed',
    'InvitationMailRefused',
    'InvitationCancelled',
    'InvitationAccepted',
    'AccessLevelChanged',
    'RestrictionsChanged',
    'GrantsChanged',
    'AccessRevoked',
    'TeamMemberAdded',
    'TeamMemberRemoved',
  ],
  apply: applyMembers,
};
