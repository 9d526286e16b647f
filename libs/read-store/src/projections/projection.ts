import type { DomainEvent } from '@rollcall/domain';
import type { CollectionSpec, DocWrite, ReadStore, StoredDoc, Doc } from '../port';

/** A domain event as a projection sees it: upcast, with where it sits in the log and who caused it. */
export interface ProjectedEvent {
  event: DomainEvent;
  eventId: string;
  stream: string;
  /** global position in the log */
  position: bigint;
  /** metadata.actorId, metadata.occurredAt, ... as appended by the command side */
  metadata: { actorId?: string; occurredAt?: string; correlationId?: string; [k: string]: unknown };
  /** the pseudonymous subject each personal field was sealed under, by path (RecordedEvent.sealedUnder) */
  sealedUnder?: Readonly<Record<string, string>>;
}

/**
 * Reads documents of the projection's own collections, seeing the writes of the current batch first. What it returns
 * must not be changed: it may be the very object the runtime holds (a document written earlier in the batch, or in
 * a rebuild's fold); a projection writes a new object instead.
 */
export interface ProjectionReader {
  get<T extends Doc = Doc>(collection: string, id: string): Promise<T | undefined>;
  /** documents of `collection` whose `field` equals `value` (field must be indexed) */
  findBy<T extends Doc = Doc>(collection: string, field: string, value: string): Promise<T[]>;
}

/**
 * A projection: a pure function of (its read model, event) → document writes: no clock, no randomness, the
 * same code for every ReadStore adapter. The projector runtime owns subscriptions, batching, the position
 * guard and checkpoints; a projection only says what changes. It reads only its own collections (they share
 * its checkpoint), and deals with event types it does not know by returning no writes.
 */
export interface Projection {
  name: string;
  /**
   * Raised when the documents it writes for the same log change (a new field, another sort key): its checkpoint is
   * kept under a key naming the version (`checkpointKey`), so a store projected by an earlier version has no
   * checkpoint for this one, and the projector resets and replays it at its start. Absent: version 1.
   */
  version?: number;
  /** the collections it owns (reset drops them all), with the fields queries filter, sort or search on */
  collections: Record<string, CollectionSpec>;
  /** event types it reacts to (others are skipped but still advance the checkpoint) */
  eventTypes: readonly string[];
  /** returns the documents to upsert or delete for one event; the runtime stamps them with the event's position */
  apply(e: ProjectedEvent, read: ProjectionReader): Promise<ProjectionWrite[]>;
}

/** Where a projection's checkpoint is kept: its name, with `@<version>` from version 2 on (version 1 keeps its old key). */
export const checkpointKey = (p: Pick<Projection, 'name' | 'version'>): string => ((p.version ?? 1) > 1 ? `${p.name}@${p.version}` : p.name);

/** The checkpoint keys of its earlier versions: dropped when this version resets, so that going back to one replays it. */
export const earlierCheckpointKeys = (p: Pick<Projection, 'name' | 'version'>): string[] =>
  Array.from({ length: (p.version ?? 1) - 1 }, (_, i) => checkpointKey({ name: p.name, version: i + 1 }));

export type ProjectionWrite = { kind: 'upsert'; collection: string; doc: Doc } | { kind: 'delete'; collection: string; id: string };

export const upsert = (collection: string, doc: Doc): ProjectionWrite => ({ kind: 'upsert', collection, doc });
export const remove = (collection: string, id: string): ProjectionWrite => ({ kind: 'delete', collection, id });

/** the domain events of type `T` */
export type EventOf<T extends DomainEvent['type']> = Extract<DomainEvent, { type: T }>;

/**
 * A projection that keeps one document per entity in one collection (named after the projection): `id` says
 * which document an event is about, `evolve` its next state from the current one (undefined when there is none
 * yet): a document to store, `null` to delete it, `undefined` to leave it as it is. Nothing else is read or
 * written. The write goes through the runtime as every projection's: stamped with the event's position, and
 * applied by the store only over a document of an older position (the per-document position guard), so an
 * event replayed after a crash, or again in a rebuild, leaves the document as it was.
 */
export function documentProjection<D extends Doc, T extends DomainEvent['type']>(definition: {
  collection: string;
  /** as Projection's: raised when what the documents hold changes (the collection is replayed once) */
  version?: number;
  /** how the collection is queried */
  spec: CollectionSpec;
  eventTypes: readonly T[];
  id: (event: EventOf<T>) => string;
  evolve: (current: D | undefined, event: EventOf<T>, e: ProjectedEvent) => D | null | undefined;
}): Projection {
  const { collection, version, spec, eventTypes, id, evolve } = definition;
  const handles = (event: DomainEvent): event is EventOf<T> => (eventTypes as readonly string[]).includes(event.type);
  return {
    name: collection,
    ...(version !== undefined && { version }),
    collections: { [collection]: spec },
    eventTypes,
    apply: async (e, read) => {
      // the runtime skips other types; an unknown one reaching here (an older runtime) changes nothing
      if (!handles(e.event)) return [];
      const docId = id(e.event);
      const next = evolve(await read.get<D>(collection, docId), e.event, e);
      if (next === undefined) return [];
      if (next === null) return [remove(collection, docId)];
      if (next._id !== docId) throw new Error(`${collection}: evolve returned ${next._id} for document ${docId}`);
      return [upsert(collection, next)];
    },
  };
}

/** metadata.occurredAt, or the event's own time field when the metadata lacks it */
export const occurredAt = (e: ProjectedEvent, fallback: string): string =>
  typeof e.metadata.occurredAt === 'string' ? e.metadata.occurredAt : fallback;

/** metadata.actorId: who the command's caller acted as (a user id, or `system`); null when the metadata lacks it */
export const actorOf = (e: ProjectedEvent): string | null => (typeof e.metadata.actorId === 'string' ? e.metadata.actorId : null);

/** metadata.correlationId: the request's id (its X-Request-Id, or the one made for it); null when the metadata lacks it */
export const correlationOf = (e: ProjectedEvent): string | null => (typeof e.metadata.correlationId === 'string' ? e.metadata.correlationId : null);

/** metadata.apiKeyId: the organization API key of the request; null with the system key, a link's token, or before session 52 */
export const apiKeyOf = (e: ProjectedEvent): string | null => (typeof e.metadata.apiKeyId === 'string' ? e.metadata.apiKeyId : null);

export type { CollectionSpec, DocWrite, ReadStore, StoredDoc, Doc };

/**
 * Collections earlier versions wrote and no projection does any more: `member_invitations` (each invitation's address,
 * until 2026-11-30: ADR 0012 point 6) and `team_members`. A store drops them at init (ReadStore.init `retired`): left,
 * an upgraded read store kept the addresses of users deleted since (probe 37b #1; rule 12).
 */
export const RETIRED_COLLECTIONS: readonly string[] = ['member_invitations', 'team_members'];
