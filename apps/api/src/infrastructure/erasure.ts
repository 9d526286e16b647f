import type { EventStore, PersonalData, RecordedEvent } from '@rollcall/event-store';
import { erasedSubjectsOf } from '../shared/address-erasure';
import type { StreamStates } from '../shared/stream-states';

/** the events that seal an address's own subject (docs/rules.md#crypto-shredding: an address is a subject until accepted) */
const ADDRESS_EVENTS = ['UserInvited', 'InvitationCancelled'];

/**
 * Makes sure every deleted user's data keys are forgotten: the delete command forgets them right after appending
 * UserDeleted, and this pass (run at start) covers a process that died in between. The keys to forget are in the
 * event's metadata (`erasedSubjects`, pseudonymous ids); events written before that field are erased through the
 * organization state as it was folded. Idempotent.
 *
 * An address can be invited again after the deletion: it then got a new key, sealed into events after the deletion,
 * and that key is not the deletion's to forget (forgetting it here would erase the new invitation at every start).
 * So a subject sealed again after a deletion is left out of that deletion's pass.
 */
export async function eraseDeletedUsers(store: EventStore, states: StreamStates, personalData: PersonalData): Promise<number> {
  const deletions: RecordedEvent[] = [];
  for await (const e of store.readAll({ filter: { eventTypes: ['UserDeleted'] } })) deletions.push(e);
  if (deletions.length === 0) return 0;
  /** subject → the last position of an event sealed under it, from the first deletion on */
  const sealedLast = new Map<string, bigint>();
  for await (const e of store.readAll({ fromPosition: deletions[0]!.position, filter: { eventTypes: ADDRESS_EVENTS } }))
    for (const subject of Object.values(e.sealedUnder ?? {})) sealedLast.set(subject, e.position);
  const notSealedSince = (position: bigint) => (subject: string) => (sealedLast.get(subject) ?? -1n) < position;

  let erased = 0;
  for (const e of deletions) {
    const recorded = e.metadata.erasedSubjects;
    if (Array.isArray(recorded) || typeof recorded === 'string') {
      const subjects = erasedSubjectsOf(e.metadata).filter(notSealedSince(e.position));
      if (subjects.length > 0) await personalData.forget(subjects);
      erased++;
      continue;
    }
    const { organizationId, userId } = e.data as { organizationId: string; userId: string };
    const user = (await states.organization(organizationId)).state.users.get(userId);
    if (!user) continue;
    await personalData.forget(personalData.subjectsOf(user).filter(notSealedSince(e.position)));
    erased++;
  }
  return erased;
}
