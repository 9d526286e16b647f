// Rule 4's way out of a LAST_OWNER refusal, in the words of the workspace's preset.
import type { AccessModel } from '../access-model';
import { isOwner } from '../access-model';
import { activeMember, modelOf, planOf, type WorkspaceContext } from './state';

/**
 * How a preset names what makes an owner (rule 4): `levels` the role owner, `studio` the role environment_manager,
 * `permissions` the users permission. The LAST_OWNER refusals said "make another member owner" in every preset, where
 * `studio` and `permissions` have no role of that name (probe 121 F1); the authority refusals named theirs already.
 */
export interface OwnerWords {
  /** "make another member owner", "give another member the environment_manager role" */
  makeOwner(who: string): string;
  /** "make owner", "give the users permission": what nobody could be given */
  make: string;
  /** "an owner's access", "the users permission" */
  ownerAccess: string;
}

export function ownerWords(model: AccessModel): OwnerWords {
  if ('role' in model.owner && model.owner.role === 'owner') return { makeOwner: (who) => `make ${who} owner`, make: 'make owner', ownerAccess: "an owner's access" };
  const access = 'role' in model.owner ? `the ${model.owner.role} role` : `the ${model.owner.permission} permission`;
  return { makeOwner: (who) => `give ${who} ${access}`, make: `give ${access}`, ownerAccess: access };
}

/**
 * Rule 4's way out of a LAST_OWNER refusal, in one workspace: another active member the actor may make owner
 * (`promote`); an invitation with an owner's access already pending, to be accepted (`accept`); or none of them, so an
 * invitation first (`invite`), which no one may send to their own address (rule 3): an org admin clearing out a leaver
 * asks another org admin, or invites a colleague. The actor never counts: no one makes themself owner (probe 97 F1:
 * the sentence asked for a member who did not exist; probe 98 F4: the only other member was the actor). Each says what
 * makes an owner in its workspace's preset (`words`).
 */
export type OwnerWayOut = ({ kind: 'promote' } | { kind: 'accept'; invitationId: string } | { kind: 'invite' }) & { words: OwnerWords };

export function ownerWayOut(ctx: WorkspaceContext, lastOwnerId: string, actorId: string): OwnerWayOut {
  const model = modelOf(ctx);
  const plan = planOf(ctx);
  const words = ownerWords(model);
  if ([...ctx.ws.members.values()].some((m) => m.userId !== lastOwnerId && m.userId !== actorId && activeMember(ctx, m.userId))) return { kind: 'promote', words };
  for (const inv of ctx.ws.invitations.values()) if (inv.status === 'pending' && isOwner(inv.access, model, plan)) return { kind: 'accept', invitationId: inv.invitationId, words };
  return { kind: 'invite', words };
}

/** one workspace's way out, said of it (`there`) or, in a deletion's list, after its name */
const wayOutClause = (way: OwnerWayOut, there: string): string =>
  way.kind === 'promote'
    ? `${way.words.makeOwner('another active member')}${there}`
    : way.kind === 'accept'
      ? `an invitation with ${way.words.ownerAccess} is pending${there} (${way.invitationId}; resend it if its link expired): once it is accepted, try again`
      : `no other active member you could ${way.words.make}${there ? ` is${there}` : ''}: invite someone with ${way.words.ownerAccess} (no one may invite their own address: another org admin, or the owner still there, can invite you) and, once they have joined, try again`;

/**
 * the LAST_OWNER refusal's advice, from the way out of each workspace (`where`: " there", " in each" for a deletion's,
 * whose ways name their workspace: probe 99 F4, one sentence for all did not say which needed what; probe 100 F4, a
 * lead of "make another member owner in each" contradicted the workspaces where no one could be)
 */
export function anotherOwnerFirst(ways: readonly (OwnerWayOut & { workspace?: string })[], where: '' | ' there' | ' in each'): string {
  const words = ways[0]!.words;
  const alike = ways.every((w) => w.words.ownerAccess === words.ownerAccess);
  const first = `${words.makeOwner('another member')}${where} first`;
  if (alike && ways.every((w) => w.kind === 'promote')) return `${first}.`;
  if (ways.length === 1) return `${first}: ${wayOutClause(ways[0]!, ' there')}.`;
  return `first, ${ways.map((w) => `in ${w.workspace ?? 'one of them'}, ${wayOutClause(w, '')}`).join('; ')}.`;
}
