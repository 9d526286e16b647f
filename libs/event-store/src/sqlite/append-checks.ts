import type { ExpectedRevision, NewEvent, StreamAppend } from '../port';

/**
 * An event id that is already stored, but not as the same batch in the same stream (so the append is
 * not a retry of an earlier one): the ids of two different decisions collided.
 */
export class DuplicateEventIdError extends Error {
  readonly code = 'DUPLICATE_EVENT_ID';
  constructor(
    readonly eventId: string,
    readonly stream: string,
    readonly existingStream: string,
  ) {
    super(
      `Event id ${eventId} appended to ${stream} already exists in stream ${existingStream} in another batch`,
    );
    this.name = 'DuplicateEventIdError';
  }
}

/**
 * New data keys given to appendWithKeys for subjects that another writer gave a key first, or (`gone`) keys the
 * events were sealed with that are no longer the subjects' (a deletion forgot them since): nothing of the append was
 * written. The events must be sealed again with the stored keys — or, for `gone`, decided again: what was decided on
 * may hold data that deletion erased.
 */
export class SubjectKeyConflictError extends Error {
  readonly code = 'SUBJECT_KEY_CONFLICT';
  constructor(
    readonly subjectIds: string[],
    readonly gone: string[] = [],
  ) {
    super(`Another writer stored a data key first for ${subjectIds.join(', ')}${gone.length > 0 ? `; keys forgotten since sealing: ${gone.join(', ')}` : ''}`);
    this.name = 'SubjectKeyConflictError';
  }
}

/** The arguments of one append (a programming error throws RangeError before anything is queued). */
export function assertAppendArguments(stream: string, events: NewEvent[], expected: ExpectedRevision): void {
  if (typeof stream !== 'string' || stream.length === 0)
    throw new RangeError('append: stream must be a non-empty string');
  if (!Array.isArray(events) || events.length === 0)
    throw new RangeError('append: at least one event is required');
  if (expected !== 'any' && expected !== 'no_stream' && (typeof expected !== 'bigint' || expected < 0n)) {
    throw new RangeError(`append: invalid expected revision ${String(expected)}`);
  }
  for (const e of events) {
    if (typeof e.id !== 'string' || e.id.length === 0)
      throw new RangeError('append: every event needs an id');
    if (typeof e.type !== 'string' || e.type.length === 0)
      throw new RangeError('append: every event needs a type');
  }
  assertUniqueIds(events);
}

/** The arguments of an atomic append over several streams, with the subjects' new keys. */
export function assertAppendManyArguments(parts: StreamAppend[], subjectIds: readonly string[]): void {
  if (!Array.isArray(parts) || parts.length === 0) throw new RangeError('appendMany: at least one part is required');
  if (new Set(parts.map((p) => p.stream)).size !== parts.length) throw new RangeError('appendMany: a stream appears twice');
  if (parts.every((p) => p.events.length === 0)) throw new RangeError('appendMany: at least one event is required');
  for (const p of parts) if (p.events.length > 0) assertAppendArguments(p.stream, p.events, p.expected);
  assertUniqueIds(parts.flatMap((p) => p.events));
  if (new Set(subjectIds).size !== subjectIds.length) throw new RangeError('appendWithKeys: a subject appears twice');
}

function assertUniqueIds(events: NewEvent[]): void {
  const ids = new Set<string>();
  for (const e of events) {
    if (ids.has(e.id)) throw new RangeError(`append: event id ${e.id} appears twice in the batch`);
    ids.add(e.id);
  }
}
