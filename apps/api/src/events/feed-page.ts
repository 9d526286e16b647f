import { DOMAIN_STREAM_PREFIXES, type EventFromLaterVersion, laterVersionOf } from '@rollcall/domain';
import type { EventStore } from '@rollcall/event-store';
import { type IntegrationEvent, toIntegrationEvent } from '../infrastructure/integration-events';
import { ProblemException, problem } from '../shared/http/problem';

/** A page of the feed: what `GET /v1/events` and `GET /v1/organizations/{org}/events` answer (EventPage). */
export interface FeedPage {
  items: IntegrationEvent[];
  next: string | null;
  head: string;
}

export interface FeedRead {
  /** the `after` asked for (decimal digits, checked by the DTO), undefined: from the log's start */
  after: string | undefined;
  limit: number;
  /**
   * An organization's feed: which events are its, and how many events of the log one page reads at most looking for
   * them (the log is every organization's: a page of a quiet organization in a busy log ends with fewer items than
   * `limit`, even none, and a `next` past what it read, not at the head yet).
   */
  only?: {
    belongs: (event: IntegrationEvent) => boolean;
    scanned: number;
    organizationId: string;
    /**
     * the names (prefixes) of every stream that holds the organization's events (organizationStreams), for a store
     * that does not index the log by organization: its read is narrowed to those; undefined: too many to name
     */
    streams?: string[];
  };
}

/** at most this many stream names narrow an organization's read (a filter of 2 per workspace): past them, the scan */
export const MAX_ORGANIZATION_STREAMS = 1000;

/**
 * The prefixes of the streams that hold an organization's events: its own and its mail's, and each of its workspaces'
 * and their presence streams' (a stream's events are its organization's: command-parts.ts names it in their
 * metadata). Undefined past MAX_ORGANIZATION_STREAMS.
 */
export function organizationStreams(organizationId: string, workspaceIds: Iterable<string>): string[] | undefined {
  const streams = [`organization-${organizationId}`, `mail-${organizationId}`];
  for (const workspaceId of workspaceIds) {
    streams.push(`workspace-${workspaceId}`, `presence-${workspaceId}-`);
    if (streams.length > MAX_ORGANIZATION_STREAMS) return undefined;
  }
  return streams;
}

/** the workspace an event is about: its stream's (`workspace-<id>`), or its data's `workspaceId` (presence, mail) */
export const workspaceOfEvent = (event: IntegrationEvent): string | undefined => {
  const workspaceId = event.stream.startsWith('workspace-') ? event.stream.slice('workspace-'.length) : (event.data as { workspaceId?: unknown } | null)?.workspaceId;
  return typeof workspaceId === 'string' ? workspaceId : undefined;
};

/**
 * Every domain event after a position, in log order, as the publisher sends them (ADR 0021), read from the log at the
 * time of the request (an erased subject's fields are null) — or an organization's only (`only`). Shared by the
 * operator's feed and an organization's, so that the two page alike.
 */
export async function readFeedPage(store: EventStore, request: FeedRead): Promise<FeedPage> {
  const { after: asked, limit, only } = request;
  const after = asked === undefined ? undefined : BigInt(asked);
  const items: IntegrationEvent[] = [];
  // the head before the read: a page that ends short read every event up to it at least
  const headBefore = await store.headPosition();
  // a position past the log's head was never a `next` of this log: a consumer's checkpoint from another log, or from
  // before a restore; answered empty, it would wait there and skip every event up to it once the log grew past
  // (probe 47 F4). Refused as `X-Min-Position` past the end is (checkMinPositionInLog)
  if (after !== undefined && after > headBefore)
    throw new ProblemException(
      problem(400, 'VALIDATION_FAILED', headBefore < 0n
        ? 'after is beyond the end of the event log, which is empty: leave after out to read from the start (after=0 would skip an event at position 0, where the embedded store\'s log begins).'
        : `after is beyond the end of the event log (its head is ${headBefore}): a position this feed never gave; read from your last applied position of this log, or leave after out to read from the start.`, [
          { field: 'after', message: 'is beyond the end of the event log' },
        ]),
    );
  // a store that ignores the organization hint (KurrentDB) is asked for the organization's streams alone, where it
  // filters on the server: a page then holds up to `limit` of its events, as the embedded store's index gives
  const narrowed = only?.streams !== undefined && store.indexesOrganizations?.() !== true;
  const maxCount = only && !narrowed ? only.scanned : limit;
  let read = 0;
  let lastRead: string | undefined;
  // every event of the domain's streams, also of a type this version does not know (not only the types it knows:
  // the feed skipped those, and `next` went past them for good: probe 67 F4); the log's own records are elsewhere
  let laterVersion: EventFromLaterVersion | undefined;
  // (an organization's: a store that indexes the log by organization reads its events alone — the embedded one, where
  // every event after `after` names its organization: a page then holds up to `limit` of them, not what `scanned`
  // events of every organization held; the others read the log, and `belongs` keeps the organization's)
  const filter = { streamPrefixes: narrowed ? only.streams! : [...DOMAIN_STREAM_PREFIXES], ...(only && { organizationId: only.organizationId }) };
  for await (const recorded of store.readAll({ ...(after !== undefined && { fromPosition: after }), filter, maxCount })) {
    laterVersion = laterVersionOf(recorded);
    if (laterVersion) break;
    read++;
    lastRead = recorded.position.toString();
    const event = toIntegrationEvent(recorded);
    if (event && (!only || only.belongs(event))) items.push(event);
    if (items.length === limit) break;
  }
  // an event a later version of Rollcall wrote (docs/adr/0020 point 4): the page ends before it, and `next` stays
  // there, as the projector stops there; with nothing before it to give, the feed answers what a read that meets
  // one answers (503 WRITTEN_BY_LATER_VERSION: this process must be upgraded)
  if (laterVersion && items.length === 0 && (!only || lastRead === undefined)) throw laterVersion;
  // an organization's page goes on from the last event it read, its own or not; the operator's from its last item
  let next = (only ? lastRead : items.at(-1)?.position) ?? asked ?? null;
  // caught up: past the log's own records too (PersonalDataErased, never published), so that `next` reaches `head`
  // on a quiet log (probe 45 F9: it stayed one below after every deletion)
  const caughtUp = !laterVersion && items.length < limit && read < maxCount;
  if (caughtUp && headBefore > 0n && (next === null || headBefore > BigInt(next))) next = headBefore.toString();
  return { items, next, head: (await store.headPosition()).toString() };
}
