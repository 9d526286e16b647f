import type { DomainEvent } from '@rollcall/domain';
import type { DocWrite, ReadStore, StoredDoc, Doc } from '../port';

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
 * A projection: a pure-ish function of (its read model, event) → document writes. The projector runtime
 * owns subscriptions, batching, the position guard and checkpoints; a projection only says what changes.
 */
export interface Projection {
  name: string;
  /** the collections it owns, with the fields queries filter or sort on (indexes) */
  collections: Record<string, { indexes: string[] }>;
  /** event types it reacts to (others are skipped but still advance the checkpoint) */
  eventTypes: readonly string[];
  /** returns the documents to upsert or delete for one event; the runtime stamps them with the event's position */
  apply(e: ProjectedEvent, read: ProjectionReader): Promise<ProjectionWrite[]>;
}

export type ProjectionWrite = { kind: 'upsert'; collection: string; doc: Doc } | { kind: 'delete'; collection: string; id: string };

export type { DocWrite, ReadStore, StoredDoc, Doc };
