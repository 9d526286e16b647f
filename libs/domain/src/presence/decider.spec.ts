import { ADMIN, Scenario, WS, by, expectError, expectEvents } from '../testing/fixture';
import { type PresenceCommand, type PresenceContext, type PresenceState, decidePresence, evolvePresence, initialPresenceState, presenceAfterMembershipEnded } from './decider';
import type { PresenceChanged } from './events';
import { checkReportRead, reportShowsAddresses } from './reports';
import type { AccessModelName } from '../access-model';

type AccessInput = { roles?: string[]; grants?: string[] };

/** A workspace scenario plus one user's presence stream, folded as the command side folds it. */
class PresenceScenario {
  presence: PresenceState = initialPresenceState();
  constructor(readonly s: Scenario) {}

  ctx(): PresenceContext {
    return { ...this.s.ctx, presence: this.presence };
  }

  when(command: PresenceCommand) {
    return decidePresence(command, this.ctx());
  }

  /** decides and folds; returns the events */
  given(command: PresenceCommand): PresenceChanged[] {
    const d = this.when(command);
    if (!d.ok) throw new Error(`refused: ${d.error.code}`);
    for (const e of d.events) this.presence = evolvePresence(this.presence, e);
    return d.events;
  }

  heartbeat(actorId: string, status: 'online' | 'away') {
    return { type: 'Heartbeat' as const, ...by(this.s, actorId), status };
  }
}

const withAgent = () => new PresenceScenario(new Scenario('levels').member('agent', { roles: ['agent'] }).member('boss', { roles: ['manager'] }));

describe('rule 13: heartbeats, and only transitions are events', () => {
  it('a first heartbeat takes the user from offline to online, seen now', () => {
    const p = withAgent();
    const [e] = expectEvents(p.when(p.heartbeat('agent', 'online')), ['PresenceChanged']);
    expect(e!.data).toEqual({
      workspaceId: WS,
      organizationId: 'org-1',
      userId: 'agent',
      status: 'online',
      previous: 'offline',
      reason: 'heartbeat',
      lastSeenAt: p.s.now,
      changedAt: p.s.now,
    });
  });

  it('a heartbeat that repeats the status appends nothing; a new status is a transition', () => {
    const p = withAgent();
    p.given(p.heartbeat('agent', 'online'));
    p.s.advance(20);
    expectEvents(p.when(p.heartbeat('agent', 'online')), []);
    const [away] = expectEvents(p.when(p.heartbeat('agent', 'away')), ['PresenceChanged']);
    expect(away!.data).toMatchObject({ status: 'away', previous: 'online', reason: 'heartbeat', lastSeenAt: p.s.now });
  });

  it('a heartbeat reports online or away only', () => {
    const p = withAgent();
    expectError(p.when({ ...p.heartbeat('agent', 'online'), status: 'offline' as never }), 'VALIDATION_FAILED');
  });

  it('only an active member reports presence: a revoked member, a deleted user or a stranger is refused', () => {
    const p = withAgent();
    expectError(p.when(p.heartbeat('stranger', 'online')), 'INSUFFICIENT_AUTHORITY');
    p.s.given({ type: 'RevokeAccess', ...by(p.s, ADMIN), userId: 'agent' });
    expectError(p.when(p.heartbeat('agent', 'online')), 'INSUFFICIENT_AUTHORITY');
    const d = new PresenceScenario(new Scenario('levels').member('gone'));
    d.s.applyOrg(expectEvents(d.s.whenDelete('gone'), ['UserDeletedFromWorkspace', 'UserDeleted']));
    expectError(d.when(d.heartbeat('gone', 'online')), 'INSUFFICIENT_AUTHORITY');
  });
});

describe('rule 13: timeouts', () => {
  const timeout = (p: PresenceScenario, lastSeenAt: string, timeoutSeconds = 60): PresenceCommand => ({
    type: 'TimeOut',
    workspaceId: WS,
    now: p.s.now,
    userId: 'agent',
    lastSeenAt,
    timeoutSeconds,
  });

  it('a lapsed lease makes the user offline with their true last-seen time', () => {
    const p = withAgent();
    p.given(p.heartbeat('agent', 'online'));
    p.s.advance(30);
    const lastHeartbeat = p.s.now; // renewed the lease, appended nothing
    p.s.advance(75);
    const [e] = expectEvents(p.when(timeout(p, lastHeartbeat)), ['PresenceChanged']);
    expect(e!.data).toMatchObject({ status: 'offline', previous: 'online', reason: 'timeout', lastSeenAt: lastHeartbeat, changedAt: p.s.now });
  });

  it('exactly one timeout per lapse: once offline, another sweep of the same lapse decides nothing', () => {
    const p = withAgent();
    p.given(p.heartbeat('agent', 'away'));
    const seen = p.s.now;
    p.s.advance(61);
    expect(p.given(timeout(p, seen))).toHaveLength(1);
    expectEvents(p.when(timeout(p, seen)), []);
  });

  it('a lease renewed after the sweeper read it is not lapsed', () => {
    const p = withAgent();
    p.given(p.heartbeat('agent', 'online'));
    p.s.advance(59);
    expectEvents(p.when(timeout(p, p.presence.lastSeenAt!)), []);
    // the stream's own last-seen time counts too: a stale lease cannot time out a fresher transition
    p.s.advance(1);
    p.given(p.heartbeat('agent', 'away'));
    expectEvents(p.when(timeout(p, '2026-03-01T08:00:00.000Z')), []);
  });

  it('rule 13 (probe 55 F3): a transition recorded before the wall clock stepped back does not keep the user online for the step; the lease says when they were heard', () => {
    const p = withAgent();
    p.s.advance(600); // the clock ran ten minutes fast when the agent went online
    p.given(p.heartbeat('agent', 'online'));
    const future = p.presence.lastSeenAt!;
    p.s.advance(-600 + 1); // stepped back; the sweeper took the lease as renewed then
    const atStep = p.s.now;
    p.s.advance(59);
    expectEvents(p.when(timeout(p, atStep)), []);
    p.s.advance(1);
    const [e] = expectEvents(p.when(timeout(p, atStep)), ['PresenceChanged']);
    expect(e!.data).toMatchObject({ status: 'offline', reason: 'timeout', lastSeenAt: atStep });
    expect(future > atStep).toBe(true);
  });

  it('rule 13 (probe 58 F4): a heartbeat that changed the status just after the sweep took its now still renews: not timed out', () => {
    const p = withAgent();
    p.given(p.heartbeat('agent', 'online'));
    const stale = p.s.now;
    p.s.advance(61);
    const sweepNow = p.s.now;
    p.s.advance(1); // the agent comes back while the sweeper decides
    p.given(p.heartbeat('agent', 'away'));
    p.s.now = sweepNow;
    expectEvents(p.when(timeout(p, stale)), []);
  });

  it('the timeout is configurable', () => {
    const p = withAgent();
    p.given(p.heartbeat('agent', 'online'));
    const seen = p.s.now;
    p.s.advance(5);
    expectEvents(p.when(timeout(p, seen, 10)), []);
    p.s.advance(5);
    expectEvents(p.when(timeout(p, seen, 10)), ['PresenceChanged']);
  });

  it('a lapse is a timeout even when the membership ended meanwhile (nobody was heard from since)', () => {
    const p = withAgent();
    p.given(p.heartbeat('agent', 'online'));
    const seen = p.s.now;
    p.s.given({ type: 'RevokeAccess', ...by(p.s, ADMIN), userId: 'agent' }).advance(90);
    expect(expectEvents(p.when(timeout(p, seen)), ['PresenceChanged'])[0]!.data).toMatchObject({ reason: 'timeout', lastSeenAt: seen });
  });
});

describe('rule 13: an admin sets a user offline', () => {
  const setOffline = (p: PresenceScenario, actorId: string, userId = 'agent', lastSeenAt?: string): PresenceCommand => ({
    type: 'SetOffline',
    ...by(p.s, actorId),
    userId,
    ...(lastSeenAt !== undefined && { lastSeenAt }),
  });

  it('forced offline keeps the latest last-seen time (the lease\'s, when it is fresher than the stream\'s)', () => {
    const p = withAgent();
    p.given(p.heartbeat('agent', 'online'));
    p.s.advance(40);
    const lease = p.s.now;
    p.s.advance(5);
    const [e] = expectEvents(p.when(setOffline(p, 'boss', 'agent', lease)), ['PresenceChanged']);
    expect(e!.data).toMatchObject({ status: 'offline', previous: 'online', reason: 'forced', lastSeenAt: lease, changedAt: p.s.now });
  });

  it('probe 66 F1: setting offline a member who is offline (never seen, signed out, timed out) holds them: offline → offline, reason forced, once', () => {
    const p = withAgent();
    const [e] = expectEvents(p.when(setOffline(p, ADMIN)), ['PresenceChanged']);
    expect(e!.data).toMatchObject({ status: 'offline', previous: 'offline', reason: 'forced', lastSeenAt: null });
    p.given(setOffline(p, ADMIN));
    expectEvents(p.when(setOffline(p, 'boss')), []);
    expectError(p.when(p.heartbeat('agent', 'online')), 'FORCED_OFFLINE');
    // signed out, then set offline by the manager: held too
    const q = withAgent();
    q.given(q.heartbeat('agent', 'online'));
    q.given(setOffline(q, 'agent'));
    expectEvents(q.when(setOffline(q, 'boss')), ['PresenceChanged']);
    q.given(setOffline(q, 'boss'));
    expectError(q.when(q.heartbeat('agent', 'online')), 'FORCED_OFFLINE');
  });

  it('needs the member-management authority: an agent is refused, an org admin or a manager may', () => {
    const cases: [AccessModelName, AccessInput, AccessInput][] = [
      ['levels', { roles: ['manager'] }, { roles: ['agent'] }],
      ['permissions', { grants: ['users'] }, { grants: ['reporting'] }],
      ['studio', { roles: ['environment_manager'] }, { roles: ['operator', 'analyst'] }],
    ];
    for (const [model, admin, agent] of cases) {
      const p = new PresenceScenario(new Scenario(model).member('agent', agent).member('boss', admin).member('peer', agent));
      p.given(p.heartbeat('agent', 'online'));
      expectError(p.when(setOffline(p, 'peer')), 'INSUFFICIENT_AUTHORITY');
      expectError(p.when(setOffline(p, 'stranger')), 'INSUFFICIENT_AUTHORITY');
      expectEvents(p.when(setOffline(p, 'boss')), ['PresenceChanged']);
      expectEvents(p.when(setOffline(p, ADMIN)), ['PresenceChanged']);
    }
  });

  it('rule 2: an act on the member, ranked as a revoke is: under levels a manager makes agents offline, never an owner or another manager; an owner anyone; anyone themself (probe 37 F2)', () => {
    const decided = (model: AccessModelName, members: Record<string, AccessInput>, actorId: string, userId: string) => {
      let scenario = new Scenario(model);
      for (const [id, access] of Object.entries(members)) scenario = scenario.member(id, access);
      const p = new PresenceScenario(scenario);
      p.given(p.heartbeat(userId, 'online'));
      const d = p.when(setOffline(p, actorId, userId));
      return d.ok ? d.events.map((e) => e.data.status) : d.error.code;
    };
    const levels = { owner2: { roles: ['owner'] }, owner3: { roles: ['owner'] }, boss: { roles: ['manager'] }, boss2: { roles: ['manager'] }, agent: { roles: ['agent'] } };
    expect({
      managerOnAgent: decided('levels', levels, 'boss', 'agent'),
      managerOnManager: decided('levels', levels, 'boss', 'boss2'),
      managerOnOwner: decided('levels', levels, 'boss', 'owner2'),
      managerOnThemself: decided('levels', levels, 'boss', 'boss'),
      ownerOnOwner: decided('levels', levels, 'owner2', 'owner3'),
      ownerOnManager: decided('levels', levels, 'owner2', 'boss'),
      orgAdminOnOwner: decided('levels', levels, ADMIN, 'owner2'),
      // permissions: no rank, and making offline gives no permission: any member manager, on anyone
      grantsOnGrants: decided('permissions', { boss: { grants: ['users'] }, boss2: { grants: ['users', 'settings'] } }, 'boss', 'boss2'),
    }).toEqual({
      managerOnAgent: ['offline'],
      managerOnManager: 'INSUFFICIENT_AUTHORITY',
      managerOnOwner: 'INSUFFICIENT_AUTHORITY',
      managerOnThemself: ['offline'],
      ownerOnOwner: ['offline'],
      ownerOnManager: ['offline'],
      orgAdminOnOwner: ['offline'],
      grantsOnGrants: ['offline'],
    });
  });

  it('a user who never was a member is NOT_A_MEMBER', () => {
    const p = withAgent();
    expectError(p.when(setOffline(p, ADMIN, 'nobody')), 'NOT_A_MEMBER');
  });

  it('a revoked or deleted member who is offline is NOT_A_MEMBER, as their own heartbeat is refused (probe 9)', () => {
    const p = withAgent();
    p.s.given({ type: 'RevokeAccess', ...by(p.s, ADMIN), userId: 'agent' });
    expectError(p.when(setOffline(p, ADMIN)), 'NOT_A_MEMBER');
    const d = new PresenceScenario(new Scenario('levels').member('gone'));
    d.s.applyOrg(expectEvents(d.s.whenDelete('gone'), ['UserDeletedFromWorkspace', 'UserDeleted']));
    expectError(d.when(setOffline(d, ADMIN, 'gone')), 'NOT_A_MEMBER');
  });

  it('rule 13: a revoked member still online (their departure not yet a transition) may be set offline, for that reason and not held (probe 68 F2)', () => {
    const p = withAgent();
    p.given(p.heartbeat('agent', 'online'));
    p.s.given({ type: 'RevokeAccess', ...by(p.s, ADMIN), userId: 'agent' });
    const [e] = expectEvents(p.when(setOffline(p, ADMIN)), ['PresenceChanged']);
    expect(e!.data).toMatchObject({ status: 'offline', previous: 'online', reason: 'revoked' });
    // a set-offline that raced the revoke holds nothing: the member's next membership is not held
    p.given(setOffline(p, ADMIN));
    expect(p.presence.heldOffline).toBeFalsy();
    const d = new PresenceScenario(new Scenario('levels').member('gone'));
    d.given(d.heartbeat('gone', 'online'));
    d.s.applyOrg(expectEvents(d.s.whenDelete('gone'), ['UserDeletedFromWorkspace', 'UserDeleted']));
    const [deleted] = expectEvents(d.when(setOffline(d, ADMIN, 'gone')), ['PresenceChanged']);
    expect(deleted!.data).toMatchObject({ status: 'offline', reason: 'deleted' });
  });
});

describe('rule 13: a forced offline holds until the user resumes; anyone sets themself offline (docs/adr/0032, probe 65 F2/F7)', () => {
  const setOffline = (p: PresenceScenario, actorId: string, userId: string): PresenceCommand => ({ type: 'SetOffline', ...by(p.s, actorId), userId });

  it('rule 13 (probe 93 F4): a set-offline holds as recorded holding it; one recorded without `holds` (by a version before the holds) holds nothing after an upgrade', () => {
    const p = withAgent();
    p.given(p.heartbeat('agent', 'online'));
    p.s.advance(10);
    const [forced] = p.given(setOffline(p, 'boss', 'agent'));
    expect(forced!.data).toMatchObject({ reason: 'forced', holds: true });
    expectError(p.when(p.heartbeat('agent', 'online')), 'FORCED_OFFLINE');
    // the same change as an earlier version recorded it: no `holds`
    const { holds: _holds, ...earlier } = forced!.data;
    const q = withAgent();
    q.given(q.heartbeat('agent', 'online'));
    q.presence = evolvePresence(q.presence, { ...forced!, data: earlier });
    expect(q.presence.heldOffline).toBeUndefined();
    const [back] = expectEvents(q.when(q.heartbeat('agent', 'online')), ['PresenceChanged']);
    expect(back!.data).toMatchObject({ status: 'online', previous: 'offline', reason: 'heartbeat' });
  });

  it('rule 13: set offline by a manager, the member\'s heartbeats are refused with FORCED_OFFLINE until one says resume', () => {
    const p = withAgent();
    p.given(p.heartbeat('agent', 'online'));
    p.s.advance(10);
    const forcedAt = p.s.now;
    p.given(setOffline(p, 'boss', 'agent'));
    p.s.advance(20);
    for (const status of ['online', 'away'] as const) {
      const refused = p.when(p.heartbeat('agent', status));
      expectError(refused, 'FORCED_OFFLINE');
      if (!refused.ok) expect(refused.error.message).toBe(`A member manager set you offline in this workspace at ${forcedAt}; you stay offline until you choose to be online again (a heartbeat with "resume": true).`);
    }
    const [back] = expectEvents(p.when({ ...p.heartbeat('agent', 'online'), resume: true }), ['PresenceChanged']);
    expect(back!.data).toMatchObject({ status: 'online', previous: 'offline', reason: 'heartbeat' });
    p.given({ ...p.heartbeat('agent', 'online'), resume: true });
    // resumed: a later silence and heartbeat are ordinary again
    p.s.advance(90);
    p.given({ type: 'TimeOut', workspaceId: WS, userId: 'agent', now: p.s.now, lastSeenAt: p.presence.lastSeenAt!, timeoutSeconds: 60 });
    expectEvents(p.when(p.heartbeat('agent', 'online')), ['PresenceChanged']);
  });

  it('rule 13: anyone sets themself offline, without the member-management permission (reason self), and is not held', () => {
    for (const model of ['levels', 'permissions', 'studio'] as AccessModelName[]) {
      const member: AccessInput = model === 'levels' ? { roles: ['agent'] } : model === 'permissions' ? { grants: ['reporting'] } : { roles: ['operator'] };
      const p = new PresenceScenario(new Scenario(model).member('agent', member));
      p.given(p.heartbeat('agent', 'online'));
      const [e] = expectEvents(p.when(setOffline(p, 'agent', 'agent')), ['PresenceChanged']);
      expect(e!.data).toMatchObject({ status: 'offline', previous: 'online', reason: 'self' });
      p.given(setOffline(p, 'agent', 'agent'));
      expectEvents(p.when(setOffline(p, 'agent', 'agent')), []);
      expectEvents(p.when(p.heartbeat('agent', 'online')), ['PresenceChanged']);
    }
  });

  it('rule 13: a revoked user or a stranger cannot sign themself out once offline (INSUFFICIENT_AUTHORITY, as their heartbeats)', () => {
    const p = withAgent();
    p.s.given({ type: 'RevokeAccess', ...by(p.s, ADMIN), userId: 'agent' });
    expectError(p.when(setOffline(p, 'agent', 'agent')), 'INSUFFICIENT_AUTHORITY');
    expectError(p.when(setOffline(p, 'nobody', 'nobody')), 'INSUFFICIENT_AUTHORITY');
  });

  it('rule 13: a forced offline ends with the membership: invited again, the user is not held', () => {
    const p = withAgent();
    p.given(p.heartbeat('agent', 'online'));
    p.given(setOffline(p, 'boss', 'agent'));
    expect(p.presence.heldOffline).toBe(true);
    p.presence = presenceAfterMembershipEnded(p.presence);
    expect(p.presence.heldOffline).toBeUndefined();
    expectEvents(p.when(p.heartbeat('agent', 'online')), ['PresenceChanged']);
  });
});

describe('rule 13: a hold is its membership\'s (docs/adr/0032 point 2)', () => {
  it('a set-offline that crossed a revoke and landed after its MembershipEnded does not hold the user invited again (sessions 51–52\'s race)', () => {
    const p = withAgent();
    p.given(p.heartbeat('agent', 'online'));
    p.s.advance(5);
    // the manager's set-offline decided on a state from before the revoke: it lands on the presence stream after
    p.given({ type: 'SetOffline', ...by(p.s, 'boss'), userId: 'agent' });
    p.s.given({ type: 'RevokeAccess', ...by(p.s, ADMIN), userId: 'agent' });
    expect(p.presence.heldOffline).toBe(true);
    p.s.advance(60);
    const inv = p.s.invited('agent@acme.test', { roles: ['agent'] });
    p.s.accepted(inv, 'agent');
    expectEvents(p.when(p.heartbeat('agent', 'online')), ['PresenceChanged']);
    // a manager's set-offline in the new membership holds again, not "held already" (probe 74 F3: it appended nothing)
    const [again] = expectEvents(p.when({ type: 'SetOffline', ...by(p.s, 'boss'), userId: 'agent' }), ['PresenceChanged']);
    expect(again!.data).toMatchObject({ status: 'offline', reason: 'forced' });
    // a hold set in the current membership still holds
    p.given(p.heartbeat('agent', 'online'));
    p.s.advance(5);
    p.given({ type: 'SetOffline', ...by(p.s, 'boss'), userId: 'agent' });
    expectError(p.when(p.heartbeat('agent', 'online')), 'FORCED_OFFLINE');
  });
});

describe('rule 13: leaving the workspace makes a user offline', () => {
  it('revoked or deleted, with the reason; nothing when already offline', () => {
    const p = withAgent();
    const left = (reason: 'revoked' | 'deleted'): PresenceCommand => ({ type: 'MemberLeft', workspaceId: WS, now: p.s.now, userId: 'agent', reason });
    expectEvents(p.when(left('revoked')), []);
    p.given(p.heartbeat('agent', 'away'));
    p.s.advance(10);
    p.s.given({ type: 'RevokeAccess', ...by(p.s, ADMIN), userId: 'agent' });
    for (const reason of ['revoked', 'deleted'] as const) {
      const [e] = expectEvents(p.when(left(reason)), ['PresenceChanged']);
      expect(e!.data).toMatchObject({ status: 'offline', previous: 'away', reason, lastSeenAt: p.presence.lastSeenAt });
    }
  });

  it('probe 66 F3: a revoke seen late does nothing to the membership that came after it (invited again, accepted, online)', () => {
    const p = withAgent();
    p.given(p.heartbeat('agent', 'online'));
    p.s.given({ type: 'RevokeAccess', ...by(p.s, ADMIN), userId: 'agent' });
    // invited again and accepted before this replica's feed reached the revoke
    p.s.accepted(p.s.invited('agent@acme.test', { roles: ['agent'] }), 'agent');
    expectEvents(p.when({ type: 'MemberLeft', workspaceId: WS, now: p.s.now, userId: 'agent', reason: 'revoked' }), []);
  });
});

describe('rule 18: the presence report\'s CSV needs the export permission too (it holds members\' addresses)', () => {
  it('a levels manager restricted by data_export reads the report but cannot download it; an owner and an org admin can', () => {
    const s = new Scenario('levels').member('no-export', { roles: ['manager'], restrictions: { data_export: true } }).member('owner', { roles: ['owner'] });
    expect(checkReportRead(s.ctx, 'no-export')).toBeUndefined();
    expect(checkReportRead(s.ctx, 'no-export', true)).toMatchObject({ code: 'INSUFFICIENT_AUTHORITY', message: expect.stringContaining('data.export') });
    for (const actor of ['owner', ADMIN]) expect(checkReportRead(s.ctx, actor, true)).toBeUndefined();
  });

  it('and the user list\'s permission (rule 1), as the user list\'s CSV: a levels manager restricted by workspace_settings keeps data.export but cannot download it', () => {
    const s = new Scenario('levels').member('no-list', { roles: ['manager'], restrictions: { workspace_settings: true } });
    expect(checkReportRead(s.ctx, 'no-list')).toBeUndefined();
    expect(checkReportRead(s.ctx, 'no-list', true)).toMatchObject({ code: 'INSUFFICIENT_AUTHORITY', message: expect.stringContaining('settings.users') });
  });
});

describe('rule 18: the presence report shows members\' addresses only to a reader who may read the user list (rule 1)', () => {
  it('a studio analyst and a levels manager restricted by workspace_settings read the figures without addresses; a manager, an owner and an org admin with them', () => {
    const studio = new Scenario('studio').member('analyst', { roles: ['analyst'] });
    expect(checkReportRead(studio.ctx, 'analyst')).toBeUndefined();
    expect(reportShowsAddresses(studio.ctx, 'analyst')).toBe(false);
    expect(reportShowsAddresses(studio.ctx, ADMIN)).toBe(true);
    const levels = new Scenario('levels')
      .member('no-list', { roles: ['manager'], restrictions: { workspace_settings: true } })
      .member('manager', { roles: ['manager'] })
      .member('owner', { roles: ['owner'] });
    expect(reportShowsAddresses(levels.ctx, 'no-list')).toBe(false);
    for (const actor of ['manager', 'owner', ADMIN]) expect(reportShowsAddresses(levels.ctx, actor)).toBe(true);
    expect(reportShowsAddresses(levels.ctx, 'stranger')).toBe(false);
  });
});

describe('rule 13: the presence report needs the reports permission', () => {
  it('reports (levels), reporting (permissions), analytics.read (studio: analyst, producer); org admins may', () => {
    const cases: [AccessModelName, AccessInput, AccessInput][] = [
      ['levels', { roles: ['manager'] }, { roles: ['agent'] }],
      ['permissions', { grants: ['reporting'] }, { grants: ['users'] }],
      ['studio', { roles: ['analyst'] }, { roles: ['environment_manager'] }],
      ['studio', { roles: ['producer'] }, { roles: ['operator'] }],
    ];
    for (const [model, reader, other] of cases) {
      const s = new Scenario(model).member('reader', reader).member('other', other);
      expect(checkReportRead(s.ctx, 'reader')).toBeUndefined();
      expect(checkReportRead(s.ctx, ADMIN)).toBeUndefined();
      expect(checkReportRead(s.ctx, 'other')?.code).toBe('INSUFFICIENT_AUTHORITY');
      expect(checkReportRead(s.ctx, 'stranger')?.code).toBe('INSUFFICIENT_AUTHORITY');
    }
  });
});
