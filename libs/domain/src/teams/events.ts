import type { Event } from '../shared/events';

/**
 * Team and network events (docs/rules.md#teams). They live in the workspace stream they are about
 * (`workspace-{id}`, docs/adr/0009): team membership is decided together with revokes and deletions, so no
 * interleaving leaves a revoked or deleted user in a team. No field is personal data: users appear by id only,
 * and team names are the workspace's, not a person's.
 */
export type TeamCreated = Event<'TeamCreated', { workspaceId: string; teamId: string; name: string; createdAt: string }>;

export type TeamRenamed = Event<'TeamRenamed', { workspaceId: string; teamId: string; before: string; name: string; renamedAt: string }>;

/** Decided after a TeamMemberRemoved (reason `team_deleted`) for each of its members. */
export type TeamDeleted = Event<'TeamDeleted', { workspaceId: string; teamId: string; name: string; deletedAt: string }>;

export type TeamMemberAdded = Event<'TeamMemberAdded', { workspaceId: string; teamId: string; userId: string; addedAt: string }>;

/**
 * Why a member left a team: `command` (removed from it), `revoke` (their access to the workspace was revoked,
 * rule 11), `deletion` (the user was deleted, rule 12), `team_deleted` (the team itself was deleted).
 */
export type TeamMemberRemovalReason = 'command' | 'revoke' | 'deletion' | 'team_deleted';

export type TeamMemberRemoved = Event<
  'TeamMemberRemoved',
  { workspaceId: string; teamId: string; userId: string; reason: TeamMemberRemovalReason; removedAt: string }
>;

/**
 * The team is offered to these network partners of its workspace (rule 16; docs/adr/0040), each until the owner stops
 * (TeamUnshared) or the two are unlinked (WorkspacesUnnetworked, with no TeamUnshared). Schema version 2 (session 62) names them, `partnerWorkspaceIds`; version 1 never did: to
 * every partner, present and future, until the team's sharing is next changed. (A new version, not only a new field:
 * an earlier Rollcall would read a sharing with one partner as one with all of them; it refuses a version it does not
 * know instead.)
 */
export type TeamShared = Event<'TeamShared', { workspaceId: string; teamId: string; sharedAt: string; partnerWorkspaceIds?: string[] }, 1 | 2>;
/** The team is no longer offered to these partners (version 2); version 1, naming none: to any. */
export type TeamUnshared = Event<'TeamUnshared', { workspaceId: string; teamId: string; unsharedAt: string; partnerWorkspaceIds?: string[] }, 1 | 2>;

/** The workspace chose to see (or stopped seeing) a team its partner shares (rule 16). */
export type PartnerTeamVisibilityChanged = Event<
  'PartnerTeamVisibilityChanged',
  {
    workspaceId: string;
    partnerWorkspaceId: string;
    teamId: string;
    visible: boolean;
    changedAt: string;
    /**
     * the team's name as the partner shared it then, so that the viewer's own history names what it chose or hid (probe
     * 91 F4: by id only, a team deleted since was nameless there); absent in events before session 58, and on hiding
     * a team its partner no longer has
     */
    teamName?: string;
  }
>;

/**
 * A system admin linked two workspaces (rule 16), possibly of different organizations. Appended to BOTH workspace
 * streams in one atomic append, each copy written from its own workspace's side.
 */
export type WorkspacesNetworked = Event<
  'WorkspacesNetworked',
  { workspaceId: string; organizationId: string; partnerWorkspaceId: string; partnerOrganizationId: string; networkedAt: string }
>;

/**
 * The link was removed; like WorkspacesNetworked, appended to both streams. Each side forgets its choices of the other's
 * teams, and its teams' sharing with the other ends: no TeamUnshared is appended for it (docs/adr/0040), so a reader
 * following who is offered which team applies this event too.
 */
export type WorkspacesUnnetworked = Event<
  'WorkspacesUnnetworked',
  { workspaceId: string; organizationId: string; partnerWorkspaceId: string; partnerOrganizationId: string; unnetworkedAt: string }
>;

export type TeamEvent =
  | TeamCreated
  | TeamRenamed
  | TeamDeleted
  | TeamMemberAdded
  | TeamMemberRemoved
  | TeamShared
  | TeamUnshared
  | PartnerTeamVisibilityChanged
  | WorkspacesNetworked
  | WorkspacesUnnetworked;

export const TEAM_EVENT_TYPES = [
  'TeamCreated',
  'TeamRenamed',
  'TeamDeleted',
  'TeamMemberAdded',
  'TeamMemberRemoved',
  'TeamShared',
  'TeamUnshared',
  'PartnerTeamVisibilityChanged',
  'WorkspacesNetworked',
  'WorkspacesUnnetworked',
] as const satisfies readonly TeamEvent['type'][];
