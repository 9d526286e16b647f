import type { Principal } from './auth';

/**
 * Who made a request or a message, as its log line names it (probe 69 F9: "who downloaded our user list?" had no
 * answer, not even in the operator's logs; probe 70 F2: the message patterns' lines too): the organization and the
 * key's id (`system` for the system key) as the API key check found them, and the acting user's id as the caller sent
 * it — unchecked by then, and left out when it holds an `@` (what an address cannot do without: the log keeps what it
 * is given, docs/security.md "Logs").
 */
export function callerFields(principal: Principal | undefined, actor: unknown): { organizationId?: string; keyId?: string; actorId?: string } {
  if (!principal || principal.kind === 'anonymous') return {};
  // the system key acts as the operator whatever X-Actor-Id says (probe 81 F7: the line named the person a support
  // engineer sent out of habit, as the actor of a grant recorded as the operator's)
  if (principal.kind === 'system') return { keyId: 'system', actorId: 'system' };
  return {
    organizationId: principal.organizationId,
    keyId: principal.keyId,
    ...(typeof actor === 'string' && LOGGED_ACTOR.test(actor) && { actorId: actor }),
  };
}
const LOGGED_ACTOR = /^[\w.:-]{1,128}$/;

/** where the API key check leaves a message's principal on its payload, for the message's log line (not serialized) */
export const CALLER = Symbol('rollcall:caller');

/** who opened a request the API key guard did not identify (a public route that authenticates itself: the presence stream, by its key or its ticket), for its log line */
export const CALLER_OF_REQUEST = Symbol('the caller a public route identified');
export const noteCaller = (raw: object, principal: Principal, actorId: string): void => {
  (raw as Record<symbol, unknown>)[CALLER_OF_REQUEST] = { principal, actorId };
};
