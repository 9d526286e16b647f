/**
 * The subjects a UserDeleted's metadata says its deletion forgot (`erasedSubjects`: an array, or its JSON text from
 * older writers). Pseudonymous ids, readable by anyone who reads the log: the API's erasure pass at start, each
 * replica's memory, and the projections that erase the addresses they keep (docs/rules.md#rule-12).
 */
export function erasedSubjectsOf(metadata: Record<string, unknown>): string[] {
  const recorded = metadata.erasedSubjects;
  const subjects: unknown = typeof recorded === 'string' ? JSON.parse(recorded) : recorded;
  return Array.isArray(subjects) ? subjects.filter((s): s is string => typeof s === 'string') : [];
}

/**
 * The subjects whose keys an append forgets in its own transaction (a user's deletion), on the metadata of its events
 * under this registered symbol (JSON never stores it; the wrapping stores pass it along). A store that does it (the
 * embedded one: docs/adr/0003, "Erasure and sealing race") marks those events' metadata with KEYS_FORGOTTEN_WITH_EVENT;
 * with another, the caller forgets them after the append, as PersonalData.forget does.
 */
export const FORGET_KEYS_WITH_EVENT = Symbol.for('rollcall.event-store.forgetKeysWithEvent');
/** metadata of an event whose append forgot its `erasedSubjects` keys in the same transaction (see above) */
export const KEYS_FORGOTTEN_WITH_EVENT = 'keysForgottenWithEvent';

/**
 * An append sealed with keys a deletion forgot since (SubjectKeyConflictError `gone`): nothing was written. The command
 * must be decided again on states read after that deletion: what it was decided on may hold data the deletion erased
 * (an invitation's address), which sealing again under a new key would bring back (review, session 17).
 */
export class KeyForgottenSinceSealedError extends Error {
  readonly code = 'KEY_FORGOTTEN_SINCE_SEALED';
  constructor(readonly subjectIds: string[]) {
    super(`The data keys of ${subjectIds.join(', ')} were forgotten since the events were sealed: decide again`);
    this.name = 'KeyForgottenSinceSealedError';
  }
}

/** The subjects an append's events ask to forget in its transaction (FORGET_KEYS_WITH_EVENT). */
export function keysToForgetWith(events: readonly { metadata?: unknown }[]): string[] {
  const subjects = new Set<string>();
  for (const e of events) {
    const marked = (e.metadata as Record<symbol, unknown> | undefined)?.[FORGET_KEYS_WITH_EVENT];
    if (Array.isArray(marked)) for (const s of marked) if (typeof s === 'string') subjects.add(s);
  }
  return [...subjects];
}

/** The parts with the events that asked to forget keys marked as having done it in their own transaction. */
export function markedForgotten<P extends { events: { metadata?: unknown }[] }>(parts: P[], forgotten: readonly string[]): P[] {
  if (forgotten.length === 0) return parts;
  return parts.map((part) => ({
    ...part,
    events: part.events.map((e) => (keysToForgetWith([e]).length > 0 ? { ...e, metadata: { ...(e.metadata as object), [KEYS_FORGOTTEN_WITH_EVENT]: true } } : e)),
  }));
}

/**
 * After a deletion whose keys went with its commit (the embedded store): their traces (earlier page images in the WAL)
 * could not be cleared yet, e.g. readers kept the WAL busy. The keys are gone and the deletion stands; the traces are
 * to be cleared again later (PersonalData.forgottenWithDeletion), and by the erasure pass at the next start.
 */
export class KeyTracesLeftError extends Error {
  readonly code = 'KEY_TRACES_LEFT';
  constructor(
    readonly subjectIds: string[],
    override readonly cause: unknown,
  ) {
    super(`the data keys of ${subjectIds.length} subject(s) are forgotten, their traces not cleared yet: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'KeyTracesLeftError';
  }
}
