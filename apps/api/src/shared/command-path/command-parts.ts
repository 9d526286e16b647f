// The batch a command's decision becomes: its events per stream, each with this decision's own id and the command's
// metadata (idempotency key, request fingerprint, time), at the revisions the decision was made on.
import { type DomainEvent, type EventMetadata, toStored } from '@rollcall/domain';
import { type NewEvent, type StreamAppend, newEventId } from '@rollcall/event-store';
import type { CommandContext } from './command-context';
import type { OwnCommand } from './stream-entries';
import type { Loaded } from './stream-states';

export interface HandleOptions<E> {
  /** the stream of each event, for commands that append to several streams at once (default: the one stream) */
  route?: (event: E) => string;
  /** more metadata for every event of the command (never personal data: metadata is not encrypted) */
  metadata?: Record<string, unknown> | ((events: E[]) => Record<string, unknown>);
  /**
   * more metadata for some of its events only, chosen from the events in the order they are appended (log order): an
   * erasure's subject list goes on the events that must carry it, not on every one (erasureMetadata)
   */
  metadataOf?: (inAppendOrder: readonly E[]) => ReadonlyMap<E, Record<string, unknown>>;
  /**
   * The decision rests on every stream loaded, not only those it appends to: each one that gets no events is
   * appended as a check (a part without events) at the revision its state was loaded at, so that a write to it in
   * the meantime sends the command back to decide again. For rare commands over the whole organization: an email
   * change refused while an invitation to the address is pending, against that invitation committed meanwhile
   * (session 22's probe). The embedded store and KurrentDB 26.1+ check in the commit; on KurrentDB 25.1 the adapter
   * reads the revision first (a window of a round trip: its appendMany).
   */
  checkLoaded?: boolean;
  /**
   * Streams the command appends to without deciding on them, at no expected revision ('any'), and without loading
   * them: a revoke's or a deletion's MembershipEnded on the member's presence stream, whose only job is to move that
   * stream (their status changes are appended at its revision and meet it); the command rests on nothing there, and a
   * member's storm of status changes must not send it back (probe 31b: 8 of 37 revokes were 409 at load 6 when it did).
   */
  unchecked?: (stream: string) => boolean;
}

/**
 * The parts to append: per stream its events, in order, with ids drawn now (a re-send after an unclear outcome sends
 * these same objects: the same ids; another decision draws others: docs/adr/0004 point 3).
 */
export function partsOf<E extends DomainEvent>(
  streams: Loaded<unknown>[],
  events: E[],
  ctx: CommandContext,
  options: HandleOptions<E>,
  organizationOf?: (stream: string) => string,
): StreamAppend[] {
  const metadata: EventMetadata & Record<string, unknown> = {
    actorId: ctx.actorId,
    correlationId: ctx.correlationId,
    causationId: ctx.recordedKey,
    idempotencyKey: ctx.recordedKey,
    occurredAt: ctx.now,
    // which key: a change made with a second key in someone's name is told apart from their own (probe 69 F10)
    ...(ctx.apiKey !== undefined && { apiKeyId: ctx.apiKey.keyId }),
    ...(ctx.requestHash !== undefined && { requestHash: ctx.requestHash }),
    ...(typeof options.metadata === 'function' ? options.metadata(events) : options.metadata),
  };
  const eventsByStream = groupedByStream(events, options, streams[0]!.stream);
  // the parts are appended in this order, each stream's events in theirs
  const extra = options.metadataOf?.([...eventsByStream.values()].flat());
  const byStream = new Map<string, NewEvent[]>(
    [...eventsByStream].map(([stream, list]) => {
      // the stream's organization (Target.organizationOf): every integration event names it (probe 87 F4)
      const ofStream = organizationOf ? { ...metadata, organizationId: organizationOf(stream) } : metadata;
      return [stream, list.map((event) => ({ id: newEventId(), ...toStored(event, extra?.has(event) ? { ...ofStream, ...extra.get(event) } : ofStream) }))];
    }),
  );
  // by name: a command over every workspace of a large organization has thousands of streams and parts (probe 53 F2:
  // a find per part made 7,500 workspaces 28 million comparisons per decision)
  const loadedByStream = new Map(streams.map((s) => [s.stream, s]));
  const parts: StreamAppend[] = [...byStream].map(([stream, list]) => {
    const loaded = loadedByStream.get(stream);
    if (loaded) return { stream, events: list, expected: loaded.expected };
    if (options.unchecked?.(stream)) return { stream, events: list, expected: 'any' as const };
    throw new Error(`a decision routed an event to ${stream}, which the command did not load`);
  });
  // after the parts with events: the first part's first event carries the command's metadata (idempotencyOf)
  if (options.checkLoaded === true) for (const s of streams) if (!byStream.has(s.stream)) parts.push({ stream: s.stream, events: [], expected: s.expected });
  return parts;
}

/**
 * The events of a command that go to each of its streams, grouped once (a deletion across thousands of workspaces
 * has as many parts: a filter per part was quadratic, probe 53 F2).
 */
export function ownEventsOf<E extends DomainEvent>(events: E[], options: HandleOptions<E>): (stream: string) => E[] {
  if (!options.route) return () => events;
  const byStream = groupedByStream(events, options, '');
  return (stream) => byStream.get(stream) ?? [];
}

/** The events by the stream each goes to (`only` without a route), streams in the order they first appear. */
function groupedByStream<E>(events: E[], options: HandleOptions<E>, only: string): Map<string, E[]> {
  const byStream = new Map<string, E[]>();
  for (const event of events) {
    const stream = options.route ? options.route(event) : only;
    (byStream.get(stream) ?? byStream.set(stream, []).get(stream)!).push(event);
  }
  return byStream;
}

/** The command's idempotency key (and request fingerprint) and time, as its events' metadata carry them. */
export function idempotencyOf(parts: StreamAppend[]): OwnCommand {
  const { idempotencyKey, requestHash, occurredAt } = parts[0]!.events[0]!.metadata as unknown as OwnCommand;
  return { idempotencyKey, ...(occurredAt !== undefined && { occurredAt }), ...(requestHash !== undefined && { requestHash }) };
}
