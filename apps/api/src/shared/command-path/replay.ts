// A command found in the log by its idempotency key (a retry, or the same request decided by another replica): where
// its events are, and reading them back (docs/adr/0004 point 2).
import { fromStored } from '@rollcall/domain';
import type { EventStore, RecordedEvent } from '@rollcall/event-store';
import { type CommandContext, sameRequest } from './command-context';
import { type ErasureLookup, erasedSince, readSpan } from '../erasure/erased-requests';
import { type EventSpan, IdempotencyKeyErasedError, IdempotencyKeyReusedError } from './idempotency';
import type { AppliedCommand, Loaded } from './stream-states';

/** A command found in the states by its key: where its events are, and whether they answer another request. */
export interface FoundCommand {
  parts: { stream: string; at: AppliedCommand }[];
  /** the key's events were recorded with another request's fingerprint (readBack refuses it, after the erasure check) */
  reused: boolean;
}

/** Where the command's events are when the states already hold them (found by idempotency key): a retry. */
export function appliedOf(streams: Loaded<unknown>[], ctx: CommandContext, attempt: number): FoundCommand | undefined {
  // a key made for this request (no client key) is in no log before this command's first append was sent
  if (attempt === 1 && ctx.generatedKey) return undefined;
  // under the recorded form, or (events recorded before session 33) the client's key in clear
  const inClear = ctx.recordedKey !== ctx.idempotencyKey;
  const found = streams
    .map((s) => ({ stream: s.stream, at: (s.applied(ctx.recordedKey) ?? (inClear ? s.applied(ctx.idempotencyKey) : undefined))! }))
    .filter((s) => s.at !== undefined);
  if (found.length === 0) return undefined;
  // the key's events answer another request (the stored answer, which would have said so, is gone)
  const reused = ctx.requestHash !== undefined && found.some((f) => f.at.requestHash !== undefined && !sameRequest(ctx, f.at.requestHash));
  return { parts: found, reused };
}

/**
 * The command's events, read back in log order: where the states found its key, and in the command's other streams
 * after the revision their states were loaded at. A command's parts are committed together, but its streams' states
 * are loaded one after the other: another replica's commit of the command can land between two loads, so one state
 * holds the key and another (loaded before) does not; the log has both parts (replicas e2e, seed 13: an acceptance
 * answered from its organization part alone, its workspace part missing, was a 500).
 */
export async function readBack<E>(
  store: EventStore,
  { parts: found, reused }: FoundCommand,
  loaded: Loaded<unknown>[],
  ctx: Pick<CommandContext, 'idempotencyKey' | 'recordedKey' | 'requestHash' | 'earlierRequestHashes'>,
  erasures?: ErasureLookup,
): Promise<{ events: E[]; position: string; readFrom: string; spans: EventSpan[] }> {
  const { idempotencyKey, recordedKey, requestHash } = ctx;
  const recorded: RecordedEvent[] = [];
  let other = reused;
  // (the part the states found was read, so the other parts read now are there: the embedded store's reads never go
  // back in the log within a turn, KnownHeads.saw; replicas e2e seeds 26 and 36 of session 21, before it did)
  for (const { stream, at } of found) await readSpan(store, stream, at.fromRevision, at.count, recorded);
  for (const { stream, expected } of loaded) {
    if (found.some((f) => f.stream === stream)) continue;
    const fromRevision = expected === 'no_stream' ? 0n : expected === 'any' ? undefined : expected + 1n;
    if (fromRevision === undefined) continue;
    for await (const e of store.readStream(stream, { fromRevision })) {
      if (e.metadata.idempotencyKey !== recordedKey && e.metadata.idempotencyKey !== idempotencyKey) continue;
      // as appliedOf: the key's events answer another request
      if (requestHash !== undefined && typeof e.metadata.requestHash === 'string' && !sameRequest(ctx, e.metadata.requestHash)) other = true;
      recorded.push(e);
    }
  }
  const readFrom = [
    ...found.map(({ stream, at }) => `${stream}@${at.fromRevision}+${at.count}`),
    ...loaded.filter((l) => !found.some((f) => f.stream === l.stream)).map((l) => `${l.stream}>${String(l.expected)}${l.after ? ' (in flight)' : ''}`),
  ].join(', ');
  if (recorded.length === 0) throw new Error(`a command found by its key read back no events (${readFrom})`);
  // erased first: answered alike whatever the request (IdempotencyKeyErasedError), then another request's key
  if (await erasedSince(recorded, erasures)) throw new IdempotencyKeyErasedError();
  if (other) throw new IdempotencyKeyReusedError();
  recorded.sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
  const events = recorded.map((e) => fromStored(e)).filter((e) => e !== undefined) as E[];
  return { events, position: recorded[recorded.length - 1]!.position.toString(), readFrom, spans: spansOf(recorded) };
}

/** where these events are, a span per stream (a command's events in one stream are consecutive) */
function spansOf(events: readonly RecordedEvent[]): EventSpan[] {
  const spans = new Map<string, { from: bigint; count: number }>();
  for (const e of events) {
    const span = spans.get(e.stream);
    if (!span) spans.set(e.stream, { from: e.revision, count: 1 });
    else [span.from, span.count] = [e.revision < span.from ? e.revision : span.from, span.count + 1];
  }
  return [...spans].map(([stream, { from, count }]) => ({ stream, fromRevision: from.toString(), count }));
}

/** Where a decision with no events stood: each stream it loaded, at the revision its state had then. */
export type DecidedAt = { stream: string; revision: bigint }[];

/** the revisions of the states a decision was made on (read at the decision: later commands may fold into them) */
export const decidedAt = (streams: Loaded<unknown>[]): DecidedAt => streams.map((s) => ({ stream: s.stream, revision: s.revision() }));

/**
 * The log's position of the states a decision with no events was made on: the latest of their last events' positions,
 * read once those are committed (a state may hold events in flight). Probe 87 F1: a no-op answered the head of the log
 * read when it was answered, beside an access other commands had changed since — a state the log never held there.
 */
export async function positionOfState(store: EventStore, at: DecidedAt): Promise<string> {
  let position = -1n;
  for (const { stream, revision } of at) {
    if (revision < 0n) continue;
    for await (const e of store.readStream(stream, { fromRevision: revision, maxCount: 1, personalData: 'sealed' })) if (e.position > position) position = e.position;
  }
  return (position >= 0n ? position : await store.headPosition()).toString();
}
