import { type EventStore, KEYS_FORGOTTEN_WITH_EVENT, KeyTracesLeftError, type PersonalData, type RecordedEvent, uuidV5 } from '@rollcall/event-store';
import { erasedSubjectsOf } from '../shared/erasure/address-erasure';
import type { StreamStates } from '../shared/command-path/stream-states';

/** the events that seal an address's own subject (docs/rules.md#crypto-shredding: an address is a subject until accepted) */
const ADDRESS_EVENTS = ['UserInvited', 'InvitationCancelled'];

/**
 * The record that a deletion's data keys were forgotten (docs/adr/0003, "Erasure recorded"). It holds no personal
 * data: the organization and the user deleted (or, for an address erased alone, AddressErased's `erasureId`).
 * Appended after the keys are gone, by the erasing process or by the pass at start; its id is derived from the user
 * (the erasure), so a second record of the same erasure writes nothing.
 */
export const ERASURE_RECORDED = 'PersonalDataErased';
export const erasuresStream = (organizationId: string) => `erasures-${organizationId}`;
/** UserDeleted metadata of deletions whose erasure is recorded (absent from deletions appended before the record existed) */
export const ERASURE_RECORDED_FLAG = 'erasureRecorded';
const ERASURE_ID_NAMESPACE = 'a4c1f0d2-5b7e-4e2a-9d63-0f8b1c2e7a95';

/** what an erasure erased: a user (UserDeleted), or an address no user held (AddressErased, by its erasureId) */
type Deleted = { organizationId: string; userId: string } | { organizationId: string; erasureId: string };
const erasedOne = (d: Deleted): string => ('userId' in d ? d.userId : d.erasureId);
/** the events whose erasure is recorded: a user's deletion, an address's erasure (the same keys, forgotten alike) */
export const ERASING_EVENTS = ['UserDeleted', 'AddressErased'];

/**
 * Appends the record, its id derived from the user: the embedded store writes a second record of the same user as
 * nothing. KurrentDB checks an `any` append's ids only against its recent writes, so after a server restart a retry
 * may write a second copy: harmless, the pass at start reads the records as a set.
 */
export async function recordErasure(store: EventStore, deleted: Deleted): Promise<void> {
  const event = { id: uuidV5(ERASURE_ID_NAMESPACE, `${deleted.organizationId}:${erasedOne(deleted)}`), type: ERASURE_RECORDED, data: deleted, metadata: {} };
  await store.append(erasuresStream(deleted.organizationId), [event], 'any');
}

type Log = { warn(message: string): void; error(message: string): void };

/**
 * After an erasure's append (a user's deletion, an address's erasure) at `position`: its keys go (or only their traces:
 * PersonalData.forgetAfterDeletion), then the erasure is recorded, or tried again in the background when it cannot be
 * now (the next start records it otherwise): the answer does not wait for it.
 */
export async function finishErasure(
  personalData: Pick<PersonalData, 'forgetAfterDeletion'>,
  store: EventStore,
  erasure: { subjects: string[]; position: string; written: boolean; erased: Deleted },
  log: Log,
): Promise<void> {
  if (erasure.subjects.length === 0) return;
  await personalData.forgetAfterDeletion(erasure.subjects, BigInt(erasure.position), { written: erasure.written });
  await recordErasure(store, erasure.erased).catch(() => void recordErasureRetrying(store, erasure.erased, log));
}

/** after five quick tries, a failing task is tried once a minute */
const SLOW_RETRY_MS = 60_000;

/**
 * `task`, tried again in the background when it fails: after 1, 2, 4, 8, 16 s, then every minute until it succeeds
 * (probe 51 F5: it gave up after 31 s, inside a full disk's 49 s, and the traces waited for the next deletion or start);
 * `what` names it in the log, `atLast` what happens if this process stops first.
 */
function retryingInBackground(task: () => Promise<void>, what: string, atLast: string, log: Log): Promise<void> {
  const attempt = (n: number): Promise<void> =>
    task().then(
      () => (n > 0 ? log.warn(`${what}: done now, at try ${n + 1}`) : undefined),
      (error: unknown) => {
        const reason = error instanceof Error ? error.message : String(error);
        const waitMs = n < 5 ? 1000 * 2 ** n : SLOW_RETRY_MS;
        if (n === 5) log.error(`${what} (${reason}); tried again every minute until it succeeds (${atLast} if this process stops first)`);
        else if (n < 5) log.warn(`${what} (${reason}); trying again in ${2 ** n} s`);
        return new Promise<void>((resolve) => setTimeout(resolve, waitMs).unref()).then(() => attempt(n + 1));
      },
    );
  return attempt(0);
}

/**
 * `recordErasure`, tried again in the background when it fails (1, 2, 4, 8, 16 s, then every minute): until the record lands, the next
 * start forgets the deletion's keys again, and an address invited again in between (under a new key) would lose it.
 */
function recordErasureRetrying(store: EventStore, deleted: Deleted, log: Log): Promise<void> {
  const what = 'userId' in deleted ? `user ${deleted.userId}` : `address erasure ${deleted.erasureId}`;
  return retryingInBackground(() => recordErasure(store, deleted), `the erasure of ${what} could not be recorded`, 'the next start records it', log);
}

/**
 * PersonalData as the API uses it: after a deletion's keys are gone, what this process holds of them goes too
 * (`erased`: AddressErasure, the states holding invitations to the user's addresses in any organization), before the
 * deletion is answered — also when forgetting failed. Keys that went with the deletion's commit whose traces (the
 * WAL's earlier page images) could not be cleared yet (KeyTracesLeftError: readers kept the WAL busy) are no failed
 * deletion: the deletion is answered, and the traces are cleared in the background (and by the pass at start).
 */
export function erasingFromMemory(inner: PersonalData, erased: (subjectIds: string[]) => Promise<unknown>, log: Log): PersonalData {
  return {
    subjectsOf: (user, organizationId) => inner.subjectsOf(user, organizationId),
    subjectIdsOf: (subjects) => inner.subjectIdsOf(subjects),
    forgetCached: (ids) => inner.forgetCached(ids),
    forgottenWithDeletion: (ids) => inner.forgottenWithDeletion(ids),
    forget: async (ids, position) => {
      try {
        await inner.forget(ids, position);
      } finally {
        await erased(ids);
      }
    },
    forgetAfterDeletion: async (ids, position, options) => {
      try {
        await inner.forgetAfterDeletion(ids, position, options);
      } catch (error) {
        if (!(error instanceof KeyTracesLeftError)) throw error;
        const what = `the traces of ${error.subjectIds.length} forgotten data key(s) could not be cleared`;
        void retryingInBackground(() => inner.forgottenWithDeletion(error.subjectIds), what, 'the erasure pass at the next start clears them', log);
      } finally {
        await erased(ids);
      }
    },
  };
}

const erasureOf = (e: RecordedEvent) => {
  const d = e.data as Deleted;
  return `${d.organizationId}:${erasedOne(d)}`;
};

/**
 * Makes sure every deleted user's data keys are forgotten: the delete command forgets them with UserDeleted (the
 * embedded store, in its transaction: KEYS_FORGOTTEN_WITH_EVENT) or right after appending it, then records it
 * (ERASURE_RECORDED); this pass (run at start) finishes every deletion without its record — a process that died in
 * between — and records it. A deletion whose keys went with it leaves only their traces to clear (the WAL). Idempotent; a start with every erasure recorded reads
 * only the deletions and the records.
 *
 * The keys to forget are in the deletion's metadata (`erasedSubjects`, pseudonymous ids); deletions written before
 * that field are erased through the organization state as it was folded. A deletion appended with its erasure to be
 * recorded gets every subject forgotten, also a subject sealed again after it: until its record, the keys were not
 * known forgotten, and an invitation of the address since (by another replica) was sealed under the deleted user's
 * key, which goes (that invitation reads its address as erased: the safe side). Deletions from before the record
 * existed leave out the subjects sealed again after them (they were forgotten then, and the address since got a new
 * key that is not theirs to forget).
 */
export async function eraseDeletedUsers(store: EventStore, states: StreamStates, personalData: PersonalData): Promise<number> {
  const deletions: RecordedEvent[] = [];
  const recorded = new Set<string>();
  for await (const e of store.readAll({ filter: { eventTypes: [...ERASING_EVENTS, ERASURE_RECORDED] } }))
    if (e.type === ERASURE_RECORDED) recorded.add(erasureOf(e));
    else deletions.push(e);
  const pending = deletions.filter((e) => !recorded.has(erasureOf(e)));
  if (pending.length === 0) return 0;

  /** subject → the last position of an event sealed under it, from the first unrecorded older deletion on */
  const sealedLast = new Map<string, bigint>();
  const older = pending.find((e) => e.metadata[ERASURE_RECORDED_FLAG] !== true);
  if (older)
    for await (const e of store.readAll({ fromPosition: older.position, filter: { eventTypes: ADDRESS_EVENTS } }))
      for (const subject of Object.values(e.sealedUnder ?? {})) sealedLast.set(subject, e.position);
  const notSealedSince = (position: bigint) => (subject: string) => (sealedLast.get(subject) ?? -1n) < position;

  for (const e of pending) {
    const { organizationId } = e.data as Deleted;
    const deleted: Deleted = e.type === 'AddressErased' ? { organizationId, erasureId: (e.data as { erasureId: string }).erasureId } : { organizationId, userId: (e.data as { userId: string }).userId };
    const subjects = await subjectsToForget(e, states, personalData);
    // forgotten in the deletion's own transaction (the embedded store): a key of these subjects now is a later one
    if (e.metadata[KEYS_FORGOTTEN_WITH_EVENT] === true) await personalData.forgottenWithDeletion(subjects);
    else {
      const forgotten = e.metadata[ERASURE_RECORDED_FLAG] === true ? subjects : subjects.filter(notSealedSince(e.position));
      if (forgotten.length > 0) await personalData.forget(forgotten, e.position);
    }
    await recordErasure(store, deleted);
  }
  return pending.length;
}

async function subjectsToForget(e: RecordedEvent, states: StreamStates, personalData: PersonalData): Promise<string[]> {
  const recorded = e.metadata.erasedSubjects;
  if (Array.isArray(recorded) || typeof recorded === 'string') return erasedSubjectsOf(e.metadata);
  // (a deletion written before the field; an address's erasure always names them)
  const { organizationId, userId } = e.data as { organizationId: string; userId: string };
  const user = (await states.organization(organizationId)).state.users.get(userId);
  return user ? personalData.subjectsOf(user, organizationId) : [];
}
