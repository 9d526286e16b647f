import type { OrganizationState } from '@rollcall/domain';
import type { CommandContext } from '../command-path/command-context';
import { ProblemException, problem } from '../http/problem';

/** The organization state a command's load folded: the organization's own target, or the `org` of a workspace's context. */
const organizationIn = (context: unknown): OrganizationState | undefined => {
  if (typeof context !== 'object' || context === null) return undefined;
  if ('apiKeys' in context) return context as OrganizationState;
  return 'org' in context ? (context as { org: OrganizationState }).org : undefined;
};

/**
 * A request's API key, checked at each decision against the organization state that decision loaded (rules.md "API
 * keys"): a command decided again after the key's revocation is refused, as an org admin's is after their demotion
 * (rule 5). Commands that append to or check the organization's stream (API keys, profiles, deletions, invitations,
 * acceptances) meet the revocation as a conflict and are decided again; one on a workspace's stream alone that loaded
 * its states before the revocation committed may still land just after it (its load-to-append window, milliseconds).
 * Probe 39 F1: keys minted with a key being revoked were appended after the revocation and kept working.
 */
export function keyStillOnFile(ctx: CommandContext, context: unknown): void {
  const key = ctx.apiKey;
  if (!key) return;
  const org = organizationIn(context);
  if (org && org.exists && org.organizationId === key.organizationId && !org.apiKeys.has(key.keyId))
    throw new ProblemException(problem(401, 'UNAUTHENTICATED', 'This API key was revoked while the request was being decided; nothing was written.'));
}
