import type { Access, AccessModel, Plan } from '../access-model';
import { accessModel, isOwner, sharedAccess } from '../access-model';
import type { OrganizationState, WorkspaceInfo } from '../organization/state';
import { activeUser } from '../organization/state';
import { evolveTeams, initialTeamsState, type TeamsState } from '../teams/state';
import type { WorkspaceEvent } from './events';
import { type AddressKey, type DataSubject, addressKeyOf, addressSubject } from '../personal-data';
import { indexAddress, unindexAddress } from '../shared/address-index';
import { emailKey } from '../shared/validation';

/** pendingByEmail's key of an invitation's address (an erased one reads as null, and stays as it is) */
export const pendingKey = (email: string): string => (typeof email === 'string' ? emailKey(email) : email);
/** whether an invitation found in pendingByEmail is still pending */
export const isPending = (state: WorkspaceState, invitationId: string): boolean => state.invitations.get(invitationId)?.status === 'pending';

export interface Member {
  userId: string;
  access: Access;
  status: 'active' | 'revoked';
  joinedAt: string;
  /** a revoked member's: when, and by whom (a user id, or 'system'); absent while active (a rejoin starts a new Member) */
  revokedAt?: string;
  revokedBy?: string;
}

export interface Invitation {
  invitationId: string;
  email: string;
  access: Access;
  status: 'pending' | 'accepted' | 'cancelled';
  linkVersion: number;
  invitedAt: string;
  expiresAt: string;
  /** when the current link was sent (the invitation, or its latest resend): its lifetime is expiresAt − linkSentAt */
  linkSentAt?: string;
  /** the org user the address belonged to when invited (acceptance binds to them), or who accepted it; null: a new address not accepted */
  inviteeUserId: string | null;
  /** which key seals the address (UserInvited's `addressKey`: the invitation's own, the address's in the organization, or absent: the key shared by every organization) */
  addressKey?: AddressKey;
  /** who sent it ('system' with the system key; null only for an event made by hand without it: ../upcasting.ts) */
  invitedBy: string | null;
  /** when it was accepted or cancelled (null while pending) */
  closedAt: string | null;
  /** who cancelled it (null unless cancelled) */
  cancelledBy: string | null;
}

export interface WorkspaceState {
  info: WorkspaceInfo;
  members: Map<string, Member>;
  invitations: Map<string, Invitation>;
  /** normalised email → id of its pending invitation */
  pendingByEmail: Map<string, string>;
  /** the keys of pendingByEmail two pending invitations hold (address-index.ts: only from before session 27) */
  pendingByEmailShared: Map<string, string[]>;
  /** teams, network partners and chosen partner teams (docs/adr/0009: one consistency boundary with the members) */
  teams: TeamsState;
  /**
   * How many erasures reached this workspace (a user's deletion, an address's erasure: UserDeletedFromWorkspace,
   * InvitationAddressErased): its snapshots' key changes with it (docs/adr/0013, "Session 43"), so an erasure shreds the
   * snapshots of the workspaces it reached, not every workspace of the organization.
   */
  erasures: number;
}

/** What a workspace command decides on: its own stream's state and its organization's (admins, users, emails). */
export interface WorkspaceContext {
  org: OrganizationState;
  ws: WorkspaceState;
}

/** A workspace starts with its creator as owner (the WorkspaceCreated event lives in the organization stream). */
export const initialWorkspaceState = (info: WorkspaceInfo): WorkspaceState => {
  const model = accessModel(info.accessModel);
  return {
    info,
    members: new Map([
      [
        info.ownerUserId,
        {
          userId: info.ownerUserId,
          access: { roles: [...model.ownerAccess.roles], grants: [...model.ownerAccess.grants], restrictions: {} },
          status: 'active',
          joinedAt: info.createdAt,
        },
      ],
    ]),
    invitations: new Map(),
    pendingByEmail: new Map(),
    pendingByEmailShared: new Map(),
    teams: initialTeamsState(),
    erasures: 0,
  };
};

/** Folds one event into the state, in place (the state belongs to whoever folds it). */
export function evolveWorkspace(state: WorkspaceState, event: WorkspaceEvent): WorkspaceState {
  switch (event.type) {
    case 'UserInvited': {
      const d = event.data;
      state.invitations.set(d.invitationId, {
        invitationId: d.invitationId,
        email: d.email,
        // (one object per distinct value: shared-access.ts)
        access: sharedAccess(d.access),
        status: 'pending',
        linkVersion: d.linkVersion,
        invitedAt: d.invitedAt,
        expiresAt: d.expiresAt,
        linkSentAt: d.invitedAt,
        inviteeUserId: d.inviteeUserId ?? null,
        // (always set, undefined for older invitations: one object shape for all)
        addressKey: addressKeyOf(d.addressKey),
        // (fromStored reads an event written before the field with its metadata's actor: only a hand-made one lacks it)
        invitedBy: d.invitedBy ?? null,
        closedAt: null,
        cancelledBy: null,
      });
      indexAddress(state.pendingByEmail, state.pendingByEmailShared, pendingKey(d.email), d.invitationId, isPending, state);
      return state;
    }
    case 'InvitationResent': {
      const inv = state.invitations.get(event.data.invitationId);
      if (inv) {
        inv.linkVersion = event.data.linkVersion;
        inv.expiresAt = event.data.expiresAt;
        inv.linkSentAt = event.data.resentAt;
      }
      return state;
    }
    case 'InvitationCancelled':
    case 'InvitationAccepted': {
      const inv = state.invitations.get(event.data.invitationId);
      if (inv) {
        inv.status = event.type === 'InvitationCancelled' ? 'cancelled' : 'accepted';
        if (event.type === 'InvitationCancelled') {
          inv.closedAt = event.data.cancelledAt;
          inv.cancelledBy = event.data.cancelledBy ?? null;
        } else inv.closedAt = event.data.acceptedAt;
        unindexAddress(state.pendingByEmail, state.pendingByEmailShared, pendingKey(inv.email), inv.invitationId);
        // the user it admitted: theirs from now on, whatever address they hold later (a deletion erases it with them)
        if (event.type === 'InvitationAccepted') inv.inviteeUserId = event.data.userId;
      }
      if (event.type === 'InvitationAccepted') {
        const d = event.data;
        state.members.set(d.userId, { userId: d.userId, access: sharedAccess(d.access), status: 'active', joinedAt: d.acceptedAt });
      }
      return state;
    }
    case 'AccessLevelChanged':
    case 'GrantsChanged':
    case 'RestrictionsChanged': {
      const member = state.members.get(event.data.userId);
      if (!member) return state;
      const access = { ...member.access };
      if (event.type === 'AccessLevelChanged') access.roles = event.data.after;
      else if (event.type === 'GrantsChanged') access.grants = event.data.after;
      else access.restrictions = event.data.after;
      state.members.set(member.userId, { ...member, access: sharedAccess(access) });
      return state;
    }
    case 'UserDeletedFromWorkspace':
    case 'InvitationAddressErased': {
      state.erasures++;
      if (event.type === 'UserDeletedFromWorkspace') {
        const member = state.members.get(event.data.userId);
        if (member) state.members.set(member.userId, { ...member, status: 'revoked' });
      }
      // forget the addresses this process decrypted: nothing personal of a deleted user (or an erased address) stays in memory
      for (const id of event.data.invitationIds) {
        const inv = state.invitations.get(id);
        if (!inv) continue;
        unindexAddress(state.pendingByEmail, state.pendingByEmailShared, pendingKey(inv.email), id);
        if (inv.status === 'pending') inv.status = 'cancelled';
        inv.email = '';
      }
      return state;
    }
    case 'AccessRevoked': {
      const member = state.members.get(event.data.userId);
      const { revokedAt, revokedBy } = event.data;
      if (member) state.members.set(member.userId, { ...member, status: 'revoked', revokedAt, ...(revokedBy !== undefined && { revokedBy }) });
      return state;
    }
    case 'WorkspacePlanChanged':
      // a copy: `info` may be the organization state's record of the workspace (initialWorkspaceState), which keeps its creation
      state.info = { ...state.info, plan: event.data.plan };
      return state;
    default:
      // team and network events (rules 14-16); revokes and deletions decide their TeamMemberRemoved themselves
      evolveTeams(state.teams, event);
      return state;
  }
}

/** false once the invitation's address was erased: null when read after the erasure, '' when forgotten in memory */
export const hasAddress = (inv: Invitation): boolean => typeof inv.email === 'string' && inv.email !== '';

/** The subject the invitation's address is sealed under, in the workspace's organization. */
export const invitationSubject = (state: WorkspaceState, inv: Invitation): DataSubject => addressSubject(inv.email, state.info.organizationId, inv.addressKey, inv.invitationId);

/** what the invitation's later events that copy its address carry to name its subject (absent: the shared one) */
export const addressKeyFields = (inv: Invitation, organizationId: string) => (inv.addressKey ? { addressKey: inv.addressKey, organizationId } : {});

export const modelOf = (ctx: WorkspaceContext): AccessModel => accessModel(ctx.ws.info.accessModel);
export const planOf = (ctx: WorkspaceContext): Plan => ctx.ws.info.plan;

/** An active member whose org user still exists (a deleted user is gone from every workspace, rule 12). */
export const activeMember = (ctx: WorkspaceContext, userId: string): Member | undefined => {
  const member = ctx.ws.members.get(userId);
  return member?.status === 'active' && activeUser(ctx.org, userId) ? member : undefined;
};

/** Rule 4: is this user the only owner left? (Stops at the second owner it finds.) */
export const isLastOwner = (ctx: WorkspaceContext, userId: string): boolean => {
  const model = modelOf(ctx);
  const plan = planOf(ctx);
  const member = activeMember(ctx, userId);
  if (!member || !isOwner(member.access, model, plan)) return false;
  for (const other of ctx.ws.members.values())
    if (other.userId !== userId && activeMember(ctx, other.userId) && isOwner(other.access, model, plan)) return false;
  return true;
};
