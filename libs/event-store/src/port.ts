/**
 * The EventStore port: the only way the application touches its source of truth.
 * Adapters: embedded SQLite (default) and EventStoreDB/KurrentDB. One contract suite proves both.
 */

/** An event to append. `id` is a UUID of this decision's event (see newEventId): a re-sent batch carries the same. */
export interface NewEvent {
  id: string;
  type: string;
  data: unknown;
  metadata: Record<string, unknown>;
}

/** An event read back from the store. `position` is the event's place in the global log (monotonic). */
export interface RecordedEvent {
  id: string;
  stream: string;
  type: string;
  /** revision of the event in its stream, 0-based */
  revision: bigint;
  /** global position (commit position); strictly increasing across the log */
  position: bigint;
  data: unknown;
  metadata: Record<string, unknown>;
  /** when the store recorded it */
  created: Date;
  /**
   * Set by the crypto-shredding store's reads: each personal field of `data` that was stored sealed, by path, with
   * the pseudonymous subject it was sealed under — also when it reads as null (its key forgotten). A projection
   * learns from it which address an invitation's subject is, while it still reads in clear, to erase it when a
   * deletion names that subject (docs/adr/0003).
   */
  sealedUnder?: Readonly<Record<string, string>>;
}

/** 'no_stream': the stream must not exist; 'any': no check; bigint: the revision of the stream's last event. */
export type ExpectedRevision = bigint | 'no_stream' | 'any';

export interface AppendResult {
  /** revision of the last event written (or found, for an idempotent re-append) */
  nextRevision: bigint;
  /** global position of the last event written */
  position: bigint;
  /**
   * true: the batch was written before (the same event ids: a re-send of this append after an unclear outcome) and
   * nothing was written now; its events are the stored ones, which a store does not compare with these. A store that
   * cannot tell (KurrentDB answers both alike) leaves it unset (docs/adr/0004-one-command-path-idempotent-retries-atomic-deletion.md).
   */
  replayed?: boolean;
}

/** One stream's part of an atomic multi-stream append. `events` may be empty: the stream's revision is then only checked. */
export interface StreamAppend {
  stream: string;
  events: NewEvent[];
  expected: ExpectedRevision;
}

export interface MultiAppendResult {
  /** global position of the last event written (or found, for an idempotent re-append) */
  position: bigint;
  /** per part, in order: the revision of its stream's last event after the append */
  streams: { stream: string; nextRevision: bigint }[];
  /** as AppendResult.replayed: every part's batch was written before, and nothing (no key either) was written now */
  replayed?: boolean;
}

export interface ReadStreamOptions {
  fromRevision?: bigint;
  /** only events whose global position is <= toPosition */
  toPosition?: bigint;
  /** only events recorded at or before this time (point-in-time replay) */
  until?: Date;
  /** at most this many events (a command's span of a stream: a stored answer's replay reads only those) */
  maxCount?: number;
  /**
   * `'sealed'`: personal fields left as stored, none opened (with crypto-shredding they are opaque sealed strings; no
   * key is looked up): for a fold that reads nothing personal, as the access at a time T (members' access, org
   * admins, teams), where opening every field was most of a replay's time. What such a fold holds in those fields is
   * never to be shown.
   */
  personalData?: 'sealed';
}

export interface ReadAllOptions {
  /** exclusive: events strictly after this position; undefined = from the start */
  fromPosition?: bigint;
  /**
   * only these event types / streams with this prefix. `organizationId` is a hint: a store that indexes the log by
   * organization (the embedded one: sqlite/organization-index.ts) returns that organization's events only, as the
   * integration event names it; one that does not (KurrentDB) returns the others too — the caller keeps its own.
   */
  filter?: { eventTypes?: string[]; streamPrefixes?: string[]; organizationId?: string };
  maxCount?: number;
  /** as ReadStreamOptions' `personalData`: a reader of ids and versions only (the mail dispatcher) opens no field */
  personalData?: 'sealed';
}

export interface SubscribeOptions extends ReadAllOptions {}

/** A catch-up subscription: every event after fromPosition, in global order, then live ones, no gap, no duplicate. */
export interface Subscription extends AsyncIterable<RecordedEvent> {
  unsubscribe(): Promise<void>;
  /**
   * The same events in the pages the store reads them in, where it reads pages (the embedded store): for a consumer
   * that does something once per page (the crypto-shredding store's key lookups). Read the pages or the events, not
   * both.
   */
  pages?(): AsyncIterable<RecordedEvent[]>;
}

export interface EventStore {
  append(stream: string, events: NewEvent[], expected: ExpectedRevision): Promise<AppendResult>;
  /**
   * Appends to several streams atomically: every part's expected revision holds and all events are written,
   * or nothing is (WrongExpectedRevisionError names the first part that does not match). A part with no events
   * only checks its stream's revision. Re-appending the same batch (same ids) is idempotent, as for append.
   * Embedded SQLite: one transaction. KurrentDB 26.1+: appendRecords, a consistency check per part made at commit;
   * 25.1: MultiStreamAppend after reading the check-only parts' revisions (a race: the adapter's appendMany).
   */
  appendMany(parts: StreamAppend[]): Promise<MultiAppendResult>;
  readStream(stream: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent>;
  readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent>;
  subscribe(options?: SubscribeOptions): Subscription;
  /** the global position of the last event in the log (0n-based; -1n when empty) */
  headPosition(): Promise<bigint>;
  /**
   * A request begins: the reads it makes see every commit of another process that was answered before it came
   * (an embedded store answers reads of unchanged streams from memory, looking at other writers once per turn of the
   * event loop; KurrentDB always reads the server: absent).
   */
  requestBegins?(): void;
  /**
   * A number that changes when another process committed to the log since it was last read (looked at as a read
   * would: once per request); absent where every read asks the server anyway. The API's key cache checks a key it
   * knows again when it moved: another replica may have revoked it.
   */
  othersEpoch?(): number | undefined;
  /**
   * Whether another process may commit to the log now (another process serves the same data dir); until told
   * otherwise, one may. While none may, an embedded store's reads need not look at other processes' commits.
   */
  othersMayWrite?(may: boolean): void;
  /**
   * Whether `readAll`'s `organizationId` hint reads that organization's events by an index (the embedded store:
   * sqlite/organization-index.ts; true there also where the index could not be built, as a filter by stream names
   * would be a scan of the whole file in one statement); absent or false where the hint is ignored and the server
   * filters stream names (KurrentDB): a reader of one organization's events names its streams instead (the
   * organization's feed: events/feed-page.ts).
   */
  indexesOrganizations?(): boolean;
  /** reachable? used by /health */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The parts of one command: a single stream through `append`, several atomically through `appendMany`. */
export async function appendParts(store: EventStore, parts: StreamAppend[]): Promise<MultiAppendResult> {
  if (parts.length > 1) return store.appendMany(parts);
  const [{ stream, events, expected }] = parts as [StreamAppend];
  const result = await store.append(stream, events, expected);
  return { position: result.position, streams: [{ stream, nextRevision: result.nextRevision }], ...(result.replayed && { replayed: true }) };
}

/** Thrown by append when the stream's revision is not the expected one. The command side re-decides and retries. */
export class WrongExpectedRevisionError extends Error {
  readonly code = 'CONCURRENCY_CONFLICT';
  constructor(
    readonly stream: string,
    readonly expected: ExpectedRevision,
    readonly actual: bigint | 'no_stream',
  ) {
    super(`Stream ${stream} is at revision ${String(actual)}, expected ${String(expected)}`);
    this.name = 'WrongExpectedRevisionError';
  }
}

/**
 * The store did not say whether an append was written (a timeout, a reset connection, a leader change): it may
 * or may not be in the log. The command side re-sends the identical batch at the same expected revision, which
 * is idempotent in every adapter (same event ids), before it decides anything again.
 */
export class AppendOutcomeUnknownError extends Error {
  readonly code = 'EVENT_STORE_UNAVAILABLE';
  constructor(
    readonly stream: string,
    override readonly cause?: unknown,
  ) {
    super(`The event store did not confirm the append to ${stream}; it may or may not have been written.`);
    this.name = 'AppendOutcomeUnknownError';
  }
}
