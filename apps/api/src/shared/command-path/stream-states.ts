import { type DataSubject, type DomainEvent, type OrganizationEvent, type OrganizationState, type WorkspaceEvent, type WorkspaceState, evolveOrganization, checkReadable, evolveWorkspace, fromStored, initialOrganizationState, initialWorkspaceState } from '@rollcall/domain';
import type { EventStore, ExpectedRevision } from '@rollcall/event-store';
import { differencesFromLog } from './cached-state-check';
import { HeardErasures, holdsErased } from '../erasure/heard-erasures';
import { KeyedMutex } from './keyed-mutex';
import { LoadTurns, REPLAY_TURN_MS } from './load-turns';
import { type Entry, type Loaded, type OwnCommand, type SingleEntry, type Speculation, type StreamKind, type StreamStatesOptions, keepLatest, loaded, noteApplied, noteOccurredAt, remember } from './stream-entries';
import { RowBudget, organizationRows, workspaceRows } from './state-rows';

export const organizationStream = (organizationId: string) => `organization-${organizationId}`;
export const workspaceStream = (workspaceId: string) => `workspace-${workspaceId}`;
export { APPLIED_KEYS_PER_STREAM, type AppliedCommand, type Loaded, type StreamKind } from './stream-entries';

/** what a load answers when it found a speculation of another lock after taking the stream's turn: wait, then load */
const SETTLE_FIRST = Symbol('settle first');
/** what a load answers when an erasure heard meanwhile erased what it read: load again (HeardErasures) */
const RELOAD = Symbol('reload');
const ignore = () => undefined;

/**
 * The deciders' states, loaded from their streams and cached by stream revision: a load reads only the events
 * appended since the cached revision (by this or any other replica), so a command in a workspace of 100,000 members
 * does not replay it. States are folded in place, one load at a time per stream.
 */
export class StreamStates {
  private readonly orgs = new Map<string, Entry<OrganizationState>>();
  private readonly workspaces = new Map<string, Entry<WorkspaceState>>();
  /** streams of other kinds (a user's presence stream), by stream name */
  private readonly singles = new Map<string, SingleEntry<unknown>>();
  /**
   * The latest revision a subscription saw of streams this process caches (`observed`): a cached state behind it is
   * stale, and `peek` and `workspaceCached` load it before answering.
   */
  private readonly seen = new Map<string, bigint>();
  private readonly mutex = new KeyedMutex();
  /** the address erasures heard, for loads that run across one (dropHoldingErasedAddresses) */
  private readonly erasures = new HeardErasures();
  /** streams whose cached state holds events not committed yet, by stream name (`speculate`) */
  private readonly speculative = new Map<string, Speculation>();
  /** the lock this view loads for (`forLock`): it reads that lock's speculations, and waits for those of others */
  private owner: string | undefined;
  /** what this view loaded (`since`) */
  private loads: Loaded<unknown>[] | undefined;
  /** the rows the cached organization and workspace states hold (shared by every view) */
  private readonly budget: RowBudget;
  /** states dropped only to make room for others (`madeRoom`) */
  private readonly roomMade = new WeakSet<object>();

  constructor(
    private readonly store: EventStore,
    private readonly options: StreamStatesOptions = {},
  ) {
    this.budget = new RowBudget(options.maxCachedRows ?? 1_000_000);
  }

  organization(organizationId: string): Promise<Loaded<OrganizationState>> {
    const stream = organizationStream(organizationId);
    return this.load(stream, async () => {
      const startedAt = Date.now();
      const entry = this.orgs.get(organizationId) ??
        (await this.options.snapshots?.restore('organization', stream)) ?? { state: initialOrganizationState(), revision: -1n, applied: new Map() };
      await this.fold(stream, entry, (e) => this.evolveOrganization(entry.state, e as OrganizationEvent));
      // a snapshot holds committed events only
      if (!this.speculative.has(stream)) this.options.snapshots?.folded('organization', stream, entry);
      await this.checkAgainstLog(stream, entry, initialOrganizationState, (state, e) => evolveOrganization(state, e as OrganizationEvent), startedAt);
      this.keep(this.orgs, organizationStream, organizationId, entry, organizationRows(entry.state));
      return this.loaded(stream, entry);
    });
  }

  /** A view for one lock's commands (StreamHandler): its loads see that lock's speculations; others wait for them. */
  forLock(lock: string): StreamStates {
    const view = Object.create(this) as StreamStates;
    view.owner = lock;
    view.loads = [];
    return view;
  }

  /**
   * After a decision on what this view loaded: another lock's command may have folded its events in flight into one
   * of those states (the same objects) after it was loaded, and the decision may have seen them: their `settled`
   * promises (it holds once each resolved true). 'forgotten': a state was dropped from the cache since (a failed
   * append's events may have been in it): decide again.
   */
  since(): Promise<boolean>[] | 'forgotten' {
    const settled: Promise<boolean>[] = [];
    for (const load of this.loads ?? []) {
      const since = load.since();
      if (since === 'forgotten') return since;
      settled.push(...since);
    }
    return settled;
  }

  /** A load in the stream's turn, once no other lock's speculation is pending on it. */
  private async load<T>(stream: string, body: () => Promise<T | typeof RELOAD>): Promise<T> {
    for (;;) {
      if (this.foreign(stream)) await this.settled(stream);
      const result = await this.mutex.run<T | typeof SETTLE_FIRST | typeof RELOAD>(stream, () => (this.foreign(stream) ? Promise.resolve(SETTLE_FIRST) : body()));
      if (result !== SETTLE_FIRST && result !== RELOAD) return result as T;
    }
  }

  private loaded<S>(stream: string, entry: Entry<S>): Loaded<S> {
    const result = loaded(stream, entry, this);
    this.loads?.push(result);
    return result;
  }

  /** @internal the speculation pending on a stream (`loaded`) */
  speculation(stream: string): Speculation | undefined {
    return this.speculative.get(stream);
  }

  /** @internal the cached entry of a stream (`loaded`: was it dropped since?) */
  cached(stream: string): unknown {
    if (stream.startsWith('organization-')) return this.orgs.get(stream.slice('organization-'.length));
    if (stream.startsWith('workspace-')) return this.workspaces.get(stream.slice('workspace-'.length));
    return this.singles.get(stream);
  }

  /** @internal a state dropped only to make room for others (`keep`) holds committed events alone: a decision on it stands */
  madeRoom = (entry: object): boolean => this.roomMade.has(entry);

  /** another lock's speculation on the stream (this view must not read it) */
  private foreign(stream: string): Speculation | undefined {
    const speculation = this.speculative.get(stream);
    return speculation && speculation.owner !== this.owner ? speculation : undefined;
  }

  /** waits, outside the stream's turn (its command needs it to settle), until no other lock's speculation is pending */
  private async settled(stream: string): Promise<void> {
    for (let s = this.foreign(stream); s; s = this.foreign(stream)) await s.settled.then(ignore, ignore);
  }

  /**
   * The organization's state as last loaded in this process, loading it only when it is not cached. For checks
   * that a later load cannot invalidate (a workspace, once created, exists for good).
   */
  async organizationCached(organizationId: string): Promise<OrganizationState> {
    const stream = organizationStream(organizationId);
    if (this.foreign(stream)) await this.settled(stream);
    return this.orgs.get(organizationId)?.state ?? (await this.organization(organizationId)).state;
  }

  /** The workspace's state, or undefined when the organization has no such workspace. */
  async workspace(org: OrganizationState, workspaceId: string): Promise<Loaded<WorkspaceState> | undefined> {
    const info = org.workspaces.get(workspaceId);
    if (!info) return undefined;
    const stream = workspaceStream(workspaceId);
    return this.load(stream, async () => {
      const startedAt = Date.now();
      const heard = this.erasures.heard;
      const entry = this.workspaces.get(workspaceId) ??
        (await this.options.snapshots?.restore('workspace', stream)) ?? { state: initialWorkspaceState(info), revision: -1n, applied: new Map() };
      await this.fold(stream, entry, (e) => evolveWorkspace(entry.state, e as WorkspaceEvent));
      // an erasure heard during this load, of an address it read before: neither cached nor snapshotted, read again
      if (this.erasures.holdsErasedSince(entry.state, heard)) {
        this.drop(stream);
        return RELOAD;
      }
      if (!this.speculative.has(stream)) this.options.snapshots?.folded('workspace', stream, entry);
      await this.checkAgainstLog(stream, entry, () => initialWorkspaceState(info), (state, e) => evolveWorkspace(state, e as WorkspaceEvent), startedAt);
      this.keep(this.workspaces, workspaceStream, workspaceId, entry, workspaceRows(entry.state));
      return this.loaded(stream, entry);
    });
  }

  /**
   * The workspace's state as last loaded in this process, loading it only when it is not cached or a subscription
   * saw its stream move (`observed`). For hot paths (a presence heartbeat) whose refusals a command re-checks on a
   * fresh load before anything is appended.
   */
  async workspaceCached(org: OrganizationState, workspaceId: string): Promise<WorkspaceState | undefined> {
    const stream = workspaceStream(workspaceId);
    if (this.foreign(stream)) await this.settled(stream);
    const cached = this.workspaces.get(workspaceId);
    if (cached && !this.isStale(stream, cached)) return cached.state;
    return (await this.workspace(org, workspaceId))?.state;
  }

  /**
   * A stream of its own kind, folded by `kind` and cached by revision like the organizations and workspaces (a
   * user's presence stream: docs/adr/0006). `kind` must be the same for every load of one stream.
   */
  single<S>(stream: string, kind: StreamKind<S>): Promise<Loaded<S>> {
    return this.load(stream, async () => {
      const entry = (this.singles.get(stream) as SingleEntry<S> | undefined) ?? { state: kind.initial(), revision: -1n, applied: new Map(), kind };
      await this.fold(stream, entry, (e) => (entry.state = kind.evolve(entry.state, e)));
      const evicted = keepLatest(this.singles as Map<string, SingleEntry<S>>, stream, entry, this.options.maxCachedSingles ?? 100_000);
      if (evicted) this.roomMade[this.speculative.has(evicted[0]) ? 'delete' : 'add'](evicted[1]);
      return this.loaded(stream, entry);
    });
  }

  /**
   * Rule 12 for what memory holds (AddressErasure): a cached workspace state holding an invitation (not accepted) whose
   * address's subject a deletion forgot is dropped; its next load reads the log, which tells an invitation appended
   * before the deletion (address gone) from one after it (a new key: ADR 0003, "Erasure and sealing race").
   * Returns the streams dropped.
   */
  async dropHoldingErasedAddresses(isErased: (subject: DataSubject) => boolean): Promise<string[]> {
    // a load in flight checks what it read against this before caching it (HeardErasures)
    this.erasures.add(isErased);
    const dropped: string[] = [];
    // the cached ones, each in its turn, all at once: the wait is the longest queue, not their sum
    await Promise.all(
      Array.from(this.workspaces.keys(), (workspaceId) =>
        this.mutex.run(workspaceStream(workspaceId), async () => {
          const entry = this.workspaces.get(workspaceId);
          if (!entry || !holdsErased(entry.state, isErased)) return;
          this.drop(workspaceStream(workspaceId));
          dropped.push(workspaceStream(workspaceId));
        }),
      ),
    );
    return dropped;
  }

  /** A single stream's cached state without reading the store; undefined when not cached, or stale (`observed`). */
  peek<S>(stream: string): S | undefined {
    const entry = this.singles.get(stream) as SingleEntry<S> | undefined;
    return entry && !this.isStale(stream, entry) && !this.foreign(stream) ? entry.state : undefined;
  }

  /**
   * A subscription saw `stream` at `revision` (an event another replica, or this one, appended). A cached state
   * behind it is stale: `peek` and `workspaceCached` ignore it until a load (or this process's own append, which a
   * subscription may report before the append returns) brings it there.
   */
  observed(stream: string, revision: bigint): void {
    const entry = this.singles.get(stream) ?? (stream.startsWith('workspace-') ? this.workspaces.get(stream.slice('workspace-'.length)) : undefined);
    if (entry && entry.revision < revision && (this.seen.get(stream) ?? -1n) < revision) this.seen.set(stream, revision);
  }

  private isStale(stream: string, entry: Entry<unknown>): boolean {
    const seen = this.seen.get(stream);
    if (seen === undefined) return false;
    if (seen > entry.revision) return true;
    this.seen.delete(stream);
    return false;
  }

  /**
   * Folds events this process just appended into the cached state, so the next command does not read (and decrypt)
   * them back. Only when the cache is exactly at the revision the append expected and the events landed right after
   * it; otherwise the next load reads what it misses, as usual. (The store answers an append whose event ids it
   * already holds with where they are: another replica wrote the same command, maybe after other events, and
   * folding here would skip those: test/replicas.e2e-spec.ts.)
   */
  async appended(
    stream: string,
    expected: ExpectedRevision,
    events: DomainEvent[],
    nextRevision: bigint,
    command: OwnCommand,
    replayed = false,
  ): Promise<void> {
    await this.mutex.run(stream, async () => {
      // appended at no expected revision (HandleOptions.unchecked): where its events landed is not known here
      if (expected === 'any') return this.drop(stream);
      // The store answered with a batch written before (the same command sent to another replica too): its events are
      // that replica's decision, maybe not these, and maybe elsewhere than right after `expected`. A state that holds
      // these (speculated: pipelining) holds them in place of the stored ones: it is dropped, and the next load reads
      // the stream as it is. (A store that cannot tell a replay: events landed elsewhere say it.)
      const base = expected === 'no_stream' ? -1n : expected;
      if (replayed || (typeof base === 'bigint' && nextRevision !== base + BigInt(events.length))) this.drop(stream);
      else this.foldOwn(stream, expected, events, nextRevision, command);
    });
  }

  /**
   * Folds events of a command of lock `owner` that are not committed yet (their append is in flight) into the cached
   * state, as `appended` would once they are, so that the next command of that lock decides on them. Until `settled`
   * resolves, only views of that lock (`forLock`) read the stream; every other load and cached read waits (a reader
   * must not act on events that may never be written). A command whose append fails must `forget` the stream before
   * `settled` resolves. False when the cached entry is not the one the command was decided on (`Loaded.entry`), or
   * not exactly at `expected` (nothing folded): a stream forgotten and loaded again may stand at `expected` with
   * another writer's event there, and a command folded onto it would read as applied although it fails.
   */
  speculate(
    owner: string,
    command: { id: string; of: object; settled: Promise<boolean> },
    stream: string,
    decidedOn: object,
    expected: ExpectedRevision,
    events: DomainEvent[],
    idempotency: OwnCommand,
  ): Promise<boolean> {
    return this.mutex.run(stream, async () => {
      // appended at no expected revision (HandleOptions.unchecked): nothing decided on it, nothing folded; its cached
      // state is dropped (the next load reads the stream), and its readers need not wait for the command
      if (expected === 'any') {
        this.drop(stream);
        return true;
      }
      const base = expected === 'no_stream' ? -1n : expected;
      if (this.cached(stream) !== decidedOn) return false;
      if (typeof base !== 'bigint' || !this.foldOwn(stream, expected, events, base + BigInt(events.length), idempotency)) return false;
      const speculation = { owner, id: command.id, command: command.of, entry: decidedOn, settled: command.settled };
      this.speculative.set(stream, speculation);
      void command.settled.finally(() => {
        if (this.speculative.get(stream) === speculation) this.speculative.delete(stream);
      });
      return true;
    });
  }

  /** Drops the cached state of a stream (and what was speculated on it): the next load reads it from the store again. */
  forget(stream: string): Promise<void> {
    return this.mutex.run(stream, async () => this.drop(stream));
  }

  /** `forget`, in the stream's turn */
  private drop(stream: string): void {
    this.roomMade.delete(this.cached(stream) as object);
    this.speculative.delete(stream);
    this.seen.delete(stream);
    this.budget.forget(stream);
    if (stream.startsWith('organization-')) this.orgs.delete(stream.slice('organization-'.length));
    else if (stream.startsWith('workspace-')) this.workspaces.delete(stream.slice('workspace-'.length));
    else this.singles.delete(stream);
  }

  /** `appended`'s fold, in the stream's turn; false when the cache is not exactly where the events were appended */
  private foldOwn(
    stream: string,
    expected: ExpectedRevision,
    events: DomainEvent[],
    nextRevision: bigint,
    command: OwnCommand,
  ): boolean {
    const isOrg = stream.startsWith('organization-');
    const isWorkspace = !isOrg && stream.startsWith('workspace-');
    const entry = this.cached(stream) as Entry<unknown> | undefined;
    const base = expected === 'no_stream' ? -1n : expected;
    if (!entry || typeof base !== 'bigint' || entry.revision !== base || nextRevision !== base + BigInt(events.length)) return false;
    for (const e of events)
      if (isOrg) this.evolveOrganization(entry.state as OrganizationState, e as OrganizationEvent);
      else if (isWorkspace) evolveWorkspace(entry.state as WorkspaceState, e as WorkspaceEvent);
      else (entry as SingleEntry<unknown>).state = (entry as SingleEntry<unknown>).kind.evolve(entry.state, e);
    remember(entry.applied, command.idempotencyKey, {
      fromRevision: base + 1n,
      count: events.length,
      ...(command.requestHash !== undefined && { requestHash: command.requestHash }),
    });
    noteOccurredAt(entry, command.occurredAt);
    entry.revision = nextRevision;
    return true;
  }

  private evolveOrganization(state: OrganizationState, event: OrganizationEvent): void {
    if (event.type === 'UserDeleted') {
      const user = state.users.get(event.data.userId);
      if (user && !user.deleted) this.options.onUserDeleted?.(user, state.organizationId);
    }
    evolveOrganization(state, event);
  }

  /** `options.checkAgainstLog`: a committed state (no speculation) compared with a fold of the log up to its revision */
  private async checkAgainstLog<S>(stream: string, entry: Entry<S>, initial: () => S, evolve: (state: S, event: DomainEvent) => void, loadStartedAt: number): Promise<void> {
    const report = this.options.checkAgainstLog;
    if (!report || this.speculative.has(stream)) return;
    // (the initial state is made only here: every load of every command made one for nothing before)
    const differences = await differencesFromLog(this.store, stream, entry, initial(), evolve, loadStartedAt);
    if (differences.length > 0) report(stream, differences);
  }

  private async fold<S>(stream: string, entry: Entry<S>, evolve: (e: DomainEvent) => void): Promise<void> {
    // The entry holds a command's events in flight (only that lock's view gets here). What the store holds after the
    // revision they took is another writer's: folded on top, the state would hold both. A decision on the speculation
    // follows its last event (APPEND_AFTER): the store refuses it if anything else got there, and it is decided again.
    if (this.speculative.get(stream)?.entry === entry) return;
    // a long replay (a cold 100,000-member workspace) must not starve every other request
    const turns = new LoadTurns(REPLAY_TURN_MS);
    for await (const recorded of this.store.readStream(stream, { fromRevision: entry.revision + 1n })) {
      // an event a later version wrote: no decision on a state that does not hold it (the entry stays before it)
      checkReadable(recorded);
      const event = fromStored(recorded);
      if (event) evolve(event);
      noteApplied(entry, recorded);
      entry.revision = recorded.revision;
      if (turns.due()) await turns.yield();
    }
  }

  /** Keeps a loaded organization's or workspace's state; the least recently loaded go past `maxCached`, or the rows (state-rows.ts) */
  private keep<S>(cache: Map<string, Entry<S>>, streamOf: (id: string) => string, id: string, entry: Entry<S>, rows: number): void {
    const evicted = keepLatest(cache, id, entry, this.options.maxCached ?? 10_000);
    if (evicted) this.budget.forget(streamOf(evicted[0]));
    // (what goes to make room holds committed events alone: a state holding a command in flight stays, or is not marked)
    if (evicted) this.roomMade[this.speculative.has(streamOf(evicted[0])) ? 'delete' : 'add'](evicted[1]);
    for (const over of this.budget.note(streamOf(id), rows, (s) => !this.speculative.has(s))) {
      const state = this.cached(over) as object;
      this.drop(over);
      this.roomMade.add(state);
    }
  }
}
