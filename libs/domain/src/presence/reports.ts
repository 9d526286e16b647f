import { domainError } from '../shared/errors';
import type { Check } from '../shared/result';
import { holds, resolveActor, whyNotHeld } from '../workspace/authority';
import { modelOf, type WorkspaceContext } from '../workspace/state';

/**
 * Reading the presence report (docs/rules.md#rule-13, #read-models `presence_daily`) needs the access model's
 * reports permission: `reports` (levels), `reporting` (permissions), `analytics.read` (studio: analyst, producer).
 * Org admins may read it (rule 5). Its CSV (`csv`) is a download of members' addresses and names, as the user list's
 * and the history's are: it needs what they need, the permission to read the user list (rule 1) and the export
 * permission (docs/rules.md#rule-18; probe 15, session 22's probe).
 */
export function checkReportRead(ctx: WorkspaceContext, actorId: string, csv = false): Check {
  const actor = resolveActor(ctx, actorId);
  if (!actor) return domainError('INSUFFICIENT_AUTHORITY', 'You are not an active member of this workspace.');
  const model = modelOf(ctx);
  if (!holds(actor, model.readReports)) return domainError('INSUFFICIENT_AUTHORITY', `Reports need ${whyNotHeld(ctx, actor, model.readReports)}`);
  const needed = [model.manageMembers, model.exportMembers];
  if (csv && !needed.every((permission) => holds(actor, permission)))
    return domainError('INSUFFICIENT_AUTHORITY', `The report's CSV holds members' addresses: it needs ${whyNotHeld(ctx, actor, needed)}`);
  return undefined;
}

/**
 * Whether the report shows members' addresses to this reader: only to one who may read the user list (rule 1), where
 * they are shown anyway. A reader with the reports permission alone (a studio analyst, a levels manager restricted by
 * `workspace_settings`) gets the figures and names, with `email` null (docs/rules.md#rule-18; session 22's probe: the
 * JSON gave out the addresses that the user list and the CSV refused).
 */
export function reportShowsAddresses(ctx: WorkspaceContext, actorId: string): boolean {
  const actor = resolveActor(ctx, actorId);
  return !!actor && holds(actor, modelOf(ctx).manageMembers);
}
