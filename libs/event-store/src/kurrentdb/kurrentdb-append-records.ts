import type {
  AppendConsistencyViolationError,
  AppendRecordInput,
  AppendRecordsResult,
  ConsistencyCheck,
  ConsistencyViolation,
  KurrentDBClient,
  ResolvedEvent,
} from '@kurrent/kurrentdb-client';
import { kurrentDriver } from '../drivers/lazy-drivers';
import { type MultiAppendResult, type StreamAppend, WrongExpectedRevisionError } from '../port';
import { commitPositionOf, encodeMetadata, toEventData } from './kurrentdb-codec';

/**
 * appendMany through the client's `appendRecords` (KurrentDB 26.1+): the records of every part, in the parts' order,
 * and a consistency check for EVERY part, written or check-only. The records carry no expected revision of their
 * own: the server checks each part's stream at commit, in the same write (the core's multi-stream WriteEvents, one
 * expected version per stream, zero events for a check-only one). So a writer appending to a checked stream after
 * the command read it makes the append fail, however short the window: the race of the read-then-multiStreamAppend
 * path (KurrentDB 25.1) does not exist here.
 *
 * A re-send of a batch that was committed (appendWithRetry after a timeout; the command side after
 * AppendOutcomeUnknownError): what the server does, from its sources (kurrent-io/KurrentDB,
 * src/KurrentDB.Core/Services/Storage/ReaderIndex/IndexWriter.cs `CheckCommit`, StorageWriterService.cs
 * `VerifyCommitChecks`, src/KurrentDB.Core.XUnit.Tests/TransactionLog/MultiStreamWrites/MultiStreamWritesTests.cs):
 * each stream is judged alone. A written stream whose expected revision is now behind and whose next events carry the
 * batch's ids is Idempotent; a check-only stream that did not move is Ok (zero events: never Idempotent). The write
 * answers as a duplicate (the original revisions, nothing written) only when EVERY stream is Idempotent; a mix of Ok and
 * Idempotent is answered as a failed consistency check ("mix of only OK and Idempotent is deemed unlikely"), the
 * Idempotent streams named as violated at their current revision (the tests' "B are idempotent" case). So a re-sent
 * batch without check-only parts comes back as a duplicate, and one WITH check-only parts comes back as a violation
 * naming its own written streams. Taken for a conflict, the command would be decided again: it would then find its
 * idempotency key in the stream and answer from the log (StreamHandler: `appliedOf`), so nothing is written twice
 * or lost, but the port promises more (a re-append answers as the original did: the contract suite). Hence
 * `replayOf`: on a violation naming a written stream, each written stream is read where the batch would be; when every
 * one holds the batch's own ids in order, the batch was committed (atomically, its checks met at that commit) and its
 * original result is returned, marked `replayed`. Otherwise it is a conflict. (While the first attempt is written but
 * not yet replicated the server drops the duplicate without an answer, `IdempotentNotReady`: a timeout, as for
 * multiStreamAppend.)
 */

/** The request appendRecords takes for these parts. */
export interface RecordsRequest {
  records: AppendRecordInput[];
  checks: ConsistencyCheck[];
}

/** The reads this path needs from the store (its paged, bounded reads). */
export interface RecordsReads {
  /** at most `count` events of the stream from `fromRevision` on (none for a missing stream) */
  eventsFrom(stream: string, fromRevision: bigint, count: number): Promise<ResolvedEvent[]>;
  /** the revision of the stream's last event, 'no_stream' when it has none */
  lastRevisionOf(stream: string): Promise<bigint | 'no_stream'>;
  /** the largest commit position of these streams' events at these revisions (a response without a position) */
  lastPositionOf(written: Map<string, bigint>): Promise<bigint>;
}

export function recordsRequest(parts: StreamAppend[]): RecordsRequest {
  const { STREAM_STATE } = kurrentDriver();
  return {
    records: parts.flatMap((p) =>
      p.events.map((e) => ({ streamName: p.stream, record: toEventData(e, encodeMetadata(e.metadata)) })),
    ),
    checks: parts.map((p) => ({ type: STREAM_STATE, streamName: p.stream, expectedState: p.expected })),
  };
}

/** One attempt: the batch written, or found written (a re-send), or WrongExpectedRevisionError, or the client's error. */
export async function appendRecordsOnce(
  client: KurrentDBClient,
  reads: RecordsReads,
  parts: StreamAppend[],
  request: RecordsRequest,
): Promise<MultiAppendResult> {
  let response: AppendRecordsResult;
  try {
    response = await client.appendRecords(request.records, request.checks);
  } catch (error) {
    if (!(error instanceof kurrentDriver().AppendConsistencyViolationError)) throw error;
    const replay = await replayOf(parts, error, reads);
    if (replay) return replay;
    throw await conflictOf(parts, error, reads);
  }
  const written = new Map(response.responses.map((r) => [r.streamName, r.revision]));
  return {
    // below 0: a duplicate in every stream whose position the server could not read back (as for multiStreamAppend)
    position: response.position >= 0n ? response.position : await reads.lastPositionOf(written),
    streams: await Promise.all(
      parts.map(async (p) => {
        const nextRevision = p.events.length > 0 ? written.get(p.stream) : await checkedRevision(p, reads);
        if (nextRevision === undefined) throw new Error(`KurrentDB did not return the revision of ${p.stream}`);
        return { stream: p.stream, nextRevision };
      }),
    ),
  };
}

/**
 * A check-only part's revision in the result: the one it expected, which the server checked at commit (the stream did
 * not move); -1n for 'no_stream', as the read path returns. 'any' checks nothing: its revision is read after the commit.
 */
async function checkedRevision(part: StreamAppend, reads: RecordsReads): Promise<bigint> {
  const revision = part.expected === 'any' ? await reads.lastRevisionOf(part.stream) : part.expected;
  return revision === 'no_stream' ? -1n : revision;
}

/** how many written streams a re-send's read-back reads at once (a deletion writes every workspace of the user) */
const READS_AT_ONCE = 16;

/**
 * The original result of a batch the violation shows committed before (see the comment above), or undefined. Read back
 * only when the violation names a written part, or names none (the server names the Idempotent streams of a re-send);
 * a part expecting 'any' cannot be placed, so such a batch is never taken for a re-send.
 */
async function replayOf(
  parts: StreamAppend[],
  error: AppendConsistencyViolationError,
  reads: RecordsReads,
): Promise<MultiAppendResult | undefined> {
  const named = error.violations.map((v) => parts[partIndexOf(v, parts)]);
  if (error.violations.length > 0 && !named.some((p) => p !== undefined && p.events.length > 0)) return undefined;
  const written = parts.filter((p) => p.events.length > 0);
  if (written.some((p) => p.expected === 'any')) return undefined;
  const positions: bigint[] = [];
  for (let i = 0; i < written.length; i += READS_AT_ONCE) {
    const found = await Promise.all(written.slice(i, i + READS_AT_ONCE).map((p) => batchPositionIn(p, reads)));
    for (const position of found) {
      if (position === undefined) return undefined;
      positions.push(position);
    }
  }
  return {
    position: positions.reduce((a, b) => (b > a ? b : a)),
    streams: await Promise.all(
      parts.map(async (p) => ({
        stream: p.stream,
        nextRevision: p.events.length > 0 ? firstRevisionOf(p) + BigInt(p.events.length) - 1n : await checkedRevision(p, reads),
      })),
    ),
    replayed: true,
  };
}

const firstRevisionOf = (part: StreamAppend): bigint => (part.expected === 'no_stream' ? 0n : (part.expected as bigint) + 1n);

/** the commit position of the part's last event when the stream holds the part's events, in order, where it expected them */
async function batchPositionIn(part: StreamAppend, reads: RecordsReads): Promise<bigint | undefined> {
  const found = await reads.eventsFrom(part.stream, firstRevisionOf(part), part.events.length);
  if (found.length !== part.events.length) return undefined;
  if (found.some((r, i) => r.event?.id.toLowerCase() !== part.events[i]!.id.toLowerCase())) return undefined;
  return commitPositionOf(found.at(-1)!);
}

/**
 * The port's conflict for a violation: the first part (in the batch's order) the server named, with the state it found.
 * A state that is no revision to decide again against (a tombstoned stream: it can never be written again) is a
 * refusal: the client's error is returned to be thrown as it is, as multiStreamAppend's StreamTombstonedError is.
 */
async function conflictOf(
  parts: StreamAppend[],
  error: AppendConsistencyViolationError,
  reads: RecordsReads,
): Promise<Error> {
  const violated = error.violations
    .map((v) => ({ index: partIndexOf(v, parts), actual: portState(v.actualState) }))
    .filter((v) => v.index >= 0)
    .sort((a, b) => a.index - b.index);
  if (violated.some((v) => v.actual === undefined)) return error;
  const first = violated[0];
  // the server named no stream of this batch: the conflict is put on the first part, at the revision it is at now
  const part = parts[first?.index ?? 0]!;
  return new WrongExpectedRevisionError(part.stream, part.expected, first?.actual ?? (await reads.lastRevisionOf(part.stream)));
}

/** the part a violation is about: by its stream, else by the check's index (the checks are the parts, in order) */
function partIndexOf(violation: ConsistencyViolation, parts: StreamAppend[]): number {
  const byName = parts.findIndex((p) => p.stream === violation.streamName);
  if (byName >= 0) return byName;
  return Number.isInteger(violation.checkIndex) && violation.checkIndex < parts.length ? violation.checkIndex : -1;
}

/** soft-deleted, as servers report it: -5 (the client's types, the server's ActualStreamCondition), -10 (earlier 26.1 builds) */
const SOFT_DELETED = new Set([-5n, -10n]);

/**
 * The actual state a violation reports, as WrongExpectedRevisionError's `actual`; undefined for a state no decision can
 * be made against. A soft-deleted stream reads as no stream here (`page` hands out nothing of it) and may be written
 * again: 'no_stream' (the server reports it only against `stream_exists`, which this adapter never sends). Tombstoned
 * (-6, -100 in earlier builds) or any other sentinel: undefined.
 */
function portState(actual: ConsistencyViolation['actualState']): bigint | 'no_stream' | undefined {
  if (actual === 'no_stream') return 'no_stream';
  if (typeof actual !== 'bigint') return undefined;
  if (actual >= 0n) return actual;
  return SOFT_DELETED.has(actual) ? 'no_stream' : undefined;
}
