import { type Plan, PLANS, restrictionOf } from '../access-model';
import { domainError, validationFailed } from '../shared/errors';
import { type Event, SYSTEM_ACTOR } from '../shared/events';
import { type Decision, accept, reject } from '../shared/result';
import { type WorkspaceContext, modelOf } from './state';
import { organizationClosed } from '../organization/state';

/** A workspace's plan changed (an upgrade or a downgrade), by the system: what the customer pays for is not a member's to change. */
export type WorkspacePlanChanged = Event<'WorkspacePlanChanged', { workspaceId: string; organizationId: string; before: Plan; plan: Plan; changedAt: string }>;

export interface ChangePlan {
  type: 'ChangePlan';
  /** only the system (the operator, with the system key, as billing tells it) */
  actorId: string;
  now: string;
  workspaceId: string;
  plan: Plan;
}

/**
 * A workspace's plan changes (docs/rules.md "Concepts"; probe 39b F12: a customer who upgraded never got masking).
 * The system only. The same plan changes nothing. A plan that does not accept a restriction some member or pending
 * invitation carries is refused (`PLAN_IN_USE`, naming them): lift it first, so that no stored access means less than
 * it says (a masked agent left unmasked by a downgrade without anyone deciding it).
 */
export function decidePlan(cmd: ChangePlan, ctx: WorkspaceContext): Decision<WorkspacePlanChanged> {
  if (cmd.actorId !== SYSTEM_ACTOR) return reject(domainError('INSUFFICIENT_AUTHORITY', "Only a system admin can change a workspace's plan."));
  if (!PLANS.includes(cmd.plan)) return reject(validationFailed([{ field: 'plan', message: `must be one of ${PLANS.join(', ')}` }]));
  // nothing more is decided in a closed organization (docs/adr/0035; probe 77 F2)
  if (ctx.org.closingSince !== undefined) return reject(organizationClosed(ctx.org));
  const { info } = ctx.ws;
  if (info.plan === cmd.plan) return accept([]);
  const model = modelOf(ctx);
  const refusedBy = (restrictions: Record<string, unknown>) =>
    Object.keys(restrictions).filter((name) => {
      const def = restrictionOf(model, name);
      return def?.plans !== undefined && !def.plans.includes(cmd.plan);
    });
  // who carries a restriction the plan refuses, members and invitations apart (probe 66 F7: named together and cut at
  // five, members hid the invitation to cancel)
  const names = new Set<string>();
  const carrying = (restrictions: Record<string, unknown>): boolean => {
    const refused = refusedBy(restrictions);
    for (const name of refused) names.add(name);
    return refused.length > 0;
  };
  const members = [...ctx.ws.members.values()].filter((m) => m.status === 'active' && carrying(m.access.restrictions)).map((m) => m.userId);
  const invitations = [...ctx.ws.invitations.values()].filter((inv) => inv.status === 'pending' && carrying(inv.access.restrictions)).map((inv) => inv.invitationId);
  const count = members.length + invitations.length;
  if (count > 0) {
    const named = (ids: string[], kind: string) => `${ids.length} ${kind}${ids.length > 1 ? 's' : ''} (${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''})`;
    const carriers = [...(members.length > 0 ? [named(members, 'member')] : []), ...(invitations.length > 0 ? [named(invitations, 'invitation')] : [])];
    // an invitation's access cannot be changed (probe 65 F4: "lift it" sent an admin to an edit that answers NOT_A_MEMBER)
    const what = invitations.length > 0
      ? `${members.length > 0 ? 'lift it from the members, and ' : ''}cancel the invitations and invite again without it (an invitation's access cannot be changed), first`
      : 'lift it from them first';
    return reject(domainError('PLAN_IN_USE', `The ${cmd.plan} plan does not accept ${[...names].join(', ')}, which ${carriers.join(' and ')} ${count === 1 ? 'carries' : 'carry'}; ${what}.`));
  }
  return accept([{ type: 'WorkspacePlanChanged', version: 1, data: { workspaceId: info.workspaceId, organizationId: info.organizationId, before: info.plan, plan: cmd.plan, changedAt: cmd.now } }]);
}
