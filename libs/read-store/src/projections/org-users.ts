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
  /**
   * the mail of the last email change's confirmation link (version 2): when the mail relay took it, or refused it for
   * good (the mail stream's records of that version); absent in documents from before, null after a deletion
   */
  emailConfirmation?: { version: number; mailedAt: string | null; mailRefusedAt: string | null } | null;
}

export const orgUserId = (organizationId: string, userId: string): string => `${organizationId}:${userId}`;

const EVENT_TYPES = [
  'UserJoinedOrganization',
  'UserProfileUpdated',
  'EmailChangeConfirmed',
  'OrgAdminChanged',
  'UserDeleted',
  'EmailChangeRequested',
  'EmailConfirmationMailed',
  'EmailConfirmationMailRefused',
] as const;

export const orgUsersProjection: Projection = documentProjection<OrgUserDoc, (typeof EVENT_TYPES)[number]>({
  collection: ORG_USERS,
  // 2: `emailConfirmation`, what became of an email change's mail (probe 101 F4, probe 106 F5)
  version: 2,
  // read by id only (the presence report's profiles, the organization's user reads): no query filters, sorts or searches it, so no index or search
  // rows to maintain on each write and to build after a rebuild (add them with the query that needs them)
  spec: { indexes: [] },
  eventTypes: EVENT_TYPES,
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
          emailConfirmation: null,
        };
      }
      // a new link: its mail is not known yet
      case 'EmailChangeRequested':
        if (!user || user.deleted) return undefined;
        return { ...user, emailConfirmation: { version: event.data.version, mailedAt: null, mailRefusedAt: null } };
      // the link's mail was handed over, or refused for good (the mail stream); an older link's record changes nothing
      case 'EmailConfirmationMailed':
      case 'EmailConfirmationMailRefused': {
        if (!user || user.deleted || user.emailConfirmation?.version !== event.data.version) return undefined;
        const mailed = 'mailedAt' in event.data ? { mailedAt: event.data.mailedAt, mailRefusedAt: null } : { mailedAt: null, mailRefusedAt: event.data.refusedAt };
        return { ...user, emailConfirmation: { version: event.data.version, ...mailed } };
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
          emailConfirmation: null,
        };
    }
  },
});
