import { ADMIN, ORG, Scenario, WS, expectError, expectEvents } from '../testing/fixture';
import { SYSTEM_ACTOR } from '../shared/events';
import { decideOrganization } from './decider';
import { decidePlan } from '../workspace/plan';
import { decideNetwork } from '../teams/network';

// docs/adr/0035 (probe 76 F1): the operator closes an organization whose contract ended
describe('closing an organization', () => {
  const start = (s: Scenario, actorId = SYSTEM_ACTOR, confirmName = 'Acme') =>
    decideOrganization({ type: 'StartClosingOrganization', organizationId: ORG, actorId, now: s.now, confirmName }, s.org);
  const finish = (s: Scenario) => decideOrganization({ type: 'FinishClosingOrganization', organizationId: ORG, actorId: SYSTEM_ACTOR, now: s.now }, s.org);

  it('begins with the system key under the organization name as it stands, revoking every key (the last one too); begun, nothing more', () => {
    const s = new Scenario();
    expectError(start(s, ADMIN), 'INSUFFICIENT_AUTHORITY');
    expectError(start(s, SYSTEM_ACTOR, 'Acme Inc'), 'VALIDATION_FAILED');
    const events = expectEvents(start(s, SYSTEM_ACTOR, ' Acme '), ['OrganizationClosing', 'ApiKeyRevoked']);
    expect(events[1]!.data).toMatchObject({ keyId: 'key-1', revokedBy: SYSTEM_ACTOR });
    s.applyOrg(events);
    expect(s.org.closingSince).toBe(s.now);
    expect(s.org.apiKeys.size).toBe(0);
    expectEvents(start(s), []);
    // the name is asked at every call, begun or not (probe 77 F4)
    expectError(start(s, SYSTEM_ACTOR, 'Wrong'), 'VALIDATION_FAILED');
  });

  it('an organization being closed decides nothing else: its own commands and its workspaces\' are ORGANIZATION_CLOSED', () => {
    const s = new Scenario().member('jane', { roles: ['agent'] });
    const invitation = s.invited('pending@acme.test');
    s.applyOrg(expectEvents(start(s), ['OrganizationClosing', 'ApiKeyRevoked']));
    expectError(decideOrganization({ type: 'IssueApiKey', organizationId: ORG, actorId: SYSTEM_ACTOR, now: s.now, apiKey: { keyId: 'k2', secretHash: 'a'.repeat(64) } }, s.org), 'ORGANIZATION_CLOSED');
    expectError(decideOrganization({ type: 'ChangeOrgAdmin', organizationId: ORG, actorId: ADMIN, now: s.now, userId: 'jane', orgAdmin: true }, s.org), 'ORGANIZATION_CLOSED');
    // an invitation accepted by its link (no key), a revoke
    expectError(s.when({ type: 'AcceptInvitation', workspaceId: WS, now: s.now, invitationId: invitation, linkVersion: 1, newUserId: 'u-new' }), 'ORGANIZATION_CLOSED');
    expectError(s.when({ type: 'RevokeAccess', workspaceId: WS, actorId: ADMIN, now: s.now, userId: 'jane' }), 'ORGANIZATION_CLOSED');
    // the operator's plan change, and a link to a partner workspace either way (probe 77 F2, F3); unlinking still goes
    expectError(decidePlan({ type: 'ChangePlan', actorId: SYSTEM_ACTOR, now: s.now, workspaceId: WS, plan: 'enterprise' }, s.ctx), 'ORGANIZATION_CLOSED');
    const partner = new Scenario();
    partner.ctx.ws.info = { ...partner.ctx.ws.info, workspaceId: 'ws-partner' };
    const link = (a: Scenario, b: Scenario) => decideNetwork({ type: 'NetworkWorkspaces', actorId: SYSTEM_ACTOR, now: s.now, workspaceId: a.ctx.ws.info.workspaceId, partnerWorkspaceId: b.ctx.ws.info.workspaceId }, { ws: a.ctx, partner: b.ctx });
    expectError(link(s, partner), 'ORGANIZATION_CLOSED');
    expectError(link(partner, s), 'ORGANIZATION_CLOSED');
  });

  it('rule 4 gives way while it is closed: the last owner of a workspace is deleted with everyone else', () => {
    const s = new Scenario();
    expectError(s.whenDelete(ADMIN, SYSTEM_ACTOR), 'LAST_OWNER');
    s.applyOrg(expectEvents(start(s), ['OrganizationClosing', 'ApiKeyRevoked']));
    expectError(finish(s), 'VALIDATION_FAILED');
    const deleted = s.whenDelete(ADMIN, SYSTEM_ACTOR);
    expect(deleted.ok && deleted.events.map((e) => e.type)).toEqual(['UserDeletedFromWorkspace', 'UserDeleted']);
    s.applyOrg(deleted.ok ? deleted.events : []);
    s.applyOrg(expectEvents(finish(s), ['OrganizationClosed']));
    expect(s.org.closedAt).toBe(s.now);
    expectEvents(finish(s), []);
  });
});
