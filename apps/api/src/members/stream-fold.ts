import { checkReadable, fromStored } from '@rollcall/domain';
import type { EventStore, RecordedEvent } from '@rollcall/event-store';
import type { Checkpoint, ReplayCheckpoints } from './replay-checkpoints';

/**
 * When a change happened: the time its command was decided (`occurredAt`, the history's `at`), else (events appended
 * without it) when the store recorded it. The store records a change a few ms after it was decided: replaying up to
 * the recorded time left a change out at its own `at` in the history.
 */
const happenedAt = (e: RecordedEvent): number => {
  const at = typeof e.metadata.occurredAt === 'string' ? Date.parse(e.metadata.occurredAt) : Number.NaN;
  return Number.isNaN(at) ? e.created.getTime() : at;
};

/**
 * A replay lets the event loop serve other requests every YIELD_EVERY events (and the roster every YIELD_EVERY
 * members): the roster of a 100,000-member workspace held it 12–20 s in one piece, `/health` and every tenant's
 * requests waiting, some reset (probe 42 F1). The embedded store's reads resolve without a turn of the loop.
 */
export const YIELD_EVERY = 1_000;
export const aTurnOfTheLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The answers hold nothing personal (access, org admins, teams, ids), and no fold of access reads an address or a
 * name (they are indexed, never compared into a decision of access): the streams are read with their personal fields
 * sealed, no key looked up (opening them was ~2/3 of a replay's time: session 43). roster-as-of-sealed.int-spec.ts
 * checks the answers equal those of a replay with every field opened.
 */
const SEALED = { personalData: 'sealed' } as const;

/**
 * One stream folded up to T (`asOf`; undefined: every event it holds) through the deciders' own evolve: its events in
 * order up to the first that happened after T, a prefix, so every state folded is one that was decided (rule 17). It
 * folds on from the furthest checkpoint whose events all happened by T (replay-checkpoints.ts), else from the stream's
 * start. `latest.at` is raised to the latest time folded, or to the time of the first event after T the fold stopped at.
 */
export async function foldStream<S>(
  store: EventStore,
  checkpoints: ReplayCheckpoints,
  stream: string,
  start: () => S,
  evolve: (state: S, event: never) => unknown,
  asOf: Date | undefined,
  latest: { at: number },
): Promise<Checkpoint<S>> {
  const limit = asOf?.getTime() ?? Number.POSITIVE_INFINITY;
  const from = checkpoints.take<S>(stream, limit);
  const fold: Checkpoint<S> = from ?? { state: start(), revision: -1n, maxAt: Number.NEGATIVE_INFINITY, events: 0, lastPosition: null, rows: 0 };
  let folded = 0;
  for await (const e of store.readStream(stream, from ? { ...SEALED, fromRevision: from.revision + 1n } : SEALED)) {
    const at = happenedAt(e);
    // the log holds a change after T: T is not in its future, whatever this server's clock says (probe 89 F11)
    if (at > limit) {
      if (at > latest.at) latest.at = at;
      break;
    }
    checkReadable(e);
    const event = fromStored(e);
    if (event) evolve(fold.state, event as never);
    fold.revision = e.revision;
    fold.events++;
    if (at > fold.maxAt) fold.maxAt = at;
    if (fold.lastPosition === null || e.position > fold.lastPosition) fold.lastPosition = e.position;
    if (++folded % YIELD_EVERY === 0) await aTurnOfTheLoop();
  }
  if (fold.maxAt > latest.at) latest.at = fold.maxAt;
  return fold;
}
