// A diagnostic for concurrency tests (ROLLCALL_CHECK_CACHED_STATES=1, test/replicas.e2e-spec.ts): a decision state
// cached by StreamStates must be what the log holds up to its revision. It found, in two replicas racing on one data
// dir, states holding a failed command's events, another writer's events folded on top of events in flight, and a
// replica's own decision in place of the batch another replica wrote first (then under the same ids: docs/adr/0004).
import { isDeepStrictEqual } from 'node:util';
import { type DomainEvent, fromStored } from '@rollcall/domain';
import type { EventStore } from '@rollcall/event-store';

/** What differs between `cached` (at `revision`) and a fold of the stream's events 0…revision from `initial`. */
export async function differencesFromLog<S>(
  store: EventStore,
  stream: string,
  cached: { state: S; revision: bigint },
  initial: S,
  evolve: (state: S, event: DomainEvent) => void,
): Promise<string[]> {
  let revision = -1n;
  for await (const recorded of store.readStream(stream, { fromRevision: 0n })) {
    if (recorded.revision > cached.revision) break;
    const event = fromStored(recorded);
    if (event) evolve(initial, event);
    revision = recorded.revision;
  }
  if (revision !== cached.revision) return [`cached at revision ${cached.revision}, the log has ${revision}`];
  return differences(initial as Record<string, unknown>, cached.state as Record<string, unknown>);
}

/** The top-level fields (and, for maps, the keys) whose values differ, log's value first. */
function differences(log: Record<string, unknown>, cached: Record<string, unknown>): string[] {
  const found: string[] = [];
  for (const field of Object.keys(log)) {
    const [a, b] = [log[field], cached[field]];
    if (isDeepStrictEqual(a, b)) continue;
    if (!(a instanceof Map && b instanceof Map)) {
      found.push(`${field}: log ${show(a)}, cached ${show(b)}`);
      continue;
    }
    for (const [key, value] of a) if (!isDeepStrictEqual(value, b.get(key))) found.push(`${field}[${String(key)}]: log ${show(value)}, cached ${show(b.get(key))}`);
    for (const key of b.keys()) if (!a.has(key)) found.push(`${field}[${String(key)}]: only cached`);
  }
  return found;
}

const show = (value: unknown): string =>
  (JSON.stringify(value, (_key, v: unknown) => (v instanceof Map ? [...v] : v instanceof Set ? [...v] : typeof v === 'bigint' ? String(v) : v)) ?? 'undefined').slice(0, 300);
