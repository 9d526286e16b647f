import type { EventStore, PersonalData } from '@rollcall/event-store';
import { erasedSubjectsOf } from '../shared/address-erasure';
import type { StreamStates } from '../shared/stream-states';

/**
 * Makes sure every deleted user's data keys are forgotten: the delete command forgets them right after appending
 * UserDeleted, and this pass (run at start) covers a process that died in between. The keys to forget are in the
 * event's metadata (`erasedSubjects`, pseudonymous ids); events written before that field are erased through the
 * organization state as it was folded. Idempotent.
 */
export async function eraseDeletedUsers(store: EventStore, states: StreamStates, personalData: PersonalData): Promise<number> {
  let erased = 0;
  for await (const e of store.readAll({ filter: { eventTypes: ['UserDeleted'] } })) {
    const recorded = e.metadata.erasedSubjects;
    if (Array.isArray(recorded) || typeof recorded === 'string') {
      const subjects = erasedSubjectsOf(e.metadata);
      if (subjects.length > 0) await personalData.forget(subjects);
      erased++;
      continue;
    }
    const { organizationId, userId } = e.data as { organizationId: string; userId: string };
    const user = (await states.organization(organizationId)).state.users.get(userId);
    if (!user) continue;
    await personalData.forget(personalData.subjectsOf(user));
    erased++;
  }
  return erased;
}
