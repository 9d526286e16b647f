import type { RecordedEvent } from '@rollcall/event-store';
import { ProjectionBatch, toProjectedEvent } from '../../projector/batch';
import type { Doc, Projection } from '../projection';

/**
 * A projection's read model in memory, built with the runtime's own batch folding: for unit specs of
 * projections, without any store. `run` applies events as one batch, then "commits" it.
 */
export class MemoryModel {
  private readonly collections = new Map<string, Map<string, Doc>>();

  constructor(readonly projection: Projection) {}

  async run(events: readonly RecordedEvent[]): Promise<this> {
    const batch = new ProjectionBatch(this.projection, {
      get: async (collection, id) => this.collection(collection).get(id),
      findBy: async (collection, field, value) => [...this.collection(collection).values()].filter((d) => d[field] === value),
    });
    for (const recorded of events) {
      const e = toProjectedEvent(recorded);
      if (e && this.projection.eventTypes.includes(e.event.type)) await batch.apply(e);
      else batch.skip(recorded.position);
    }
    for (const w of batch.writes()) {
      if (w.kind === 'upsert') this.collection(w.collection).set(w.doc._id, w.doc);
      else this.collection(w.collection).delete(w.id);
    }
    return this;
  }

  get<T extends Doc = Doc>(collection: string, id: string): T | undefined {
    return this.collection(collection).get(id) as T | undefined;
  }

  all<T extends Doc = Doc>(collection: string): T[] {
    return [...this.collection(collection).values()].sort((a, b) => (a._id < b._id ? -1 : 1)) as T[];
  }

  private collection(name: string): Map<string, Doc> {
    let c = this.collections.get(name);
    if (!c) {
      c = new Map();
      this.collections.set(name, c);
    }
    return c;
  }
}
