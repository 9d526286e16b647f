import { ADMIN, ORG, Scenario, by, expectError, expectEvents } from '../testing/fixture';
import { addressesErasedWith } from './delete-user';

const HOUR = 3600;

/** The owner of an address, per the decided organization state. */
const holderOf = (s: Scenario, email: string) => s.org.byEmail.get(email);

describe('rule 10: an email change takes effect only once the new address is confirmed', () => {
  it('a requested change keeps the old address until the link is opened, then moves it', () => {
    const s = new Scenario().member('jane');
    const [requested] = expectEvents(
      s.whenOrg({ type: 'UpdateProfile', organizationId: ORG, actorId: 'jane', now: s.now, userId: 'jane', changes: { email: 'Jane@New.test ' } }),
      ['EmailChangeRequested'],
    );
    expect(requested!.data).toMatchObject({ userId: 'jane', email: 'jane@new.test', version: 1 });
    s.applyOrg([requested!]);
    expect(s.org.users.get('jane')!.email).toBe('jane@acme.test');
    expect(holderOf(s, 'jane@new.test')).toBeUndefined();

    const [confirmed] = expectEvents(
      s.whenOrg({ type: 'ConfirmEmailChange', organizationId: ORG, userId: 'jane', version: 1, now: s.now }),
      ['EmailChangeConfirmed'],
    );
    s.applyOrg([confirmed!]);
    expect(s.org.users.get('jane')!.email).toBe('jane@new.test');
    expect(holderOf(s, 'jane@new.test')).toBe('jane');
    expect(holderOf(s, 'jane@acme.test')).toBeUndefined();
  });

  it('a link works once, only the latest works, and not after its expiry', () => {
    const s = new Scenario().member('jane');
    const request = (email: string) =>
      s.givenOrg({ type: 'UpdateProfile', organizationId: ORG, actorId: 'jane', now: s.now, userId: 'jane', changes: { email }, confirmationTtlSeconds: HOUR });
    request('one@new.test');
    request('two@new.test');
    expectError(s.whenOrg({ type: 'ConfirmEmailChange', organizationId: ORG, userId: 'jane', version: 1, now: s.now }), 'EMAIL_CHANGE_NOT_PENDING');
    s.advance(HOUR);
    expectError(s.whenOrg({ type: 'ConfirmEmailChange', organizationId: ORG, userId: 'jane', version: 2, now: s.now }), 'EMAIL_CHANGE_EXPIRED');
    request('three@new.test');
    s.givenOrg({ type: 'ConfirmEmailChange', organizationId: ORG, userId: 'jane', version: 3, now: s.now });
    expectError(s.whenOrg({ type: 'ConfirmEmailChange', organizationId: ORG, userId: 'jane', version: 3, now: s.now }), 'EMAIL_CHANGE_NOT_PENDING');
  });

  it('rule 10 (probe 65 F6): the confirmed link used again says that it worked; a replaced one says to request again', () => {
    const s = new Scenario().member('jane');
    const request = (email: string) =>
      s.givenOrg({ type: 'UpdateProfile', organizationId: ORG, actorId: 'jane', now: s.now, userId: 'jane', changes: { email }, confirmationTtlSeconds: HOUR });
    const confirm = (version: number) => s.whenOrg({ type: 'ConfirmEmailChange', organizationId: ORG, userId: 'jane', version, now: s.now });
    request('one@new.test');
    request('two@new.test');
    s.givenOrg({ type: 'ConfirmEmailChange', organizationId: ORG, userId: 'jane', version: 2, now: s.now });
    const again = confirm(2);
    expectError(again, 'EMAIL_CHANGE_NOT_PENDING');
    expect(!again.ok && again.error.message).toBe('This confirmation link was already used: the new email address is confirmed, nothing more to do.');
    const replaced = confirm(1);
    expect(!replaced.ok && replaced.error.message).toBe('This confirmation link was replaced or already used; request the email change again.');
    // a later request pending: the confirmed link still says it worked
    request('three@new.test');
    expect(!confirm(2).ok && (confirm(2) as { error: { message: string } }).error.message).toMatch(/^This confirmation link was already used: the new email address is confirmed/);
  });

  it('rule 10: asking again for the address pending mails a new link (after expiry too); the earlier link no longer works', () => {
    const s = new Scenario().member('jane');
    const request = () =>
      s.whenOrg({ type: 'UpdateProfile', organizationId: ORG, actorId: 'jane', now: s.now, userId: 'jane', changes: { email: 'jane@new.test' }, confirmationTtlSeconds: HOUR });
    s.applyOrg(expectEvents(request(), ['EmailChangeRequested']));
    // the mail was lost: asked again while pending
    const [again] = expectEvents(request(), ['EmailChangeRequested']);
    expect(again!.data).toMatchObject({ email: 'jane@new.test', version: 2 });
    s.applyOrg([again!]);
    expectError(s.whenOrg({ type: 'ConfirmEmailChange', organizationId: ORG, userId: 'jane', version: 1, now: s.now }), 'EMAIL_CHANGE_NOT_PENDING');
    // the link expired: "request the email change again" works with the same address
    s.advance(HOUR);
    expectError(s.whenOrg({ type: 'ConfirmEmailChange', organizationId: ORG, userId: 'jane', version: 2, now: s.now }), 'EMAIL_CHANGE_EXPIRED');
    const [renewed] = expectEvents(request(), ['EmailChangeRequested']);
    s.applyOrg([renewed!]);
    s.givenOrg({ type: 'ConfirmEmailChange', organizationId: ORG, userId: 'jane', version: 3, now: s.now });
    expect(s.org.users.get('jane')!.email).toBe('jane@new.test');
  });

  it('rule 10: asking for the address the user has withdraws a pending change: its link no longer works; with nothing pending, nothing happens', () => {
    const s = new Scenario().member('jane');
    const change = (email: string) => s.whenOrg({ type: 'UpdateProfile', organizationId: ORG, actorId: 'jane', now: s.now, userId: 'jane', changes: { email } });
    expectEvents(change('Jane@Acme.test'), []);
    s.applyOrg(expectEvents(change('jane@new.test'), ['EmailChangeRequested']));
    const [withdrawn] = expectEvents(change('JANE@acme.test'), ['EmailChangeWithdrawn']);
    expect(withdrawn!.data).toMatchObject({ userId: 'jane', version: 2 });
    s.applyOrg([withdrawn!]);
    expectError(s.whenOrg({ type: 'ConfirmEmailChange', organizationId: ORG, userId: 'jane', version: 1, now: s.now }), 'EMAIL_CHANGE_NOT_PENDING');
    expect(s.org.users.get('jane')).toMatchObject({ email: 'jane@acme.test', pendingEmail: null });
    // a later request takes the next version
    const [next] = expectEvents(change('jane@other.test'), ['EmailChangeRequested']);
    expect(next!.data.version).toBe(3);
  });

  it('an address with a pending invitation for someone else cannot be claimed: an org admin is refused at the request, a user changing their own at the confirmation (probe 83 F1)', () => {
    const s = new Scenario().member('agent');
    s.invited('boss@other.test', { roles: ['owner'] });
    const pending = new Map([['boss@other.test', null]]);
    expectError(
      s.whenOrgWith({ type: 'UpdateProfile', organizationId: ORG, actorId: ADMIN, now: s.now, userId: 'agent', changes: { email: 'boss@other.test' } }, pending),
      'EMAIL_PENDING_INVITATION',
    );
    // the user themself is not told (an agent would learn the invitations of workspaces they cannot see): the link is
    // mailed, and its confirmation is refused
    const t = new Scenario().member('agent');
    expectEvents(
      t.whenOrgWith({ type: 'UpdateProfile', organizationId: ORG, actorId: 'agent', now: t.now, userId: 'agent', changes: { email: 'boss@other.test' } }, pending),
      ['EmailChangeRequested'],
    );
    t.givenOrg({ type: 'UpdateProfile', organizationId: ORG, actorId: 'agent', now: t.now, userId: 'agent', changes: { email: 'boss@other.test' } });
    expectError(
      t.whenOrgWith({ type: 'ConfirmEmailChange', organizationId: ORG, userId: 'agent', version: 1, now: t.now }, pending),
      'EMAIL_PENDING_INVITATION',
    );
  });

  it("rule 10: a user asking for another user's address is not told it is taken (probe 83 F1): the confirmation is refused EMAIL_TAKEN; an org admin is refused at once", () => {
    const s = new Scenario().member('jane').member('joe');
    expectEvents(
      s.whenOrg({ type: 'UpdateProfile', organizationId: ORG, actorId: 'jane', now: s.now, userId: 'jane', changes: { email: 'JOE@acme.test' } }),
      ['EmailChangeRequested'],
    );
    s.givenOrg({ type: 'UpdateProfile', organizationId: ORG, actorId: 'jane', now: s.now, userId: 'jane', changes: { email: 'JOE@acme.test' } });
    expectError(s.whenOrg({ type: 'ConfirmEmailChange', organizationId: ORG, userId: 'jane', version: 1, now: s.now }), 'EMAIL_TAKEN');
    expectError(s.whenOrg({ type: 'UpdateProfile', organizationId: ORG, actorId: ADMIN, now: s.now, userId: 'jane', changes: { email: 'joe@acme.test' } }), 'EMAIL_TAKEN');
  });

  it('an address another user holds is EMAIL_TAKEN; other profile fields change at once', () => {
    const s = new Scenario().member('jane').member('joe');
    expectError(
      s.whenOrg({ type: 'UpdateProfile', organizationId: ORG, actorId: ADMIN, now: s.now, userId: 'jane', changes: { email: 'joe@acme.test' } }),
      'EMAIL_TAKEN',
    );
    expectEvents(
      s.whenOrg({ type: 'UpdateProfile', organizationId: ORG, actorId: 'jane', now: s.now, userId: 'jane', changes: { displayName: 'J', email: 'j2@acme.test' } }),
      ['UserProfileUpdated', 'EmailChangeRequested'],
    );
  });
});

describe('rule 8: acceptance binds to the invitee the link was sent to', () => {
  it('an invitation to an existing user links that user even after someone else took the address', () => {
    const s = new Scenario().member('jane');
    // jane is revoked, then invited again at her address: the invitation binds to jane
    s.given({ type: 'RevokeAccess', ...by(s, ADMIN), userId: 'jane' });
    const inv = s.invited('jane@acme.test', { roles: ['owner'] });
    expect(s.ws!.invitations.get(inv)!.inviteeUserId).toBe('jane');
    // jane moves to another address; an agent confirms jane's old one
    s.givenOrg({ type: 'UpdateProfile', organizationId: ORG, actorId: 'jane', now: s.now, userId: 'jane', changes: { email: 'jane@new.test' } });
    s.givenOrg({ type: 'ConfirmEmailChange', organizationId: ORG, userId: 'jane', version: 1, now: s.now });
    s.member('agent');
    s.givenOrg({ type: 'UpdateProfile', organizationId: ORG, actorId: 'agent', now: s.now, userId: 'agent', changes: { email: 'jane@acme.test' } });
    s.givenOrg({ type: 'ConfirmEmailChange', organizationId: ORG, userId: 'agent', version: 1, now: s.now });
    const [accepted] = expectEvents(
      s.when({ type: 'AcceptInvitation', workspaceId: s.ws!.info.workspaceId, now: s.now, invitationId: inv, linkVersion: 1, newUserId: 'fresh' }),
      ['InvitationAccepted'],
    );
    expect(accepted!.data.userId).toBe('jane');
  });

  it('an invitation whose invitee was deleted is refused with INVITATION_ADDRESSEE_ERASED', () => {
    const s = new Scenario().member('jane');
    s.given({ type: 'RevokeAccess', ...by(s, ADMIN), userId: 'jane' });
    const inv = s.invited('jane@acme.test');
    const deleted = s.whenDelete('jane');
    if (!deleted.ok) throw new Error(deleted.error.message);
    // only the organization part: as if the workspace had not been told (an older log)
    s.applyOrg(deleted.events.filter((e) => e.type === 'UserDeleted'));
    expectError(
      s.when({ type: 'AcceptInvitation', workspaceId: s.ws!.info.workspaceId, now: s.now, invitationId: inv, linkVersion: 1, newUserId: 'fresh' }),
      'INVITATION_ADDRESSEE_ERASED',
    );
  });
});

describe('rule 12: deleting a user reaches every workspace where they were', () => {
  it('their pending invitations are cancelled and the workspace forgets their addresses', () => {
    const s = new Scenario().member('jane');
    s.given({ type: 'RevokeAccess', ...by(s, ADMIN), userId: 'jane' });
    const inv = s.invited('jane@acme.test');
    const events = expectEvents(s.whenDelete('jane'), ['InvitationCancelled', 'UserDeletedFromWorkspace', 'UserDeleted']);
    expect(events[1]!.data.invitationIds).toEqual(expect.arrayContaining([inv]));
    // the deletion's own events carry no address of the user: a reader that gets them before the keys are forgotten
    // (the integration events) learns nothing (probe 13: the address was published in clear)
    // (cancelled by whoever deleted the user: probe 82 F7)
    expect(events[0]!.data).toEqual({ workspaceId: s.ws!.info.workspaceId, invitationId: inv, email: null, cancelledAt: s.now, cancelledBy: ADMIN });
    expect(JSON.stringify(events)).not.toContain('jane@acme.test');
    s.applyOrg(events);
    const invitation = s.ws!.invitations.get(inv)!;
    expect(invitation).toMatchObject({ status: 'cancelled', email: '', closedAt: s.now, cancelledBy: ADMIN });
    expect(s.ws!.pendingByEmail.size).toBe(0);
    const user = s.org.users.get('jane')!;
    expect([user.email, user.displayName, user.knownEmails]).toEqual(['', '', []]);
  });

  it("an address they held that another user holds now stays that user's: their pending invitation is not cancelled, the address not erased (probe 23)", () => {
    const s = new Scenario().member('jane');
    const JANE_FIRST = 'jane@acme.test';
    // jane moves to another address; hers becomes yann's (a new user who accepts an invitation to it)
    s.givenOrg({ type: 'UpdateProfile', organizationId: ORG, actorId: 'jane', now: s.now, userId: 'jane', changes: { email: 'jane@new.test' } });
    s.givenOrg({ type: 'ConfirmEmailChange', organizationId: ORG, userId: 'jane', version: 1, now: s.now });
    s.given({ type: 'RevokeAccess', ...by(s, ADMIN), userId: 'jane' });
    s.accepted(s.invited(JANE_FIRST), 'yann');
    expect(holderOf(s, JANE_FIRST)).toBe('yann');
    s.given({ type: 'RevokeAccess', ...by(s, ADMIN), userId: 'yann' });
    const yannsInvitation = s.invited(JANE_FIRST);
    expect(s.ws!.invitations.get(yannsInvitation)!.inviteeUserId).toBe('yann');

    expect([...addressesErasedWith(s.org, [s.ws!], 'jane')]).toEqual(['jane@new.test']);
    const events = expectEvents(s.whenDelete('jane'), ['UserDeletedFromWorkspace', 'UserDeleted']);
    // the invitation jane accepted is hers (its address blanked in the read models), yann's two are not
    const [janesInvitation] = [...s.ws!.invitations.values()].filter((i) => i.inviteeUserId === 'jane').map((i) => i.invitationId);
    expect(events[0]!.data.invitationIds).toEqual([janesInvitation]);
    s.applyOrg(events);
    expect(s.ws!.invitations.get(yannsInvitation)).toMatchObject({ status: 'pending', email: JANE_FIRST });
    expect(holderOf(s, JANE_FIRST)).toBe('yann');
  });

  it('an address they held that no one else holds, held or is invited at is erased with them', () => {
    const s = new Scenario().member('jane');
    s.givenOrg({ type: 'UpdateProfile', organizationId: ORG, actorId: 'jane', now: s.now, userId: 'jane', changes: { email: 'jane@new.test' } });
    s.givenOrg({ type: 'ConfirmEmailChange', organizationId: ORG, userId: 'jane', version: 1, now: s.now });
    expect([...addressesErasedWith(s.org, [s.ws!], 'jane')].sort()).toEqual(['jane@acme.test', 'jane@new.test']);
    // a pending invitation to her former address, sent since (it admits nobody yet), goes with the address
    const toFormer = s.invited('jane@acme.test');
    const events = expectEvents(s.whenDelete('jane'), ['InvitationCancelled', 'UserDeletedFromWorkspace', 'UserDeleted']);
    expect(events[1]!.data.invitationIds).toEqual(expect.arrayContaining([toFormer]));
  });

  it('a workspace where they never were gets nothing', () => {
    const s = new Scenario();
    s.givenOrg({ type: 'JoinOrganization', organizationId: ORG, actorId: 'x', now: s.now, newUserId: 'x', email: 'x@acme.test' });
    expectEvents(s.whenDelete('x'), ['UserDeleted']);
  });
});
