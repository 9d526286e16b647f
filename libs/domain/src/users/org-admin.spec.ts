import { ADMIN, ORG, Scenario, by, expectError, expectEvents } from '../testing/fixture';
import { SYSTEM_ACTOR } from '../shared/events';
import { resolveActor } from '../workspace/authority';

const change = (s: Scenario, actorId: string, userId: string, orgAdmin: boolean) =>
  s.whenOrg({ type: 'ChangeOrgAdmin', organizationId: ORG, actorId, now: s.now, userId, orgAdmin });

describe('rule 5: org admins make other users org admins, and take it away', () => {
  it('an org admin makes a user an org admin: an owner\'s authority in every workspace, a member there or not', () => {
    const s = new Scenario().member('jane', { roles: ['agent'] });
    s.givenOrg({ type: 'JoinOrganization', organizationId: ORG, actorId: 'out', now: s.now, newUserId: 'out', email: 'out@acme.test' });
    expectError(s.when({ type: 'RevokeAccess', ...by(s, 'out'), userId: 'jane' }), 'INSUFFICIENT_AUTHORITY');
    const [made] = expectEvents(change(s, ADMIN, 'out', true), ['OrgAdminChanged']);
    expect(made!.data).toEqual({ organizationId: ORG, userId: 'out', orgAdmin: true, changedAt: s.now });
    s.applyOrg([made!]);
    expect(resolveActor(s.ctx, 'out')).toEqual({ kind: 'org_admin', userId: 'out' });
    expectEvents(s.when({ type: 'RevokeAccess', ...by(s, 'out'), userId: 'jane' }), ['AccessRevoked']);
    // and may now do what only org admins do: create a workspace, delete a user
    expectEvents(s.whenOrg({ type: 'CreateWorkspace', organizationId: ORG, actorId: 'out', now: s.now, workspaceId: 'ws-out', name: 'Out' }), ['WorkspaceCreated']);
  });

  it('rule 5: the operator (the system key) makes an org admin — its way back when every org admin has left — but takes it from nobody (probe 80 F1)', () => {
    const s = new Scenario().member('bob', { roles: ['agent'] });
    const [made] = expectEvents(change(s, SYSTEM_ACTOR, 'bob', true), ['OrgAdminChanged']);
    expect(made!.data).toMatchObject({ userId: 'bob', orgAdmin: true });
    s.applyOrg([made!]);
    expect(resolveActor(s.ctx, 'bob')).toEqual({ kind: 'org_admin', userId: 'bob' });
    expectError(change(s, SYSTEM_ACTOR, 'bob', false), 'INSUFFICIENT_AUTHORITY');
    expectError(change(s, SYSTEM_ACTOR, ADMIN, false), 'INSUFFICIENT_AUTHORITY');
    expectError(change(s, SYSTEM_ACTOR, 'ghost', true), 'USER_NOT_FOUND');
    // the org admin it made takes it from the one who left
    expectEvents(change(s, 'bob', ADMIN, false), ['OrgAdminChanged']);
  });

  it('taken away, the user keeps their memberships and their own access there, and no more', () => {
    const s = new Scenario().member('jane', { roles: ['agent'] }).member('bob', { roles: ['agent'] });
    s.applyOrg([...expectEvents(change(s, ADMIN, 'jane', true), ['OrgAdminChanged'])]);
    const [taken] = expectEvents(change(s, ADMIN, 'jane', false), ['OrgAdminChanged']);
    expect(taken!.data.orgAdmin).toBe(false);
    s.applyOrg([taken!]);
    expect(resolveActor(s.ctx, 'jane')).toMatchObject({ kind: 'member', userId: 'jane' });
    expectError(s.when({ type: 'RevokeAccess', ...by(s, 'jane'), userId: 'bob' }), 'INSUFFICIENT_AUTHORITY');
  });

  it('only an org admin decides it, never for themself (rule 3: the organization keeps the admin deciding), nor for a deleted user; what already holds appends nothing', () => {
    const s = new Scenario().member('owner', { roles: ['owner'] }).member('jane');
    expectError(change(s, 'owner', 'jane', true), 'INSUFFICIENT_AUTHORITY');
    expectError(change(s, ADMIN, ADMIN, false), 'CANNOT_MODIFY_SELF');
    expectError(change(s, ADMIN, 'ghost', true), 'USER_NOT_FOUND');
    expectEvents(change(s, ADMIN, 'jane', false), []);
    s.applyOrg([...expectEvents(change(s, ADMIN, 'jane', true), ['OrgAdminChanged'])]);
    expectEvents(change(s, ADMIN, 'jane', true), []);
    // two org admins: each may take it from the other, not from themself
    expectError(change(s, 'jane', 'jane', false), 'CANNOT_MODIFY_SELF');
    expectEvents(change(s, 'jane', ADMIN, false), ['OrgAdminChanged']);
    const d = s.whenDelete('owner');
    s.applyOrg(d.ok ? d.events : []);
    // said to be deleted, for good, not "not a user" (probe 80 F7), as is a second deletion
    expect(expectError(change(s, ADMIN, 'owner', true), 'USER_NOT_FOUND').message).toBe(
      'User owner was deleted from this organization; a deletion cannot be undone, and nothing more is decided about them.',
    );
    expect(expectError(s.whenDelete('owner'), 'USER_NOT_FOUND').message).toContain('was deleted');
    expect(expectError(change(s, ADMIN, 'ghost', true), 'USER_NOT_FOUND').message).toBe('User ghost is not a user of this organization.');
  });
});
