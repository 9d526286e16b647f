// Retries after an erasure (docs/rules.md#rule-12, "Retries after an erasure"; ADR 0004 "Session 44"): a keyed request
// about a user since deleted, or about an address since erased, is neither replayed nor compared with the request sent
// now (410 IDEMPOTENCY_KEY_ERASED), so that no guess of the erased address or name is confirmed by a replay against a
// 422 (probe 40 F4). "About": the subjects its events sealed data under, the users its events name (`data.userId`:
// an email change withdrawn holds no sealed field, probe 44b F1), and the users its request named though it wrote
// nothing (a profile set to what it was: no event, probe 44b F1; an access, team, org admin or presence change of a
// user that changed nothing, probe 120 F1) — minus what its own events erased (a deletion's
// retry is a replay: its request names nobody's data).
import type { DomainEvent } from '@rollcall/domain';
import { type EventStore, type RecordedEvent, type SnapshotSealing, erasedFieldsOf, erasedSubjectsOf } from '@rollcall/event-store';
import type { RequestAbout } from '../command-path/idempotency';

/** Which key subjects were forgotten: the key store's word (its tombstones), asked once per retry. */
export interface ErasureLookup {
  /** the key subject of a user's personal data */
  userSubject(userId: string): string;
  /** those of `subjectIds` whose keys were forgotten since log position `since` (the command's first event's) */
  forgotten(subjectIds: readonly string[], since: bigint): Promise<Set<string>>;
}

/**
 * Over the key store: a subject without a key (every subject a retry asks about had one when its events were written:
 * a user's from their joining, an invitation's from its sending), or forgotten after the command was written and made
 * again since (an address of before session 41 invited again: its tombstone says when).
 */
export function erasureLookup(sealing: Pick<SnapshotSealing, 'subjectId' | 'ciphers' | 'forgottenAfter'>): ErasureLookup {
  return {
    userSubject: (userId) => sealing.subjectId({ kind: 'user', userId }),
    forgotten: async (ids, since) => {
      if (ids.length === 0) return new Set();
      const keys = await sealing.ciphers(ids);
      const tombstones = await sealing.forgottenAfter(ids, since);
      return new Set(ids.filter((id) => !keys.has(id) || tombstones?.has(id)));
    },
  };
}

/** Without a key store to ask (a test's store stack): a subject is forgotten when a field sealed under it reads null. */
const fromTheEvents = (events: readonly RecordedEvent[]): ErasureLookup => {
  const nulled = new Set(events.flatMap((e) => erasedFieldsOf(e).map((path) => e.sealedUnder![path]!)));
  return { userSubject: (userId) => `u:${userId}`, forgotten: async (ids) => new Set(ids.filter((id) => nulled.has(id))) };
};

const userOf = (e: RecordedEvent): string | undefined => {
  const userId = (e.data as { userId?: unknown } | null)?.userId;
  return typeof userId === 'string' ? userId : undefined;
};

/** Whether an erasure reached what this command's request was about since it was written (see the file's head). */
export async function erasedSince(events: readonly RecordedEvent[], lookup: ErasureLookup | undefined, aboutUsers: readonly string[] = []): Promise<boolean> {
  // an address's erasure: its request named the address it erased
  if (events.some((e) => e.type === ('AddressErased' satisfies DomainEvent['type']))) return true;
  const ask = lookup ?? fromTheEvents(events);
  const own = new Set(events.flatMap((e) => erasedSubjectsOf(e.metadata)));
  const about = new Set<string>();
  for (const e of events) {
    for (const subject of Object.values(e.sealedUnder ?? {})) about.add(subject);
    const userId = userOf(e);
    if (userId) about.add(ask.userSubject(userId));
  }
  for (const userId of aboutUsers) about.add(ask.userSubject(userId));
  for (const subject of own) about.delete(subject);
  const since = events.reduce((min, e) => (e.position < min ? e.position : min), events[0]?.position ?? 0n) - 1n;
  return (await ask.forgotten([...about], since)).size > 0;
}

/** `count` events of `stream` from `fromRevision` (a command's part), added to `into` */
export async function readSpan(store: EventStore, stream: string, fromRevision: bigint, count: number, into: RecordedEvent[]): Promise<void> {
  // only the span: through the crypto-shredding store every event read is opened (probe 49 F1: a replay read and opened
  // up to 512 events of the stream after its own)
  for await (const e of store.readStream(stream, { fromRevision, maxCount: count })) into.push(e);
}

/**
 * What the log says of a stored answer (idempotency.ts AnswerInLog): its events at their spans, read through the
 * crypto-shredding store. `lost` when a span's events are fewer than it counted, or carry another request's key than
 * `keys` (any, when `keys` is empty: the erasure alone is asked); else `erased` when an erasure reached what it was
 * about (erasedSince); else `kept`.
 */
export async function answerInLog(store: EventStore, lookup: ErasureLookup, about: RequestAbout, keys: readonly string[]): Promise<'kept' | 'erased' | 'lost'> {
  const events: RecordedEvent[] = [];
  for (const { stream, fromRevision, count } of about.spans) {
    const before = events.length;
    await readSpan(store, stream, BigInt(fromRevision), count, events);
    if (events.length - before < count) return 'lost';
  }
  if (keys.length > 0 && events.some((e) => !keys.includes((e.metadata as { idempotencyKey?: string } | undefined)?.idempotencyKey ?? ''))) return 'lost';
  return (await erasedSince(events, lookup, about.users)) ? 'erased' : 'kept';
}
