import { type Access, type AccessModel, type Plan, effectivePermissions, explainPermissions, isOwner, liftedRestrictions, rankOf, roleOf } from '../access-model';
import { domainError } from '../shared/errors';
import type { Check } from '../shared/result';
import { isOrgAdmin } from '../organization/state';
import { activeMember, modelOf, planOf, type WorkspaceContext } from './state';

/** Who is acting: an org admin (acts as owner everywhere, rule 5) or an active member with its permissions. */
export type Actor =
  | { kind: 'org_admin'; userId: string }
  | { kind: 'member'; userId: string; access: Access; permissions: ReadonlySet<string> };

/**
 * An actor's permissions by the access object they were computed from, with the model and plan: a member's access in
 * a folded state is replaced, never changed in place, when it changes (evolveWorkspace), so an actor who issues many
 * commands has them computed once (each command resolved its actor's permissions again). Read-only for whoever gets it.
 */
const permissionsByAccess = new WeakMap<Access, { model: AccessModel; plan: Plan; permissions: ReadonlySet<string> }>();

const permissionsOf = (access: Access, model: AccessModel, plan: Plan): ReadonlySet<string> => {
  const known = permissionsByAccess.get(access);
  if (known && known.model === model && known.plan === plan) return known.permissions;
  const permissions = new Set(effectivePermissions(access, model, plan).permissions);
  permissionsByAccess.set(access, { model, plan, permissions });
  return permissions;
};

export const resolveActor = (ctx: WorkspaceContext, actorId: string): Actor | undefined => {
  if (isOrgAdmin(ctx.org, actorId)) return { kind: 'org_admin', userId: actorId };
  const member = activeMember(ctx, actorId);
  if (!member) return undefined;
  return { kind: 'member', userId: actorId, access: member.access, permissions: permissionsOf(member.access, modelOf(ctx), planOf(ctx)) };
};

export const holds = (actor: Actor, permission: string): boolean =>
  actor.kind === 'org_admin' || actor.permissions.has(permission);

const refused = (message: string) => domainError('INSUFFICIENT_AUTHORITY', message);

/**
 * whom a refusal for a missing permission tells the person to ask (the Giosg page: "contact one of your colleagues that
 * is managing your users right now. They can then give you access"; probe 71 F4): an owner (rule 4's, per preset) is
 * the one who can give any permission of it — under `levels` a manager cannot give a manager's (probe 72 F3) — named
 * as the preset names it: no `permissions` workspace has an "owner" (probe 97 F2)
 */
const askAnOwner = (model: AccessModel, permission: string): string =>
  'role' in model.owner
    ? `Ask ${/^[aeiou]/.test(model.owner.role) ? 'an' : 'a'} ${model.owner.role} of this workspace, or an org admin,`
    : // no escalation (rule 2): a holder of the member-management permission gives only what they hold themself (probe 98 F5)
      permission === model.owner.permission
      ? `Ask a member who holds the ${permission} permission here, or an org admin,`
      : `Ask a member who holds both the ${model.owner.permission} and the ${permission} permissions here, or an org admin,`;

/**
 * The end of a refusal for a permission the actor lacks: `${what} needs ${whyNotHeld(…)}`. A restriction that takes it
 * away from a role they hold is named, with whom to ask to lift it (probe 97 F2: "given by the owner or manager role,
 * which you do not hold", said to a manager whose `workspace_settings` restriction was the cause).
 */
export function whyNotHeld(ctx: WorkspaceContext, actor: Actor, permissions: string | readonly string[]): string {
  const model = modelOf(ctx);
  // every permission the operation needs and the actor lacks, named in one refusal: not one at a time, a round with an
  // owner each (probe 98 F7: a manager refused for workspace_settings, then again for data_export once it was lifted)
  const lacking = [...new Set(typeof permissions === 'string' ? [permissions] : permissions)].filter((p) => !holds(actor, p));
  const missing = actor.kind === 'member' ? explainPermissions(actor.access, model, planOf(ctx)).missing : [];
  const restrictions = new Set<string>();
  let notGiven = false;
  for (const permission of lacking) {
    const removed = missing.find((m) => m.permission === permission && m.reason === 'removed');
    if (removed?.reason === 'removed') for (const source of removed.by) restrictions.add(source.slice(source.indexOf(':') + 1));
    else notGiven = true;
  }
  const what = lacking.map((p) => permissionWords(model, p)).join(' and ');
  const ask = askAnOwner(model, lacking.find((p) => !('permission' in model.owner) || p !== model.owner.permission) ?? lacking[0]!);
  const them = lacking.length > 1 ? 'them' : 'it';
  const names = [...restrictions].join(' and ');
  const takes = `your ${names} restriction${restrictions.size > 1 ? 's take' : ' takes'} away`;
  if (restrictions.size > 0 && !notGiven) return `${what}, which ${takes}. ${ask} to lift ${restrictions.size > 1 ? 'them' : 'it'}.`;
  if (restrictions.size > 0) return `${what}, which you do not hold or ${takes}. ${ask} to give ${them} to you and lift the restriction${restrictions.size > 1 ? 's' : ''}.`;
  return `${what}, which you do not hold. ${ask} to give ${them} to you.`;
}

/**
 * a permission as a console shows it: a grant by its name; one that roles carry, with those roles (under `studio` no
 * screen names `users`: the environment_manager role gives it; probe 72 F3)
 */
export const permissionWords = (model: AccessModel, permission: string): string => {
  const roles = Object.entries(model.roles)
    .filter(([, role]) => role.permissions.includes(permission))
    .map(([name]) => name);
  if (model.grantable.includes(permission) || roles.length === 0) return `the ${permission} permission`;
  return `the ${permission} permission (given by the ${roles.join(' or ')} role)`;
};

/** Rule 1: managing members needs settings.users (levels), users (permissions) or environment_manager (studio). */
export function authorizeMemberManagement(ctx: WorkspaceContext, actorId: string): Actor | Check {
  const actor = resolveActor(ctx, actorId);
  if (!actor) return refused('You are not an active member of this workspace, so you cannot manage its members.');
  const model = modelOf(ctx);
  if (!holds(actor, model.manageMembers))
    return refused(`Managing members needs ${whyNotHeld(ctx, actor, model.manageMembers)}`);
  return actor;
}

export const isActor = (value: Actor | Check): value is Actor =>
  value !== undefined && 'kind' in value && (value.kind === 'org_admin' || value.kind === 'member');

/**
 * Rule 2, preset `levels`: an owner may act on owners, managers and agents; anyone else only on ranks below
 * their own, and may not give a rank above that. Org admins act as owners (rule 5).
 */
const checkRank = (ctx: WorkspaceContext, actor: Actor, current: Access | undefined, next: Access | undefined): Check => {
  if (actor.kind === 'org_admin') return undefined;
  const model = modelOf(ctx);
  const actorRank = rankOf(actor.access, model);
  const topRank = Math.max(...Object.values(model.roles).map((r) => r.rank ?? 0));
  if (actorRank === topRank) return undefined;
  if (current && rankOf(current, model) >= actorRank)
    return refused(`Your access level can only manage members below it (${current.roles.join(', ')} is not). ${RANK_ABOVE}`);
  if (next && rankOf(next, model) >= actorRank)
    return refused(`Your access level cannot give the ${next.roles.join(', ')} access level. ${RANK_ABOVE}`);
  // what a restriction holds back "can be allowed by Owner" (seed 003's legend): below the top rank, restrictions are
  // added or tightened, never lifted (probe 39b F4: a manager unmasked contacts an owner had masked)
  const lifted = current && next ? liftedRestrictions(model, current, next) : [];
  if (lifted.length > 0)
    return refused(`Only an owner or an org admin can lift or loosen a restriction (${lifted.join(', ')}); your access level can add restrictions or tighten them.`);
  return undefined;
};

/** who can do what a rank refusal under `levels` refuses (probe 100 F5: the only refusals that named no one) */
const RANK_ABOVE = 'An owner of this workspace, or an org admin, can.';

/** Rule 2, other presets: an actor may grant only permissions it holds itself (no privilege escalation). */
const checkNoEscalation = (ctx: WorkspaceContext, actor: Actor, current: Access | undefined, next: Access | undefined): Check => {
  if (actor.kind === 'org_admin' || !next) return undefined;
  const model = modelOf(ctx);
  const before = new Set(current ? effectivePermissions(current, model, planOf(ctx)).permissions : []);
  const added = effectivePermissions(next, model, planOf(ctx)).permissions.filter((p) => !before.has(p));
  const notHeld = added.filter((p) => !actor.permissions.has(p));
  if (notHeld.length === 0) return undefined;
  // named by what the console shows: the roles and grants asked for that carry them (probe 39b F1: "inbox,
  // live_support" named nothing a studio user sees; the operator role did)
  const carriers = [
    ...next.roles.filter((role) => (roleOf(model, role)?.permissions ?? []).some((p) => notHeld.includes(p))).map((role) => `the ${role} role`),
    ...next.grants.filter((grant) => notHeld.includes(grant)).map((grant) => `the ${grant} permission`),
  ];
  // the permissions in brackets only when the carriers' names do not say them already ("the reporting permission
  // (reporting)": probe 98 F5)
  const named = next.grants.filter((grant) => notHeld.includes(grant));
  const unnamed = notHeld.filter((p) => !named.includes(p));
  const what = carriers.length > 0 ? `${carriers.join(' and ')}${unnamed.length > 0 ? ` (${unnamed.join(', ')})` : ''}` : notHeld.join(', ');
  // who can: someone who holds it and may manage members (probe 99 F5: a holder of the grant alone cannot give it)
  const who = 'permission' in model.owner ? `a member who holds both the ${model.manageMembers} permission and ${notHeld.length > 1 ? 'these' : 'this one'}` : 'someone who does';
  return refused(`You can only give access you hold yourself: you do not hold ${what}. Ask ${who}, or an org admin.`);
};

/** Rule 2 for every kind of access model: may `actor` move a target from `current` to `next` access? */
export const checkAssignment = (ctx: WorkspaceContext, actor: Actor, current: Access | undefined, next: Access | undefined): Check => {
  const model = modelOf(ctx);
  if (model.authority === 'rank') return checkRank(ctx, actor, current, next);
  // studio: the environment manager is the one the page sends to invite the customer's colleagues (operators first,
  // a role it does not hold): an owner gives any role of the preset, as an owner under levels (ADR 0034; probe 71 F1)
  if (model.authority === 'owner-gives-any' && actor.kind === 'member' && isOwner(actor.access, model, planOf(ctx))) return undefined;
  return checkNoEscalation(ctx, actor, current, next);
};

/** Rule 3: nobody can edit or revoke their own access, whatever their rank. */
export const checkNotSelf = (actorId: string, targetUserId: string): Check =>
  actorId === targetUserId
    ? domainError('CANNOT_MODIFY_SELF', 'You cannot edit or revoke your own access; ask another member with the authority to do it.')
    : undefined;

/** What a read needs. */
export type ReadScope = 'members' | 'member' | 'export' | 'history' | 'historyExport' | 'teams' | 'workspace';

/**
 * Reads: the user list, one member and the permission history need the member-management permission (the
 * user settings are for owners and managers, seed 003); a member may always see themself ("view as");
 * the CSV export needs the export permission besides (`data.export` in preset levels: a manager restricted by
 * `data_export` cannot export, nor one restricted by `workspace_settings`, who cannot read the list). Org admins may read everything (rule 5). `history` with a target is one member's
 * access at a time T: their own, like their entry, is theirs to read (docs/rules.md#rule-1). `historyExport`, the
 * history's CSV download, needs the export permission too: it is a download of members' addresses, as the user
 * list's is (docs/rules.md#rule-18).
 */
export function checkRead(ctx: WorkspaceContext, actorId: string, scope: ReadScope, targetUserId?: string): Check {
  const actor = resolveActor(ctx, actorId);
  if (!actor) return refused('You are not an active member of this workspace.');
  if ((scope === 'member' || scope === 'history') && targetUserId === actorId) return undefined;
  // the team list and the invite lookup serve every member: a chat router asks them on behalf of any agent (rule 15);
  // so does the workspace itself (its plan, access model and catalog: what a console draws its dialogs from)
  if (scope === 'teams' || scope === 'workspace') return undefined;
  const model = modelOf(ctx);
  // the export is the user list (rule 18): the permission to read it (rule 1), and the export's own
  const needed = scope === 'export' || scope === 'historyExport' ? [model.manageMembers, model.exportMembers] : [model.manageMembers];
  return needed.every((permission) => holds(actor, permission)) ? undefined : refused(`This needs ${whyNotHeld(ctx, actor, needed)}`);
}
