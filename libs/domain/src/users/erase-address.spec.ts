import { ADMIN, Scenario, by, expectError, expectEvents } from '../testing/fixture';
import { isPending } from '../workspace/state';
import { addressFormsErased } from './erase-address';
import { erasedInvitationSubjects } from './erased-invitations';

describe('rule 12: an address only invited (never a user\'s) is erased on an org admin\'s request (probe 40 F3)', () => {
  it('every invitation to it loses its address, whatever its status; a pending one is cancelled; nothing of it stays in the state', () => {
    const s = new Scenario();
    const cancelled = s.invited('Zq@Example.org');
    s.given({ type: 'CancelInvitation', ...by(s, ADMIN), invitationId: cancelled });
    const pending = s.invited('zq@example.org', {}, ADMIN);
    const other = s.invited('someone@acme.test');
    const d = s.whenEraseAddress('ZQ@example.org');
    const [cancel, erased, recorded] = expectEvents(d, ['InvitationCancelled', 'InvitationAddressErased', 'AddressErased']);
    expect(cancel!.data).toMatchObject({ invitationId: pending, email: null });
    expect(erased!.data).toMatchObject({ workspaceId: 'ws-1', organizationId: 'org-1', invitationIds: [cancelled, pending] });
    expect(recorded!.data).toMatchObject({ organizationId: 'org-1', erasureId: 'erasure-1', workspaceIds: ['ws-1'] });
    // sent since session 41: each under its own subject (erasedInvitationSubjects), none under an address's
    expect(addressFormsErased([s.ctx.ws], 'zq@example.org')).toEqual({ withinOrganization: new Set(), shared: new Set() });
    expect(erasedInvitationSubjects(d.ok ? d.events : [], [s.ctx.ws])).toEqual([cancelled, pending].map((invitationId) => ({ kind: 'email', email: 'zq@example.org', organizationId: 'org-1', invitationId })));
    s.applyOrg(d.ok ? d.events : []);
    expect(s.ctx.ws.invitations.get(cancelled)!.email).toBe('');
    expect(s.ctx.ws.invitations.get(pending)!).toMatchObject({ email: '', status: 'cancelled' });
    expect(isPending(s.ctx.ws, other)).toBe(true);
    expect(s.ctx.ws.pendingByEmail.has('zq@example.org')).toBe(false);
    // erased already: nothing left to erase; the address may be invited again (a new key)
    expectError(s.whenEraseAddress('zq@example.org'), 'ADDRESS_NOT_FOUND');
    expectEvents(s.when({ type: 'InviteMember', ...by(s, ADMIN), invitationId: 'again', email: 'zq@example.org', ttlSeconds: 3600 }), ['UserInvited']);
  });

  it("refused for an address that is or was a user's (delete the user instead), to anyone but an org admin, and for one never invited", () => {
    const s = new Scenario().member('owner', { roles: ['owner'] }).member('jane');
    s.invited('stranger@example.org');
    expectError(s.whenEraseAddress('stranger@example.org', 'owner'), 'INSUFFICIENT_AUTHORITY');
    expectError(s.whenEraseAddress('JANE@acme.test'), 'ADDRESS_IS_A_USERS');
    expectError(s.whenEraseAddress('admin@acme.test'), 'ADDRESS_IS_A_USERS');
    expectError(s.whenEraseAddress('nobody@example.org'), 'ADDRESS_NOT_FOUND');
    // a former address of a living user (changed since) is still theirs
    s.givenOrg({ type: 'UpdateProfile', organizationId: 'org-1', actorId: 'jane', now: s.now, userId: 'jane', changes: { email: 'jane.new@acme.test' }, confirmationTtlSeconds: 3600 });
    s.givenOrg({ type: 'ConfirmEmailChange', organizationId: 'org-1', userId: 'jane', version: 1, now: s.now });
    expect(s.org.users.get('jane')!.email).toBe('jane.new@acme.test');
    expectError(s.whenEraseAddress('jane@acme.test'), 'ADDRESS_IS_A_USERS');
  });

  it('an invitation bound to a living user (rule 8) is theirs: refused', () => {
    const s = new Scenario().member('jane');
    // jane holds jane@acme.test: an invitation to it in the workspace is bound to her
    expectError(s.whenEraseAddress('jane@acme.test'), 'ADDRESS_IS_A_USERS');
  });
});

describe('rule 12: the system re-applies a journaled erasure after a restore (ADR 0031; probe 64 F2)', () => {
  it('the system may erase an address and delete a user, as an org admin may; a member who is not an org admin may not', () => {
    const s = new Scenario().member('jane', { roles: ['owner'] }).member('zed', { roles: ['agent'] });
    s.invited('only.invited@example.org');
    expectEvents(s.whenEraseAddress('only.invited@example.org', 'system'), ['InvitationCancelled', 'InvitationAddressErased', 'AddressErased']);
    expectError(s.whenEraseAddress('only.invited@example.org', 'jane'), 'INSUFFICIENT_AUTHORITY');
    const deletion = s.whenDelete('zed', 'system');
    expect(deletion.ok && deletion.events.map((e) => e.type)).toContain('UserDeleted');
    expectError(s.whenDelete('zed', 'jane'), 'INSUFFICIENT_AUTHORITY');
  });
});
