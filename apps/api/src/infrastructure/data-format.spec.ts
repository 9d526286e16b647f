import { DOMAIN_EVENT_TYPES, newestVersionOf } from '@rollcall/domain';
import { DATA_FORMAT } from './data-format';

/**
 * The event types (with their newest schema version) that each data format added, as they were released (landed on
 * main at a session's end: the commits within one session are not releases). A format's list never changes once released: a new event type, or a new schema version of one, is what an earlier version
 * ignores or refuses, so it goes under a new format, and DATA_FORMAT is raised with it (docs/adr/0020 point 1). Probe 48
 * F1: session 45 added `InvitationMailRefused` under format 4, and a version of format 4 started beside it and mailed a
 * refused link again.
 */
const ADDED_BY_FORMAT: Readonly<Record<number, readonly string[]>> = {
  // every type the versions before session 37 wrote, and those added up to session 45 (formats 1–4 were raised for
  // `ApiKeyRevoked`, the address erasures and file layouts; the types are listed here as they stood at format 4)
  4: [
    'OrganizationCreated', 'ApiKeyIssued', 'ApiKeyRevoked', 'UserJoinedOrganization', 'WorkspaceCreated', 'UserProfileUpdated',
    'EmailChangeRequested', 'EmailChangeConfirmed', 'EmailChangeWithdrawn', 'OrgAdminChanged', 'UserDeleted', 'AddressErased',
    'UserInvited@2', 'InvitationResent', 'InvitationCancelled', 'InvitationAccepted', 'AccessLevelChanged', 'RestrictionsChanged',
    'GrantsChanged', 'AccessRevoked', 'UserDeletedFromWorkspace', 'InvitationAddressErased', 'WorkspacePlanChanged',
    'TeamCreated', 'TeamRenamed', 'TeamDeleted', 'TeamMemberAdded', 'TeamMemberRemoved', 'TeamShared', 'TeamUnshared',
    'WorkspacesNetworked', 'WorkspacesUnnetworked', 'PartnerTeamVisibilityChanged',
    'PresenceChanged', 'MembershipEnded', 'InvitationMailed', 'EmailConfirmationMailed',
  ],
  5: ['InvitationMailRefused', 'EmailConfirmationMailRefused'],
  6: ['ApiKeyLabelChanged', 'OrganizationClosing', 'OrganizationClosed', 'DataExported'],
  7: ['InvitationLinkCopied'],
  9: ['TeamShared@2', 'TeamUnshared@2'],
};

/** `Type` for schema version 1, `Type@N` past it */
const withVersion = (type: string): string => (newestVersionOf(type) === 1 ? type : `${type}@${newestVersionOf(type)}`);

describe('data format (docs/adr/0020 point 1)', () => {
  it('every event type this version writes, at its newest schema version, was added by a released format: a new one raises DATA_FORMAT', () => {
    const listed = Object.values(ADDED_BY_FORMAT).flat();
    expect(new Set(listed).size).toBe(listed.length);
    // each type at the newest version a format added (a released format's list never changes: a type's later version
    // is listed again under the format that added it)
    const newest = new Map<string, number>();
    for (const entry of listed) {
      const [type, version = '1'] = entry.split('@') as [string, string?];
      newest.set(type, Math.max(newest.get(type) ?? 0, Number(version)));
    }
    expect([...DOMAIN_EVENT_TYPES].map(withVersion).sort()).toEqual([...newest].map(([type, v]) => (v === 1 ? type : `${type}@${v}`)).sort());
  });

  it('the newest format that added event types is at most DATA_FORMAT (a later one adds a file layout only)', () => {
    expect(Math.max(...Object.keys(ADDED_BY_FORMAT).map(Number))).toBeLessThanOrEqual(DATA_FORMAT);
  });
});
