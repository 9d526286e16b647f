import type { CollectionSpec, Doc } from '../../port';

/** sqlite-complete-reset.int-spec.ts and its child process: one collection with indexes, a compound and search fields */
export const COMPLETE_RESET_SPEC: Record<string, CollectionSpec> = {
  people: { indexes: ['org', 'name'], compound: [['org', 'name']], search: ['name', 'email'] },
};

/** the index names the spec gives (schema.ts: `rs_idx_<collection>__<fields joined by +>`) */
export const COMPLETE_RESET_INDEXES = ['rs_idx_people__name', 'rs_idx_people__org', 'rs_idx_people__org+name'];

/** person `i`: one in ten in org `o0`; every name holds `person`, one in a hundred `zed` */
export const person = (i: number): Doc => ({
  _id: `p${String(i).padStart(6, '0')}`,
  org: `o${i % 10}`,
  name: i % 100 === 0 ? `Zed Person ${i}` : `Person ${i}`,
  email: `p${i}@example.com`,
});
