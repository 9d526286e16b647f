import { type DomainEvent, type DomainError, toStored } from '@rollcall/domain';
import { type AppendResult, type EventStore, type ExpectedRevision, WrongExpectedRevisionError, eventIdFor } from '@rollcall/event-store';
import type { CommandContext } from './command-context';
import { KeyedMutex } from './keyed-mutex';
import type { StreamRepository } from './stream-repository';

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
 * Appends decided events with their metadata. Event ids derive from the command's idempotency key and the
 * stream, so a retried command appends nothing the second time.
 */
export class EventWriter {
  private readonly commands = new KeyedMutex();

  constructor(
    private readonly store: EventStore,
    private readonly repo?: StreamRepository,
  ) {}

  async append(stream: string, expected: ExpectedRevision, events: DomainEvent[], ctx: CommandContext): Promise<AppendResult> {
    const metadata = {
      actorId: ctx.actorId,
      correlationId: ctx.correlationId,
      causationId: ctx.idempotencyKey,
      idempotencyKey: ctx.idempotencyKey,
      occurredAt: ctx.now,
    };
    const result = await this.store.append(
      stream,
      events.map((e, i) => ({ id: eventIdFor(`${ctx.idempotencyKey}:${stream}`, i), ...toStored(e, metadata) })),
      expected,
    );
    await this.repo?.appended(stream, expected, events, result.nextRevision);
    return result;
  }

  /**
   * Load → decide → append, re-deciding on a version conflict (bounded). Commands on the same stream take turns
   * in this process, so they do not conflict with each other; conflicts with other replicas are retried.
   */
  withRetry<T>(stream: string, attempt: () => Promise<T>, attempts = 8): Promise<T> {
    return this.commands.run(stream, async () => {
      for (let i = 0; ; i++) {
        try {
          return await attempt();
        } catch (error) {
          if (!(error instanceof WrongExpectedRevisionError)) throw error;
          if (i + 1 >= attempts) throw new ConcurrencyExhaustedError(stream);
        }
      }
    });
  }

  /** Appends when the decision produced events; a decision of nothing answers with the head of the log. */
  async appendAny(stream: string, expected: ExpectedRevision, events: DomainEvent[], ctx: CommandContext): Promise<bigint> {
    return events.length > 0 ? (await this.append(stream, expected, events, ctx)).position : this.store.headPosition();
  }
}
