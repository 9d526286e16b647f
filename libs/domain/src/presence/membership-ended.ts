import type { DomainEvent } from '../upcasting';
import type { Decision } from '../shared/result';
import type { MembershipEnded } from './events';

/** The workspace and user of an event that ends a membership (AccessRevoked, UserDeletedFromWorkspace), else undefined. */
export function membershipEndedBy(event: DomainEvent): { workspaceId: string; organizationId: string; userId: string; reason: 'revoked' | 'deleted'; at: string } | undefined {
  if (event.type === 'AccessRevoked') return { ...pick(event.data), reason: 'revoked', at: event.data.revokedAt };
  if (event.type === 'UserDeletedFromWorkspace') return { ...pick(event.data), reason: 'deleted', at: event.data.deletedAt };
  return undefined;
}

const pick = ({ workspaceId, organizationId, userId }: { workspaceId: string; organizationId: string; userId: string }) => ({ workspaceId, organizationId, userId });

/**
 * A decision with, first, the MembershipEnded marker of each membership it ends of someone who could report presence
 * (`wasActive`: an active member before it), for their presence stream (docs/rules.md#presence-details). First: a
 * command's parts are appended in the order their streams first appear among its events, so its own streams' events
 * stay the last, and its answered position (the last event's) is still the revoke's or the deletion's own. A refusal
 * stays one.
 */
export function withMembershipsEnded<E extends DomainEvent>(decision: Decision<E>, wasActive: (workspaceId: string, userId: string) => boolean): Decision<E | MembershipEnded> {
  if (!decision.ok) return decision;
  const markers: MembershipEnded[] = [];
  for (const event of decision.events) {
    const ended = membershipEndedBy(event);
    if (!ended || !wasActive(ended.workspaceId, ended.userId)) continue;
    const { at, ...data } = ended;
    markers.push({ type: 'MembershipEnded', version: 1, data: { ...data, endedAt: at } });
  }
  return { ...decision, events: [...markers, ...decision.events] };
}
