import { type DomainEvent, profileChangeOf } from '@rollcall/domain';
import { type Doc, type Projection, type ProjectionReader, type ProjectionWrite, upsert } from './projection';

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

async function applyOrgUsers(event: DomainEvent, read: ProjectionReader): Promise<ProjectionWrite[]> {
  switch (event.type) {
    case 'UserJoinedOrganization': {
      const d = event.data;
      const user: OrgUserDoc = {
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
      return [upsert(ORG_USERS, user)];
    }
    case 'UserProfileUpdated':
    case 'EmailChangeConfirmed': {
      const d = profileChangeOf(event)!;
      const user = await read.get<OrgUserDoc>(ORG_USERS, orgUserId(d.organizationId, d.userId));
      if (!user || user.deleted) return [];
      const c = d.changes;
      return [
        upsert(ORG_USERS, {
          ...user,
          ...(c.email !== undefined && { email: c.email }),
          ...(c.displayName !== undefined && { displayName: c.displayName }),
          ...(c.alias !== undefined && { alias: c.alias }),
          ...(c.avatarUrl !== undefined && { avatarUrl: c.avatarUrl }),
        }),
      ];
    }
    case 'UserDeleted': {
      const d = event.data;
      const user = await read.get<OrgUserDoc>(ORG_USERS, orgUserId(d.organizationId, d.userId));
      if (!user) return [];
      const erased: OrgUserDoc = {
        ...user,
        email: null,
        displayName: null,
        alias: null,
        avatarUrl: null,
        orgAdmin: false,
        deleted: true,
        deletedAt: d.deletedAt,
      };
      return [upsert(ORG_USERS, erased)];
    }
    default:
      return [];
  }
}

export const orgUsersProjection: Projection = {
  name: 'org_users',
  collections: {
    [ORG_USERS]: { indexes: ['organizationId', 'email', 'deleted', 'orgAdmin'], search: ['email', 'displayName', 'alias'] },
  },
  eventTypes: ['UserJoinedOrganization', 'UserProfileUpdated', 'EmailChangeConfirmed', 'UserDeleted'],
  apply: (e, read) => applyOrgUsers(e.event, read),
};
