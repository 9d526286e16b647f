// What StreamStates caches per stream and hands to a command (stream-states.ts).
import type { DomainEvent, UserProfile } from '@rollcall/domain';
import type { ExpectedRevision, RecordedEvent } from '@rollcall/event-store';
import type { StateSnapshots } from '../snapshots/snapshots';

/** Where one command's events sit in a stream: found by the idempotency key in their metadata. */
export interface AppliedCommand {
  fromRevision: bigint;
  count: number;
  /** the request's fingerprint, when a client sent the key (see CommandContext.requestHash) */
  requestHash?: string;
}

/** A command of this process whose events are folded into a cached state: what their metadata says of it. */
export interface OwnCommand {
  idempotencyKey: string;
  requestHash?: string;
  occurredAt?: string;
}

export interface Entry<S> {
  state: S;
  /** revision of the last event folded; -1n: the stream has no events */
  revision: bigint;
  /** the idempotency keys of the stream's latest commands (bounded), to recognise a retry whose answer was lost */
  applied: Map<string, AppliedCommand>;
  /**
   * The latest `occurredAt` among the stream's events (ISO). A command on the stream is dated no earlier (`dateAfter`,
   * command-context.ts): a stream's times never go back, so a replay to a time T folds a prefix of it that is exactly the
   * changes the history dates at or before T (docs/rules.md rule 17).
   */
  lastAt?: string;
}

/** How to fold the events of a stream kind this class does not know by name (a presence stream). */
export interface StreamKind<S> {
  initial(): S;
  /** the state after `event` (events of other types are returned unchanged) */
  evolve(state: S, event: DomainEvent): S;
}

export interface SingleEntry<S> extends Entry<S> {
  kind: StreamKind<S>;
}

/** A decision state as loaded for a command: the state, the revision to expect, and the commands already applied. */
export interface Loaded<S> {
  stream: string;
  state: S;
  expected: ExpectedRevision;
  applied(idempotencyKey: string): AppliedCommand | undefined;
  /** the latest `occurredAt` of the stream's events (Entry.lastAt) */
  lastAt?: string;
  /**
   * Set when the state holds events of this process's commands that are not committed yet (`speculate`): the id of
   * the last of them (an append must follow exactly that event) and the command (the handler's) they belong to.
   */
  after?: { id: string; command: object };
  /**
   * After the decision: what it may have seen besides what was loaded. Another lock's command may fold its events in
   * flight into this state (the same object) after the load: their `settled` promises (the decision holds once each
   * resolved true). 'forgotten': the state was dropped from the cache since (a failed append's events may have been
   * in it), other than to make room for others: decide again.
   */
  since(): Promise<boolean>[] | 'forgotten';
  /**
   * The revision of the last event folded into the state now: the load's, or later once another lock's events in flight
   * were folded in (`since`). A decision with no events answers the log's position of this revision (probe 87 F1).
   */
  revision(): bigint;
  /**
   * The cached entry the state is (identity only). A command's events in flight are folded (`speculate`) only into
   * the entry it was decided on: one loaded again after a forget may stand at the same revision with other events.
   */
  readonly entry: object;
}

/**
 * Events of a command of this process folded into a cached state before they are committed, so that the next command
 * of the same lock decides on them (StreamHandler's pipelining, docs/adr/0010-command-throughput.md third pass).
 */
export interface Speculation {
  /** the lock whose commands may read the state meanwhile; every other reader waits until `settled` */
  owner: string;
  /** the id of the last event folded */
  id: string;
  command: object;
  /** the cached entry it was folded into (a load of that entry reads nothing from the store meanwhile) */
  entry: object;
  /** resolves true once the command's append was committed, false once it failed and the stream was forgotten */
  settled: Promise<boolean>;
}

/** StreamStates' options */
export interface StreamStatesOptions {
  /** organization and workspace states kept, each kind (default 10,000) */
  maxCached?: number;
  /** rows their states hold in all (ROLLCALL_STATE_CACHE_ROWS; default 1,000,000): state-rows.ts */
  maxCachedRows?: number;
  /** states of other kinds kept (default 100,000) */
  maxCachedSingles?: number;
  /**
   * Runs when a UserDeleted is folded, before the state forgets the user: what this process cached of their personal
   * data (decryption keys) is dropped too, whichever replica deleted them (docs/rules.md#rule-12).
   */
  onUserDeleted?: (user: UserProfile, organizationId: string) => void;
  /** a cold load starts from the stream's snapshot, and loads write new ones (docs/adr/0008-snapshots.md) */
  snapshots?: StateSnapshots;
  /**
   * A diagnostic for concurrency tests, never for production (every load replays its stream from the start): each
   * committed organization or workspace state loaded is compared with a fold of the log, and differences reported.
   */
  checkAgainstLog?: (stream: string, differences: string[]) => void;
}

/**
 * How many commands per stream are remembered by idempotency key. A retry whose first answer was lost (the process
 * died between the append and storing the answer) is recognised while its events are among the stream's last
 * APPLIED_KEYS_PER_STREAM commands; older retries are decided again (docs/adr/0004).
 */
export const APPLIED_KEYS_PER_STREAM = 2_000;

const expectedOf = (revision: bigint): ExpectedRevision => (revision < 0n ? 'no_stream' : revision);

export const loaded = <S>(
  stream: string,
  entry: Entry<S>,
  states: { speculation(stream: string): Speculation | undefined; cached(stream: string): unknown; madeRoom(entry: object): boolean },
): Loaded<S> => {
  const speculation = states.speculation(stream);
  return {
    stream,
    state: entry.state,
    expected: expectedOf(entry.revision),
    applied: (key) => entry.applied.get(key),
    ...(entry.lastAt !== undefined && { lastAt: entry.lastAt }),
    entry,
    ...(speculation && { after: { id: speculation.id, command: speculation.command } }),
    revision: () => entry.revision,
    since: () => {
      // (one dropped only to make room for others holds committed events alone: a decision on it stands)
      if (states.cached(stream) !== entry && !states.madeRoom(entry)) return 'forgotten';
      const now = states.speculation(stream);
      return now && now !== speculation ? [now.settled] : [];
    },
  };
};

/** Records the command an event came from (consecutive events of one command share its key). */
export function noteApplied<S>(entry: Entry<S>, recorded: RecordedEvent): void {
  noteOccurredAt(entry, recorded.metadata.occurredAt);
  const key = recorded.metadata.idempotencyKey;
  if (typeof key !== 'string') return;
  const known = entry.applied.get(key);
  if (known && known.fromRevision + BigInt(known.count) === recorded.revision) known.count++;
  else {
    const requestHash = recorded.metadata.requestHash;
    remember(entry.applied, key, { fromRevision: recorded.revision, count: 1, ...(typeof requestHash === 'string' && { requestHash }) });
  }
}

/**
 * Keeps `entry` under `key` in a cache of states; past `max` entries the least recently loaded goes (returned).
 * A cached stream loaded again moves to the end only once the cache is half full (two loads per command churned the
 * maps for an order that did not matter).
 */
export function keepLatest<T>(cache: Map<string, T>, key: string, entry: T, max: number): [string, T] | undefined {
  if (cache.size < max / 2 && cache.get(key) === entry) return undefined;
  cache.delete(key);
  cache.set(key, entry);
  if (cache.size <= max) return undefined;
  const oldest = cache.entries().next().value!;
  cache.delete(oldest[0]);
  return oldest;
}

export function remember(applied: Map<string, AppliedCommand>, key: string, at: AppliedCommand): void {
  applied.delete(key);
  applied.set(key, at);
  if (applied.size > APPLIED_KEYS_PER_STREAM) applied.delete(applied.keys().next().value!);
}

/** Keeps `entry.lastAt` the latest time its stream's events carry (older logs may hold times out of order). */
export function noteOccurredAt(entry: { lastAt?: string }, occurredAt: unknown): void {
  if (typeof occurredAt === 'string' && (entry.lastAt === undefined || laterThan(occurredAt, entry.lastAt))) entry.lastAt = occurredAt;
}

/**
 * whether ISO time `a` is after `b`, as instants. Both in `toISOString`'s form (24 characters, UTC: what the command
 * path writes) compare as text, without parsing (each event folded is compared: a cold load folds thousands); any
 * other form (an offset, a test's time) is parsed.
 */
export const laterThan = (a: string, b: string): boolean =>
  a.length === 24 && b.length === 24 && a.endsWith('Z') && b.endsWith('Z') ? a > b : Date.parse(a) > Date.parse(b);
