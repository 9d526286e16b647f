import { FORGET_KEYS_WITH_EVENT } from '@rollcall/event-store';
import type { DomainEvent } from '@rollcall/domain';
import { ERASING_EVENTS, ERASURE_RECORDED_FLAG } from '../../infrastructure/erasure';
import { FOLLOWED } from '../../presence/feed';

/**
 * The metadata of an erasure's append (a user's deletion, an address's erasure) that names the subjects whose keys it
 * forgets (`erasedSubjects`, pseudonymous ids), and on which of its events. Two need it: the first event of the append
 * that the presence feed follows (the feed hands the subjects on there, so that a position past the append's first
 * event means the erasure was heard: presence/feed.ts, ADR 0003 "Erasure and sealing race" point 7), and the erasing
 * event itself (UserDeleted, AddressErased: the read models and the erasure pass at start read it there). The key
 * store forgets the keys the append's events name, whichever they are.
 *
 * Probe 53 F1 (session 47): every event of the append carried the whole list, ~2 subjects per workspace reached, so a
 * deletion of a user in 1,000 workspaces wrote 3,001 events of 135 KB of metadata each (407 MB in one append), read
 * back by the feed and the replay check: 30 s of work, the process unanswering for 15 s, 3 GB of memory kept. Now two
 * events carry it: the append grows with the workspaces reached, not with their square.
 */
export function erasureMetadata<E extends DomainEvent>(subjects: () => readonly string[]): (inAppendOrder: readonly E[]) => ReadonlyMap<E, Record<string, unknown>> {
  return (inAppendOrder) => {
    const list = [...subjects()];
    const carried = { erasedSubjects: list, [ERASURE_RECORDED_FLAG]: true, [FORGET_KEYS_WITH_EVENT]: list };
    const carriers = new Map<E, Record<string, unknown>>();
    const firstFollowed = inAppendOrder.find((e) => FOLLOWED.includes(e.type));
    if (firstFollowed) carriers.set(firstFollowed, carried);
    for (const e of inAppendOrder) if (ERASING_EVENTS.includes(e.type)) carriers.set(e, carried);
    return carriers;
  };
}
