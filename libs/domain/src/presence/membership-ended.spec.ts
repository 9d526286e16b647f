import { activeMember } from '../workspace/state';
import { ADMIN, Scenario, WS, by, expectEvents } from '../testing/fixture';
import { withMembershipsEnded } from './membership-ended';

const team = () => new Scenario('levels').member('agent', { roles: ['agent'] }).member('boss', { roles: ['manager'] });

describe('rule 13: the end of a membership is written on the member\'s presence stream (docs/rules.md#presence-details)', () => {
  it('a revoke of an active member gets MembershipEnded first, the revoke\'s own events after it (its answered position stays its own)', () => {
    const s = team();
    const decision = withMembershipsEnded(s.when({ type: 'RevokeAccess', ...by(s, ADMIN), userId: 'agent' }), (_, id) => activeMember(s.ctx, id) !== undefined);
    const [marker] = expectEvents(decision, ['MembershipEnded', 'AccessRevoked']);
    expect(marker!.data).toEqual({ workspaceId: WS, organizationId: s.ctx.org.organizationId, userId: 'agent', reason: 'revoked', endedAt: s.now });
  });

  it('a deletion gets one per workspace where the user was an active member, none where they were not', () => {
    const s = team();
    const decision = s.whenDelete('boss');
    const ended = withMembershipsEnded(decision, () => true);
    const notActive = withMembershipsEnded(decision, () => false);
    expect(ended.ok && ended.events.filter((e) => e.type === 'MembershipEnded').map((e) => e.data)).toEqual([
      { workspaceId: WS, organizationId: s.ctx.org.organizationId, userId: 'boss', reason: 'deleted', endedAt: s.now },
    ]);
    expect(notActive).toEqual(decision);
  });

  it('a refusal stays one, and a decision that ends nothing gets nothing', () => {
    const s = team();
    const refused = s.when({ type: 'RevokeAccess', ...by(s, 'agent'), userId: 'boss' });
    expect(withMembershipsEnded(refused, () => true)).toEqual(refused);
    const change = s.when({ type: 'ChangeAccess', ...by(s, ADMIN), userId: 'agent', roles: ['manager'] });
    expect(withMembershipsEnded(change, () => true)).toEqual(change);
  });
});
