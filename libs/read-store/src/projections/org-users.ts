import { profileChangeOf } from '@rollcall/domain';
import { type Doc, type Projection, documentProjection } from './projection';

/**
 * `org_users/${organizationId}:${userId}`: one document per org user. A deleted user's document is kept
 * (pseudonymous: id, organization, dates) with its personal data erased (null) and `deleted: true` (rule 12).
 */
export const ORG_USERS = 'org_users';

export interface OrgUserDoc extends Doc {
  organizationId: string;
  userId: string;
  email: string | null;
  displayName: string | null;
  alias: string | null;
  avatarUrl: string | null;
  orgAdmin: boolean;
  deleted: boolean;
  joinedAt: string;
  deletedAt: string | null;
}

export const orgUserId = (organizationId: string, userId: string): string => `${organizationId}:${userId}`;

export const orgUsersProjection: Projection = documentProjection<
  OrgUserDoc,
  'UserJoinedOrganization' | 'UserProfileUpdated' | 'EmailChangeConfirmed' | 'OrgAdminChanged' | 'UserDeleted'
>({
  collection: ORG_USERS,
  // read by id only (the presence report's profiles): no query filters, sorts or searches it, so no index or search
  // rows to maintain on each write and to build after a rebuild (add them with the query that needs them)
  spec: { indexes: [] },
  eventTypes: ['UserJoinedOrganization', 'UserProfileUpdated', 'EmailChangeConfirmed', 'OrgAdminChanged', 'UserDeleted'],
  id: (event) => orgUserId(event.data.organizationId, event.data.userId),
  evolve: (user, event) => {
    switch (event.type) {
      case 'UserJoinedOrganization': {
        const d = event.data;
        return {
          _id: orgUserId(d.organizationId, d.userId),
          organizationId: d.organizationId,
          userId: d.userId,
          email: d.email,
          displayName: d.displayName,
          alias: null,
          avatarUrl: null,
          orgAdmin: d.orgAdmin,
          deleted: false,
          joinedAt: d.joinedAt,
          deletedAt: null,
        };
      }
      case 'UserProfileUpdated':
      case 'EmailChangeConfirmed': {
        // a deleted user's profile stays erased
        if (!user || user.deleted) return undefined;
        const c = profileChangeOf(event)!.changes;
        return {
          ...user,
          ...(c.email !== undefined && { email: c.email }),
          ...(c.displayName !== undefined && { displayName: c.displayName }),
          ...(c.alias !== undefined && { alias: c.alias }),
          ...(c.avatarUrl !== undefined && { avatarUrl: c.avatarUrl }),
        };
      }
      // rule 5: made an org admin by another, or no longer one
      case 'OrgAdminChanged':
        if (!user || user.deleted) return undefined;
        return { ...user, orgAdmin: event.data.orgAdmin };
      case 'UserDeleted':
        if (!user) return undefined;
        return {
          ...user,
          email: null,
          displayName: null,
          alias: null,
          avatarUrl: null,
          orgAdmin: false,
          deleted: true,
          deletedAt: event.data.deletedAt,
        };
    }
  },
});
