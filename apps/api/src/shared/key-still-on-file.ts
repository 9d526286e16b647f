import type { CommandContext } from './command-context';
import { ProblemException, problem } from './problem';
import type { StreamStates } from './stream-states';

/**
 * A request's API key, checked at each decision against the organization's state its load just folded (rules.md "API
 * keys"): a command decided again after the key's revocation is refused, as an org admin's is after their demotion
 * (rule 5). Commands that append to or check the organization's stream (API keys, profiles, deletions, invitations,
 * acceptances) meet the revocation as a conflict and are decided again; one on a workspace's stream alone that loaded
 * its states before the revocation committed may still land just after it (its load-to-append window, milliseconds).
 * Probe 39 F1: keys minted with a key being revoked were appended after the revocation and kept working.
 */
export function keyStillOnFile(ctx: CommandContext, view: StreamStates): void {
  const key = ctx.apiKey;
  if (!key) return;
  const org = view.organizationIfCached(key.organizationId);
  if (org && org.exists && !org.apiKeys.has(key.keyId))
    throw new ProblemException(problem(401, 'UNAUTHENTICATED', 'This API key was revoked while the request was being decided; nothing was written.'));
}
