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
}

/** Reads documents of the projection's own collections, seeing the writes of the current batch first. */
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
  /** the collections it owns (reset drops them all), with the fields queries filter, sort or search on */
  collections: Record<string, CollectionSpec>;
  /** event types it reacts to (others are skipped but still advance the checkpoint) */
  eventTypes: readonly string[];
  /** returns the documents to upsert or delete for one event; the runtime stamps them with the event's position */
  apply(e: ProjectedEvent, read: ProjectionReader): Promise<ProjectionWrite[]>;
}

export type ProjectionWrite = { kind: 'upsert'; collection: string; doc: Doc } | { kind: 'delete'; collection: string; id: string };

export const upsert = (collection: string, doc: Doc): ProjectionWrite => ({ kind: 'upsert', collection, doc });
export const remove = (collection: string, id: string): ProjectionWrite => ({ kind: 'delete', collection, id });

/** metadata.occurredAt, or the event's own time field when the metadata lacks it */
export const occurredAt = (e: ProjectedEvent, fallback: string): string =>
  typeof e.metadata.occurredAt === 'string' ? e.metadata.occurredAt : fallback;

export type { CollectionSpec, DocWrite, ReadStore, StoredDoc, Doc };
