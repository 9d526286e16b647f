import { evolveWorkspace, initialWorkspaceState } from './workspace/state';
import { EventFromLaterVersion, checkReadable, fromStored, toStored, upcast } from './upcasting';
import type { WorkspaceEvent } from './workspace/events';
import { T0 } from './testing/fixture';

const info = { workspaceId: 'ws-1', organizationId: 'org-1', name: 'Support', plan: 'standard' as const, accessModel: 'levels' as const, ownerUserId: 'admin', createdAt: T0 };

describe('upcasting', () => {
  it('a stream mixing UserInvited v1 (single role) and v2 (access) replays correctly', () => {
    const stored = [
      {
        type: 'UserInvited',
        version: 1,
        data: { workspaceId: 'ws-1', organizationId: 'org-1', invitationId: 'old', email: 'old@acme.test', role: 'manager', invitedAt: T0, expiresAt: '2026-03-03T09:00:00.000Z' },
      },
      {
        type: 'UserInvited',
        version: 2,
        data: {
          workspaceId: 'ws-1',
          organizationId: 'org-1',
          invitationId: 'new',
          email: 'new@acme.test',
          access: { roles: ['agent'], restrictions: { workflows: true }, grants: [] },
          invitedAt: T0,
          expiresAt: '2026-03-03T09:00:00.000Z',
          linkVersion: 1,
        },
      },
      { type: 'InvitationResent', version: 1, data: { workspaceId: 'ws-1', invitationId: 'old', linkVersion: 2, resentAt: T0, expiresAt: '2026-03-04T09:00:00.000Z' } },
      { type: 'SomethingFromTheFuture', version: 1, data: {} },
    ];
    const state = stored
      .map(upcast)
      .filter((e): e is WorkspaceEvent => e !== undefined)
      .reduce(evolveWorkspace, initialWorkspaceState(info));
    expect(state.invitations.get('old')).toMatchObject({
      email: 'old@acme.test',
      access: { roles: ['manager'], restrictions: {}, grants: [] },
      linkVersion: 2,
      expiresAt: '2026-03-04T09:00:00.000Z',
      status: 'pending',
    });
    expect(state.invitations.get('new')).toMatchObject({ access: { roles: ['agent'], restrictions: { workflows: true } }, linkVersion: 1 });
  });

  it('current versions pass through unchanged and a missing version means 1', () => {
    const e = { type: 'InvitationCancelled', data: { workspaceId: 'w', invitationId: 'i', email: 'e@x.io', cancelledAt: T0 } };
    expect(upcast(e)).toEqual({ ...e, version: 1 });
  });
});

describe('addresses stored before rule 6 took the Turkish İ as i (probe 74 F1)', () => {
  it('rule 6: an address stored as i and a dot above is read as the address it is now, in every event that carries one; others pass as they are', () => {
    const read = (type: string, data: object) => fromStored({ type, data, metadata: {} })!.data as Record<string, unknown>;
    expect(read('UserInvited', { email: 'i\u0307layda@acme.test', access: { roles: ['agent'], restrictions: {}, grants: [] } }).email).toBe('ilayda@acme.test');
    expect(read('UserInvited', { email: 'role@acme.test', role: 'agent' }).email).toBe('role@acme.test');
    expect(upcast({ type: 'UserInvited', version: 1, data: { email: 'i\u0307pek@acme.test', role: 'agent' } })!.data).toMatchObject({ email: 'ipek@acme.test' });
    for (const type of ['UserJoinedOrganization', 'EmailChangeRequested', 'EmailChangeConfirmed']) expect(read(type, { email: 'i\u0307rem@acme.test' }).email).toBe('irem@acme.test');
    expect(read('UserProfileUpdated', { changes: { email: 'i\u0307nce@acme.test', displayName: 'İnce' } }).changes).toEqual({ email: 'ince@acme.test', displayName: 'İnce' });
    // in the domain too (probe 121 F7: `GMAİL.TEST` was stored as xn--gmail-bgd.test); a real IDN domain stays
    expect(read('UserInvited', { email: 'ismail@xn--gmail-bgd.test', access: { roles: ['agent'], restrictions: {}, grants: [] } }).email).toBe('ismail@gmail.test');
    expect(read('UserProfileUpdated', { changes: { email: 'i\u0307nce@xn--gmail-bgd.test' } }).changes).toEqual({ email: 'ince@gmail.test' });
    expect(read('EmailChangeConfirmed', { email: 'jane@xn--bcher-kva.example' }).email).toBe('jane@xn--bcher-kva.example');
    // a sealed field (ciphertext) and a name are left alone
    expect(read('UserInvited', { email: 'enc:v1:abc' }).email).toBe('enc:v1:abc');
    expect(read('UserJoinedOrganization', { email: 'ada@acme.test', displayName: 'i\u0307' }).displayName).toBe('i\u0307');
  });
});

describe('stored shape', () => {
  it('round-trips an event with its schema version in the metadata, and upcasts old stored versions', () => {
    const e = { type: 'InvitationCancelled' as const, version: 1 as const, data: { workspaceId: 'w', invitationId: 'i', email: 'e@x.io', cancelledAt: T0, cancelledBy: 'a' } };
    const stored = toStored(e, { actorId: 'a' });
    expect(stored.metadata).toEqual({ actorId: 'a', schemaVersion: 1 });
    expect(fromStored(stored)).toEqual(e);
    const old = fromStored({ type: 'UserInvited', data: { workspaceId: 'w', organizationId: 'o', invitationId: 'i', email: 'e@x.io', role: 'agent', invitedAt: T0, expiresAt: T0 }, metadata: {} });
    expect(old).toMatchObject({ version: 2, data: { access: { roles: ['agent'] }, linkVersion: 1 } });
    expect(fromStored({ type: 'Unknown', data: {}, metadata: {} })).toBeUndefined();
  });
});

describe('who sent and who cancelled an invitation, and who revoked a member, before the events carried them (probe 82 F7, probe 80 F14)', () => {
  it("an invitation's sender and canceller written before session 63 are read as the events' actor; one the data names is kept", () => {
    const invited = { workspaceId: 'w', organizationId: 'o', invitationId: 'i', email: 'e@x.io', access: { roles: ['agent'], restrictions: {}, grants: [] }, invitedAt: T0, expiresAt: T0, linkVersion: 1 };
    const sent = fromStored({ type: 'UserInvited', data: invited, metadata: { actorId: 'ada', schemaVersion: 2 } });
    expect(sent?.data).toEqual({ ...invited, invitedBy: 'ada' });
    const cancelled = fromStored({ type: 'InvitationCancelled', data: { workspaceId: 'w', invitationId: 'i', email: null, cancelledAt: T0 }, metadata: { actorId: 'system' } });
    expect(cancelled?.data).toMatchObject({ cancelledBy: 'system' });
    // written since: the data's own, whatever the metadata says; other types pass as they are
    expect(fromStored({ type: 'UserInvited', data: { ...invited, invitedBy: 'bob' }, metadata: { actorId: 'ada', schemaVersion: 2 } })?.data).toMatchObject({ invitedBy: 'bob' });
    expect(fromStored({ type: 'InvitationResent', data: { invitationId: 'i' }, metadata: { actorId: 'ada' } })?.data).toEqual({ invitationId: 'i' });
    // who asked for an email change (probe 121 F9), alike
    expect(fromStored({ type: 'EmailChangeRequested', data: { userId: 'u', email: 'u@x.io', version: 1 }, metadata: { actorId: 'u' } })?.data).toMatchObject({ requestedBy: 'u' });
    // who revoked a member (probe 80 F14), alike
    expect(fromStored({ type: 'AccessRevoked', data: { userId: 'u', revokedAt: T0 }, metadata: { actorId: 'ada' } })?.data).toEqual({ userId: 'u', revokedAt: T0, revokedBy: 'ada' });
    // folded: the invitation read's fields
    const state = initialWorkspaceState(info);
    evolveWorkspace(state, sent as WorkspaceEvent);
    evolveWorkspace(state, cancelled as WorkspaceEvent);
    expect(state.invitations.get('i')).toMatchObject({ status: 'cancelled', invitedBy: 'ada', closedAt: T0, cancelledBy: 'system' });
  });
});

describe('events a later version wrote (docs/adr/0020 point 4)', () => {
  const on = (stream: string, type: string, schemaVersion?: number) => ({ stream, type, metadata: schemaVersion === undefined ? {} : { schemaVersion } });

  it('a type this version does not know, or a newer schema version of one it knows, on a stream of the domain: refused with what and where', () => {
    for (const [stream, type, version] of [
      ['workspace-ws-1', 'TeamArchived', 1],
      ['organization-org-1', 'AccessLevelChanged', 2],
      ['presence-ws-1-u', 'PresenceChanged', 2],
      ['mail-org-1', 'SmsSent', undefined],
      ['workspace-ws-1', 'UserInvited', 3],
    ] as const) {
      const read = () => checkReadable(on(stream, type, version));
      expect(read).toThrow(EventFromLaterVersion);
      expect(read).toThrow(`${stream} holds an event this version of Rollcall cannot read (${type}, schema version ${version ?? 1}): a later version wrote it`);
    }
  });

  it('every version this code reads passes, and so does anything on the application\'s own streams (snapshots, erasure records)', () => {
    for (const event of [
      on('workspace-ws-1', 'UserInvited', 1),
      on('workspace-ws-1', 'UserInvited', 2),
      on('workspace-ws-1', 'UserInvited'),
      on('organization-org-1', 'OrgAdminChanged', 1),
      on('presence-ws-1-u', 'MembershipEnded', 1),
      on('mail-org-1', 'InvitationMailed', 1),
      on('erasures-org-1', 'PersonalDataErased'),
      on('rollcall-snapshot-workspace-ws-1', 'SnapshotChunk'),
    ])
      expect(() => checkReadable(event)).not.toThrow();
  });
});
