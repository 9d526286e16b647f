/**
 * Whether a connection's `PRAGMA data_version` (read by `read`) moved since the last call: another connection
 * committed in between. The first call compares with `initial`.
 */
export function versionMoved(read: () => bigint, initial = read()): () => boolean {
  let version = initial;
  return () => {
    const now = read();
    if (now === version) return false;
    version = now;
    return true;
  };
}

/** streams whose head revision is remembered; past this the memory starts over */
const MAX_KNOWN_HEADS = 100_000;

/**
 * The head revisions (-1n: no events) of the streams a connection read to the end or appended to, exact for as long
 * as no other writer committed: each look (`current`) asks `othersCommitted` and starts a new epoch, with nothing
 * known, when one did. A head learned in an earlier epoch is not kept (it may be behind that commit).
 *
 * Reads stay monotonic within a turn (`saw`): once a read of the file found a row that may be another writer's commit
 * since the last look, the heads are looked at again at once, so no later read answers from a head behind that row.
 */
export class KnownHeads {
  private readonly heads = new Map<string, bigint>();
  private epoch = 0;

  /**
   * @param through a log position no later than the log's last one now: a row at or before it was committed before
   * any look to come (`saw` raises it)
   */
  constructor(
    private readonly othersCommitted: () => boolean,
    private through = -1n,
  ) {}

  /** the epoch after a look at the other writers' commits */
  current(): number {
    if (this.othersCommitted()) {
      this.heads.clear();
      this.epoch++;
    }
    return this.epoch;
  }

  /**
   * `current()` for a read outside a write transaction, looked at once per turn of the event loop: later reads in
   * the same turn take that look's epoch. (Under load one turn resumes dozens of commands at once, each reading its
   * streams; `PRAGMA data_version` per read was ~4 % of the API's main thread.) A commit of another connection
   * within the turn is thus seen from the next one, as if it had come a moment later; nothing is decided on it
   * regardless: an append checks its expected revision against the heads in its write transaction, exactly.
   */
  currentThisTurn(): number {
    if (this.lookedThisTurn || !this.othersMayWrite) return this.epoch;
    this.lookedThisTurn = true;
    setImmediate(this.nextTurn).unref();
    return this.current();
  }

  /**
   * A read of the file (not of memory) found a row at log `position`. Past `through`, it may be a commit of another
   * writer that came after the last look, within this turn: look again now. Else a stream read next from memory
   * could show the log before a commit that a read before it showed — two states of one decision that no moment
   * of the log had (replicas e2e seeds 13, 26, 36, 56, session 21: an organization behind its workspace, a command's
   * part read as absent). After the look, heads learned before that commit are gone with their epoch, and a read
   * that started before the look notes nothing (its epoch is past); the rows up to `position` were committed before
   * this look, so the next row at or before it needs none. Answers `position`.
   */
  saw(position: bigint): bigint {
    if (position <= this.through) return position;
    this.current();
    this.through = position;
    return position;
  }

  /**
   * A request begins (read-your-writes across processes): its next read looks again instead of taking this turn's
   * look. A turn runs from one check phase to the next, so a look taken before the event loop's poll (a timer's read)
   * would otherwise answer the requests that poll delivers: a client answered by another process a moment earlier
   * (a key it just issued, an invitation it just sent) was then answered as if it had not been (a new key 401 on the
   * other replica: session 39's CI5).
   */
  lookAtNextRead(): void {
    this.lookedThisTurn = false;
  }

  private lookedThisTurn = false;

  /**
   * Whether another process may commit to the log now (the API counts the processes serving its data dir:
   * infrastructure/data-format.ts). While none may, reads take the heads they know without looking (`PRAGMA
   * data_version` costs ~5–15 µs, ~8 % of a heartbeat's main thread when looked at per request, session 40); the
   * looks that guard decisions and monotonic reads (`current` in a write transaction, `saw`, `headFor`) stay.
   */
  private othersMayWrite = true;
  setOthersMayWrite(may: boolean): void {
    this.othersMayWrite = may;
  }
  private readonly nextTurn = () => {
    this.lookedThisTurn = false;
  };

  /** the epoch as of the last look (for a commit of this writer's own: it moves no other head) */
  get now(): number {
    return this.epoch;
  }

  /**
   * `stream`'s head for a read from `fromRevision`, if known. A read from past the revision after it comes from a
   * caller that saw more of the stream than this connection did (a snapshot another process wrote after its commit):
   * the heads are looked at again first, as for a row past `through` (`saw`).
   */
  headFor(stream: string, fromRevision: bigint): bigint | undefined {
    const known = this.heads.get(stream);
    if (known === undefined || fromRevision <= known + 1n) return known;
    this.current();
    return this.heads.get(stream);
  }

  /** what is known, for the group commit (after `current()` in its write transaction) */
  get known(): ReadonlyMap<string, bigint> {
    return this.heads;
  }

  /** `stream`'s head was `revision` in `epoch` (a read to its end, or this writer's append) */
  note(stream: string, revision: bigint, epoch: number): void {
    // learned before another writer's commit was seen: may be behind it. But a head known now that is behind it is
    // wrong for certain (the stream has `revision` at least): it goes, and the next read asks the file. (A read while
    // this writer's append was in flight noted the head before the append, in an epoch begun after the append was
    // queued: the append's answer, noted as of that older epoch, was dropped, and the stream read as without its own
    // append until another writer's commit — session 29, the replicas e2e's "cached state differs" after a deletion.)
    if (epoch !== this.epoch) {
      const known = this.heads.get(stream);
      if (known !== undefined && known < revision) this.heads.delete(stream);
      return;
    }
    const known = this.heads.get(stream);
    // heads only grow: a read that ended before this writer's own append must not take its head back
    if (known !== undefined && known >= revision) return;
    if (known === undefined && this.heads.size >= MAX_KNOWN_HEADS) this.heads.clear();
    this.heads.set(stream, revision);
  }
}
