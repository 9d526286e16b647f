import { type Decision, type DomainError, type DomainEvent, fromStored, toStored } from '@rollcall/domain';
import {
  AppendOutcomeUnknownError,
  type EventStore,
  type MultiAppendResult,
  type NewEvent,
  type StreamAppend,
  WrongExpectedRevisionError,
  eventIdFor,
} from '@rollcall/event-store';
import type { CommandContext } from './command-context';
import { IdempotencyKeyReusedError } from './idempotency';
import { KeyedMutex } from './keyed-mutex';
import type { Loaded, StreamStates } from './stream-states';

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

/**
 * What a command decides on, and how to load it. `lock` is the stream commands take turns on in this process;
 * `load` loads the decision context and the streams it may append to (with their expected revisions).
 */
export interface Target<C> {
  lock: string;
  load(states: StreamStates): Promise<{ context: C; streams: Loaded<unknown>[] }>;
}

/** The outcome of a command: its events (decided now, or read back for a retry), their position, the context. */
export interface Written<C, E> {
  events: E[];
  warnings: string[];
  /** global position of the command's last event (the log's head when it decided nothing) */
  position: string;
  /** the context the events were decided on; for a replay, the current one */
  context: C;
  /** true when the events were already in the log: a retry of a command whose answer was lost */
  replayed: boolean;
}

export interface HandleOptions<E> {
  /** the stream of each event, for commands that append to several streams at once (default: the one stream) */
  route?: (event: E) => string;
  /** more metadata for every event of the command (never personal data: metadata is not encrypted) */
  metadata?: Record<string, unknown> | ((events: E[]) => Record<string, unknown>);
}

const ATTEMPTS = 8;
const RESENDS = 2;

/**
 * The one command path (docs/architecture.md): load → decide → append with the expected revisions → retry.
 *
 * - Commands on one stream take turns in this process (no self-inflicted conflicts); another replica's write makes
 *   the append fail with a wrong expected revision, and the command is decided again on the new state (bounded).
 * - Event ids derive from the idempotency key and the stream, and the stream states remember which keys they hold:
 *   a retry whose events are already in the log (its answer was lost) answers from those events instead of
 *   deciding again — the same for the embedded store and KurrentDB (docs/adr/0004).
 * - When the store cannot say whether an append was written, the identical batch is re-sent at the same expected
 *   revisions (idempotent in every adapter) before anything is decided again.
 * - Events for several streams (accepting an invitation, deleting a user) are appended atomically.
 */
export class StreamHandler {
  private readonly turns = new KeyedMutex();

  constructor(
    private readonly store: EventStore,
    readonly states: StreamStates,
  ) {}

  handle<C, E extends DomainEvent>(
    target: Target<C>,
    ctx: CommandContext,
    decide: (context: C) => Decision<E>,
    options: HandleOptions<E> = {},
  ): Promise<Written<C, E>> {
    return this.turns.run(target.lock, async () => {
      for (let attempt = 1; ; attempt++) {
        const { context, streams } = await target.load(this.states);
        const earlier = await this.replay<E>(streams, ctx);
        if (earlier) return { ...earlier, warnings: [], context, replayed: true };

        const decision = decide(context);
        if (!decision.ok) throw new DomainException(decision.error);
        const { events, warnings } = decision;
        if (events.length === 0) return { events, warnings, position: (await this.store.headPosition()).toString(), context, replayed: false };

        const parts = this.partsOf(streams, events, ctx, options);
        try {
          const position = await this.appendResending(parts, events, options);
          return { events, warnings, position: position.toString(), context, replayed: false };
        } catch (error) {
          if (!(error instanceof WrongExpectedRevisionError)) throw error;
          if (attempt >= ATTEMPTS) throw new ConcurrencyExhaustedError(target.lock);
        }
      }
    });
  }

  /** The command's events when the log already holds them (found by idempotency key), read back in log order. */
  private async replay<E>(streams: Loaded<unknown>[], ctx: CommandContext): Promise<{ events: E[]; position: string } | undefined> {
    const found = streams.map((s) => ({ stream: s.stream, at: s.applied(ctx.idempotencyKey) })).filter((s) => s.at !== undefined);
    if (found.length === 0) return undefined;
    // the key's events answer another request (the stored answer, which would have said so, is gone)
    if (ctx.requestHash !== undefined && found.some((f) => f.at!.requestHash !== undefined && f.at!.requestHash !== ctx.requestHash))
      throw new IdempotencyKeyReusedError();
    const recorded = [];
    for (const { stream, at } of found) {
      let left = at!.count;
      for await (const e of this.store.readStream(stream, { fromRevision: at!.fromRevision })) {
        recorded.push(e);
        if (--left === 0) break;
      }
    }
    recorded.sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
    const events = recorded.map((e) => fromStored(e)).filter((e) => e !== undefined) as E[];
    return { events, position: recorded[recorded.length - 1]!.position.toString() };
  }

  private partsOf<E extends DomainEvent>(streams: Loaded<unknown>[], events: E[], ctx: CommandContext, options: HandleOptions<E>): StreamAppend[] {
    const metadata = {
      actorId: ctx.actorId,
      correlationId: ctx.correlationId,
      causationId: ctx.idempotencyKey,
      idempotencyKey: ctx.idempotencyKey,
      occurredAt: ctx.now,
      ...(ctx.requestHash !== undefined && { requestHash: ctx.requestHash }),
      ...(typeof options.metadata === 'function' ? options.metadata(events) : options.metadata),
    };
    const byStream = new Map<string, NewEvent[]>();
    for (const event of events) {
      const stream = options.route ? options.route(event) : streams[0]!.stream;
      const list = byStream.get(stream) ?? byStream.set(stream, []).get(stream)!;
      list.push({ id: eventIdFor(`${ctx.idempotencyKey}:${stream}`, list.length), ...toStored(event, metadata) });
    }
    return [...byStream].map(([stream, list]) => {
      const loaded = streams.find((s) => s.stream === stream);
      if (!loaded) throw new Error(`a decision routed an event to ${stream}, which the command did not load`);
      return { stream, events: list, expected: loaded.expected };
    });
  }

  /**
   * Appends; when the store cannot tell whether it wrote, re-sends the identical parts (same ids, same expected
   * revisions): a written batch answers as a duplicate, an unwritten one is written or conflicts.
   */
  private async appendResending<E extends DomainEvent>(parts: StreamAppend[], events: E[], options: HandleOptions<E>): Promise<bigint> {
    for (let resend = 0; ; resend++) {
      try {
        const written = await this.appendParts(parts);
        for (const [i, part] of parts.entries()) {
          const own = options.route ? events.filter((e) => options.route!(e) === part.stream) : events;
          const { idempotencyKey, requestHash } = part.events[0]!.metadata as { idempotencyKey: string; requestHash?: string };
          await this.states.appended(part.stream, part.expected, own, written.streams[i]!.nextRevision, { idempotencyKey, requestHash });
        }
        return written.position;
      } catch (error) {
        if (!(error instanceof AppendOutcomeUnknownError)) throw error;
        if (resend >= RESENDS) throw new EventStoreUnavailableError(parts[0]!.stream);
      }
    }
  }

  private async appendParts(parts: StreamAppend[]): Promise<MultiAppendResult> {
    if (parts.length > 1) return this.store.appendMany(parts);
    const [{ stream, events, expected }] = parts as [StreamAppend];
    const result = await this.store.append(stream, events, expected);
    return { position: result.position, streams: [{ stream, nextRevision: result.nextRevision }] };
  }
}
