import { accessModel, type Access, type DomainEvent } from '@rollcall/domain';
import {
  type Doc,
  type ProjectedEvent,
  type Projection,
  type ProjectionReader,
  type ProjectionWrite,
  correlationOf,
  occurredAt,
  remove,
  upsert,
} from './projection';
import { erasedAddresses, reaches, rememberAddress } from './erased-addresses';
import { type HistoryChange, type HistoryEntryDoc, PERMISSION_HISTORY, PERMISSION_HISTORY_STATE, entry } from './permission-history-entries';
import { WORKSPACE_CHANGE_TYPES, workspaceChangeEntries } from './permission-history-workspace';
import {
  type InvitationState,
  type MemberState,
  type OrganizationWorkspaces,
  type RevokedIn,
  type TeamName,
  S,
  invitationKey,
  memberKey,
  orgAdminEntries,
  orgAdminKey,
  organizationKey,
  revokedIn,
  revokedKey,
  teamKey,
  withOrgAdmin,
} from './permission-history-state';

export { HISTORY_CHANGES, atPositionKey, type HistoryChange, type HistoryEntryDoc, PERMISSION_HISTORY, PERMISSION_HISTORY_STATE } from './permission-history-entries';


/**
 * Rule 12: every address the deletion erased (the subjects it names: not one another living user holds or held too,
 * docs/rules.md#rule-12) is erased from the invitations sent to it and their entries. The invitations the user accepted
 * or was bound to are erased by id (UserDeletedFromWorkspace), whatever address they went to.
 */
async function eraseEmails(read: ProjectionReader, e: ProjectedEvent): Promise<ProjectionWrite[]> {
  const erased = await erasedAddresses(read, S, e);
  const writes: ProjectionWrite[] = [...erased.writes];
  for (const address of erased.addresses)
    for (const inv of await read.findBy<InvitationState>(S, 'email', address.email)) if (reaches(address, inv)) writes.push(...(await eraseInvitation(read, inv)));
  return writes;
}

/**
 * An invitation's address erased, from its state and from every entry that carries it. `userId`: the deleted user the
 * deletion names the invitation as theirs (bound to them, rule 8): its entries that named nobody name them now, as an
 * accepted invitation's do, so `?userId=` still finds them once the address is gone (probe 33 F10). `cause`: the
 * deletion or the erasure whose own append cancelled the invitation just before this event — its `invitation_cancelled`
 * entry (the same time and request) says so in `details.reason`, where it read `command` (probes 80 F3, 85 F3).
 */
async function eraseInvitation(read: ProjectionReader, inv: InvitationState, userId?: string, cause?: { e: ProjectedEvent; at: string; reason: 'deletion' | 'address_erased' }): Promise<ProjectionWrite[]> {
  const writes: ProjectionWrite[] = [];
  if (inv.email !== null) writes.push(upsert(S, { ...inv, email: null }));
  // the cancel of the same command: its time and request are this event's (one command's events share their metadata)
  const sameCommand = (doc: HistoryEntryDoc) => cause !== undefined && doc.at === occurredAt(cause.e, cause.at) && doc.correlationId === correlationOf(cause.e);
  for (const id of inv.entryIds) {
    const doc = await read.get<HistoryEntryDoc>(PERMISSION_HISTORY, id);
    if (!doc) continue;
    const named = userId !== undefined && doc.userId === null;
    const why = cause !== undefined && doc.change === 'invitation_cancelled' && doc.details?.reason !== cause.reason && sameCommand(doc);
    if (doc.email !== null || named || why) writes.push(upsert(PERMISSION_HISTORY, { ...doc, email: null, ...(named && { userId }), ...(why && { details: { reason: cause!.reason } }) }));
  }
  return writes;
}

/** The entries and state writes of one event (the documents: permission-history-state.ts). */
/**
 * An invitation's link handed out again, mailed (a resend) or copied: an entry naming the invitation, its address and
 * the link's expiry, listed among the invitation's entries so that its address is erased with theirs.
 */
async function linkEntry(
  e: ProjectedEvent,
  read: ProjectionReader,
  d: { workspaceId: string; invitationId: string; linkVersion: number; expiresAt: string },
  at: string,
  change: 'invitation_resent' | 'invitation_link_copied',
): Promise<ProjectionWrite[]> {
  const inv = await read.get<InvitationState>(S, invitationKey(d.workspaceId, d.invitationId));
  const doc = entry(e, at, {
    workspaceId: d.workspaceId,
    organizationId: inv?.organizationId ?? null,
    invitationId: d.invitationId,
    email: inv?.email ?? null,
    change,
    before: null,
    after: null,
    details: { linkVersion: d.linkVersion, expiresAt: d.expiresAt },
  });
  const writes: ProjectionWrite[] = [upsert(PERMISSION_HISTORY, doc)];
  if (inv) writes.push(upsert(S, { ...inv, entryIds: [...inv.entryIds, doc._id] }));
  return writes;
}

async function applyHistory(e: ProjectedEvent, read: ProjectionReader): Promise<ProjectionWrite[]> {
  const event: DomainEvent = e.event;
  switch (event.type) {
    case 'WorkspaceCreated': {
      const d = event.data;
      const owner = accessModel(d.accessModel).ownerAccess;
      const access: Access = { roles: [...owner.roles], restrictions: {}, grants: [...owner.grants] };
      const member: MemberState = {
        _id: memberKey(d.workspaceId, d.ownerUserId),
        userId: d.ownerUserId,
        organizationId: d.organizationId,
        access,
      };
      const doc = entry(e, d.createdAt, {
        workspaceId: d.workspaceId,
        organizationId: d.organizationId,
        userId: d.ownerUserId,
        change: 'joined',
        before: null,
        after: access,
        // joined by creating the workspace, no one's invitation: a check for "who granted themselves access?" tells it
        // from a self-granted one (probe 98 F8)
        details: { reason: 'workspace_created' },
      });
      const known = await read.get<OrganizationWorkspaces>(S, organizationKey(d.organizationId));
      // applied again (at-least-once: the same event after a later one), the org admins are those of now, not of the
      // creation: the entries its first application wrote stand (a property run found a later org admin added here)
      const orgAdmins = known?.workspaceIds.includes(d.workspaceId) ? [] : (known?.orgAdmins ?? []);
      const workspaces: OrganizationWorkspaces = { _id: organizationKey(d.organizationId), workspaceIds: [...(known?.workspaceIds ?? []).filter((id) => id !== d.workspaceId), d.workspaceId], orgAdmins };
      // rule 5: the org admins hold an owner's authority here from its creation on (probe 33 F9: their later
      // `org_admin_revoked` here had no grant before it); one entry each, after the creator's `joined`
      const admins = orgAdmins.map((userId) =>
        upsert(PERMISSION_HISTORY, {
          ...entry(e, d.createdAt, { workspaceId: d.workspaceId, organizationId: d.organizationId, userId, change: 'org_admin_granted', before: null, after: null, details: { reason: 'workspace_created' } }),
          _id: `${e.position}:${d.workspaceId}:${userId}`,
        }),
      );
      return [upsert(S, member), upsert(PERMISSION_HISTORY, doc), ...admins, upsert(S, workspaces)];
    }
    case 'UserJoinedOrganization': {
      // the organization's first admin (its creation): their deletion ends that authority in every workspace
      const d = event.data;
      return d.orgAdmin ? [upsert(S, { _id: orgAdminKey(d.organizationId, d.userId) }), await withOrgAdmin(read, d.organizationId, d.userId, true)] : [];
    }
    case 'OrgAdminChanged': {
      // rule 5: an org admin has an owner's authority in every workspace of the organization, a member there or not:
      // each workspace's history says when someone got it or lost it (rule 17)
      const d = event.data;
      const key = orgAdminKey(d.organizationId, d.userId);
      const entries = await orgAdminEntries(read, e, { organizationId: d.organizationId, userId: d.userId, at: d.changedAt, granted: d.orgAdmin });
      return [...entries, d.orgAdmin ? upsert(S, { _id: key }) : remove(S, key), await withOrgAdmin(read, d.organizationId, d.userId, d.orgAdmin)];
    }
    case 'UserInvited': {
      const d = event.data;
      const doc = entry(e, d.invitedAt, {
        workspaceId: d.workspaceId,
        organizationId: d.organizationId,
        invitationId: d.invitationId,
        email: d.email,
        change: 'invited',
        before: null,
        after: d.access,
        details: { linkVersion: d.linkVersion, expiresAt: d.expiresAt },
      });
      const state: InvitationState = {
        _id: invitationKey(d.workspaceId, d.invitationId),
        organizationId: d.organizationId,
        email: d.email ?? null,
        access: d.access,
        entryIds: [doc._id],
        invitedBy: doc.actorId,
        invitedWithKey: doc.apiKeyId,
        ...((d.addressKey === 'organization' || d.addressKey === 'invitation') && { addressKey: d.addressKey }),
        ...(typeof d.inviteeUserId === 'string' && { inviteeUserId: d.inviteeUserId }),
      };
      return [upsert(S, state), upsert(PERMISSION_HISTORY, doc), ...(await rememberAddress(read, S, e, 'email', d.email))];
    }
    case 'InvitationResent':
      return linkEntry(e, read, event.data, event.data.resentAt, 'invitation_resent');
    // a link handed out by hand, recorded on the mail stream: who copied it, with which key and request (probe 83 F4)
    case 'InvitationLinkCopied':
      return linkEntry(e, read, event.data, event.data.copiedAt, 'invitation_link_copied');
    case 'InvitationCancelled': {
      const d = event.data;
      const key = invitationKey(d.workspaceId, d.invitationId);
      const inv = await read.get<InvitationState>(S, key);
      const doc = entry(e, d.cancelledAt, {
        workspaceId: d.workspaceId,
        organizationId: inv?.organizationId ?? null,
        invitationId: d.invitationId,
        email: d.email,
        change: 'invitation_cancelled',
        before: inv?.access ?? null,
        after: null,
        // a member manager's cancel; a deletion's or an address erasure's says so once its next event is read (eraseInvitation)
        details: { reason: 'command' },
      });
      const writes = [upsert(PERMISSION_HISTORY, doc)];
      if (inv) writes.push(upsert(S, { ...inv, entryIds: [...inv.entryIds, doc._id] }));
      return writes;
    }
    case 'InvitationAccepted': {
      const d = event.data;
      const member: MemberState = { _id: memberKey(d.workspaceId, d.userId), userId: d.userId, organizationId: d.organizationId, access: d.access };
      const inv = await read.get<InvitationState>(S, invitationKey(d.workspaceId, d.invitationId));
      const doc = entry(e, d.acceptedAt, {
        workspaceId: d.workspaceId,
        organizationId: d.organizationId,
        userId: d.userId,
        invitationId: d.invitationId,
        change: 'joined',
        before: null,
        after: d.access,
        // the joiner is the actor (they used the link); who let them in, and with which key, is the invitation's sender
        // (probe 82 F7: every join read as self-granted to a segregation-of-duties check)
        details: { invitedBy: inv?.invitedBy ?? null, invitedWithKey: inv?.invitedWithKey ?? null },
      });
      // the invitation's entries (invited, resent) now say whom it brought in: a history filtered by the user shows
      // how they came, by whom invited and with what access (their position and time stay the invitation's)
      const named: ProjectionWrite[] = [];
      for (const id of inv?.entryIds ?? []) {
        const earlier = await read.get<HistoryEntryDoc>(PERMISSION_HISTORY, id);
        if (earlier && earlier.userId === null) named.push(upsert(PERMISSION_HISTORY, { ...earlier, userId: d.userId }));
      }
      // a user revoked here who joins again is a member again: their deletion's entry here comes from workspaceIds
      return [upsert(S, member), ...named, upsert(PERMISSION_HISTORY, doc), ...(await revokedIn(read, d.organizationId, d.userId, d.workspaceId, false))];
    }
    case 'AccessLevelChanged':
    case 'RestrictionsChanged':
    case 'GrantsChanged': {
      const d = event.data;
      const member = await read.get<MemberState>(S, memberKey(d.workspaceId, d.userId));
      const before: Access = member?.access ?? { roles: [], restrictions: {}, grants: [] };
      let after: Access;
      let change: HistoryChange;
      if (event.type === 'AccessLevelChanged') [after, change] = [{ ...before, roles: event.data.after }, 'roles_changed'];
      else if (event.type === 'GrantsChanged') [after, change] = [{ ...before, grants: event.data.after }, 'grants_changed'];
      else [after, change] = [{ ...before, restrictions: event.data.after }, 'restrictions_changed'];
      const organizationId = member?.organizationId ?? null;
      const doc = entry(e, d.changedAt, { workspaceId: d.workspaceId, organizationId, userId: d.userId, change, before, after });
      const writes = [upsert(PERMISSION_HISTORY, doc)];
      if (member) writes.push(upsert(S, { ...member, access: after }));
      return writes;
    }
    case 'AccessRevoked': {
      const d = event.data;
      const member = await read.get<MemberState>(S, memberKey(d.workspaceId, d.userId));
      const doc = entry(e, d.revokedAt, {
        workspaceId: d.workspaceId,
        organizationId: d.organizationId,
        userId: d.userId,
        change: 'revoked',
        before: d.before,
        after: null,
        details: { contacts: d.contacts },
      });
      // (the member's team removals came before it, in the same append: nothing reads their state after this)
      const writes = [upsert(PERMISSION_HISTORY, doc), ...(await revokedIn(read, d.organizationId, d.userId, d.workspaceId, true))];
      if (member) writes.push(remove(S, member._id));
      return writes;
    }
    // rule 14: team membership is access; revokes, deletions and deleted teams say so in `reason`
    case 'TeamMemberAdded':
    case 'TeamMemberRemoved': {
      const d = event.data;
      const [member, team] = await Promise.all([read.get<MemberState>(S, memberKey(d.workspaceId, d.userId)), read.get<TeamName>(S, teamKey(d.teamId))]);
      const added = event.type === 'TeamMemberAdded';
      const doc = entry(e, added ? event.data.addedAt : event.data.removedAt, {
        workspaceId: d.workspaceId,
        organizationId: member?.organizationId ?? null,
        userId: d.userId,
        change: added ? 'added_to_team' : 'removed_from_team',
        before: null,
        after: null,
        details: { teamId: d.teamId, teamName: team?.name ?? null, reason: added ? 'command' : event.data.reason },
      });
      return [upsert(PERMISSION_HISTORY, doc)];
    }
    case 'UserDeletedFromWorkspace':
    case 'InvitationAddressErased': {
      // rule 12 by invitation id: the deletion names, per workspace, every invitation to the user or to an address
      // they had (an address only invited, its erasure: every invitation to it). The addresses the user had
      // (eraseEmails) are known only from events read in clear: one read after the deletion shredded them (a projector
      // behind the log) reads null, and its invitations would keep theirs.
      const d = event.data;
      const userId = event.type === 'UserDeletedFromWorkspace' ? event.data.userId : undefined;
      const writes: ProjectionWrite[] = [];
      const cause = event.type === 'UserDeletedFromWorkspace' ? { e, at: event.data.deletedAt, reason: 'deletion' as const } : { e, at: event.data.erasedAt, reason: 'address_erased' as const };
      for (const invitationId of d.invitationIds) {
        const inv = await read.get<InvitationState>(S, invitationKey(d.workspaceId, invitationId));
        // named: the invitations bound to them (rule 8), not one to an address of theirs that admits nobody yet — one
        // sent after they gave the address up was to whoever held it then (probe 86 F1)
        if (inv) writes.push(...(await eraseInvitation(read, inv, inv.inviteeUserId === userId ? userId : undefined, cause)));
      }
      return writes;
    }
    case 'AddressErased':
      return eraseEmails(read, e);
    case 'UserDeleted': {
      // the workspaces where the user was an active member (the only ones where they have a state), then those they
      // were revoked from (rule 17: each workspace where they were a member gets an entry; no access before it there)
      const d = event.data;
      const writes: ProjectionWrite[] = [];
      const members: MemberState[] = [];
      const revoked = await read.get<RevokedIn>(S, revokedKey(d.organizationId, d.userId));
      if (revoked) writes.push(remove(S, revoked._id));
      const wereMembers = [...d.workspaceIds, ...(revoked?.workspaceIds ?? []).filter((id) => !d.workspaceIds.includes(id))];
      for (const workspaceId of wereMembers) {
        const member = await read.get<MemberState>(S, memberKey(workspaceId, d.userId));
        if (member) members.push(member);
        const doc = entry(e, d.deletedAt, {
          workspaceId,
          organizationId: d.organizationId,
          userId: d.userId,
          change: 'deleted',
          before: member?.access ?? null,
          after: null,
        });
        writes.push(upsert(PERMISSION_HISTORY, doc));
      }
      // an org admin's authority ends with them in every other workspace too (probe 26b: no entry said so there)
      const admin = await read.get<Doc>(S, orgAdminKey(d.organizationId, d.userId));
      if (admin) {
        writes.push(remove(S, admin._id), await withOrgAdmin(read, d.organizationId, d.userId, false));
        writes.push(...(await orgAdminEntries(read, e, { organizationId: d.organizationId, userId: d.userId, at: d.deletedAt, granted: false, reason: 'deletion' }, wereMembers)));
      }
      return [...writes, ...members.map((m) => remove(S, m._id)), ...(await eraseEmails(read, e))];
    }
    default:
      // the workspace's changes besides its members' access: teams, sharing, partner links, plan
      return workspaceChangeEntries(e, read);
  }
}

export const permissionHistoryProjection: Projection = {
  name: 'permission_history',
  // 11: a `joined` entry names who sent the invitation and with which key (`details.invitedBy`, `invitedWithKey`: probe
  // 82 F7), the workspace creator's says `details.reason: workspace_created` (probe 98 F8);
  // 10: a user's deletion names them on the entries of the invitations bound to them only, not on those to an address
  // of theirs that admitted nobody (probe 86 F1);
  // 9: an invitation's cancel says why in `details.reason`: `command`, or `deletion` / `address_erased` when a user's
  // deletion or an address's erasure cancelled it (probes 80 F3, 85 F3);
  // 8: the workspace's changes besides its members' access — teams created, renamed, deleted, shared; partner teams
  // shown or hidden; partner links; plan changes (probe 69 F6; permission-history-workspace.ts);
  // 7: each entry's request (`correlationId`) and API key (`apiKeyId`), from the event's metadata (probe 69 F2, F10);
  // 6: a deletion names the user in the entries of the invitations it names as theirs (probe 33 F10); a workspace's
  // creation has an `org_admin_granted` entry (reason workspace_created) per org admin then (F9); 5: the organization's workspaces and its org admins in the state, for the entries of a change of org admin and of
  // an org admin's deletion (rule 5); 4: a deletion erases the addresses it erased (erasedSubjects), no longer every address the user had (one another
  // user holds now stays theirs: probe 23), and no list of a user's addresses is kept; 3: a user's deletion has an
  // entry in the workspaces they were revoked from too; 2: an accepted invitation's entries carry the user who accepted it
  version: 11,
  collections: {
    [PERMISSION_HISTORY]: {
      // every query pins workspaceId (and maybe userId, actorId or correlationId) and sorts by position or atPosition
      // (queries/history.ts): the compounds serve them all; single-field indexes would only cost writes. One request's
      // entries by its own (probe 70 F5: `?correlationId=` scanned the workspace's whole history, ~1 us an entry)
      indexes: [],
      compound: [
        ['workspaceId', 'position'],
        ['workspaceId', 'atPosition'],
        ['workspaceId', 'userId', 'position'],
        ['workspaceId', 'actorId', 'position'],
        ['workspaceId', 'correlationId', 'position'],
        // one kind of change (or a few) across a workspace's whole history: rare kinds would scan it otherwise
        ['workspaceId', 'change', 'position'],
      ],
    },
    // an invitation's state by the address it was sent to (rule 12)
    [PERMISSION_HISTORY_STATE]: { indexes: ['email'] },
  },
  eventTypes: [
    'UserJoinedOrganization',
    'OrgAdminChanged',
    'UserDeleted',
    'UserDeletedFromWorkspace',
    'AddressErased',
    'InvitationAddressErased',
    'WorkspaceCreated',
    'UserInvited',
    'InvitationResent',
    'InvitationLinkCopied',
    'InvitationCancelled',
    'InvitationAccepted',
    'AccessLevelChanged',
    'RestrictionsChanged',
    'GrantsChanged',
    'AccessRevoked',
    'TeamMemberAdded',
    'TeamMemberRemoved',
    ...WORKSPACE_CHANGE_TYPES,
  ],
  apply: applyHistory,
};
