import type { Access } from './access';

/** distinct access values kept at most (then the pool starts again: values already shared stay shared) */
const POOL_MAX = 10_000;
const pool = new Map<string, Access>();

/**
 * One frozen object per distinct access value among the states folded — invitations and members — instead of each
 * event's own: most rows of a workspace share a handful of values, and as parsed from each event an access value was
 * ~250 of the ~680 bytes a pending invitation held in a decision state (session 65, probe 108 F1: states grow with
 * every invitation ever sent). Frozen, as a snapshot's rows are (apps/api/src/shared/snapshots/snapshot-rows.ts): an
 * access value is replaced by a change, never edited. The pool holds a copy: the event's own object is left as it is.
 */
export function sharedAccess(access: Access): Access {
  const key = JSON.stringify(access);
  const known = pool.get(key);
  if (known) return known;
  if (pool.size >= POOL_MAX) pool.clear();
  const shared = Object.freeze({
    ...access,
    roles: Object.freeze([...access.roles]),
    grants: Object.freeze([...access.grants]),
    restrictions: Object.freeze({ ...access.restrictions }),
  }) as Access;
  pool.set(key, shared);
  return shared;
}
