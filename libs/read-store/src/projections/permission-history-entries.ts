import type { Access } from '@rollcall/domain';
import { type Doc, type ProjectedEvent, actorOf, apiKeyOf, correlationOf, occurredAt } from './projection';

/** The permission history's entries (rule 17) and how one is made from an event: see permission-history.ts. */
export const PERMISSION_HISTORY = 'permission_history';
export const PERMISSION_HISTORY_STATE = 'permission_history_state';

/** every kind of change an entry records (the API's enum and its `?change=` filter take this list) */
export const HISTORY_CHANGES = [
  'invited',
  'invitation_resent',
  /** a member manager copied the invitation's current link (InvitationLinkCopied: probe 83 F4) */
  'invitation_link_copied',
  'invitation_cancelled',
  'joined',
  'roles_changed',
  'restrictions_changed',
  'grants_changed',
  'revoked',
  'deleted',
  'added_to_team',
  'removed_from_team',
  /** rule 5: an owner's authority in every workspace, given or taken (an entry in each workspace of the organization) */
  'org_admin_granted',
  'org_admin_revoked',
  // the workspace's own changes besides its members' access (version 8; permission-history-workspace.ts)
  'team_created',
  'team_renamed',
  'team_deleted',
  'team_shared',
  'team_unshared',
  'partner_team_shown',
  'partner_team_hidden',
  'partner_linked',
  'partner_unlinked',
  'plan_changed',
] as const;

export type HistoryChange = (typeof HISTORY_CHANGES)[number];

export interface HistoryEntryDoc extends Doc {
  workspaceId: string;
  organizationId: string | null;
  /** null on the entries of an invitation not (yet) accepted: then invitationId and email say who; once it is, the user who accepted */
  userId: string | null;
  invitationId: string | null;
  /** the invited email, on invitation entries only; erased (null) when that user is deleted */
  email: string | null;
  change: HistoryChange;
  before: Access | null;
  after: Access | null;
  /**
   * change-specific facts: `{linkVersion, expiresAt}` for invitations, `{contacts}` for a revoke, `{teamId, teamName,
   * reason}` for team changes (reason: command, revoke, deletion or team_deleted)
   */
  details: Record<string, unknown> | null;
  actorId: string | null;
  /**
   * metadata.correlationId: the request's id (its X-Request-Id, or the one made for it), the same on every entry of
   * one request — how "which request?" and "which entries were one edit?" are answered (probe 69 F2; version 7)
   */
  correlationId: string | null;
  /** metadata.apiKeyId: the organization API key the request was made with; null with the system key, an invitation's token, or before session 52 (probe 69 F10) */
  apiKeyId: string | null;
  /** metadata.occurredAt (ISO) */
  at: string;
  eventId: string;
  /** global position of the event (a number: exact below 2^53) */
  position: number;
  /** `${at}|${position, 20 digits}`: time order (then log order), for time-range queries */
  atPosition: string;
}

export const atPositionKey = (at: string, position: bigint | number): string => `${at}|${String(position).padStart(20, '0')}`;

type EntryFields = Pick<HistoryEntryDoc, 'workspaceId' | 'organizationId' | 'change' | 'before' | 'after'> &
  Partial<Pick<HistoryEntryDoc, 'userId' | 'invitationId' | 'email' | 'details'>>;

export function entry(e: ProjectedEvent, at: string, fields: EntryFields): HistoryEntryDoc {
  return {
    _id: `${e.position}:${fields.workspaceId}`,
    workspaceId: fields.workspaceId,
    organizationId: fields.organizationId,
    userId: fields.userId ?? null,
    invitationId: fields.invitationId ?? null,
    email: fields.email ?? null,
    change: fields.change,
    before: fields.before,
    after: fields.after,
    details: fields.details ?? null,
    actorId: actorOf(e),
    correlationId: correlationOf(e),
    apiKeyId: apiKeyOf(e),
    at: occurredAt(e, at),
    eventId: e.eventId,
    position: Number(e.position),
    atPosition: atPositionKey(occurredAt(e, at), e.position),
  };
}
