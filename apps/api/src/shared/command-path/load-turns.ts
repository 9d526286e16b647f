/**
 * The turns of a long load in one request (a snapshot opened, a stream replayed on a cold start): it yields to the
 * event loop once it has run `turnMs` since its last yield, so that the requests waiting meanwhile (a `/health` probe,
 * other workspaces' commands) wait at most about one turn. By time, not by count: a yield per chunk or per N events
 * was either a turn of up to a second on a slow machine (5,000 events of a replay) or, per snapshot chunk, ~300
 * yields that each let a request in (~2 ms of CPU per `/health` on this project's machine: ~20 % of a 100,000-member
 * cold load; docs/adr/0013, session 16).
 */
export class LoadTurns {
  private since = performance.now();

  constructor(private readonly turnMs: number) {}

  /** whether this turn has run its time (cheap: called per event of a replay) */
  due(): boolean {
    return performance.now() - this.since >= this.turnMs;
  }

  /** yields to the event loop, and starts the next turn */
  async yield(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.since = performance.now();
  }
}

/** A snapshot's chunks are opened and folded in turns of this long (docs/adr/0013, session 16). */
export const SNAPSHOT_TURN_MS = 12;
/** A replay folds events in turns of this long: each turn also reads and opens a page of events from the store. */
export const REPLAY_TURN_MS = 12;
