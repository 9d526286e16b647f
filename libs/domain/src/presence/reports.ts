import { domainError } from '../shared/errors';
import type { Check } from '../shared/result';
import { holds, resolveActor } from '../workspace/authority';
import { modelOf, type WorkspaceContext } from '../workspace/state';

/**
 * Reading the presence report (docs/rules.md#rule-13, #read-models `presence_daily`) needs the access model's
 * reports permission: `reports` (levels), `reporting` (permissions), `analytics.read` (studio: analyst, producer).
 * Org admins may read it (rule 5).
 */
export function checkReportRead(ctx: WorkspaceContext, actorId: string): Check {
  const actor = resolveActor(ctx, actorId);
  if (!actor) return domainError('INSUFFICIENT_AUTHORITY', 'You are not an active member of this workspace.');
  const needed = modelOf(ctx).readReports;
  return holds(actor, needed) ? undefined : domainError('INSUFFICIENT_AUTHORITY', `Reports need the ${needed} permission, which you do not hold.`);
}
