import { decideOrganization } from '../organization/decider';
import { activeMember } from './state';
import { ADMIN, ORG, Scenario, by, expectError, expectEvents } from '../testing/fixture';
import type { AccessLevelChanged, AccessRevoked, RestrictionsChanged } from './events';
import { ACCESS_MODEL_PRESETS, type Restrictions, validateAccess } from '../access-model';

const change = (s: Scenario, actorId: string, userId: string, access: Record<string, unknown>) =>
  s.when({ type: 'ChangeAccess', ...by(s, actorId), userId, ...access });

describe('rule 10: edit access changes roles, restrictions and grants; profile is changed at the org level', () => {
  it('emits one event per part that changed, with before and after', () => {
    const s = new Scenario('levels').member('m', { roles: ['manager'] });
    const events = expectEvents(change(s, ADMIN, 'm', { restrictions: { data_export: true, integrations: true } }), ['RestrictionsChanged']) as RestrictionsChanged[];
    expect(events[0]!.data).toMatchObject({ userId: 'm', before: {}, after: { data_export: true, integrations: true } });
  });
  it('changing nothing emits nothing', () => {
    const s = new Scenario('levels').member('m', { roles: ['manager'] });
    expectEvents(change(s, ADMIN, 'm', { roles: ['manager'] }), []);
  });
  it('rule 10: a data scope set to its default value restricts nothing and is no change (probe 26: recorded as one); invited so, it is not kept either', () => {
    const s = new Scenario('levels').member('a', { roles: ['agent'] });
    expectEvents(change(s, ADMIN, 'a', { restrictions: { contact_visibility: 'all' } }), []);
    const [narrowed] = expectEvents(change(s, ADMIN, 'a', { restrictions: { contact_visibility: 'self_only' } }), ['RestrictionsChanged']) as RestrictionsChanged[];
    s.given({ type: 'ChangeAccess', ...by(s, ADMIN), userId: 'a', restrictions: { contact_visibility: 'self_only' } });
    const [widened] = expectEvents(change(s, ADMIN, 'a', { restrictions: { contact_visibility: 'all' } }), ['RestrictionsChanged']) as RestrictionsChanged[];
    expect([narrowed!.data.after, widened!.data.after]).toEqual([{ contact_visibility: 'self_only' }, {}]);
    const [invited] = expectEvents(s.when({ type: 'InviteMember', ...by(s, ADMIN), invitationId: 'inv-d', email: 'd@acme.test', ttlSeconds: 60, roles: ['agent'], restrictions: { contact_visibility: 'all', workflows: true } }), ['UserInvited']);
    expect(invited!.data.access.restrictions).toEqual({ workflows: true });
    // a member stored with the default scope (as before session 26): an edit that changes nothing records nothing
    const old = new Scenario('levels').member('o', { roles: ['agent'] });
    // (a new access value: the folds share theirs, frozen, shared-access.ts)
    const stored = old.ctx.ws.members.get('o')!;
    old.ctx.ws.members.set('o', { ...stored, access: { ...stored.access, restrictions: { contact_visibility: 'all' } } });
    expectEvents(change(old, ADMIN, 'o', { roles: ['agent'] }), []);
    expectEvents(change(old, ADMIN, 'o', { restrictions: {} }), []);
  });
  it('a new access level drops the restrictions that no longer apply, before the level changes', () => {
    const s = new Scenario('levels').member('m', { roles: ['manager'], restrictions: { data_export: true } });
    const events = expectEvents(change(s, ADMIN, 'm', { roles: ['agent'] }), ['RestrictionsChanged', 'AccessLevelChanged']);
    expect(events[0]!.data).toMatchObject({ before: { data_export: true }, after: {} });
  });
  it('rule 17: every step of a change of level is an access the rules allow: the restrictions it drops first, then the level, then the ones it adds', () => {
    const s = new Scenario('levels').member('m', { roles: ['manager'], restrictions: { data_export: true, integrations: true } });
    const events = expectEvents(change(s, ADMIN, 'm', { roles: ['agent'], restrictions: { workflows: true } }), ['RestrictionsChanged', 'AccessLevelChanged', 'RestrictionsChanged']);
    expect(events.map((e) => e.data)).toMatchObject([
      { before: { data_export: true, integrations: true }, after: {} },
      { before: ['manager'], after: ['agent'] },
      { before: {}, after: { workflows: true } },
    ]);
    // each state the events pass through is valid for its level (the probe found a manager with agent-only restrictions)
    let access = { roles: ['manager'], grants: [] as string[], restrictions: { data_export: true, integrations: true } as Restrictions };
    for (const e of events) {
      access = e.type === 'AccessLevelChanged' ? { ...access, roles: (e as AccessLevelChanged).data.after } : { ...access, restrictions: (e as RestrictionsChanged).data.after };
      expect(validateAccess(access, ACCESS_MODEL_PRESETS.levels, s.plan)).toBeUndefined();
    }
    // a restriction both levels take, kept as it is, stays through the change
    const agent = new Scenario('levels').member('a', { roles: ['agent'], restrictions: { workflows: true, contact_visibility: 'self_only' } });
    expectEvents(change(agent, ADMIN, 'a', { roles: ['agent'], restrictions: { workflows: true } }), ['RestrictionsChanged']);
  });
  it('restrictions are valid only for their role: a manager restriction on an agent is INVALID_RESTRICTION', () => {
    const s = new Scenario('levels').member('a', { roles: ['agent'] });
    expectError(change(s, ADMIN, 'a', { restrictions: { data_export: true } }), 'INVALID_RESTRICTION');
    expectError(change(s, ADMIN, 'a', { roles: ['manager'], restrictions: { workflows: true } }), 'INVALID_RESTRICTION');
    expectError(change(s, ADMIN, 'a', { restrictions: { contact_visibility: 'everyone' } }), 'INVALID_RESTRICTION');
    expectError(change(s, ADMIN, 'a', { restrictions: { workflows: 'yes' } }), 'INVALID_RESTRICTION');
    expectError(change(s, ADMIN, 'a', { restrictions: { no_such_thing: true } }), 'INVALID_RESTRICTION');
  });
  it('mask_contact_info needs the advanced or enterprise plan (PLAN_REQUIRED on standard)', () => {
    const std = new Scenario('levels', 'standard').member('a', { roles: ['agent'] });
    expectError(change(std, ADMIN, 'a', { restrictions: { mask_contact_info: true } }), 'PLAN_REQUIRED');
    for (const plan of ['advanced', 'enterprise'] as const) {
      const s = new Scenario('levels', plan).member('a', { roles: ['agent'] });
      expectEvents(change(s, ADMIN, 'a', { restrictions: { mask_contact_info: true } }), ['RestrictionsChanged']);
    }
  });
  it('roles must exist in the access model and levels holds exactly one', () => {
    const s = new Scenario('levels').member('a', { roles: ['agent'] });
    expectError(change(s, ADMIN, 'a', { roles: ['admin'] }), 'INVALID_ROLE');
    expectError(change(s, ADMIN, 'a', { roles: ['agent', 'manager'] }), 'VALIDATION_FAILED');
    expectError(change(s, ADMIN, 'a', { roles: [] }), 'VALIDATION_FAILED');
    const studio = new Scenario('studio').member('o', { roles: ['operator'] });
    expectError(change(studio, ADMIN, 'o', { roles: ['operator', 'operator'] }), 'VALIDATION_FAILED');
    // rule 6: no roles at all, where several are allowed (probe 38b F5)
    expectError(change(studio, ADMIN, 'o', { roles: [] }), 'VALIDATION_FAILED');
    expectEvents(change(studio, ADMIN, 'o', { roles: ['operator', 'analyst'] }), ['AccessLevelChanged']);
  });
  it('grants must be grantable in the access model', () => {
    const s = new Scenario('levels').member('a', { roles: ['agent'] });
    expectError(change(s, ADMIN, 'a', { grants: ['billing'] }), 'INVALID_GRANT');
    const p = new Scenario('permissions').member('u');
    expectError(change(p, ADMIN, 'u', { grants: ['billing'] }), 'INVALID_GRANT');
  });
  it('a grant repeated is refused, as a role repeated is (it was merged silently)', () => {
    const p = new Scenario('permissions').member('u');
    const d = change(p, ADMIN, 'u', { grants: ['reporting', 'reporting'] });
    expectError(d, 'VALIDATION_FAILED');
    expect(!d.ok && d.error.fields).toEqual([{ field: 'grants', message: 'must not repeat a grant' }]);
  });
  it('preset permissions: granting ib_publisher without settings succeeds with a warning', () => {
    const p = new Scenario('permissions').member('u');
    const d = change(p, ADMIN, 'u', { grants: ['ib_publisher'] });
    expectEvents(d, ['GrantsChanged']);
    expect(d.ok && d.warnings[0]).toMatch(/settings/);
    const both = change(p, ADMIN, 'u', { grants: ['ib_publisher', 'settings'] });
    expect(both.ok && both.warnings).toEqual([]);
  });
  it('editing someone who is not an active member is NOT_A_MEMBER', () => {
    const s = new Scenario('levels').member('a');
    s.given({ type: 'RevokeAccess', ...by(s, ADMIN), userId: 'a' });
    expectError(change(s, ADMIN, 'a', { roles: ['manager'] }), 'NOT_A_MEMBER');
    expectError(change(s, ADMIN, 'ghost', { roles: ['manager'] }), 'NOT_A_MEMBER');
  });
  it('NOT_A_MEMBER says what became of them, a sentence a console user acts on: revoked already, deleted, or never a member (probe 71 F4)', () => {
    const s = new Scenario('levels').member('a').member('b');
    s.given({ type: 'RevokeAccess', ...by(s, ADMIN), userId: 'a' });
    const message = (d: { ok: boolean; error?: { message: string } }) => (d.ok ? '' : d.error!.message);
    expect(message(s.when({ type: 'RevokeAccess', ...by(s, ADMIN), userId: 'a' }))).toBe("This member's access to the workspace was already revoked.");
    expect(message(change(s, ADMIN, 'ghost', { roles: ['manager'] }))).toBe('User ghost is not a member of this workspace.');
    const deleted = s.whenDelete('b');
    expect(deleted.ok).toBe(true);
    if (deleted.ok) s.applyOrg(deleted.events);
    expect(message(change(s, ADMIN, 'b', { roles: ['manager'] }))).toMatch(/^This user was deleted from the organization on \d{4}-\d{2}-\d{2}T[\d:.]+Z: they are no longer a member\.$/);
  });
  it('NOT_A_MEMBER of a revoked member invited again says they are invited and have not accepted, as INVALID_REASSIGNMENT and MEMBER_NOT_ACTIVE say it (one classifier, one order)', () => {
    const s = new Scenario('levels').member('a');
    s.given({ type: 'RevokeAccess', ...by(s, ADMIN), userId: 'a' });
    s.given({ type: 'InviteMember', ...by(s, ADMIN), invitationId: 'inv-a', email: 'a@acme.test', ttlSeconds: 3600 });
    expect(s.ws!.invitations.get('inv-a')!.inviteeUserId).toBe('a');
    const message = (d: { ok: boolean; error?: { message: string } }) => (d.ok ? '' : d.error!.message);
    const invited = 'User a is invited to this workspace and has not accepted yet: they are a member once they accept.';
    expect(message(change(s, ADMIN, 'a', { roles: ['manager'] }))).toBe(invited);
    expect(message(s.when({ type: 'RevokeAccess', ...by(s, ADMIN), userId: 'a' }))).toBe(invited);
  });
  it("NOT_A_MEMBER for an invitation's id (the user list shows both) says it is one, and what to do (probe 97 F3)", () => {
    const s = new Scenario('levels');
    const message = (d: { ok: boolean; error?: { message: string } }) => (d.ok ? '' : d.error!.message);
    s.given({ type: 'InviteMember', ...by(s, ADMIN), invitationId: 'inv-p', email: 'pete@acme.test', ttlSeconds: 3600 });
    const pending = 'inv-p is a pending invitation, not a member: it can be resent or cancelled (DELETE …/invitations/inv-p); the access it gives changes by cancelling it and inviting again.';
    expect(message(change(s, ADMIN, 'inv-p', { roles: ['manager'] }))).toBe(pending);
    expect(message(s.when({ type: 'RevokeAccess', ...by(s, ADMIN), userId: 'inv-p' }))).toBe(pending);
    s.given({ type: 'CancelInvitation', ...by(s, ADMIN), invitationId: 'inv-p' });
    expect(message(change(s, ADMIN, 'inv-p', { roles: ['manager'] }))).toBe('inv-p is an invitation (cancelled), not a member: a member is named by their user id.');
    // accepted: who accepted it is the member (probe 98 F6)
    s.given({ type: 'InviteMember', ...by(s, ADMIN), invitationId: 'inv-a', email: 'ann@acme.test', ttlSeconds: 3600 });
    s.accepted('inv-a', 'ann');
    expect(message(change(s, ADMIN, 'inv-a', { roles: ['manager'] }))).toBe('inv-a is an invitation, accepted by user ann: a member is named by their user id.');
  });
  it('NOT_A_MEMBER for a user deleted who was never a member here says no more than for anyone unknown (probe 98 F6)', () => {
    const s = new Scenario('levels').member('b');
    const deleted = s.whenDelete('b');
    if (deleted.ok) s.applyOrg(deleted.events);
    // the deletion's own workspace events are not applied here: this workspace never had 'b' as far as it knows
    s.ctx.ws.members.delete('b');
    const message = (d: { ok: boolean; error?: { message: string } }) => (d.ok ? '' : d.error!.message);
    expect(message(change(s, ADMIN, 'b', { roles: ['manager'] }))).toBe('User b is not a member of this workspace.');
  });
  it('rule 10: a name sent back as it is stored is no change, not checked again: one stored before a rule that refuses it now does not block saving the rest of the form (probe 74 F4)', () => {
    const s = new Scenario().member('jane');
    const zalgo = `Z${'\u0336'.repeat(20)}`;
    // stored before names were limited to six marks on a letter
    s.applyOrg([{ type: 'UserProfileUpdated', version: 1, data: { organizationId: ORG, userId: 'jane', changes: { displayName: zalgo }, updatedAt: s.now } }]);
    const d = s.whenOrg({ type: 'UpdateProfile', organizationId: ORG, actorId: 'jane', now: s.now, userId: 'jane', changes: { displayName: zalgo, alias: 'JJ' } });
    const [updated] = expectEvents(d, ['UserProfileUpdated']);
    expect(updated!.data.changes).toEqual({ alias: 'JJ' });
    expectError(s.whenOrg({ type: 'UpdateProfile', organizationId: ORG, actorId: 'jane', now: s.now, userId: 'jane', changes: { displayName: `${zalgo}!` } }), 'VALIDATION_FAILED');
  });

  it('the profile is changed by the user themself or an org admin, and validated', () => {
    const s = new Scenario().member('jane').member('joe');
    const upd = (actorId: string, changes: Record<string, unknown>, userId = 'jane') =>
      decideOrganization({ type: 'UpdateProfile', organizationId: ORG, actorId, now: s.now, userId, changes }, s.org);
    expectEvents(upd('jane', { displayName: 'Jane D.', alias: 'JD' }), ['UserProfileUpdated']);
    expectEvents(upd(ADMIN, { avatarUrl: 'https://cdn.acme.test/jane.png' }), ['UserProfileUpdated']);
    expectError(upd('joe', { displayName: 'Hacked' }), 'INSUFFICIENT_AUTHORITY');
    // an org admin is told at once; jane herself at the confirmation (probe 83 F1: email-change.spec)
    expectError(upd(ADMIN, { email: 'joe@acme.test' }), 'EMAIL_TAKEN');
    expectError(upd('jane', { avatarUrl: 'javascript:alert(1)' }), 'VALIDATION_FAILED');
    // shown in every workspace: no credentials in it (probe 26)
    for (const avatarUrl of ['https://user:pw@img.example/a.png', 'https://token@img.example/a.png'])
      expect(upd('jane', { avatarUrl })).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED', fields: [{ field: 'avatarUrl', message: 'must not contain a user name or password' }] } });
    // nor a backslash: a slash to one parser, the end of a user name to another (host evil.x: probe 26b)
    expect(upd('jane', { avatarUrl: 'https://cdn.x\\@evil.x/a.png' })).toMatchObject({ ok: false, error: { fields: [{ field: 'avatarUrl', message: expect.stringContaining('backslash') }] } });
    expectEvents(upd('jane', { avatarUrl: 'https://img.example/a.png' }), ['UserProfileUpdated']);
    // stored as its WHATWG serialization: a quote that would end an HTML attribute is percent-encoded, the `//` written,
    // an internationalized host in punycode (probe 37 F10)
    const stored = (avatarUrl: string) => {
      const [e] = expectEvents(upd('jane', { avatarUrl }), ['UserProfileUpdated']);
      return (e as { data: { changes: { avatarUrl?: string } } }).data.changes.avatarUrl;
    };
    expect([stored('https://evil.test/a.png"onerror="alert(1)'), stored('https:evil.test'), stored('https://аpple.test/a.png')]).toEqual([
      'https://evil.test/a.png%22onerror=%22alert(1)',
      'https://evil.test/',
      'https://xn--pple-43d.test/a.png',
    ]);
    expectError(upd('jane', { displayName: '  ' }), 'VALIDATION_FAILED');
    expectError(upd('jane', { email: 'nope' }), 'VALIDATION_FAILED');
    expectError(upd(ADMIN, { displayName: 'X' }, 'ghost'), 'USER_NOT_FOUND');
    expectEvents(upd('jane', { displayName: 'jane' }), []);
    // a new email needs its confirmation link (docs/rules.md#rule-10): requested, then confirmed
    const changed = upd('jane', { email: ' Jane.New@Acme.test ' });
    const [event] = expectEvents(changed, ['EmailChangeRequested']);
    expect(event!.data.email).toBe('jane.new@acme.test');
    s.applyOrg(changed.ok ? changed.events : []);
    expect(s.org.users.get('jane')!.email).toBe('jane@acme.test');
    s.givenOrg({ type: 'ConfirmEmailChange', organizationId: ORG, userId: 'jane', version: 1, now: s.now });
    expect(s.org.byEmail.get('jane.new@acme.test')).toBe('jane');
    expect(s.org.byEmail.has('jane@acme.test')).toBe(false);
    // the profile is one record at the organization level: every workspace reads it from there
    expect(s.org.users.get('jane')!.email).toBe('jane.new@acme.test');
  });

  it('an actor is an active member or an org admin: a user revoked from every workspace no longer changes their own profile; an org admin changes it for them (probe 37 F1)', () => {
    const s = new Scenario().member('jane').member('joe');
    s.given({ type: 'RevokeAccess', ...by(s, ADMIN), userId: 'jane' });
    const activeSomewhere = (userId: string) => activeMember(s.ctx, userId) !== undefined;
    const upd = (actorId: string, changes: Record<string, unknown>, userId: string) =>
      decideOrganization({ type: 'UpdateProfile', organizationId: ORG, actorId, now: s.now, userId, changes }, s.org, { activeMemberSomewhere: activeSomewhere });
    const refused = upd('jane', { displayName: 'Still Jane' }, 'jane');
    expectError(refused, 'INSUFFICIENT_AUTHORITY');
    expect(refused).toMatchObject({ error: { message: expect.stringContaining('not an active member of any workspace') } });
    expectError(upd('jane', { email: 'jane.elsewhere@acme.test' }, 'jane'), 'INSUFFICIENT_AUTHORITY');
    expectEvents(upd('joe', { displayName: 'Joe' }, 'joe'), ['UserProfileUpdated']);
    expectEvents(upd(ADMIN, { displayName: 'Jane (left)' }, 'jane'), ['UserProfileUpdated']);
  });

  it('rule 10: an email change the user asked for themself lapses when they are revoked from every workspace before confirming it; one an org admin asked stands (probe 121 F9)', () => {
    const s = new Scenario().member('jane').member('joe');
    const activeSomewhere = (userId: string) => activeMember(s.ctx, userId) !== undefined;
    const confirm = (userId: string, version: number) => decideOrganization({ type: 'ConfirmEmailChange', organizationId: ORG, userId, version, now: s.now }, s.org, { activeMemberSomewhere: activeSomewhere });
    const [asked] = expectEvents(decideOrganization({ type: 'UpdateProfile', organizationId: ORG, actorId: 'jane', now: s.now, userId: 'jane', changes: { email: 'jane@private.test' } }, s.org, { activeMemberSomewhere: activeSomewhere }), ['EmailChangeRequested']);
    expect(asked!.data).toMatchObject({ requestedBy: 'jane' });
    s.applyOrg([asked!]);
    s.givenOrg({ type: 'UpdateProfile', organizationId: ORG, actorId: ADMIN, now: s.now, userId: 'joe', changes: { email: 'joe@new.test' } });
    // while still a member, her link works (not applied here)
    expectEvents(confirm('jane', 1), ['EmailChangeConfirmed']);
    for (const userId of ['jane', 'joe']) s.given({ type: 'RevokeAccess', ...by(s, ADMIN), userId });
    const lapsed = confirm('jane', 1);
    expectError(lapsed, 'EMAIL_CHANGE_NOT_PENDING');
    expect(!lapsed.ok && lapsed.error.message).toBe(
      'This email change was asked by the user themself, who is no longer an active member of any workspace of this organization: it no longer applies. An organization admin can change the address.',
    );
    expectEvents(confirm('joe', 1), ['EmailChangeConfirmed']);
  });
});

describe('rule 11: revoke removes the member; contacts unassigned or reassigned to another active member', () => {
  it('by default the contacts are unassigned and the user stays in the organization', () => {
    const s = new Scenario().member('jane');
    const [event] = expectEvents(s.when({ type: 'RevokeAccess', ...by(s, ADMIN), userId: 'jane' }), ['AccessRevoked']) as AccessRevoked[];
    expect(event!.data.contacts).toEqual({ mode: 'unassigned' });
    expect(event!.data.before.roles).toEqual(['agent']);
    s.given({ type: 'RevokeAccess', ...by(s, ADMIN), userId: 'jane' });
    expect(activeMember(s.ctx, 'jane')).toBeUndefined();
    expect(s.org.users.get('jane')!.deleted).toBe(false);
  });
  it('contacts can be reassigned to a chosen active member', () => {
    const s = new Scenario().member('jane').member('joe');
    const [event] = expectEvents(
      s.when({ type: 'RevokeAccess', ...by(s, ADMIN), userId: 'jane', reassignContactsTo: 'joe' }),
      ['AccessRevoked'],
    ) as AccessRevoked[];
    expect(event!.data.contacts).toEqual({ mode: 'reassigned', toUserId: 'joe' });
    // when and by whom, kept in the state for the organization's user read (probe 80 F14)
    expect(event!.data.revokedBy).toBe(ADMIN);
    s.given({ type: 'RevokeAccess', ...by(s, ADMIN), userId: 'jane', reassignContactsTo: 'joe' });
    expect(s.ws!.members.get('jane')).toMatchObject({ status: 'revoked', revokedAt: s.now, revokedBy: ADMIN });
  });
  it.each([
    ['the revoked member', 'jane', /: they are the member being revoked\. Name another, or leave them unassigned\.$/],
    ['a stranger', 'ghost', /: user ghost is not a member of this workspace\./],
    ['a revoked member', 'gone', /: user gone's access to this workspace was revoked on /],
    ['a deleted member', 'erased', /: user erased was deleted from the organization on /],
    ['a user whose invitation is pending', 'pete', /: user pete is invited here and has not accepted yet\./],
    ["an invitation's id", 'inv-pete', /: inv-pete is an invitation's id, not a user's\./],
  ])('rule 11: contacts cannot be reassigned to %s, and the sentence says why (probe 119 F3)', (_what, to, why) => {
    const s = new Scenario().member('jane').member('gone').member('erased').member('pete');
    for (const userId of ['gone', 'pete']) s.given({ type: 'RevokeAccess', ...by(s, ADMIN), userId });
    const deleted = s.whenDelete('erased');
    if (deleted.ok) s.applyOrg(deleted.events);
    // pete, revoked, is invited again (bound to him: rule 8)
    s.given({ type: 'InviteMember', ...by(s, ADMIN), invitationId: 'inv-pete', email: 'pete@acme.test', ttlSeconds: 3600 });
    expect(s.ws!.invitations.get('inv-pete')!.inviteeUserId).toBe('pete');
    const refused = s.when({ type: 'RevokeAccess', ...by(s, ADMIN), userId: 'jane', reassignContactsTo: to });
    expectError(refused, 'INVALID_REASSIGNMENT');
    expect(refused.ok ? '' : refused.error.message).toMatch(/^Contacts can only be reassigned to another active member of this workspace: /);
    expect(refused.ok ? '' : refused.error.message).toMatch(why);
  });
  it('revoking cannot be undone: a second revoke is NOT_A_MEMBER; the user can be invited again', () => {
    const s = new Scenario().member('jane');
    s.given({ type: 'RevokeAccess', ...by(s, ADMIN), userId: 'jane' });
    expectError(s.when({ type: 'RevokeAccess', ...by(s, ADMIN), userId: 'jane' }), 'NOT_A_MEMBER');
    const inv = s.invited('jane@acme.test', { roles: ['manager'] });
    s.accepted(inv, 'someone-else');
    expect(activeMember(s.ctx, 'jane')!.access.roles).toEqual(['manager']);
  });
});

describe('rule 12: delete user removes them from the organization and every workspace', () => {
  it('an org admin deletes a user: UserDeleted lists the workspaces, the member is gone, the email is free', () => {
    const s = new Scenario().member('jane');
    const d = s.whenDelete('jane');
    const [, event] = expectEvents(d, ['UserDeletedFromWorkspace', 'UserDeleted']);
    expect(event!.data).toMatchObject({ userId: 'jane', workspaceIds: ['ws-1'] });
    s.applyOrg(d.ok ? d.events : []);
    expect(activeMember(s.ctx, 'jane')).toBeUndefined();
    expect(s.org.byEmail.has('jane@acme.test')).toBe(false);
    // the pseudonymous id stays: the user record is kept, marked deleted
    expect(s.org.users.get('jane')!.deleted).toBe(true);
  });
  it('only an org admin may delete, not oneself (so the organization keeps an org admin), not twice', () => {
    const s = new Scenario().member('owner', { roles: ['owner'] }).member('jane');
    expectError(s.whenDelete('jane', 'owner'), 'INSUFFICIENT_AUTHORITY');
    expectError(s.whenDelete(ADMIN, ADMIN), 'CANNOT_MODIFY_SELF');
    expectError(s.whenDelete('ghost'), 'USER_NOT_FOUND');
    const d = s.whenDelete('jane');
    s.applyOrg(d.ok ? d.events : []);
    expectError(s.whenDelete('jane'), 'USER_NOT_FOUND');
  });
  it('a deleted user has no authority anywhere and cannot be edited', () => {
    const s = new Scenario().member('owner', { roles: ['owner'] }).member('jane');
    const d = s.whenDelete('owner');
    s.applyOrg(d.ok ? d.events : []);
    expectError(s.when({ type: 'RevokeAccess', ...by(s, 'owner'), userId: 'jane' }), 'INSUFFICIENT_AUTHORITY');
    expectError(s.when({ type: 'ChangeAccess', ...by(s, ADMIN), userId: 'owner', roles: ['agent'] }), 'NOT_A_MEMBER');
  });
});
