// How the command path (stream-handler.ts) fails, on its way to the edge (HTTP problems, RPC errors).
import type { DomainError } from '@rollcall/domain';
import { DuplicateEventIdError, KeyForgottenSinceSealedError, WrongExpectedRevisionError } from '@rollcall/event-store';

/** A domain refusal on its way to the edge (HTTP problem, RPC error). */
export class DomainException extends Error {
  constructor(readonly error: DomainError) {
    super(error.message);
    this.name = 'DomainException';
  }
}

export class ConcurrencyExhaustedError extends Error {
  readonly code = 'CONCURRENCY_CONFLICT';
  constructor(stream: string) {
    super(`Too many concurrent changes to ${stream}; retry the request.`);
  }
}

/**
 * The event store did not confirm a write even after re-sending it: the client retries with the same key. Its last
 * answer is kept as the cause, named in the answer and logged whole (probe 38b F7: both were dropped).
 */
export class EventStoreUnavailableError extends Error {
  readonly code = 'EVENT_STORE_UNAVAILABLE';
  constructor(stream: string, cause?: unknown) {
    const said = cause instanceof Error ? (cause.cause instanceof Error ? cause.cause : cause).message.split('\n')[0]!.slice(0, 200) : undefined;
    super(`The event store did not confirm the change to ${stream}${said ? ` (its last answer: ${said})` : ''}; retry the request with the same Idempotency-Key.`, { cause });
  }
}

/**
 * An append failure after which the command is decided again on the stream as it is now: another writer's events
 * got there first — maybe this command's own key, the same request sent to another replica and decided there — or
 * (DuplicateEventIdError) ids of this batch are stored elsewhere (only a re-send's could be). Decided again, the
 * state holds what was written; a batch of the command's key is answered with (a replay), as a retry of it would.
 */
export const decideAgainAfter = (error: unknown): boolean =>
  error instanceof WrongExpectedRevisionError || error instanceof DuplicateEventIdError || error instanceof KeyForgottenSinceSealedError;
