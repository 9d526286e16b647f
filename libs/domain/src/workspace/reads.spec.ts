import { ADMIN, Scenario, T0, WS } from '../testing/fixture';
import { checkRead } from './authority';

describe('rule 18: exporting the user list needs data.export (levels) / users (other presets)', () => {
  const s = () =>
    new Scenario('levels')
      .member('owner', { roles: ['owner'] })
      .member('manager', { roles: ['manager'] })
      .member('no-export', { roles: ['manager'], restrictions: { data_export: true } })
      .member('agent', { roles: ['agent'] });
  it.each([
    ['owner', undefined],
    ['manager', undefined],
    [ADMIN, undefined],
    ['no-export', 'INSUFFICIENT_AUTHORITY'],
    ['agent', 'INSUFFICIENT_AUTHORITY'],
    ['stranger', 'INSUFFICIENT_AUTHORITY'],
  ])('%s → %s', (actor, code) => {
    expect(checkRead(s().ctx, actor, 'export')?.code).toBe(code);
  });
  it('rules 1 and 18: the export is the user list: a manager who may not read the list (workspace_settings) may not export it either', () => {
    const t = new Scenario('levels').member('no-list', { roles: ['manager'], restrictions: { workspace_settings: true } });
    expect(checkRead(t.ctx, 'no-list', 'members')?.code).toBe('INSUFFICIENT_AUTHORITY');
    const refused = checkRead(t.ctx, 'no-list', 'export');
    expect(refused?.code).toBe('INSUFFICIENT_AUTHORITY');
    expect(refused?.message).toContain('settings.users');
  });
  it("rule 18: the history's CSV needs the export permission beside the history's (probe 12); its pages do not", () => {
    expect(checkRead(s().ctx, 'no-export', 'history')).toBeUndefined();
    expect(checkRead(s().ctx, 'no-export', 'historyExport')?.code).toBe('INSUFFICIENT_AUTHORITY');
    for (const actor of ['owner', 'manager', ADMIN]) expect(checkRead(s().ctx, actor, 'historyExport')).toBeUndefined();
    expect(checkRead(s().ctx, 'agent', 'historyExport')?.code).toBe('INSUFFICIENT_AUTHORITY');
  });
  it('preset permissions: users', () => {
    const p = new Scenario('permissions').member('boss', { grants: ['users'] }).member('chatter');
    expect(checkRead(p.ctx, 'boss', 'export')).toBeUndefined();
    expect(checkRead(p.ctx, 'chatter', 'export')?.code).toBe('INSUFFICIENT_AUTHORITY');
  });
});

describe('reading the user list and the history needs the member-management permission; a member may view themself', () => {
  const s = () => new Scenario('levels').member('manager', { roles: ['manager'] }).member('agent', { roles: ['agent'] }).member('agent2');
  it('managers and org admins read the list and the history; agents do not', () => {
    for (const scope of ['members', 'history'] as const) {
      expect(checkRead(s().ctx, 'manager', scope)).toBeUndefined();
      expect(checkRead(s().ctx, ADMIN, scope)).toBeUndefined();
      expect(checkRead(s().ctx, 'agent', scope)?.code).toBe('INSUFFICIENT_AUTHORITY');
    }
  });
  it('rule 1: a revoked member reads nothing of the workspace, their own entry and access included', () => {
    const t = s().given({ type: 'RevokeAccess', workspaceId: WS, actorId: ADMIN, now: T0, userId: 'agent' });
    expect(checkRead(t.ctx, 'agent', 'member', 'agent')?.code).toBe('INSUFFICIENT_AUTHORITY');
    expect(checkRead(t.ctx, 'agent', 'history', 'agent')?.code).toBe('INSUFFICIENT_AUTHORITY');
    expect(checkRead(t.ctx, ADMIN, 'member', 'agent')).toBeUndefined();
  });
  it('an agent sees themself but not another member', () => {
    expect(checkRead(s().ctx, 'agent', 'member', 'agent')).toBeUndefined();
    expect(checkRead(s().ctx, 'agent', 'member', 'agent2')?.code).toBe('INSUFFICIENT_AUTHORITY');
  });
  it("rule 1: an agent reads their own access at a time T, not another member's, nor the whole history", () => {
    expect(checkRead(s().ctx, 'agent', 'history', 'agent')).toBeUndefined();
    expect(checkRead(s().ctx, 'agent', 'history', 'agent2')?.code).toBe('INSUFFICIENT_AUTHORITY');
    expect(checkRead(s().ctx, 'agent', 'history')?.code).toBe('INSUFFICIENT_AUTHORITY');
  });
});
