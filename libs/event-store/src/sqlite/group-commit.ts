import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { type AppendResult, type ExpectedRevision, type MultiAppendResult, type StreamAppend, WrongExpectedRevisionError } from '../port';
import { DuplicateEventIdError } from './append-checks';
import type { SubjectKeyChange, SubjectKeyTable } from './subject-keys';

interface SerializedEvent {
  id: string;
  type: string;
  data: string;
  metadata: string;
}

/** One stream's part of an append as the group commit writes it: events as JSON text, the APPEND_AFTER id taken out. */
export interface SerializedPart {
  stream: string;
  events: SerializedEvent[];
  expected: ExpectedRevision;
  after?: string;
}

/** The parts of an append serialized for the group commit (on the caller's thread: see commit-thread.ts). */
export function serializeParts(parts: StreamAppend[]): SerializedPart[] {
  return parts.map((p) => ({
    stream: p.stream,
    expected: p.expected,
    after: afterOf(p),
    events: p.events.map((e) => ({
      id: e.id,
      type: e.type,
      data: JSON.stringify(e.data ?? null),
      metadata: JSON.stringify(e.metadata ?? {}),
    })),
  }));
}

/**
 * A precondition an append may carry beside its expected revision, on the metadata of its part's first event under
 * this registered symbol (so it crosses the wrapping stores untouched, and JSON.stringify never stores it): the event
 * at the expected revision must be the one with this id. The command path sets it on a command decided on the events
 * of an earlier command of this process that are not committed yet (docs/adr/0010-command-throughput.md, third
 * pass): the revision alone would also match another writer's events that took their place. `checked` is set here,
 * when the append is queued, so the caller learns that this store checks it (KurrentDB does not).
 */
export const APPEND_AFTER = Symbol.for('rollcall.event-store.appendAfter');
export interface AppendAfter {
  /** the id of the event at the part's expected revision; absent: only asks whether the store checks */
  id?: string;
  checked?: boolean;
}

/** How many replayed batches' last ids a GroupCommit remembers (replayedLast): far more than appends in flight. */
const REPLAYED_REMEMBERED = 1024;

/** An append waiting in the group-commit queue. */
interface PendingAppend {
  /** one part for append(), several for an atomic appendMany() */
  parts: SerializedPart[];
  /** what to do with data keys in the append's transaction (appendWithKeys) */
  keys: readonly SubjectKeyChange[];
  resolve: (result: MultiAppendResult) => void;
  reject: (error: unknown) => void;
}

/** A stream a commit moved, and its new head revision. */
export interface WrittenHead {
  stream: string;
  head: bigint;
}

/** The heads a group commit knows in its transaction: as known before it, and as moved by its written appends. */
interface Heads {
  known: ReadonlyMap<string, bigint>;
  moved: Map<string, bigint>;
}

type Outcome = { ok: true; result: MultiAppendResult; written: WrittenHead[] } | { ok: false; error: unknown };

/**
 * The write side of SqliteEventStore: appends are queued and flushed together on the next turn of the event loop
 * (group commit), one `BEGIN IMMEDIATE … COMMIT` for all the appends queued meanwhile. Each append is checked
 * against its own expected revision and written alone (a multi-event append inside a savepoint), so a conflicting
 * or failing append rejects alone while the others commit. An append's promise settles only after COMMIT returned
 * (with synchronous=FULL, after the WAL was fsynced).
 *
 * A retried append (the same batch of event ids, after an outcome the caller could not see, maybe by another
 * process on the same file) is answered with the original result, marked `replayed`, and writes nothing: EventStoreDB's
 * idempotency rule, docs/adr/0004-one-command-path-idempotent-retries-atomic-deletion.md.
 */
export class GroupCommit {
  private queue: PendingAppend[] = [];
  /**
   * The last event id of each part recently answered as a replay (bounded). An APPEND_AFTER naming one fails: the
   * caller folded its own version of that batch, and the stored one (under the same ids) may say otherwise. The
   * command side draws ids per decision, so only a caller reusing ids for another batch meets this: a second guard.
   */
  private readonly replayedLast = new Set<string>();
  private flushScheduled = false;
  private readonly stmt: {
    streamHead: StatementSync;
    idAt: StatementSync;
    findById: StatementSync;
    batchAt: StatementSync;
    insert: StatementSync;
    begin: StatementSync;
    commit: StatementSync;
    savepoint: StatementSync;
    release: StatementSync;
    rollbackTo: StatementSync;
  };

  constructor(
    private readonly db: DatabaseSync,
    prepare: (sql: string) => StatementSync,
    private readonly keys: SubjectKeyTable,
    /** after a commit that wrote events, before any append's promise settles; with the last position it wrote */
    private readonly onCommitted: (written: WrittenHead[], lastPosition: bigint) => void,
    /**
     * Called once per group, inside its write transaction: the head revisions (-1n: no events) this connection knows
     * exactly at that point (SqliteEventStore's `heads`, checked against another connection's commit with PRAGMA
     * data_version in the transaction). A part on such a stream needs no query for its head.
     */
    private readonly knownHeads: () => ReadonlyMap<string, bigint> = () => new Map(),
  ) {
    this.stmt = {
      // served by the (stream, revision) index alone; the head's id only where a part names the event it follows
      streamHead: prepare('SELECT revision FROM events WHERE stream = ? ORDER BY revision DESC LIMIT 1'),
      idAt: prepare('SELECT id FROM events WHERE stream = ? AND revision = ?'),
      findById: prepare('SELECT stream, revision FROM events WHERE id = ?'),
      batchAt: prepare('SELECT id, position FROM events WHERE stream = ? AND revision >= ? ORDER BY revision LIMIT ?'),
      insert: prepare('INSERT INTO events (id, stream, revision, type, data, metadata, created) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      begin: prepare('BEGIN IMMEDIATE'),
      commit: prepare('COMMIT'),
      savepoint: prepare('SAVEPOINT append'),
      release: prepare('RELEASE append'),
      rollbackTo: prepare('ROLLBACK TO append'),
    };
  }

  /** Queues an append (arguments already checked); settles after the commit of its group. */
  enqueue(parts: StreamAppend[], keys: readonly SubjectKeyChange[]): Promise<MultiAppendResult> {
    return this.enqueueSerialized(serializeParts(parts), keys);
  }

  /** Queues an append already serialized (serializeParts). */
  enqueueSerialized(serialized: SerializedPart[], keys: readonly SubjectKeyChange[]): Promise<MultiAppendResult> {
    return new Promise<MultiAppendResult>((resolve, reject) => {
      this.queue.push({ parts: serialized, keys, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits what is queued now (also called by close()). */
  flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const created = Date.now();
    const outcomes: Outcome[] = [];
    let wrote = false;
    try {
      this.stmt.begin.run();
      try {
        // the heads as this transaction sees them: known ones, then those this group's appends moved (only once an
        // append is written: a failed one's savepoint is rolled back)
        const heads: Heads = { known: this.knownHeads(), moved: new Map() };
        for (const pending of batch) {
          // A single-row append needs no savepoint: a failing INSERT writes nothing by itself.
          const savepoint = pending.keys.length > 0 || pending.parts.length > 1 || pending.parts[0]!.events.length > 1;
          if (savepoint) this.stmt.savepoint.run();
          try {
            const result = this.applyOne(pending, created, heads);
            if (savepoint) this.stmt.release.run();
            outcomes.push({ ok: true, result: result.result, written: result.written });
            for (const w of result.written) heads.moved.set(w.stream, w.head);
            wrote ||= result.written.length > 0;
          } catch (error) {
            // SQLite rolled the whole transaction back (disk full, I/O error): the group fails with the real cause,
            // not with the savepoint that is gone, and nothing after it runs outside a transaction
            if (!this.db.isTransaction) throw error;
            if (savepoint) {
              this.stmt.rollbackTo.run();
              this.stmt.release.run();
            }
            outcomes.push({ ok: false, error });
          }
        }
        this.stmt.commit.run();
      } catch (error) {
        if (this.db.isTransaction) this.db.exec('ROLLBACK');
        throw error;
      }
    } catch (error) {
      // BEGIN or COMMIT failed (disk full, I/O error, lock timeout): nothing of this group is stored.
      for (const pending of batch) pending.reject(error);
      return;
    }
    if (wrote) {
      let last = -1n;
      for (const o of outcomes) if (o.ok && o.written.length > 0 && o.result.position > last) last = o.result.position;
      this.onCommitted(outcomes.flatMap((o) => (o.ok ? o.written : [])), last);
    }
    batch.forEach((pending, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) pending.resolve(outcome.result);
      else pending.reject(outcome.error);
    });
  }

  /** Checks and writes one append (all its parts, its keys) inside the open transaction. Throws to roll back its savepoint. */
  private applyOne(pending: PendingAppend, created: number, heads: Heads): { result: MultiAppendResult; written: WrittenHead[] } {
    let position = -1n;
    /** the append's first event's position (its events are written one after the other: consecutive positions) */
    let first = -1n;
    const streams: MultiAppendResult['streams'] = [];
    const written: WrittenHead[] = [];
    for (const part of pending.parts) {
      const result = this.applyPart(part, created, heads);
      if (result.wrote) written.push({ stream: part.stream, head: result.nextRevision });
      if (result.wrote && (first < 0n || result.position - BigInt(part.events.length) + 1n < first)) first = result.position - BigInt(part.events.length) + 1n;
      if (result.position > position) position = result.position;
      streams.push({ stream: part.stream, nextRevision: result.nextRevision });
    }
    // a replay wrote nothing now: its keys were stored (or forgotten, or checked) with it the first time
    if (written.length > 0 && pending.keys.length > 0) this.keys.applyInOpenTransaction(pending.keys, first);
    if (written.length > 0) return { result: { position, streams }, written };
    for (const part of pending.parts) if (part.events.length > 0) this.replayedLast.add(part.events.at(-1)!.id);
    if (this.replayedLast.size > REPLAYED_REMEMBERED) this.replayedLast.delete(this.replayedLast.values().next().value!);
    return { result: { position, streams, replayed: true }, written };
  }

  private applyPart(
    { stream, events, expected, after }: PendingAppend['parts'][number],
    created: number,
    heads: Heads,
  ): { nextRevision: bigint; position: bigint; wrote: boolean } {
    // A batch already written (a retry) is looked for only where the write cannot go on as it is: a written batch moved
    // the stream past its expected revision, or (expected 'any') its first id is taken. The usual append pays no lookup.
    const current = this.headOf(stream, heads);
    // at the expected revision, but not after the event the append was decided on: another writer's event took its place
    const notAfter =
      after !== undefined &&
      (typeof expected !== 'bigint' || expected !== current || this.replayedLast.has(after) || (this.stmt.idAt.get(stream, current) as { id: string }).id !== after);
    if ((expected !== 'any' && expected !== current) || notAfter) {
      const replay = events.length > 0 ? this.findIdempotentReplay(stream, events) : undefined;
      if (replay) return { ...replay, wrote: false };
      throw new WrongExpectedRevisionError(stream, expected, current);
    }
    let revision = current === 'no_stream' ? 0n : current + 1n;
    let position = -1n;
    for (const [i, e] of events.entries()) {
      try {
        position = BigInt(this.stmt.insert.run(e.id, stream, revision, e.type, e.data, e.metadata, created).lastInsertRowid);
      } catch (error) {
        // the first insert failed alone (nothing of the batch written yet): it may be the batch, written before
        const replay = i === 0 ? this.findIdempotentReplay(stream, events) : undefined;
        if (replay) return { ...replay, wrote: false };
        const existing = this.stmt.findById.get(e.id) as { stream: string } | undefined;
        if (existing) throw new DuplicateEventIdError(e.id, stream, existing.stream);
        throw error;
      }
      revision++;
    }
    return { nextRevision: revision - 1n, position, wrote: events.length > 0 };
  }

  /** The stream's head in the open transaction: from memory when known (see knownHeads), else from its index. */
  private headOf(stream: string, heads: Heads): bigint | 'no_stream' {
    const known = heads.moved.get(stream) ?? heads.known.get(stream);
    if (known !== undefined) return known < 0n ? 'no_stream' : known;
    const row = this.stmt.streamHead.get(stream) as { revision: bigint } | undefined;
    return row ? row.revision : 'no_stream';
  }

  /**
   * EventStoreDB's idempotency rule: when the batch's first event id is already in this stream and the
   * events from there on carry the batch's ids in order, the append was already done: return its
   * original result. The first id anywhere else (another stream, or a different batch) is an error.
   */
  private findIdempotentReplay(stream: string, events: SerializedEvent[]): AppendResult | undefined {
    const first = this.stmt.findById.get(events[0]!.id) as { stream: string; revision: bigint } | undefined;
    if (!first) return undefined;
    if (first.stream !== stream) {
      throw new DuplicateEventIdError(events[0]!.id, stream, first.stream);
    }
    const stored = this.stmt.batchAt.all(stream, first.revision, events.length) as { id: string; position: bigint }[];
    const sameBatch = stored.length === events.length && stored.every((row, i) => row.id === events[i]!.id);
    if (!sameBatch) throw new DuplicateEventIdError(events[0]!.id, stream, stream);
    return {
      nextRevision: first.revision + BigInt(events.length) - 1n,
      position: stored[stored.length - 1]!.position,
    };
  }
}

/** The part's APPEND_AFTER precondition (marked as checked), or undefined. */
function afterOf(part: StreamAppend): string | undefined {
  const marker = (part.events[0]?.metadata as Record<symbol, AppendAfter | undefined> | undefined)?.[APPEND_AFTER];
  if (!marker) return undefined;
  marker.checked = true;
  return marker.id;
}
