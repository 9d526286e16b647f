import { SYSTEM_ACTOR } from '../shared/events';
import { ADMIN, Scenario, T0, WS, expectError } from '../testing/fixture';
import { effectivePermissions } from '../access-model';
import { decidePlan } from './plan';
import { evolveWorkspace, modelOf } from './state';
import type { Plan } from '../access-model';

const change = (s: Scenario, plan: Plan, actorId = SYSTEM_ACTOR) => decidePlan({ type: 'ChangePlan', actorId, now: T0, workspaceId: WS, plan }, s.ctx);

describe("a workspace's plan changes (probe 39b F12)", () => {
  it('the system upgrades a workspace: masking is accepted from then on, and a masked agent is masked', () => {
    const s = new Scenario('levels', 'standard').member('agent', { roles: ['agent'] });
    const upgraded = change(s, 'advanced');
    expect(upgraded).toEqual({
      ok: true,
      warnings: [],
      events: [{ type: 'WorkspacePlanChanged', version: 1, data: { workspaceId: WS, organizationId: 'org-1', before: 'standard', plan: 'advanced', changedAt: T0 } }],
    });
    expectError(s.when({ type: 'ChangeAccess', workspaceId: WS, actorId: ADMIN, now: T0, userId: 'agent', restrictions: { mask_contact_info: true } }), 'PLAN_REQUIRED');
    for (const e of upgraded.ok ? upgraded.events : []) evolveWorkspace(s.ctx.ws, e);
    expect(s.ctx.ws.info.plan).toBe('advanced');
    const masked = s.when({ type: 'ChangeAccess', workspaceId: WS, actorId: ADMIN, now: T0, userId: 'agent', restrictions: { mask_contact_info: true } });
    expect(masked.ok).toBe(true);
    expect(effectivePermissions({ roles: ['agent'], restrictions: { mask_contact_info: true }, grants: [] }, modelOf(s.ctx), s.ctx.ws.info.plan).scopes.mask_contact_info).toBe(true);
  });

  it('the same plan changes nothing; a plan that is none is refused', () => {
    const s = new Scenario('levels', 'advanced');
    expect(change(s, 'advanced')).toEqual({ ok: true, events: [], warnings: [] });
    expectError(change(s, 'gold' as Plan), 'VALIDATION_FAILED');
  });

  it('only the system: an org admin is refused', () => {
    expectError(change(new Scenario('levels', 'standard'), 'enterprise', ADMIN), 'INSUFFICIENT_AUTHORITY');
  });

  it('a downgrade is refused while a member or a pending invitation is masked (PLAN_IN_USE), and accepted once it is lifted', () => {
    const s = new Scenario('levels', 'enterprise').member('agent', { roles: ['agent'], restrictions: { mask_contact_info: true } });
    const inv = s.invited('masked@acme.test', { roles: ['agent'], restrictions: { mask_contact_info: true } });
    const refused = change(s, 'standard');
    expectError(refused, 'PLAN_IN_USE');
    expect(!refused.ok && refused.error.message).toContain(`which 1 member (agent) and 1 invitation (${inv}) carry;`);
    // what to do, for each: an invitation's access cannot be changed (probe 65 F4)
    expect(!refused.ok && refused.error.message).toMatch(/; lift it from the members, and cancel the invitations and invite again without it \(an invitation's access cannot be changed\), first\.$/);
    // advanced accepts masking too: no refusal
    expect(change(s, 'advanced').ok).toBe(true);
    s.given({ type: 'ChangeAccess', workspaceId: WS, actorId: ADMIN, now: T0, userId: 'agent', restrictions: {} });
    s.given({ type: 'CancelInvitation', workspaceId: WS, actorId: ADMIN, now: T0, invitationId: inv });
    expect(change(s, 'standard').ok).toBe(true);
  });

  it('probe 65 F4: held by members alone, the refusal says to lift it; by invitations alone, to cancel them and invite again', () => {
    const members = new Scenario('levels', 'enterprise').member('agent', { roles: ['agent'], restrictions: { mask_contact_info: true } });
    const byMembers = change(members, 'standard');
    expect(!byMembers.ok && byMembers.error.message).toMatch(/which 1 member \(agent\) carries; lift it from them first\.$/);
    const invited = new Scenario('levels', 'enterprise');
    invited.invited('masked@acme.test', { roles: ['agent'], restrictions: { mask_contact_info: true } });
    const byInvitations = change(invited, 'standard');
    expect(!byInvitations.ok && byInvitations.error.message).toMatch(/; cancel the invitations and invite again without it \(an invitation's access cannot be changed\), first\.$/);
  });

  it('probe 66 F7: past five members the invitations are still named, apart', () => {
    let s = new Scenario('levels', 'enterprise');
    for (let i = 0; i < 6; i++) s = s.member(`m${i}`, { roles: ['agent'], restrictions: { mask_contact_info: true } });
    const inv = s.invited('masked@acme.test', { roles: ['agent'], restrictions: { mask_contact_info: true } });
    const refused = change(s, 'standard');
    expect(!refused.ok && refused.error.message).toBe(
      `The standard plan does not accept mask_contact_info, which 6 members (m0, m1, m2, m3, m4, …) and 1 invitation (${inv}) carry; lift it from the members, and cancel the invitations and invite again without it (an invitation's access cannot be changed), first.`,
    );
  });
});
