import type { AllStreamResolvedEvent, AppendStreamRequest, KurrentDBClient, ResolvedEvent } from '@kurrent/kurrentdb-client';
import { kurrentDriver } from '../drivers/lazy-drivers';
import {
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type MultiAppendResult,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type StreamAppend,
  type SubscribeOptions,
  type Subscription,
  WrongExpectedRevisionError,
} from '../port';
import { appendWithRetry, toWrongExpectedRevision, withTimeout } from './append-outcome';
import { type RecordsReads, appendRecordsOnce, recordsRequest } from './kurrentdb-append-records';
import {
  commitPositionOf,
  encodeMetadata,
  matches,
  serverFilter,
  toEventData,
  toReadPosition,
  toRecorded,
} from './kurrentdb-codec';

export { matches, serverFilter, toReadPosition } from './kurrentdb-codec';

export interface KurrentDbEventStoreOptions {
  /** how long one append attempt may take (default 10 s); a timed-out append is sent once more, see append-outcome */
  appendTimeoutMs?: number;
  /** how long `ping` (/health) waits for the server (default 2 s) */
  pingTimeoutMs?: number;
  /** events per server read (default 1000): each read call ends after one page, whether or not the caller reads on */
  readPageSize?: number;
}

/**
 * EventStoreDB / KurrentDB adapter on @kurrent/kurrentdb-client (gRPC).
 *
 * Global position = the event's commit position in the server's transaction log. `fromPosition`
 * is turned into the client's `{ commit, prepare }` with prepare = commit, which is what the server
 * records for events written by ordinary appends (one prepare per event, committed in place).
 * Reads of $all exclude system events (`$`-prefixed types) and apply the port's filters on the
 * server, then once more exactly on the client (the server's type filter is a regex, its stream
 * filter a prefix list, and it supports only one of the two at a time).
 *
 * Reads go to the server in pages of `readPageSize` (its maxCount), each read to its end before its events are
 * handed out: a reader that stops early (`until`, `toPosition`, `maxCount`, a `break`) leaves no server read open.
 * Appends are bounded by `appendTimeoutMs` and classified: see `appendWithRetry` for what a timeout does and
 * when AppendOutcomeUnknownError is raised.
 */
export class KurrentDbEventStore implements EventStore {
  readonly client: KurrentDBClient;
  private readonly appendTimeoutMs: number;
  private readonly pingTimeoutMs: number;
  private readonly readPageSize: number;
  /** set when the server turned appendRecords down (KurrentDB before 26.1): appendMany no longer tries it */
  private appendRecordsUnsupported = false;

  /** `connectionString`: `kurrentdb://…`, or the older `esdb://…` / `esdb+discover://…`. */
  constructor(connectionString: string, options: KurrentDbEventStoreOptions = {}) {
    this.appendTimeoutMs = positive(options.appendTimeoutMs ?? 10_000, 'appendTimeoutMs');
    this.pingTimeoutMs = positive(options.pingTimeoutMs ?? 2_000, 'pingTimeoutMs');
    this.readPageSize = positive(options.readPageSize ?? 1000, 'readPageSize');
    if (this.readPageSize < 2) throw new RangeError('readPageSize must be at least 2');
    this.client = kurrentDriver().KurrentDBClient.connectionString(normalizeConnectionString(connectionString));
  }

  async append(stream: string, events: NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    if (events.length === 0) throw new RangeError('append: at least one event is required');
    const data = events.map((e) => toEventData(e, e.metadata ?? {}));
    return appendWithRetry(
      async () => {
        const result = await this.client.appendToStream(stream, data, {
          streamState: expected,
          deadline: this.appendTimeoutMs,
        });
        // with `throwOnAppendFailure=false` in the connection string the client resolves a conflict instead of
        // throwing it (success false, no position): never taken as written
        if (!result.success)
          throw new WrongExpectedRevisionError(stream, expected, typeof result.nextExpectedRevision === 'bigint' && result.nextExpectedRevision >= 0n ? result.nextExpectedRevision : 'no_stream');
        // a position below 0: what the server answers for a duplicate whose event it could not read back
        const commit = result.position?.commit;
        const position = commit !== undefined && commit >= 0n ? commit : await this.positionOf(stream, result.nextExpectedRevision);
        return { nextRevision: result.nextExpectedRevision, position };
      },
      this.appendTimeoutMs,
      stream,
      (error) => toWrongExpectedRevision(error, () => expected, stream),
    );
  }

  /**
   * One atomic write. On KurrentDB 26.1+ through the client's `appendRecords`, every part's expected revision a
   * consistency check the server makes at commit, check-only parts included (kurrentdb-append-records.ts, which also
   * says how a re-send of a committed batch is answered there). On 25.1, which has no appendRecords (the client throws
   * UnsupportedError before sending anything), through `multiStreamAppend`: see `readThenMultiStreamAppend`. Which one
   * the server takes is learned on the first appendMany and kept for the store's life: a server upgraded to 26.1
   * meanwhile is used as 25.1 until the process restarts. Metadata goes through encodeMetadata on both paths (string
   * values only, see there).
   */
  async appendMany(parts: StreamAppend[]): Promise<MultiAppendResult> {
    assertParts(parts);
    const records = this.appendRecordsUnsupported ? undefined : recordsRequest(parts);
    const fallback = this.readThenMultiStreamAppend(parts);
    const expectedOf = (stream: string) => parts.find((p) => p.stream === stream)?.expected;
    return appendWithRetry(
      async (givenUp) => {
        if (records && !this.appendRecordsUnsupported) {
          try {
            return await appendRecordsOnce(this.client, this.recordsReads, parts, records);
          } catch (error) {
            if (!(error instanceof kurrentDriver().UnsupportedError)) throw error;
            this.appendRecordsUnsupported = true;
          }
        }
        return fallback(givenUp);
      },
      this.appendTimeoutMs,
      parts.map((p) => p.stream).join(', '),
      (error) => toWrongExpectedRevision(error, expectedOf, parts[0]!.stream),
    );
  }

  /**
   * appendMany on KurrentDB 25.1 (no appendRecords): the parts that have events through `multiStreamAppend`. Check-only
   * parts (no events) are not sent: the append request of that protocol carries records, and an empty one is not a
   * revision check we could rely on. Instead, each such stream's last revision is read first and a mismatch fails with
   * WrongExpectedRevisionError before anything is written. The remaining race, honestly: a writer that appends to a
   * checked stream between that read and the multi-stream write is not seen, and the write goes through. (26.1's
   * appendRecords closes it: the server checks at commit.)
   * An attempt given up (timed out) reads no further and does not write; the re-send's reads wait for those it left
   * running, so that CHECK_READS_AT_ONCE holds for the appendMany, not for each attempt.
   */
  private readThenMultiStreamAppend(parts: StreamAppend[]): (givenUp: AbortSignal) => Promise<MultiAppendResult> {
    // built on the first attempt that needs it (not at all while appendRecords serves), then re-sent as it is
    let requests: AppendStreamRequest[] | undefined;
    const checks = parts.filter((p) => p.events.length === 0);
    const reads: CheckReads = { inFlight: Promise.resolve() };
    return async (givenUp) => {
      requests ??= parts
        .filter((p) => p.events.length > 0)
        .map((p) => ({
          streamName: p.stream,
          expectedState: p.expected,
          events: p.events.map((e) => toEventData(e, encodeMetadata(e.metadata))),
        }));
      const checked = await this.checkRevisions(checks, givenUp, reads);
      givenUp.throwIfAborted();
      const result = await this.client.multiStreamAppend(requests);
      const written = new Map(result.responses.map((r) => [r.streamName, r.revision]));
      return {
        position: result.position >= 0n ? result.position : await this.lastPositionOf(written),
        streams: parts.map((p) => {
          const nextRevision = checked.get(p.stream) ?? written.get(p.stream);
          if (nextRevision === undefined) throw new Error(`KurrentDB did not return the revision of ${p.stream}`);
          return { stream: p.stream, nextRevision };
        }),
      };
    };
  }

  async *readStream(stream: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    const until = options.until?.getTime();
    let fromRevision = options.fromRevision ?? 0n;
    let left = options.maxCount ?? Number.POSITIVE_INFINITY;
    while (left > 0) {
      // (a command's span: no more than it takes)
      const maxCount = Math.min(this.readPageSize, left);
      const page = await this.page(this.client.readStream(stream, { fromRevision, maxCount }));
      for (const resolved of page) {
        const event = toRecorded(resolved);
        if (!event) continue;
        // both only grow along a stream: the first event past either bound ends the read
        if (options.toPosition !== undefined && event.position > options.toPosition) return;
        if (until !== undefined && event.created.getTime() > until) return;
        yield event;
        if (--left === 0) return;
      }
      if (page.length < maxCount) return;
      const last = page[page.length - 1]!.event?.revision;
      fromRevision = last !== undefined ? last + 1n : fromRevision + BigInt(page.length);
    }
  }

  async *readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    let after = options.fromPosition;
    let remaining = options.maxCount ?? Number.POSITIVE_INFINITY;
    const filter = serverFilter(options.filter);
    while (remaining > 0) {
      // the server's fromPosition is inclusive, the port's exclusive: one more for the event at `after`
      const maxCount = Math.min(this.readPageSize, remaining + 1);
      const page = await this.page(
        this.client.readAll({ fromPosition: toReadPosition(after), maxCount, filter }),
      );
      for (const resolved of page) {
        const event = toRecorded(resolved);
        if (!event || (after !== undefined && event.position <= after) || !matches(event, options.filter))
          continue;
        yield event;
        if (--remaining <= 0) return;
      }
      if (page.length < maxCount) return;
      const last = commitPositionOf(page[page.length - 1]!);
      if (last === undefined || (after !== undefined && last <= after)) return;
      after = last;
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
    const { BACKWARDS, END, excludeSystemEvents } = kurrentDriver();
    const [last] = await this.page(
      this.client.readAll({
        direction: BACKWARDS,
        fromPosition: END,
        maxCount: 1,
        filter: excludeSystemEvents(),
      }),
    );
    return (last && commitPositionOf(last)) ?? -1n;
  }

  /** answers within pingTimeoutMs: the client's reads take no deadline, so a timer bounds it */
  async ping(): Promise<void> {
    const { BACKWARDS, END } = kurrentDriver();
    await withTimeout(
      this.page(this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 })),
      this.pingTimeoutMs,
      'ping',
    );
  }

  async close(): Promise<void> {
    await this.client.dispose();
  }

  /** one server read, to its end (a missing stream reads as empty) */
  private async page<E extends ResolvedEvent | AllStreamResolvedEvent>(read: AsyncIterable<E>): Promise<E[]> {
    const out: E[] = [];
    try {
      for await (const resolved of read) out.push(resolved);
    } catch (error) {
      if (error instanceof kurrentDriver().StreamNotFoundError) return out;
      throw error;
    }
    return out;
  }

  /**
   * the revision each check-only part's stream is at (-1n: no stream), or WrongExpectedRevisionError. Read
   * CHECK_READS_AT_ONCE at a time: a deletion checks every workspace of its organization (hundreds of streams; one
   * after the other, a round trip each, it waited ~1 s per thousand). Each group waits for the group in flight
   * (`reads`: a timed-out attempt's, which nothing can cancel) and is not started once `givenUp` is aborted.
   */
  private async checkRevisions(checks: StreamAppend[], givenUp: AbortSignal, reads: CheckReads): Promise<Map<string, bigint>> {
    const revisions = new Map<string, bigint>();
    const check = async ({ stream, expected }: StreamAppend) => {
      const actual = await this.lastRevisionOf(stream);
      if (expected !== 'any' && expected !== actual)
        throw new WrongExpectedRevisionError(stream, expected, actual);
      revisions.set(stream, actual === 'no_stream' ? -1n : actual);
    };
    for (let i = 0; i < checks.length; i += CHECK_READS_AT_ONCE) {
      // every read of the group settles before a mismatch is thrown: none is left running unobserved; a mismatch
      // before any other failure (a conflict is decided again at once; a read that failed would be taken for an
      // unclear outcome)
      await reads.inFlight;
      givenUp.throwIfAborted();
      const group = Promise.allSettled(checks.slice(i, i + CHECK_READS_AT_ONCE).map(check));
      reads.inFlight = group;
      const failures = (await group)
        .flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
      if (failures.length > 0) throw failures.find((error) => error instanceof WrongExpectedRevisionError) ?? failures[0];
    }
    return revisions;
  }

  /** the revision of the stream's last event ('no_stream': none) */
  private async lastRevisionOf(stream: string): Promise<bigint | 'no_stream'> {
    const { BACKWARDS, END } = kurrentDriver();
    const [last] = await this.page(this.client.readStream(stream, { direction: BACKWARDS, fromRevision: END, maxCount: 1 }));
    return last?.event ? last.event.revision : 'no_stream';
  }

  /** what the appendRecords path reads (kurrentdb-append-records.ts) */
  private readonly recordsReads: RecordsReads = {
    eventsFrom: (stream, fromRevision, count) => this.page(this.client.readStream(stream, { fromRevision, maxCount: count })),
    lastRevisionOf: (stream) => this.lastRevisionOf(stream),
    lastPositionOf: (written) => this.lastPositionOf(written),
  };

  /**
   * The position of a multi-stream write's last event, read back: the server answers a re-sent write that was a
   * duplicate in every stream with the largest of their positions, and -1 for a stream whose duplicate it could not
   * read back (`IndexWriter.CheckCommit`'s IdempotentLogPosition).
   */
  private async lastPositionOf(written: Map<string, bigint>): Promise<bigint> {
    let last = -1n;
    for (const [stream, revision] of written) {
      const position = await this.positionOf(stream, revision);
      if (position > last) last = position;
    }
    return last;
  }

  private async positionOf(stream: string, revision: bigint): Promise<bigint> {
    const [event] = await this.page(this.client.readStream(stream, { fromRevision: revision, maxCount: 1 }));
    const position = event && commitPositionOf(event);
    if (position !== undefined) return position;
    throw new Error(`KurrentDB did not return the position of ${stream}@${revision}`);
  }
}

/** how many check-only streams `appendMany` reads at once */
const CHECK_READS_AT_ONCE = 16;

/** the check reads of one appendMany, over its attempts: the group last started (it never rejects) */
interface CheckReads {
  inFlight: Promise<unknown>;
}

/** The client accepts `esdb://` but warns it is deprecated: hand it the `kurrentdb` scheme. Refuses an option the adapter cannot work with. */
export function normalizeConnectionString(connectionString: string): string {
  const trimmed = connectionString.trim();
  // the client then resolves a conflict instead of throwing it, with its revision as 0 or 1 (batchAppend.js): the
  // adapter takes it for a conflict, but could not name the stream's revision
  if (/[?&]throwOnAppendFailure=false(&|$)/i.test(trimmed))
    throw new RangeError('EVENTSTORE_URL: throwOnAppendFailure=false is not supported (a conflict must be thrown to be told from a write)');
  const match = /^esdb(\+discover)?:\/\//i.exec(trimmed);
  return match ? `kurrentdb${match[1] ?? ''}://${trimmed.slice(match[0].length)}` : trimmed;
}

function positive(value: number, name: string): number {
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer`);
  return value;
}

/** the same argument checks as the embedded store's appendMany */
function assertParts(parts: StreamAppend[]): void {
  if (!Array.isArray(parts) || parts.length === 0)
    throw new RangeError('appendMany: at least one part is required');
  if (new Set(parts.map((p) => p.stream)).size !== parts.length)
    throw new RangeError('appendMany: a stream appears twice');
  if (parts.every((p) => p.events.length === 0))
    throw new RangeError('appendMany: at least one event is required');
  const ids = new Set<string>();
  for (const e of parts.flatMap((p) => p.events)) {
    if (ids.has(e.id)) throw new RangeError(`append: event id ${e.id} appears twice in the batch`);
    ids.add(e.id);
  }
}
