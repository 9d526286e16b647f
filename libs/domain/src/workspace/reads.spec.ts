import { ADMIN, Scenario } from '../testing/fixture';
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
