import { DOMAIN_EVENT_TYPES } from '@rollcall/domain';
import type { Doc, Projection } from '../../projections/projection';

export interface EventCountDoc extends Doc {
  n: number;
  /** every position applied, in order, run-length encoded as [from, to] ranges (a gap or repeat shows) */
  ranges: [number, number][];
}

/**
 * Counts the events it applies and records their positions: an event lost or applied twice shows at once
 * (the count differs from the log, the ranges have a gap or an overlap). For crash tests only.
 */
export const countingProjection: Projection = {
  name: 'event_count',
  collections: { event_count: { indexes: [] } },
  eventTypes: DOMAIN_EVENT_TYPES,
  apply: async (e, read) => {
    const doc: EventCountDoc = (await read.get<EventCountDoc>('event_count', 'count')) ?? { _id: 'count', n: 0, ranges: [] };
    const position = Number(e.position);
    const ranges = doc.ranges.map((r) => [...r] as [number, number]);
    const last = ranges.at(-1);
    if (last && last[1] === position - 1) last[1] = position;
    else ranges.push([position, position]);
    return [{ kind: 'upsert', collection: 'event_count', doc: { _id: 'count', n: doc.n + 1, ranges } }];
  },
};
