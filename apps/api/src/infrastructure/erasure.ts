import type { EventStore } from '@rollcall/event-store';
import type { PersonalData } from '@rollcall/event-store';
import type { StreamRepository } from './stream-repository';

/**
 * Makes sure every deleted user's data keys are forgotten: the delete command forgets them right after
 * appending UserDeleted, and this pass (run at start) covers a process that died in between. Idempotent.
 */
export async function eraseDeletedUsers(store: EventStore, repo: StreamRepository, personalData: PersonalData): Promise<number> {
  let erased = 0;
  for await (const e of store.readAll({ filter: { eventTypes: ['UserDeleted'] } })) {
    const { organizationId, userId } = e.data as { organizationId: string; userId: string };
    const user = (await repo.organization(organizationId)).state.users.get(userId);
    if (!user) continue;
    await personalData.forget(personalData.subjectsOf(user));
    erased++;
  }
  return erased;
}
