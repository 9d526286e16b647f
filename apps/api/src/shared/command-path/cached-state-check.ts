// A diagnostic for concurrency tests (ROLLCALL_CHECK_CACHED_STATES=1, test/replicas.e2e-spec.ts): a decision state
// cached by StreamStates must be what the log holds up to its revision. It found, in two replicas racing on one data
// dir, states holding a failed command's events, another writer's events folded on top of events in flight, and a
// replica's own decision in place of the batch another replica wrote first (then under the same ids: docs/adr/0004).
import { isDeepStrictEqual } from 'node:util';
import { type DomainEvent, emailKey, fromStored } from '@rollcall/domain';
import type { EventStore } from '@rollcall/event-store';

/** how much earlier than a load's start a commit may be stamped (its `created` is taken before its COMMIT) */
const COMMIT_STAMP_SLACK_MS = 50;

interface Difference {
  field: string;
  /** for maps: the key whose values differ */
  key?: unknown;
  log: unknown;
  cached: unknown;
  onlyCached?: true;
}

/**
 * What differs between `cached` (at `revision`) and a fold of the stream's events 0…revision from `initial`.
 * `loadStartedAt` (ms): when the load that produced `cached` began reading.
 *
 * The log is read now, with the keys as they are now: a deletion committed after the load read the stream erases
 * addresses the load read legitimately (the state learns it from the deletion's own events in the stream, or from the
 * erasure being heard: AddressErasure). Such an address — cached, read as null now, and erased by a deletion event of
 * this stream after `revision` that committed once the load had begun — is not reported (session 27: every
 * "cached state differs" of the replicas workload with deletions but one kind was this). One that committed earlier
 * is reported: the load should have read it.
 */
export async function differencesFromLog<S>(
  store: EventStore,
  stream: string,
  cached: { state: S; revision: bigint },
  initial: S,
  evolve: (state: S, event: DomainEvent) => void,
  loadStartedAt = Number.POSITIVE_INFINITY,
): Promise<string[]> {
  let revision = -1n;
  // each invitation's events (revision@position type), to say when a differing invitation was written
  const trails = new Map<string, string[]>();
  for await (const recorded of store.readStream(stream, { fromRevision: 0n })) {
    if (recorded.revision > cached.revision) break;
    const event = fromStored(recorded);
    if (event) evolve(initial, event);
    revision = recorded.revision;
    const invitationId = (recorded.data as { invitationId?: unknown } | null)?.invitationId;
    if (typeof invitationId === 'string') trails.set(invitationId, [...(trails.get(invitationId) ?? []), `${recorded.revision}@${recorded.position} ${recorded.type}`]);
  }
  if (revision !== cached.revision) return [`cached at revision ${cached.revision}, the log has ${revision}`];
  const found = differences(initial as Record<string, unknown>, cached.state as Record<string, unknown>);
  if (found.length === 0) return [];
  // Invitations a deletion after `revision` cancelled or forgot, with that deletion's commit time. Read again, after
  // the read above: its events were read before their keys were looked up, so a deletion that committed in between
  // erased what it read without being in it (seen in the replicas workload); a read started now sees that deletion.
  const erasedLater = new Map<string, number>();
  // in a later turn of the event loop: within one, the embedded store answers a stream's head from what it read in
  // that turn (KnownHeads), which would hide that deletion again (replicas workload, session 27)
  await new Promise((resolve) => setImmediate(resolve));
  for await (const recorded of store.readStream(stream, { fromRevision: cached.revision + 1n })) {
    const data = recorded.data as { invitationIds?: unknown } | null;
    if (recorded.type === 'UserDeletedFromWorkspace' && Array.isArray(data?.invitationIds))
      for (const id of data.invitationIds) if (typeof id === 'string' && !erasedLater.has(id)) erasedLater.set(id, recorded.created.getTime());
  }
  // the invitations whose address a later deletion erased, and their addresses as the state held them
  const excused = new Set<string>();
  const excusedAddresses = new Set<unknown>([null]);
  for (const d of found) {
    if (d.field !== 'invitations' || typeof d.key !== 'string') continue;
    const [log, kept] = [d.log as { email?: unknown } | undefined, d.cached as { email?: unknown } | undefined];
    const committedAt = erasedLater.get(d.key);
    if (log?.email !== null || typeof kept?.email !== 'string' || committedAt === undefined) continue;
    if (committedAt < loadStartedAt - COMMIT_STAMP_SLACK_MS) continue;
    if (!isDeepStrictEqual({ ...log, email: kept.email }, kept)) continue;
    excused.add(d.key);
    // as the state holds it, and as pendingByEmail keys it (emailKey)
    excusedAddresses.add(kept.email).add(emailKey(kept.email));
  }
  return found
    .filter((d) => !excused.has(d.key as string) && !(d.field === 'pendingByEmail' && excusedAddresses.has(d.key) && (excused.has(d.log as string) || excused.has(d.cached as string))))
    .map((d) => {
      const where = d.key === undefined ? d.field : `${d.field}[${String(d.key)}]`;
      const text = d.onlyCached ? `${where}: only cached` : `${where}: log ${show(d.log)}, cached ${show(d.cached)}`;
      const trail = d.field === 'invitations' && trails.get(d.key as string);
      const erased = d.field === 'invitations' && erasedLater.get(d.key as string);
      return trail
        ? `${text} (its events: ${trail.join(', ')}${erased ? `; a deletion after the cached revision, committed ${erased - loadStartedAt} ms after the load began` : ''})`
        : text;
    });
}

/** The top-level fields (and, for maps, the keys) whose values differ. */
function differences(log: Record<string, unknown>, cached: Record<string, unknown>): Difference[] {
  const found: Difference[] = [];
  for (const field of Object.keys(log)) {
    const [a, b] = [log[field], cached[field]];
    if (isDeepStrictEqual(a, b)) continue;
    if (!(a instanceof Map && b instanceof Map)) {
      found.push({ field, log: a, cached: b });
      continue;
    }
    for (const [key, value] of a) if (!isDeepStrictEqual(value, b.get(key))) found.push({ field, key, log: value, cached: b.get(key) });
    for (const [key, value] of b) if (!a.has(key)) found.push({ field, key, log: undefined, cached: value, onlyCached: true });
  }
  return found;
}

const show = (value: unknown): string =>
  (JSON.stringify(value, (_key, v: unknown) => (v instanceof Map ? [...v] : v instanceof Set ? [...v] : typeof v === 'bigint' ? String(v) : v)) ?? 'undefined').slice(0, 300);
