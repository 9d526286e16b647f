import { domainError } from '../shared/errors';
import type { Check } from '../shared/result';
import { holds, resolveActor } from '../workspace/authority';
import { modelOf, type WorkspaceContext } from '../workspace/state';

/**
 * Reading the presence report (docs/rules.md#rule-13, #read-models `presence_daily`) needs the access model's
 * reports permission: `reports` (levels), `reporting` (permissions), `analytics.read` (studio: analyst, producer).
 * Org admins may read it (rule 5). Its CSV (`csv`) is a download of members' addresses and names, as the user list's
 * and the history's are: it needs the export permission too (docs/rules.md#rule-18; probe 15).
 */
export function checkReportRead(ctx: WorkspaceContext, actorId: string, csv = false): Check {
  const actor = resolveActor(ctx, actorId);
  if (!actor) return domainError('INSUFFICIENT_AUTHORITY', 'You are not an active member of this workspace.');
  const model = modelOf(ctx);
  if (!holds(actor, model.readReports)) return domainError('INSUFFICIENT_AUTHORITY', `Reports need the ${model.readReports} permission, which you do not hold.`);
  if (csv && !holds(actor, model.exportMembers))
    return domainError('INSUFFICIENT_AUTHORITY', `The report's CSV holds members' addresses: it needs the ${model.exportMembers} permission too, which you do not hold.`);
  return undefined;
}
