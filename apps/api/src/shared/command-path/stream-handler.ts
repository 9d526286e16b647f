import type { Decision, DomainEvent } from '@rollcall/domain';
import { DuplicateEventIdError, KeyForgottenSinceSealedError, type EventStore, type ExpectedRevision } from '@rollcall/event-store';
import { type CommandContext, dateAfter } from './command-context';
import { ConcurrencyExhaustedError, DomainException, decideAgainAfter } from './command-errors';
import { KeyedMutex } from './keyed-mutex';
import { ContendedTurns } from './contended-turns';
import { type HandleOptions, idempotencyOf, ownEventsOf, partsOf } from './command-parts';
import type { OwnCommand } from './stream-entries';
import type { StreamStates } from './stream-states';
import type { Target, Written } from './command-target';
import { appliedOf, decidedAt, positionOfState, readBack } from './replay';
import { appendResending } from './append-resending';
import { keyStillOnFile } from '../erasure/key-still-on-file';

export { ConcurrencyExhaustedError, DomainException, EventStoreUnavailableError } from './command-errors';
export type { Target, Written } from './command-target';
export type { HandleOptions } from './command-parts';

const ATTEMPTS = 8;
/** what an unchecked part (HandleOptions.unchecked) was decided on: no state (StreamStates.speculate drops the stream's) */
const NOT_LOADED = Object.freeze({});
/** an attempt's append found the command's events in the log: one more attempt answers from them, whatever came before */
const IN_LOG = Symbol('in log');
const inLog = (error: unknown): boolean => error instanceof DuplicateEventIdError;

/**
 * The embedded store's append precondition (libs/event-store/src/sqlite/group-commit.ts, APPEND_AFTER: a registered
 * symbol, the same there): on the metadata of a part's first event, `id` is the event the part must follow. The store
 * sets `checked` when it takes the append; a store that does not (KurrentDB) leaves it unset.
 */
const APPEND_AFTER = Symbol.for('rollcall.event-store.appendAfter');
interface AppendAfter {
  id?: string;
  checked?: boolean;
}

/** A command of this process whose events are decided and whose append is in flight (pipelining). */
interface InFlight {
  /** what the states fold for the lock's next command before the commit, and the id of each part's last event */
  parts: { stream: string; expected: ExpectedRevision; events: DomainEvent[]; lastId: string; decidedOn: object }[];
  idempotency: OwnCommand;
  /** its events were folded into the states for a later command (`StreamStates.speculate`) */
  folded: boolean;
  /** resolves true once committed (folded, or its streams dropped: a re-send found written), false once its append failed (and its streams were forgotten) */
  settled: Promise<boolean>;
}

/** What one turn of a pipelined command ended with. */
type Turn<C, E> =
  /** decided without appending (a refusal, nothing to do, a replay): holds once the events it saw are committed */
  | { answer: () => Promise<Written<C, E>>; after: Promise<boolean>[] }
  /**
   * appended: the answer, or undefined when the command must be decided again (a conflict), or IN_LOG when the store
   * holds this command's events already (another decision of it): deciding again finds them by key
   */
  | { appended: Promise<Written<C, E> | typeof IN_LOG | undefined> }
  /** not decided on a state it can rely on: decided again once this settles */
  | { again: Promise<unknown> };

/**
 * The one command path (docs/architecture.md): load → decide → append with the expected revisions → retry.
 *
 * - Commands on one stream take turns in this process (no self-inflicted conflicts); another replica's write makes
 *   the append fail with a wrong expected revision, and the command is decided again on the new state (bounded).
 * - With a store that checks APPEND_AFTER (the embedded one), a turn ends once the command's append is sent, not
 *   committed: the next command of the lock decides on the state with those events folded in (StreamStates.speculate)
 *   and appends right after them, into the same group commit, under the precondition that its part follows their
 *   last event. So it commits only if they did; when they fail, it fails too and is decided again once every command
 *   of the lock sent before its failure has settled. An answer is sent only after the command's own events are
 *   committed, and one decided without events (a refusal, a replay) only after the events it saw are
 *   (docs/adr/0010-command-throughput.md, third pass). With any other store (KurrentDB: concurrent appends of one
 *   stream may reach it in any order and nothing ties one to another), a turn lasts until the commit, as before.
 * - Each decision's events get ids of their own (newEventId), and the stream states remember which idempotency keys they
 *   hold: a retry whose events are already in the log (its answer was lost) answers from those events instead of
 *   deciding again — the same for the embedded store and KurrentDB (docs/adr/0004).
 * - When the store cannot say whether an append was written, the identical batch is re-sent at the same expected
 *   revisions (idempotent in every adapter) before anything is decided again.
 * - The same request sent to two replicas at once is decided by both, maybe on different states: the first append
 *   wins; the other conflicts with it (its ids are its own: KurrentDB would take a batch under ids the stream holds
 *   for its own write without comparing the events). The command is decided again, finds the stored batch by key and
 *   answers with it — never with events the log does not hold (docs/adr/0004).
 * - Events for several streams (accepting an invitation, deleting a user) are appended atomically.
 */
export class StreamHandler {
  private readonly turns = new KeyedMutex();
  /** whether the store checks APPEND_AFTER: learned from the first append (undefined until then: turns) */
  private pipelining: boolean | undefined;
  /** per lock, the commands whose append is in flight, in the order they were decided */
  private readonly inFlight = new Map<string, Set<InFlight>>();

  constructor(
    private readonly store: EventStore,
    readonly states: StreamStates,
    private readonly options: {
      /**
       * An append was sealed with keys a deletion forgot since (KeyForgottenSinceSealedError): before the command is
       * decided again, the states that may hold what the deletion erased are let go (AddressErasure.erased).
       */
      onKeysForgotten?: (subjectIds: string[]) => Promise<void>;
      /** an attempt after the first (sent back, or waiting on another command's events): `kind` is the lock's stream kind */
      onDecidedAgain?: (kind: string) => void;
      /** a command that ran out of attempts (409 CONCURRENCY_CONFLICT) */
      onExhausted?: (kind: string) => void;
      erasures?: import('../erasure/erased-requests').ErasureLookup; // asked whether an erasure reached a retry's command since
    } = {},
  ) {}

  handle<C, E extends DomainEvent>(
    target: Target<C>,
    ctx: CommandContext,
    decide: (context: C) => Decision<E>,
    options: HandleOptions<E> = {},
  ): Promise<Written<C, E>> {
    return this.started(target, ctx, decide, options).then(
      (w) => {
        if (w.replayed) ctx.answeredFromLog = true;
        if (w.spans) (ctx.wrote ??= []).push(...w.spans);
        return w;
      },
      (error: unknown) => {
        if (error instanceof ConcurrencyExhaustedError) this.options.onExhausted?.(streamKindOf(target.lock));
        throw error;
      },
    );
  }

  private started<C, E extends DomainEvent>(target: Target<C>, ctx: CommandContext, decide: (context: C) => Decision<E>, options: HandleOptions<E>): Promise<Written<C, E>> {
    const run = () => (this.pipelining ? this.pipelined(target, ctx, decide, options) : this.turns.run(target.lock, () => this.inTurn(target, ctx, decide, options)));
    const outer = target.outerTurn;
    if (outer === undefined) return run();
    if (outer.writes || !this.pipelining) return this.inOuterTurn(outer.stream, run);
    // one that only checks the outer stream holds its turn for each attempt's decision and send
    return this.pipelined(target, ctx, decide, options, outer.stream);
  }

  private decidedAgain(lock: string, attempt: number): void {
    if (attempt > 1) this.options.onDecidedAgain?.(streamKindOf(lock));
  }

  /**
   * A workspace's command that appends to or checks its organization's stream (an acceptance, an invitation) runs in
   * the organization's turn, taken before its own lock's (the order every command takes them in: KeyedMutex.hold),
   * once the organization's commands in flight have settled. Without it, two such commands of different workspaces
   * decided on the same organization revision and the second was sent back — in an onboarding burst in one
   * organization, up to 8 times and then 409 for 36 % of them (bench:onboarding, session 28). One that appends to the
   * organization holds the turn until it has settled: the next one decides on its events, which no state holds before
   * they are committed (only its own lock's next command would fold them). One that only checks it (an invitation)
   * holds it while it decides and sends its append (`pipelined`): invitations, which never send each other back, then
   * follow one another at the pace of decisions, not of commits (review of session 28: held until the commit, 300
   * invitations in one organization ran 3–5× slower), and a writer after it appends behind its check.
   */
  private async inOuterTurn<T>(stream: string, run: () => Promise<T>): Promise<T> {
    const release = await this.turns.hold([stream]);
    try {
      await this.settledIn([stream]);
      return await run();
    } finally {
      release();
    }
  }

  /** A command whose turn lasts until its append is committed (a store that does not check APPEND_AFTER, or not known yet). */
  private async inTurn<C, E extends DomainEvent>(target: Target<C>, ctx: CommandContext, decide: (context: C) => Decision<E>, options: HandleOptions<E>): Promise<Written<C, E>> {
    // the last attempt, and the last that may decide (a conflict on the last decision earns one look for the key)
    let [last, decisions] = [ATTEMPTS, ATTEMPTS];
    const contended = new ContendedTurns(options, target.lock);
    for (let attempt = 1; ; attempt++) {
      this.decidedAgain(target.lock, attempt);
      const release = await contended.hold(this.turns);
      try {
        const view = this.states.forLock(target.lock);
        const { context, streams } = await target.load(view);
        contended.loaded(streams);
        keyStillOnFile(ctx, context);
        // (once the store is known to check APPEND_AFTER) another lock's events in flight folded in since the load
        const since = view.since();
        if (since === 'forgotten' || since.length > 0) {
          if (since !== 'forgotten') await Promise.all(since);
          if (attempt >= last) throw new ConcurrencyExhaustedError(target.lock);
          continue;
        }
        const found = appliedOf(streams, ctx, attempt);
        if (found) return { ...(await readBack<E>(this.store, found, streams, ctx, this.options.erasures)), warnings: [], context, replayed: true };
        if (attempt > decisions) throw new ConcurrencyExhaustedError(target.lock);

        dateAfter(ctx, streams);
        const decision = decide(context);
        if (!decision.ok) throw new DomainException(decision.error);
        const { events, warnings } = decision;
        if (events.length === 0) return { events, warnings, position: await positionOfState(this.store, decidedAt(streams)), context, replayed: false };

        const parts = partsOf(streams, events, ctx, options, target.organizationOf);
        // asks the store whether it checks APPEND_AFTER (no id: no precondition)
        const probe: AppendAfter | undefined = this.pipelining === undefined ? {} : undefined;
        if (probe) (parts[0]!.events[0]!.metadata as Record<symbol, unknown>)[APPEND_AFTER] = probe;
        try {
          const { position, replayed, resent, spans } = await appendResending(this.store, this.states, parts, events, options);
          if (probe && this.pipelining === undefined) this.pipelining = probe.checked === true;
          if (!replayed) return { events, warnings, position, context, replayed, spans, ...(resent && { resent }) };
          // replayed: the stored batch is another decision of this command, which deciding again finds by key
          last = Math.max(last, attempt + 1);
        } catch (error) {
          if (!decideAgainAfter(error)) throw error;
          await this.keysForgotten(error);
          if (inLog(error)) last = Math.max(last, attempt + 1);
          else if (attempt >= last) [decisions, last] = [attempt, attempt + 1];
        }
        if (attempt >= last) throw new ConcurrencyExhaustedError(target.lock);
      } finally {
        release();
      }
    }
  }

  /** A command whose turn ends once its append is sent (see the class comment). */
  private async pipelined<C, E extends DomainEvent>(
    target: Target<C>,
    ctx: CommandContext,
    decide: (context: C) => Decision<E>,
    options: HandleOptions<E>,
    /** the outer stream (Target.outerTurn) of a command that checks it: its turn is held while each attempt decides and sends */
    checkedOuter?: string,
  ): Promise<Written<C, E>> {
    // as in inTurn: the last attempt, and the last that may decide
    let [last, decisions] = [ATTEMPTS, ATTEMPTS];
    const contended = new ContendedTurns(options, target.lock);
    for (let attempt = 1; ; attempt++) {
      this.decidedAgain(target.lock, attempt);
      const decideAndSend = () =>
        this.turns.run(target.lock, () =>
          contended.around(this.turns, (held) => {
            const tip = () => this.decideOnTip(target, ctx, decide, options, attempt, attempt <= decisions, contended);
            return held.length === 0 ? tip() : this.settledIn(held).then(tip);
          }),
        );
      const turn = checkedOuter === undefined ? await decideAndSend() : await this.inOuterTurn(checkedOuter, decideAndSend);
      if ('answer' in turn) {
        if ((await Promise.all(turn.after)).every(Boolean)) return turn.answer();
      } else if ('again' in turn) {
        await turn.again;
      } else {
        const written = await turn.appended;
        if (written === IN_LOG) last = Math.max(last, attempt + 1);
        else if (written) return written;
        else if (attempt >= last) [decisions, last] = [attempt, attempt + 1];
      }
      if (attempt >= last) throw new ConcurrencyExhaustedError(target.lock);
    }
  }

  /**
   * In the lock's turn: folds the events of the lock's commands in flight into the states, decides on them, and sends
   * the append (the turn ends then; the commit is awaited outside it).
   */
  private async decideOnTip<C, E extends DomainEvent>(
    target: Target<C>,
    ctx: CommandContext,
    decide: (context: C) => Decision<E>,
    options: HandleOptions<E>,
    attempt: number,
    mayDecide: boolean,
    contended: ContendedTurns,
  ): Promise<Turn<C, E>> {
    const lock = target.lock;
    const pending = [...(this.inFlight.get(lock) ?? [])];
    const settledAll = () => Promise.all(pending.map((c) => c.settled));
    for (const command of pending) {
      if (command.folded) continue;
      command.folded = true;
      const folded = [];
      for (const part of command.parts)
        folded.push(await this.states.speculate(lock, { id: part.lastId, of: command, settled: command.settled }, part.stream, part.decidedOn, part.expected, part.events, command.idempotency));
      // a state with some of a command's events and not the others is no state to decide on (the command is bound to
      // fail: a stream moved under it): the states read what is committed, once the lock's commands settled
      if (!folded.every(Boolean)) {
        for (const part of command.parts) await this.states.forget(part.stream);
        return { again: settledAll() };
      }
    }
    const view = this.states.forLock(lock);
    const { context, streams } = await target.load(view);
    contended.loaded(streams);
    try {
      keyStillOnFile(ctx, context);
    } catch (error) {
      return { after: [], answer: () => Promise.reject(error) };
    }
    // another lock's events in flight folded into a state after it was loaded: the decision holds once they are committed
    const foreign = view.since();
    if (foreign === 'forgotten') return { again: settledAll() };
    const after = [...pending.map((c) => c.settled), ...foreign];
    let found: ReturnType<typeof appliedOf>;
    try {
      found = appliedOf(streams, ctx, attempt);
    } catch (error) {
      return { after, answer: () => Promise.reject(error) };
    }
    if (found) {
      // a state holding this lock's events in flight reads nothing newer from the store: the command's events may be
      // there under them (another replica decided it after those), and an answer from the other streams alone would
      // be part of the command (replicas e2e, seed 13: an acceptance's organization part without its workspace part)
      if (streams.some((s) => s.after)) return { again: settledAll() };
      const applied = found;
      return { after, answer: async () => ({ ...(await readBack<E>(this.store, applied, streams, ctx, this.options.erasures)), warnings: [], context, replayed: true }) };
    }
    if (!mayDecide) return { after, answer: () => Promise.reject(new ConcurrencyExhaustedError(lock)) };
    dateAfter(ctx, streams);
    const decision = decide(context);
    if (!decision.ok) return { after, answer: () => Promise.reject(new DomainException(decision.error)) };
    const { events, warnings } = decision;
    const noop = events.length === 0 ? decidedAt(streams) : undefined;
    if (noop) return { after, answer: async () => ({ events, warnings, position: await positionOfState(this.store, noop), context, replayed: false }) };
    const parts = partsOf(streams, events, ctx, options, target.organizationOf);
    // each part follows the uncommitted events its stream's state holds; a command whose events the decision saw but
    // no part follows must be committed before this append is sent
    const seen = new Set<unknown>([...streams.flatMap((s) => (s.after ? [s.after.command] : [])), ...foreign]);
    // by name, and the events by stream, once: a deletion across thousands of workspaces has as many parts (probe 53 F2)
    const [loaded, eventsOf] = [new Map(streams.map((s) => [s.stream, s])), ownEventsOf(events, options)];
    for (const part of parts) {
      // (a part the command did not load, HandleOptions.unchecked, follows nothing)
      const after = loaded.get(part.stream)?.after;
      // a check (no events) of a state holding another command's events in flight: that command is committed first
      if (!after || part.events.length === 0) continue;
      (part.events[0]!.metadata as Record<symbol, unknown>)[APPEND_AFTER] = { id: after.id } satisfies AppendAfter;
      seen.delete(after.command);
    }

    let settle!: (ok: boolean) => void;
    const own: InFlight = {
      parts: parts.filter((p) => p.events.length > 0).map((p) => ({
        stream: p.stream,
        expected: p.expected,
        events: eventsOf(p.stream),
        lastId: p.events.at(-1)!.id,
        decidedOn: loaded.get(p.stream)?.entry ?? NOT_LOADED,
      })),
      idempotency: idempotencyOf(parts),
      folded: false,
      settled: new Promise((resolve) => (settle = resolve)),
    };
    const inFlight = this.inFlight.get(lock) ?? this.inFlight.set(lock, new Set()).get(lock)!;
    inFlight.add(own);
    const done = async (ok: boolean) => {
      // (the streams it wrote to: a check-only part's state is as good as it was — a deletion checks every workspace)
      if (!ok) for (const part of parts) if (part.events.length > 0) await this.states.forget(part.stream);
      inFlight.delete(own);
      if (inFlight.size === 0 && this.inFlight.get(lock) === inFlight) this.inFlight.delete(lock);
      settle(ok);
    };
    const appended = (async (): Promise<Written<C, E> | typeof IN_LOG | undefined> => {
      let failure: unknown;
      try {
        if (seen.size === 0 || (await Promise.all(after)).every(Boolean)) {
          const { position, replayed, resent, spans } = await appendResending(this.store, this.states, parts, events, options);
          // replayed: the stored batch is another decision of this command; what was decided on this one fails
          await done(!replayed);
          return replayed ? IN_LOG : { events, warnings, position, context, replayed, spans, ...(resent && { resent }) };
        }
      } catch (error) {
        failure = error;
      }
      // decided again in a later turn: the commands decided after this one follow its events and cannot be folded into
      // the states it forgets, so that turn waits until they failed (one that followed the first decision must not be
      // written after the second: their APPEND_AFTER names the first decision's ids, which the second does not reuse,
      // so this wait is a second guard, kept because it makes the order plain)
      // the states holding what a deletion erased go before this command settles: the commands of other locks
      // waiting on it must not act on them (review, session 17)
      try {
        if (failure !== undefined && decideAgainAfter(failure)) await this.keysForgotten(failure);
      } finally {
        await done(false);
      }
      if (failure !== undefined && !decideAgainAfter(failure)) throw failure;
      return inLog(failure) ? IN_LOG : undefined;
    })();
    return { appended };
  }

  /** whether a command of this lock is deciding, waiting for its turn, or has its append in flight in this process */
  busy = (lock: string): boolean => this.turns.busy(lock) || this.inFlight.has(lock);

  /** Until the commands of these locks whose appends are in flight have settled (their turns are held: no more come). */
  private async settledIn(locks: readonly string[]): Promise<void> {
    await Promise.all(locks.flatMap((lock) => [...(this.inFlight.get(lock) ?? [])].map((command) => command.settled)));
  }

  /** After KeyForgottenSinceSealedError: the states that may hold what the deletion erased go before deciding again. */
  private async keysForgotten(error: unknown): Promise<void> {
    if (error instanceof KeyForgottenSinceSealedError) await this.options.onKeysForgotten?.(error.subjectIds);
  }
}

/** a lock's stream kind, for metrics: `organization`, `workspace`, `presence`… (the stream name's first word) */
const streamKindOf = (lock: string): string => lock.slice(0, Math.max(0, lock.indexOf('-'))) || 'other';
