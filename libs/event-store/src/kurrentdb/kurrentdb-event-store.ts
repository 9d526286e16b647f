import {
  type AllStreamResolvedEvent,
  type AppendStreamState,
  BACKWARDS,
  END,
  type Filter,
  type JSONType,
  KurrentDBClient,
  type Position,
  type ReadPosition,
  type ResolvedEvent,
  START,
  StreamNotFoundError,
  WrongExpectedVersionError,
  eventTypeFilter,
  excludeSystemEvents,
  jsonEvent,
  streamNameFilter,
} from '@kurrent/kurrentdb-client';
import {
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeOptions,
  type Subscription,
  WrongExpectedRevisionError,
} from '../port';

type EventFilter = ReadAllOptions['filter'];

/**
 * EventStoreDB / KurrentDB adapter on @kurrent/kurrentdb-client (gRPC).
 *
 * Global position = the event's commit position in the server's transaction log. `fromPosition`
 * is turned into the client's `{ commit, prepare }` with prepare = commit, which is what the server
 * records for events written by ordinary appends (one prepare per event, committed in place).
 * Reads of $all exclude system events (`$`-prefixed types) and apply the port's filters on the
 * server, then once more exactly on the client (the server's type filter is a regex, its stream
 * filter a prefix list, and it supports only one of the two at a time).
 */
export class KurrentDbEventStore implements EventStore {
  readonly client: KurrentDBClient;

  /** `connectionString`: `kurrentdb://…`, or the older `esdb://…` / `esdb+discover://…`. */
  constructor(connectionString: string) {
    this.client = KurrentDBClient.connectionString(normalizeConnectionString(connectionString));
  }

  async append(stream: string, events: NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    if (events.length === 0) throw new RangeError('append: at least one event is required');
    const streamState: AppendStreamState = expected;
    try {
      const result = await this.client.appendToStream(
        stream,
        events.map((e) =>
          jsonEvent({
            id: e.id,
            type: e.type,
            data: (e.data ?? null) as JSONType,
            metadata: e.metadata ?? {},
          }),
        ),
        { streamState },
      );
      const position =
        result.position?.commit ?? (await this.positionOf(stream, result.nextExpectedRevision));
      return { nextRevision: result.nextExpectedRevision, position };
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) {
        const actual = error.actualState;
        throw new WrongExpectedRevisionError(
          stream,
          expected,
          typeof actual === 'bigint' ? actual : 'no_stream',
        );
      }
      throw error;
    }
  }

  async *readStream(stream: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    const until = options.until?.getTime();
    try {
      for await (const resolved of this.client.readStream(stream, {
        fromRevision: options.fromRevision ?? START,
      })) {
        const event = toRecorded(resolved);
        if (!event) continue;
        // both only grow along a stream: the first event past either bound ends the read
        if (options.toPosition !== undefined && event.position > options.toPosition) return;
        if (until !== undefined && event.created.getTime() > until) return;
        yield event;
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return;
      throw error;
    }
  }

  async *readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    const from = options.fromPosition;
    let remaining = options.maxCount ?? Number.POSITIVE_INFINITY;
    if (remaining <= 0) return;
    const reads = this.client.readAll({
      fromPosition: toReadPosition(from),
      filter: serverFilter(options.filter),
    });
    for await (const resolved of reads) {
      const event = toRecorded(resolved);
      // readAll's fromPosition is inclusive on the server; the port's is exclusive
      if (!event || (from !== undefined && event.position <= from) || !matches(event, options.filter))
        continue;
      yield event;
      if (--remaining <= 0) return;
    }
  }

  subscribe(options: SubscribeOptions = {}): Subscription {
    const subscription = this.client.subscribeToAll({
      fromPosition: toReadPosition(options.fromPosition),
      filter: serverFilter(options.filter),
    });
    const from = options.fromPosition;
    let remaining = options.maxCount ?? Number.POSITIVE_INFINITY;
    async function* events(): AsyncGenerator<RecordedEvent> {
      try {
        if (remaining <= 0) return;
        for await (const resolved of subscription) {
          const event = toRecorded(resolved);
          if (!event || (from !== undefined && event.position <= from) || !matches(event, options.filter))
            continue;
          yield event;
          if (--remaining <= 0) return;
        }
      } finally {
        await subscription.unsubscribe();
      }
    }
    const iterator = events();
    return {
      [Symbol.asyncIterator]: () => iterator,
      unsubscribe: async () => {
        await subscription.unsubscribe();
      },
    };
  }

  async headPosition(): Promise<bigint> {
    for await (const resolved of this.client.readAll({
      direction: BACKWARDS,
      fromPosition: END,
      maxCount: 1,
      filter: excludeSystemEvents(),
    })) {
      const position = commitPositionOf(resolved);
      if (position !== undefined) return position;
    }
    return -1n;
  }

  async ping(): Promise<void> {
    for await (const _ of this.client.readAll({
      direction: BACKWARDS,
      fromPosition: END,
      maxCount: 1,
      deadline: 5000,
    })) {
      break;
    }
  }

  async close(): Promise<void> {
    await this.client.dispose();
  }

  /** commit position of a stream's event (for an append result the server returned without one) */
  private async positionOf(stream: string, revision: bigint): Promise<bigint> {
    for await (const resolved of this.client.readStream(stream, { fromRevision: revision, maxCount: 1 })) {
      const position = commitPositionOf(resolved);
      if (position !== undefined) return position;
    }
    throw new Error(`KurrentDB did not return the position of ${stream}@${revision}`);
  }
}

/** The client accepts `esdb://` but warns it is deprecated: hand it the `kurrentdb` scheme. */
export function normalizeConnectionString(connectionString: string): string {
  const trimmed = connectionString.trim();
  const match = /^esdb(\+discover)?:\/\//i.exec(trimmed);
  return match ? `kurrentdb${match[1] ?? ''}://${trimmed.slice(match[0].length)}` : trimmed;
}

/** @internal exported for unit tests */
export function toReadPosition(position: bigint | undefined): ReadPosition {
  if (position === undefined || position < 0n) return START;
  const p: Position = { commit: position, prepare: position };
  return p;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** @internal the part of the port's filter the server can apply (exported for unit tests) */
export function serverFilter(filter: EventFilter): Filter {
  if (filter?.streamPrefixes?.length) return streamNameFilter({ prefixes: filter.streamPrefixes });
  if (filter?.eventTypes?.length) {
    return eventTypeFilter({ regex: `^(?:${filter.eventTypes.map(escapeRegex).join('|')})$` });
  }
  return excludeSystemEvents();
}

/** @internal the port's filter, exactly (exported for unit tests) */
export function matches(event: RecordedEvent, filter: EventFilter): boolean {
  if (event.type.startsWith('$')) return false;
  if (filter?.eventTypes?.length && !filter.eventTypes.includes(event.type)) return false;
  if (
    filter?.streamPrefixes?.length &&
    !filter.streamPrefixes.some((prefix) => event.stream.startsWith(prefix))
  ) {
    return false;
  }
  return true;
}

function commitPositionOf(resolved: ResolvedEvent | AllStreamResolvedEvent): bigint | undefined {
  return resolved.commitPosition ?? resolved.event?.position?.commit;
}

function toRecorded(resolved: ResolvedEvent | AllStreamResolvedEvent): RecordedEvent | undefined {
  const event = resolved.event;
  if (!event) return undefined;
  const position = commitPositionOf(resolved);
  if (position === undefined)
    throw new Error(`KurrentDB returned ${event.streamId}@${event.revision} without a position`);
  const metadata = event.metadata;
  return {
    id: event.id,
    stream: event.streamId,
    type: event.type,
    revision: event.revision,
    position,
    data: event.isJson ? event.data : Buffer.from(event.data as Uint8Array),
    metadata:
      metadata &&
      typeof metadata === 'object' &&
      !Array.isArray(metadata) &&
      !(metadata instanceof Uint8Array)
        ? (metadata as Record<string, unknown>)
        : {},
    created: event.created,
  };
}
