import type { DomainEvent } from '@rollcall/domain';
import { AppendOutcomeUnknownError, type EventStore, type StreamAppend, appendParts } from '@rollcall/event-store';
import { EventStoreUnavailableError } from './command-errors';
import { type HandleOptions, idempotencyOf, ownEventsOf } from './command-parts';
import type { EventSpan } from './idempotency';
import type { StreamStates } from './stream-states';

/** re-sends of an append whose outcome the store could not tell, before the client gets 503 */
const RESENDS = 2;

/**
 * Appends a command's parts (StreamHandler); when the store cannot tell whether it wrote, re-sends the identical parts
 * (same ids, same expected revisions): a written batch answers as a duplicate, an unwritten one is written or
 * conflicts. A re-send the store answers as written before (`replayed`) found this very batch — its ids are drawn
 * per decision, so only its own first send can hold them — and is this command's write (`resent`), its side effects
 * still to do (session 27's review: answered from the log, the invitation's mail never went out; ADR 0004, "Session
 * 28"). The states drop these streams all the same (the store's answer says what was written, not what was folded).
 * `replayed` on a first send (no store does it with fresh ids) is answered from the log, as for another writer's
 * batch of the command's key.
 */
export async function appendResending<E extends DomainEvent>(
  store: EventStore,
  states: StreamStates,
  parts: StreamAppend[],
  events: E[],
  options: HandleOptions<E>,
): Promise<{ position: string; replayed: boolean; resent: boolean; spans: EventSpan[] }> {
  for (let resend = 0; ; resend++) {
    try {
      const written = await appendParts(store, parts);
      const command = idempotencyOf(parts);
      const foundWritten = written.replayed === true;
      const spans: EventSpan[] = [];
      const eventsOf = ownEventsOf(events, options);
      for (const [i, part] of parts.entries()) {
        if (part.events.length === 0) continue;
        const last = written.streams[i]!.nextRevision;
        await states.appended(part.stream, part.expected, eventsOf(part.stream), last, command, foundWritten);
        spans.push({ stream: part.stream, fromRevision: (last - BigInt(part.events.length) + 1n).toString(), count: part.events.length });
      }
      return { position: written.position.toString(), replayed: foundWritten && resend === 0, resent: foundWritten && resend > 0, spans };
    } catch (error) {
      if (!(error instanceof AppendOutcomeUnknownError)) throw error;
      if (resend >= RESENDS) throw new EventStoreUnavailableError(parts[0]!.stream, error);
    }
  }
}
