import { ADMIN, ORG, Scenario, WS, by, expectError, expectEvents } from '../testing/fixture';
import { decideDeleteUser } from '../users/delete-user';
import { invitationLink } from './decider';
import { checkRead } from './authority';
import { checkReportRead } from '../presence/reports';

const invite = (s: Scenario, actorId: string, email: string, access: { roles?: string[]; grants?: string[]; restrictions?: Record<string, true | string> } = {}) =>
  s.when({ type: 'InviteMember', ...by(s, actorId), invitationId: `inv-${email}`, email, ttlSeconds: 3600, ...access });
const change = (s: Scenario, actorId: string, userId: string, access: { roles?: string[]; grants?: string[]; restrictions?: Record<string, true | string> }) =>
  s.when({ type: 'ChangeAccess', ...by(s, actorId), userId, ...access });
const revoke = (s: Scenario, actorId: string, userId: string) => s.when({ type: 'RevokeAccess', ...by(s, actorId), userId });

describe('rule 1: managing members needs settings.users (levels), users (permissions) or environment_manager (studio)', () => {
  describe('preset levels', () => {
    const s = () =>
      new Scenario('levels')
        .member('owner', { roles: ['owner'] })
        .member('manager', { roles: ['manager'] })
        .member('locked', { roles: ['manager'], restrictions: { workspace_settings: true } })
        .member('agent', { roles: ['agent'] })
        .member('agent2', { roles: ['agent'] });

    it.each(['owner', 'manager'])('%s (holds settings.users) can invite, edit, revoke, resend and cancel', (actor) => {
      const sc = s();
      expectEvents(invite(sc, actor, 'new@acme.test'), ['UserInvited']);
      expectEvents(change(sc, actor, 'agent', { restrictions: { workflows: true } }), ['RestrictionsChanged']);
      expectEvents(revoke(sc, actor, 'agent'), ['AccessRevoked']);
      const inv = sc.invited('pending@acme.test');
      expectEvents(sc.when({ type: 'ResendInvitation', ...by(sc, actor), invitationId: inv, ttlSeconds: 60 }), ['InvitationResent']);
      expectEvents(sc.when({ type: 'CancelInvitation', ...by(sc, actor), invitationId: inv }), ['InvitationCancelled']);
    });

    it.each(['agent', 'locked', 'stranger'])('%s (without settings.users) is refused every member-management command', (actor) => {
      const sc = s();
      const inv = sc.invited('pending@acme.test');
      expectError(invite(sc, actor, 'new@acme.test'), 'INSUFFICIENT_AUTHORITY');
      expectError(change(sc, actor, 'agent2', { restrictions: { workflows: true } }), 'INSUFFICIENT_AUTHORITY');
      expectError(revoke(sc, actor, 'agent2'), 'INSUFFICIENT_AUTHORITY');
      expectError(sc.when({ type: 'ResendInvitation', ...by(sc, actor), invitationId: inv, ttlSeconds: 60 }), 'INSUFFICIENT_AUTHORITY');
      expectError(sc.when({ type: 'CancelInvitation', ...by(sc, actor), invitationId: inv }), 'INSUFFICIENT_AUTHORITY');
    });

    it('a revoked member has no authority left', () => {
      const sc = s();
      sc.given({ type: 'RevokeAccess', ...by(sc, 'owner'), userId: 'manager' });
      expectError(invite(sc, 'manager', 'new@acme.test'), 'INSUFFICIENT_AUTHORITY');
    });
  });

  describe('preset permissions', () => {
    const s = () => new Scenario('permissions').member('boss', { grants: ['users', 'reporting'] }).member('chatter').member('other');
    it('a member granted users can manage members', () => {
      const sc = s();
      expectEvents(invite(sc, 'boss', 'new@acme.test'), ['UserInvited']);
      expectEvents(change(sc, 'boss', 'chatter', { grants: ['reporting'] }), ['GrantsChanged']);
      expectEvents(revoke(sc, 'boss', 'other'), ['AccessRevoked']);
    });
    it('a member without users cannot', () => {
      const sc = s();
      expectError(invite(sc, 'chatter', 'new@acme.test'), 'INSUFFICIENT_AUTHORITY');
      expectError(change(sc, 'chatter', 'other', { grants: [] }), 'INSUFFICIENT_AUTHORITY');
      expectError(revoke(sc, 'chatter', 'other'), 'INSUFFICIENT_AUTHORITY');
    });
  });

  describe('preset studio', () => {
    const s = () =>
      new Scenario('studio')
        .member('envman', { roles: ['environment_manager', 'operator'] })
        .member('op', { roles: ['operator'] })
        .member('dev', { roles: ['developer', 'producer'] });
    it('an environment manager can manage members', () => {
      const sc = s();
      expectEvents(invite(sc, 'envman', 'new@acme.test', { roles: ['operator'] }), ['UserInvited']);
      expectEvents(revoke(sc, 'envman', 'op'), ['AccessRevoked']);
    });
    it.each(['op', 'dev'])('%s (no environment_manager) cannot', (actor) => {
      const sc = s();
      expectError(invite(sc, actor, 'new@acme.test', { roles: ['operator'] }), 'INSUFFICIENT_AUTHORITY');
      expectError(revoke(sc, actor, 'op' === actor ? 'dev' : 'op'), 'INSUFFICIENT_AUTHORITY');
    });
  });
});

describe('rule 2: rank (levels) and no privilege escalation (other presets)', () => {
  const levels = () =>
    new Scenario('levels')
      .member('owner', { roles: ['owner'] })
      .member('owner2', { roles: ['owner'] })
      .member('manager', { roles: ['manager'] })
      .member('manager2', { roles: ['manager'] })
      .member('agent', { roles: ['agent'] });

  it.each(['owner', 'manager', 'agent'])('an owner may invite an %s', (role) => {
    expectEvents(invite(levels(), 'owner', 'x@acme.test', { roles: [role] }), ['UserInvited']);
  });
  it.each([
    ['agent', 'manager'],
    ['agent', 'owner'],
    ['manager', 'agent'],
    ['owner2', 'manager'],
  ])('an owner may change %s to %s', (target, role) => {
    expectEvents(change(levels(), 'owner', target, { roles: [role] }), ['AccessLevelChanged']);
  });
  it.each(['owner2', 'manager', 'agent'])('an owner may revoke %s', (target) => {
    expectEvents(revoke(levels(), 'owner', target), ['AccessRevoked']);
  });

  it('a manager may invite only agents', () => {
    expectEvents(invite(levels(), 'manager', 'a@acme.test', { roles: ['agent'] }), ['UserInvited']);
    expectError(invite(levels(), 'manager', 'm@acme.test', { roles: ['manager'] }), 'INSUFFICIENT_AUTHORITY');
    expectError(invite(levels(), 'manager', 'o@acme.test', { roles: ['owner'] }), 'INSUFFICIENT_AUTHORITY');
  });
  it('a manager may edit an agent but not promote anyone above agent', () => {
    expectEvents(change(levels(), 'manager', 'agent', { restrictions: { contact_visibility: 'self_only' } }), ['RestrictionsChanged']);
    expectError(change(levels(), 'manager', 'agent', { roles: ['manager'] }), 'INSUFFICIENT_AUTHORITY');
    expectError(change(levels(), 'manager', 'agent', { roles: ['owner'] }), 'INSUFFICIENT_AUTHORITY');
  });
  it.each(['manager2', 'owner'])('a manager may not edit or revoke a %s', (target) => {
    expectError(change(levels(), 'manager', target, { roles: ['agent'] }), 'INSUFFICIENT_AUTHORITY');
    expectError(revoke(levels(), 'manager', target), 'INSUFFICIENT_AUTHORITY');
  });
  describe("rule 2: below the top rank restrictions are added or tightened, never lifted (seed 003: \"can be allowed by Owner\"; probe 39b F4)", () => {
    const restricted = () =>
      new Scenario('levels', 'advanced')
        .member('owner', { roles: ['owner'] })
        .member('manager', { roles: ['manager'] })
        .member('agent', { roles: ['agent'], restrictions: { workflows: true, mask_contact_info: true, contact_visibility: 'team_and_self' } });
    const all = { workflows: true, mask_contact_info: true, contact_visibility: 'team_and_self' } as const;
    it.each([
      ['workflows', { mask_contact_info: true, contact_visibility: 'team_and_self' }],
      ['mask_contact_info', { workflows: true, contact_visibility: 'team_and_self' }],
      ['contact_visibility', { workflows: true, mask_contact_info: true }],
      ['contact_visibility', { ...all, contact_visibility: 'all' }],
      ['workflows, contact_visibility, mask_contact_info', {}],
    ] as const)('a manager may not lift or loosen %s', (named, restrictions) => {
      const refused = change(restricted(), 'manager', 'agent', { restrictions });
      expectError(refused, 'INSUFFICIENT_AUTHORITY');
      expect(!refused.ok && refused.error.message).toContain(`(${named})`);
    });
    it('a manager may tighten a scope and add restrictions', () => {
      expectEvents(change(restricted(), 'manager', 'agent', { restrictions: { ...all, contact_visibility: 'self_only' } }), ['RestrictionsChanged']);
      const sc = new Scenario('levels', 'advanced').member('manager', { roles: ['manager'] }).member('agent', { roles: ['agent'] });
      expectEvents(change(sc, 'manager', 'agent', { restrictions: all }), ['RestrictionsChanged']);
    });
    it.each(['owner', 'org admin'])('an %s may lift them', (who) => {
      const sc = restricted();
      const actor = who === 'owner' ? 'owner' : ADMIN;
      expectEvents(change(sc, actor, 'agent', { restrictions: {} }), ['RestrictionsChanged']);
    });
  });
  it('rule 2: a rank refusal says who can do it instead (probe 100 F5: the only refusals that named no one)', () => {
    const message = (d: { ok: boolean; error?: { message: string } }) => (d.ok ? '' : d.error!.message);
    expect(message(invite(levels(), 'manager', 'x@acme.test', { roles: ['owner'] }))).toBe('Your access level cannot give the owner access level. An owner of this workspace, or an org admin, can.');
    expect(message(revoke(levels(), 'manager', 'owner'))).toBe('Your access level can only manage members below it (owner is not). An owner of this workspace, or an org admin, can.');
  });
  it('a manager may revoke an agent', () => {
    expectEvents(revoke(levels(), 'manager', 'agent'), ['AccessRevoked']);
  });
  it('rule 2: a refusal names the roles and grants asked for that carry what the actor lacks (probe 39b F1)', () => {
    const giosg = new Scenario('permissions').member('um', { grants: ['users'] });
    const grant = invite(giosg, 'um', 'rep@acme.test', { grants: ['reporting', 'users'] });
    expectError(grant, 'INSUFFICIENT_AUTHORITY');
    expect(!grant.ok && grant.error.message).toBe(
      'You can only give access you hold yourself: you do not hold the reporting permission. Ask a member who holds both the users permission and this one, or an org admin.',
    );
  });
  it("rule 1, preset permissions: whom to ask for a grant is a member who holds the member-management one and that one (no escalation, rule 2: probe 98 F5)", () => {
    const giosg = new Scenario('permissions').member('gina', {}).member('uma', { grants: ['users'] });
    expect(checkReportRead(giosg.ctx, 'gina')?.message).toBe(
      'Reports need the reporting permission, which you do not hold. Ask a member who holds both the users and the reporting permissions here, or an org admin, to give it to you.',
    );
    expect(checkReportRead(giosg.ctx, 'uma')?.message).toContain('Ask a member who holds both the users and the reporting permissions here');
  });

  it('rule 1: a refusal for a missing permission names the roles that give it, and to ask an owner or an org admin (probe 71 F4, probe 72 F3)', () => {
    const message = (d: { ok: boolean; error?: { message: string } }) => (d.ok ? '' : d.error!.message);
    const studio = new Scenario('studio').member('op', { roles: ['operator'] });
    expect(message(invite(studio, 'op', 'n@acme.test', {}))).toBe(
      'Managing members needs the users permission (given by the environment_manager role), which you do not hold. Ask an environment_manager of this workspace, or an org admin, to give it to you.',
    );
    const levels = new Scenario('levels').member('agent', { roles: ['agent'] });
    expect(message(invite(levels, 'agent', 'n@acme.test', {}))).toBe(
      'Managing members needs the settings.users permission (given by the owner or manager role), which you do not hold. Ask an owner of this workspace, or an org admin, to give it to you.',
    );
    // a grant is named as the console shows it, by its name alone; a preset with no owner role names who can give it
    const giosg = new Scenario('permissions').member('chat', {});
    expect(message(invite(giosg, 'chat', 'n@acme.test', {}))).toBe(
      'Managing members needs the users permission, which you do not hold. Ask a member who holds the users permission here, or an org admin, to give it to you.',
    );
  });

  it('rule 1: a permission a restriction takes away from a role the actor holds is refused naming the restriction, and whom to ask to lift it (probe 97 F2)', () => {
    const message = (d: { ok: boolean; error?: { message: string } }) => (d.ok ? '' : d.error!.message);
    const sc = new Scenario('levels').member('mia', { roles: ['manager'], restrictions: { workspace_settings: true } });
    expect(message(invite(sc, 'mia', 'n@acme.test', {}))).toBe(
      'Managing members needs the settings.users permission (given by the owner or manager role), which your workspace_settings restriction takes away. Ask an owner of this workspace, or an org admin, to lift it.',
    );
    expect(checkRead(sc.ctx, 'mia', 'members')?.message).toMatch(/^This needs the settings\.users permission .*, which your workspace_settings restriction takes away\. .* to lift it\.$/);
    // both restrictions in the way of the CSV: named together, not one refusal each (probe 98 F7)
    const both = new Scenario('levels').member('mia', { roles: ['manager'], restrictions: { workspace_settings: true, data_export: true } });
    expect(checkRead(both.ctx, 'mia', 'export')?.message).toBe(
      'This needs the settings.users permission (given by the owner or manager role) and the data.export permission (given by the owner or manager role), which your workspace_settings and data_export restrictions take away. Ask an owner of this workspace, or an org admin, to lift them.',
    );
    // under permissions the list's and the export's permission are one: named once
    const giosg = new Scenario('permissions').member('gina', {});
    expect(checkRead(giosg.ctx, 'gina', 'export')?.message).toBe('This needs the users permission, which you do not hold. Ask a member who holds the users permission here, or an org admin, to give it to you.');
    const exporter = new Scenario('levels').member('max', { roles: ['manager'], restrictions: { data_export: true } });
    expect(checkRead(exporter.ctx, 'max', 'export')?.message).toBe(
      'This needs the data.export permission (given by the owner or manager role), which your data_export restriction takes away. Ask an owner of this workspace, or an org admin, to lift it.',
    );
  });

  describe('rule 2: a name from Object.prototype is no role, whoever gives it', () => {
    const PROTO_NAMES = ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty'];
    it.each(PROTO_NAMES)('a manager (or an owner, or an org admin) inviting with role %s gets INVALID_ROLE', (role) => {
      for (const actor of ['manager', 'owner', ADMIN]) expectError(invite(levels(), actor, 'x@acme.test', { roles: [role] }), 'INVALID_ROLE');
    });
    it.each(PROTO_NAMES)('a manager changing an agent to role %s gets INVALID_ROLE', (role) => {
      expectError(change(levels(), 'manager', 'agent', { roles: [role] }), 'INVALID_ROLE');
    });
    it.each(PROTO_NAMES)('a restriction named %s is INVALID_RESTRICTION on invite and on change', (name) => {
      const restrictions = JSON.parse(`{"${name}": true}`);
      expectError(invite(levels(), 'manager', 'x@acme.test', { roles: ['agent'], restrictions }), 'INVALID_RESTRICTION');
      expectError(change(levels(), 'manager', 'agent', { restrictions }), 'INVALID_RESTRICTION');
    });
    it.each(PROTO_NAMES)('studio and permissions presets refuse %s as a role too', (role) => {
      expectError(invite(new Scenario('studio'), ADMIN, 'x@acme.test', { roles: [role] }), 'INVALID_ROLE');
      expectError(invite(new Scenario('permissions'), ADMIN, 'x@acme.test', { roles: [role] }), 'INVALID_ROLE');
    });
  });

  it('a manager may neither see the link of, resend nor cancel an invitation of a manager', () => {
    const sc = levels();
    const inv = sc.invited('future-manager@acme.test', { roles: ['manager'] }, 'owner');
    expectError(sc.when({ type: 'ResendInvitation', ...by(sc, 'manager'), invitationId: inv, ttlSeconds: 60 }), 'INSUFFICIENT_AUTHORITY');
    expectError(sc.when({ type: 'CancelInvitation', ...by(sc, 'manager'), invitationId: inv }), 'INSUFFICIENT_AUTHORITY');
  });

  describe('preset permissions: grant only what you hold', () => {
    const s = () => new Scenario('permissions').member('boss', { grants: ['users', 'reporting'] }).member('chatter');
    it('may grant permissions it holds', () => {
      expectEvents(invite(s(), 'boss', 'n@acme.test', { grants: ['reporting', 'users'] }), ['UserInvited']);
      expectEvents(change(s(), 'boss', 'chatter', { grants: ['reporting'] }), ['GrantsChanged']);
    });
    it.each(['settings', 'ib_designer', 'ib_publisher', 'ib_data', 'wfb_user'])('may not grant %s, which it does not hold', (grant) => {
      expectError(invite(s(), 'boss', 'n@acme.test', { grants: [grant] }), 'INSUFFICIENT_AUTHORITY');
      expectError(change(s(), 'boss', 'chatter', { grants: [grant] }), 'INSUFFICIENT_AUTHORITY');
    });
    it('may remove a grant it does not hold (removing is not granting)', () => {
      const sc = s().member('designer', { grants: ['ib_designer'] });
      expectEvents(change(sc, 'boss', 'designer', { grants: [] }), ['GrantsChanged']);
    });
  });

  describe('rule 2: cancelling an invitation grants nothing; resending it or copying its link hands its access out again', () => {
    it('preset permissions: a member granted users alone cancels an invitation that gives reporting, and may neither resend it nor copy its link', () => {
      const sc = new Scenario('permissions').member('users-only', { grants: ['users'] });
      const inv = sc.invited('analyst@acme.test', { grants: ['reporting'] });
      expectError(sc.when({ type: 'ResendInvitation', ...by(sc, 'users-only'), invitationId: inv, ttlSeconds: 60 }), 'INSUFFICIENT_AUTHORITY');
      expect(invitationLink(sc.ctx, 'users-only', inv)).toMatchObject({ ok: false, error: { code: 'INSUFFICIENT_AUTHORITY' } });
      expectEvents(sc.when({ type: 'CancelInvitation', ...by(sc, 'users-only'), invitationId: inv }), ['InvitationCancelled']);
    });
    it('preset studio: an environment manager resends, copies and cancels an invitation to become an operator (a role it does not hold: it may give it, ADR 0034), as it may revoke an operator', () => {
      const sc = new Scenario('studio').member('envman', { roles: ['environment_manager'] }).member('op', { roles: ['operator'] });
      const inv = sc.invited('future-operator@acme.test', { roles: ['operator'] });
      expectEvents(sc.when({ type: 'ResendInvitation', ...by(sc, 'envman'), invitationId: inv, ttlSeconds: 60 }), ['InvitationResent']);
      expect(invitationLink(sc.ctx, 'envman', inv)).toMatchObject({ ok: true });
      expectEvents(sc.when({ type: 'CancelInvitation', ...by(sc, 'envman'), invitationId: inv }), ['InvitationCancelled']);
      expectEvents(revoke(sc, 'envman', 'op'), ['AccessRevoked']);
    });
  });

  describe('rule 2, preset studio: an environment manager gives any role of the preset, those it does not hold too (seed 001: they invite their colleagues, operators first; probe 71 F1)', () => {
    const s = () => new Scenario('studio').member('envman', { roles: ['environment_manager'] }).member('op', { roles: ['operator'] });
    it.each(['operator', 'developer', 'producer', 'analyst', 'content_manager'])('invites a %s, and makes an operator one too', (role) => {
      expectEvents(invite(s(), 'envman', 'n@acme.test', { roles: [role] }), ['UserInvited']);
      expectEvents(change(s(), 'envman', 'op', { roles: [...new Set(['operator', role])] }), role === 'operator' ? [] : ['AccessLevelChanged']);
    });
    it('invites with the default role (operator), which it does not hold', () => {
      expectEvents(invite(s(), 'envman', 'n@acme.test', {}), ['UserInvited']);
    });
    it('an operator, who does not manage members, gives nothing', () => {
      expectError(invite(s(), 'op', 'n@acme.test', { roles: ['operator'] }), 'INSUFFICIENT_AUTHORITY');
    });
  });
});

describe('rule 3: nobody can edit or revoke their own access', () => {
  it.each([
    ['levels', 'owner', ['owner']],
    ['levels', 'manager', ['manager']],
    ['permissions', 'boss', ['member']],
    ['studio', 'envman', ['environment_manager']],
  ] as const)('preset %s: a %s cannot edit or revoke itself', (model, userId, roles) => {
    const sc = new Scenario(model).member(userId, { roles: [...roles], ...(model === 'permissions' && { grants: ['users'] }) });
    expectError(change(sc, userId, userId, { roles: [...roles] }), 'CANNOT_MODIFY_SELF');
    expectError(revoke(sc, userId, userId), 'CANNOT_MODIFY_SELF');
  });
  it('not even an org admin', () => {
    const sc = new Scenario('levels').member('owner2', { roles: ['owner'] });
    expectError(change(sc, ADMIN, ADMIN, { roles: ['manager'] }), 'CANNOT_MODIFY_SELF');
    expectError(revoke(sc, ADMIN, ADMIN), 'CANNOT_MODIFY_SELF');
  });
  it('nor give themself access by inviting their own address: an org admin revoked by another owner (any case of the address)', () => {
    const sc = new Scenario('levels').member('owner2', { roles: ['owner'] });
    // a member inviting their own address is told they are one
    expectError(invite(sc, 'owner2', 'owner2@acme.test', { roles: ['owner'] }), 'ALREADY_MEMBER');
    sc.given({ type: 'RevokeAccess', ...by(sc, 'owner2'), userId: ADMIN });
    expectError(invite(sc, ADMIN, 'Admin@Acme.test', { roles: ['owner'] }), 'CANNOT_MODIFY_SELF');
    // another owner may bring the org admin back
    expectEvents(invite(sc, 'owner2', 'admin@acme.test', { roles: ['owner'] }), ['UserInvited']);
    sc.given({ type: 'InviteMember', ...by(sc, 'owner2'), invitationId: 'back', email: 'admin@acme.test', roles: ['owner'], ttlSeconds: 60 });
    // but the org admin may not revive that invitation (resend) nor take its link: the decision stays the owner's
    expectError(sc.when({ type: 'ResendInvitation', ...by(sc, ADMIN), invitationId: 'back', ttlSeconds: 60 }), 'CANNOT_MODIFY_SELF');
    expect(invitationLink(sc.ctx, ADMIN, 'back')).toMatchObject({ ok: false, error: { code: 'CANNOT_MODIFY_SELF' } });
    expect(invitationLink(sc.ctx, 'owner2', 'back')).toMatchObject({ ok: true });
    // cancelling it gives nothing
    expectEvents(sc.when({ type: 'CancelInvitation', ...by(sc, ADMIN), invitationId: 'back' }), ['InvitationCancelled']);
  });
});

describe('rule 4: the last owner can be neither demoted, revoked nor deleted', () => {
  // The creator (ADMIN) is the first owner; revoking ADMIN's membership leaves `owner` as the only owner,
  // while ADMIN keeps its authority as org admin (rule 5).
  const lastOwner = (model: 'levels' | 'studio' | 'permissions') => {
    const owner = model === 'levels' ? { roles: ['owner'] } : model === 'studio' ? { roles: ['environment_manager'] } : { grants: ['users'] };
    const sc = new Scenario(model).member('owner', owner).member('helper', model === 'permissions' ? {} : model === 'studio' ? { roles: ['operator'] } : { roles: ['agent'] });
    sc.given({ type: 'RevokeAccess', ...by(sc, 'owner'), userId: ADMIN });
    return sc;
  };
  it.each(['levels', 'studio', 'permissions'] as const)('preset %s: demoting the last owner is refused', (model) => {
    const sc = lastOwner(model);
    const demote = model === 'levels' ? { roles: ['manager'] } : model === 'studio' ? { roles: ['operator'] } : { grants: [] };
    expectError(change(sc, ADMIN, 'owner', demote), 'LAST_OWNER');
  });
  it.each(['levels', 'studio', 'permissions'] as const)('preset %s: revoking the last owner is refused', (model) => {
    expectError(revoke(lastOwner(model), ADMIN, 'owner'), 'LAST_OWNER');
  });
  it.each(['levels', 'studio', 'permissions'] as const)('preset %s: deleting the last owner is refused', (model) => {
    expectError(lastOwner(model).whenDelete('owner'), 'LAST_OWNER');
  });
  it.each([
    ['studio', 'give another member the environment_manager role first', 'give the environment_manager role', 'the environment_manager role'],
    ['permissions', 'give another member the users permission first', 'give the users permission', 'the users permission'],
  ] as const)("rule 4: preset %s's LAST_OWNER says what makes an owner there, not 'owner', a role it does not have (probe 121 F1)", (model, promote, give, access) => {
    expect(expectError(revoke(lastOwner(model), ADMIN, 'owner'), 'LAST_OWNER').message).toBe(`This is the last owner of the workspace and cannot be revoked; ${promote}.`);
    expect(expectError(lastOwner(model).whenDelete('owner'), 'LAST_OWNER').message).toMatch(new RegExp(`; ${promote.replace(' first', ' there first')}\\.$`));
    // alone: an invitation with that access is the way out
    const alone = lastOwner(model);
    alone.given({ type: 'RevokeAccess', ...by(alone, 'owner'), userId: 'helper' });
    const message = expectError(revoke(alone, ADMIN, 'owner'), 'LAST_OWNER').message;
    expect(message).toContain(`no other active member you could ${give} is there: invite someone with ${access} (`);
    expect(message).not.toMatch(/\bowner's access\b|make .* owner/);
  });
  it('rule 4: deleting the last owner of several workspaces is refused once, naming every one with its id (probe 80 F6: one a call, by a name that need not be unique)', () => {
    const sc = lastOwner('levels');
    const second = structuredClone(sc.ctx.ws);
    second.info = { ...second.info, workspaceId: 'ws-2', name: 'Sales' };
    const refused = expectError(decideDeleteUser({ type: 'DeleteUser', organizationId: ORG, actorId: ADMIN, now: sc.now, userId: 'owner' }, { org: sc.org, workspaces: [sc.ctx.ws, second] }), 'LAST_OWNER');
    expect(refused.facts).toEqual({ workspaceIds: [WS, 'ws-2'] });
    expect(refused.message).toBe(`This user is the last owner of 2 workspaces: ${sc.ctx.ws.info.name} (${WS}), Sales (ws-2); make another member owner in each first.`);
  });
  it('rule 4: a deletion blocked where a promotion is the way out beside where it is not names that too (probe 100 F4)', () => {
    const sc = lastOwner('levels');
    const alone = structuredClone(sc.ctx.ws);
    alone.info = { ...alone.info, workspaceId: 'ws-2', name: 'Sales' };
    alone.members.delete('helper');
    const refused = expectError(decideDeleteUser({ type: 'DeleteUser', organizationId: ORG, actorId: ADMIN, now: sc.now, userId: 'owner' }, { org: sc.org, workspaces: [sc.ctx.ws, alone] }), 'LAST_OWNER');
    expect(refused.message).toMatch(new RegExp(`; first, in ${sc.ctx.ws.info.name}, make another active member owner; in Sales, no other active member you could make owner: invite someone`));
  });
  it('rule 4: a deletion blocked in several workspaces says the way out of each that needs more than a promotion (probe 99 F4)', () => {
    const sc = new Scenario('levels').member('owner', { roles: ['owner'] });
    sc.given({ type: 'RevokeAccess', ...by(sc, 'owner'), userId: ADMIN });
    const pending = structuredClone(sc.ctx.ws);
    pending.info = { ...pending.info, workspaceId: 'ws-2', name: 'Sales' };
    pending.invitations.set('inv-o', { invitationId: 'inv-o', email: 'o@acme.test', access: { roles: ['owner'], restrictions: {}, grants: [] }, status: 'pending', linkVersion: 1, invitedAt: sc.now, expiresAt: sc.now, inviteeUserId: null, invitedBy: ADMIN, closedAt: null, cancelledBy: null });
    const refused = expectError(decideDeleteUser({ type: 'DeleteUser', organizationId: ORG, actorId: ADMIN, now: sc.now, userId: 'owner' }, { org: sc.org, workspaces: [sc.ctx.ws, pending] }), 'LAST_OWNER');
    expect(refused.message).toBe(
      `This user is the last owner of 2 workspaces: ${sc.ctx.ws.info.name} (${WS}), Sales (ws-2); first, in ${sc.ctx.ws.info.name}, no other active member you could make owner: invite someone with an owner's access (no one may invite their own address: another org admin, or the owner still there, can invite you) and, once they have joined, try again; in Sales, an invitation with an owner's access is pending (inv-o; resend it if its link expired): once it is accepted, try again.`,
    );
  });
  it("rule 4: the last owner who is the workspace's only active member: the refusal names the way out, an invitation (probe 97 F1: it asked for a member who did not exist)", () => {
    const sc = new Scenario('levels').member('owner', { roles: ['owner'] });
    sc.given({ type: 'RevokeAccess', ...by(sc, 'owner'), userId: ADMIN });
    const invite = /first: no other active member you could make owner is there: invite someone with an owner's access \(no one may invite their own address: another org admin, or the owner still there, can invite you\) and, once they have joined, try again\.$/;
    expect(expectError(revoke(sc, ADMIN, 'owner'), 'LAST_OWNER').message).toMatch(invite);
    expect(expectError(change(sc, ADMIN, 'owner', { roles: ['manager'] }), 'LAST_OWNER').message).toMatch(invite);
    expect(expectError(sc.whenDelete('owner'), 'LAST_OWNER').message).toMatch(/^This user is the last owner of workspace .*; make another member owner there first: no other active member you could make owner is there: invite/);
    // with another active member, the plain advice
    expect(expectError(revoke(lastOwner('levels'), ADMIN, 'owner'), 'LAST_OWNER').message).toBe('This is the last owner of the workspace and cannot be revoked; make another member owner first.');
  });
  it('rule 4: the actor is no way out of their own refusal (they cannot make themself owner), and a pending invitation with an owner\'s access is named (probe 98 F4)', () => {
    // the org admin is a member here, demoted to agent by the last owner: the only other active member is the actor
    const sc = new Scenario('levels').member('owner', { roles: ['owner'] });
    sc.given({ type: 'ChangeAccess', ...by(sc, 'owner'), userId: ADMIN, roles: ['agent'] });
    expect(expectError(revoke(sc, ADMIN, 'owner'), 'LAST_OWNER').message).toMatch(/no other active member you could make owner is there: invite someone/);
    sc.given({ type: 'InviteMember', ...by(sc, 'owner'), invitationId: 'inv-owner', email: 'next.owner@acme.test', ttlSeconds: 3600, roles: ['owner'] });
    expect(expectError(revoke(sc, ADMIN, 'owner'), 'LAST_OWNER').message).toBe(
      'This is the last owner of the workspace and cannot be revoked; make another member owner first: an invitation with an owner\'s access is pending there (inv-owner; resend it if its link expired): once it is accepted, try again.',
    );
  });
  it('an owner who is not the last one can be demoted, revoked and deleted', () => {
    const sc = new Scenario('levels').member('owner', { roles: ['owner'] });
    expectEvents(change(sc, ADMIN, 'owner', { roles: ['manager'] }), ['AccessLevelChanged']);
    expectEvents(revoke(sc, ADMIN, 'owner'), ['AccessRevoked']);
    expectEvents(sc.whenDelete('owner'), ['UserDeletedFromWorkspace', 'UserDeleted']);
  });
  it('editing the last owner without demoting is allowed', () => {
    const sc = lastOwner('studio');
    expectEvents(change(sc, ADMIN, 'owner', { roles: ['environment_manager', 'developer'] }), ['AccessLevelChanged']);
  });
  it('a deleted owner no longer counts as an owner', () => {
    const sc = new Scenario('levels').member('owner', { roles: ['owner'] }).member('owner2', { roles: ['owner'] });
    sc.given({ type: 'RevokeAccess', ...by(sc, 'owner'), userId: ADMIN });
    const deleted = sc.whenDelete('owner2');
    if (!deleted.ok) throw new Error(deleted.error.message);
    sc.applyOrg(deleted.events);
    expectError(revoke(sc, ADMIN, 'owner'), 'LAST_OWNER');
  });
});

describe('rule 5: org admins may do everything an owner may, in every workspace', () => {
  it('an org admin without any membership in the workspace manages it like an owner', () => {
    const sc = new Scenario('levels').member('owner', { roles: ['owner'] }).member('owner2', { roles: ['owner'] });
    sc.given({ type: 'RevokeAccess', ...by(sc, 'owner'), userId: ADMIN });
    expectEvents(invite(sc, ADMIN, 'o@acme.test', { roles: ['owner'] }), ['UserInvited']);
    expectEvents(change(sc, ADMIN, 'owner', { roles: ['agent'] }), ['AccessLevelChanged']);
    expectEvents(revoke(sc, ADMIN, 'owner2'), ['AccessRevoked']);
  });
  it('an org admin demoted to agent in a workspace keeps an owner\'s authority there', () => {
    const sc = new Scenario('levels').member('owner', { roles: ['owner'] });
    sc.given({ type: 'ChangeAccess', ...by(sc, 'owner'), userId: ADMIN, roles: ['agent'] });
    expectEvents(invite(sc, ADMIN, 'o@acme.test', { roles: ['owner'] }), ['UserInvited']);
  });
  it.each(['permissions', 'studio'] as const)('preset %s: an org admin may grant anything', (model) => {
    const access = model === 'studio' ? { roles: ['developer', 'environment_manager'] } : { grants: ['settings', 'ib_data'] };
    expectEvents(invite(new Scenario(model), ADMIN, 'n@acme.test', access), ['UserInvited']);
  });
  it('an org user who is not an admin has no authority in a workspace they are not a member of', () => {
    const sc = new Scenario('levels');
    sc.givenOrg({ type: 'JoinOrganization', organizationId: 'org-1', actorId: 'x', now: sc.now, newUserId: 'outsider', email: 'out@acme.test' });
    expectError(invite(sc, 'outsider', 'n@acme.test'), 'INSUFFICIENT_AUTHORITY');
    expect(sc.ctx.ws.info.workspaceId).toBe(WS);
  });
});
