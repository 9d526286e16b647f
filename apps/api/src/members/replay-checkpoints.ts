/**
 * States a point-in-time replay (rule 17, access-as-of.ts) folded, kept in memory to continue a later replay from
 * (probe 43 F1: one member's access replayed the organization's and the workspace's streams from their start for every
 * answer, 0.45–0.57 s in a 190-member workspace whose organization's stream held ~9,000 events, growing with every
 * change of the organization; the roster of a 100,000-member workspace 10–45 s). docs/adr/0027-replay-checkpoints.md.
 *
 * Why this is still rule 17's replay: a checkpoint is the state the same fold reached over a stream's first events, in
 * this process, from the log; it is never stored, nor read from a read model or a snapshot. A stream's events are
 * dated in order (rule 17 dates a change no earlier than the one before it) and a replay folds the prefix of events
 * that happened by T: a state folded over events that all happened by T (`maxAt` <= T) is the start of the replay to
 * T, which folds on from the next revision.
 *
 * A checkpoint is owned by one replay at a time: `take` removes it, the replay folds on in place (no copy: a copy of a
 * 100,000-member state took 0.6–1 s with `structuredClone`), answers, and `keep`s the state it reached. Concurrent
 * replays of one stream take other checkpoints, or fold from the start. What a state holds in personal fields is as
 * the log holds it, sealed (access-as-of.ts SEALED): never shown, and unreadable once a deletion forgot its key.
 */

/** A stream's state after its events up to `revision`. */
export interface Checkpoint<S> {
  state: S;
  revision: bigint;
  /** the latest time any of those events happened (a replay to T may start here when maxAt <= T) */
  maxAt: number;
  /** how many events were folded (the answers' `basedOn.eventsReplayed`) */
  events: number;
  /** the greatest log position among them */
  lastPosition: bigint | null;
  /** what it holds, in rows (users, workspaces, API keys, members, invitations, teams and their members): what the memory budget counts */
  rows: number;
}

/** at most this many checkpoints of one stream: replays to different instants keep different ones */
const PER_STREAM = 4;

export class ReplayCheckpoints {
  private readonly byStream = new Map<string, Checkpoint<unknown>[]>();
  /** streams, least recently kept first (a Map keeps insertion order) */
  private readonly recency = new Map<string, true>();
  private rows = 0;

  /** `budgetRows`: how many rows all checkpoints may hold together (ROLLCALL_REPLAY_MEMORY_ROWS); 0 keeps none */
  constructor(readonly budgetRows: number) {}

  /** nothing kept: every replay folds from the start (the tests of the replay itself) */
  static none(): ReplayCheckpoints {
    return new ReplayCheckpoints(0);
  }

  /** Removes and returns the furthest checkpoint of `stream` whose events all happened by `limit` (ms), if any. */
  take<S>(stream: string, limit: number): Checkpoint<S> | undefined {
    const kept = this.byStream.get(stream);
    if (!kept) return undefined;
    let best = -1;
    kept.forEach((c, i) => {
      if (c.maxAt <= limit && (best < 0 || c.revision > kept[best]!.revision)) best = i;
    });
    if (best < 0) return undefined;
    const [taken] = kept.splice(best, 1);
    this.rows -= taken!.rows;
    if (kept.length === 0) this.forgetStream(stream);
    return taken as Checkpoint<S>;
  }

  /** Keeps a state a replay reached (the caller no longer reads or folds it), within the budget. */
  keep<S>(stream: string, checkpoint: Checkpoint<S>): void {
    if (checkpoint.events === 0 || checkpoint.rows > this.budgetRows) return;
    const kept = this.byStream.get(stream) ?? [];
    // one of the same revision is the same state: keep one
    if (kept.some((c) => c.revision === checkpoint.revision)) return;
    kept.push(checkpoint as Checkpoint<unknown>);
    this.rows += checkpoint.rows;
    if (kept.length > PER_STREAM) this.rows -= kept.shift()!.rows;
    this.byStream.set(stream, kept);
    this.recency.delete(stream);
    this.recency.set(stream, true);
    // over the budget: the streams kept longest ago go first (not the one just kept, which fits alone)
    for (const oldest of this.recency.keys()) {
      if (this.rows <= this.budgetRows) break;
      if (oldest === stream) continue;
      for (const c of this.byStream.get(oldest) ?? []) this.rows -= c.rows;
      this.forgetStream(oldest);
    }
    while (this.rows > this.budgetRows && kept.length > 1) this.rows -= kept.shift()!.rows;
  }

  /** how many rows are kept (tests, /metrics) */
  get keptRows(): number {
    return this.rows;
  }

  private forgetStream(stream: string): void {
    this.byStream.delete(stream);
    this.recency.delete(stream);
  }
}
