import { fromStored } from '@rollcall/domain';
import type { RecordedEvent } from '@rollcall/event-store';
import type { Doc, DocWrite } from '../port';
import type { ProjectedEvent, Projection, ProjectionReader } from '../projections/projection';

/** Where a batch reads documents that it has not written itself: the read store (or a test's memory). */
export interface DocSource {
  get(collection: string, id: string): Promise<Doc | undefined>;
  findBy(collection: string, field: string, value: string): Promise<Doc[]>;
}

/** The recorded event as projections see it, upcast; undefined for event types the domain does not know. */
export function toProjectedEvent(recorded: RecordedEvent): ProjectedEvent | undefined {
  const event = fromStored({ type: recorded.type, data: recorded.data, metadata: recorded.metadata });
  if (!event) return undefined;
  return { event, eventId: recorded.id, stream: recorded.stream, position: recorded.position, metadata: recorded.metadata };
}

const keyOf = (collection: string, id: string) => `${collection}\u0000${id}`;

/**
 * The writes of one projection over one batch of events, folded in memory: one write per document, the last
 * one wins, stamped with the position of the last event applied to that document. Its reader sees these
 * pending writes before the source.
 */
export class ProjectionBatch {
  private readonly pending = new Map<string, DocWrite>();
  /** position of the last event applied (or skipped) in this batch; the checkpoint to commit */
  lastPosition: bigint | undefined;
  /** events seen by this batch (applied or skipped) */
  events = 0;

  readonly reader: ProjectionReader;

  constructor(
    readonly projection: Projection,
    private readonly source: DocSource,
  ) {
    this.reader = {
      get: async <T extends Doc>(collection: string, id: string) => {
        const write = this.pending.get(keyOf(collection, id));
        if (write) return (write.kind === 'upsert' ? write.doc : undefined) as T | undefined;
        return (await this.source.get(collection, id)) as T | undefined;
      },
      findBy: async <T extends Doc>(collection: string, field: string, value: string) => {
        const found = new Map((await this.source.findBy(collection, field, value)).map((d) => [d._id, d]));
        for (const write of this.pending.values()) {
          if (write.collection !== collection) continue;
          if (write.kind === 'delete') found.delete(write.id);
          else if (write.doc[field] === value) found.set(write.doc._id, write.doc);
          else found.delete(write.doc._id);
        }
        return [...found.values()] as T[];
      },
    };
  }

  get size(): number {
    return this.pending.size;
  }

  /** applies one event; throws what the projection throws (then nothing of that event is kept) */
  async apply(e: ProjectedEvent): Promise<void> {
    const writes = await this.projection.apply(e, this.reader);
    for (const w of writes) {
      if (!(w.collection in this.projection.collections))
        throw new Error(`projection ${this.projection.name} wrote to ${w.collection}, which it does not own`);
    }
    for (const w of writes) {
      if (w.kind === 'upsert') this.pending.set(keyOf(w.collection, w.doc._id), { ...w, position: e.position });
      else this.pending.set(keyOf(w.collection, w.id), { ...w, position: e.position });
    }
    this.skip(e.position);
  }

  /** an event this projection does not react to: only the checkpoint moves */
  skip(position: bigint): void {
    this.lastPosition = position;
    this.events++;
  }

  writes(): DocWrite[] {
    return [...this.pending.values()];
  }
}
