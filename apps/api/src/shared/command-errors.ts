// How the command path (stream-handler.ts) fails, on its way to the edge (HTTP problems, RPC errors).
import type { DomainError } from '@rollcall/domain';

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

/** The event store did not confirm a write even after re-sending it: the client retries with the same key. */
export class EventStoreUnavailableError extends Error {
  readonly code = 'EVENT_STORE_UNAVAILABLE';
  constructor(stream: string) {
    super(`The event store did not confirm the change to ${stream}; retry the request with the same Idempotency-Key.`);
  }
}
