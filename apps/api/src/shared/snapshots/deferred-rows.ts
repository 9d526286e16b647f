import { LoadTurns, SNAPSHOT_TURN_MS } from '../command-path/load-turns';

/**
 * The rows of a snapshot built into a decision state's Maps when they are first needed, not all at the cold load
 * (docs/adr/0013-snapshots-sealed-per-snapshot.md, "Session 59"). A cold load of a 100,000-member workspace spent most
 * of its time building ~300,000 row objects and their Maps (and the scavenges copying them), though its first command
 * reads a handful of them: a change of access reads the actor, the member and their users. Now a load parses and checks
 * every chunk as before (a chunk that does not open or parse still fails the load, which then replays), and keeps the
 * parsed columns; a row is built when a command reads it by key, and the rest in the background, chunk by chunk in
 * turns, right after the load. Anything that needs every row (iterating, a new key, a deletion) builds what is left at
 * once, in the Map's order: what the domain sees is a Map with the same entries, in the same order, as a full fold.
 */

/** A chunk of rows not yet in the Map: its keys, in order, and how to build the i-th. */
export interface PendingRows<V> {
  /** the chunk's keys (a chunk kept as text is parsed then) */
  keys(): readonly string[];
  /** false when the key is certainly not in the chunk, told without parsing it; absent: the keys are looked at */
  mayHold?(key: string): boolean;
  build(row: number): V;
}

/**
 * A Map whose first entries may still be rows of a snapshot (PendingRows, in the Map's order). A row read or replaced by
 * key before its turn is kept in `early` (built once: a fold that changes an object in place, as an invitation's, keeps
 * changing the one the Map will hold), and takes its place when its chunk moves in. Values are never undefined. Its
 * size counts the rows the snapshot says it holds (its head's counts); the last chunk checks that they were as many.
 */
export class DeferredMap<V> extends Map<string, V> {
  // (private fields: a DeferredMap equals a Map of the same entries, own properties included, as tests compare them)
  #pending: PendingRows<V>[] = [];
  #pendingRows: number;
  #early = new Map<string, V>();

  /** `rows`: how many rows the chunks to be deferred hold */
  constructor(rows = 0) {
    super();
    this.#pendingRows = rows;
  }

  /** Adds a chunk of rows after those already pending (only before anything was set: a load's rows come first). */
  defer(rows: PendingRows<V>): void {
    if (super.size > 0) throw new Error('rows can be deferred only into an empty map');
    this.#pending.push(rows);
  }

  /** whether rows are still to be built */
  get deferred(): boolean {
    return this.#pending.length > 0;
  }

  /** Moves the next pending chunk into the Map; false when none is left. */
  step(): boolean {
    const rows = this.#pending.shift();
    if (!rows) return false;
    const keys = rows.keys();
    this.#pendingRows -= keys.length;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const early = this.#early.size > 0 ? this.#early.get(key) : undefined;
      if (early !== undefined) this.#early.delete(key);
      // a key twice in a snapshot: only a writer's defect can make one (a full fold would have kept one entry)
      if (super.has(key)) throw new Error(`key ${key} twice in a snapshot's rows`);
      super.set(key, early ?? rows.build(i));
    }
    if (this.#pending.length === 0 && this.#pendingRows !== 0) {
      const counted = super.size + this.#pendingRows;
      this.#pendingRows = 0;
      throw new Error(`${super.size} rows in a snapshot whose head counts ${counted}`);
    }
    return true;
  }

  /** Builds every row still pending, in order. */
  complete(): void {
    while (this.step());
  }

  /** the chunk still pending that holds this key, and its row there */
  #find(key: string): [PendingRows<V>, number] | undefined {
    for (const rows of this.#pending) {
      if (rows.mayHold?.(key) === false) continue;
      // (an array search: a command reads a few rows before the background has built them all)
      const row = rows.keys().indexOf(key);
      if (row >= 0) return [rows, row];
    }
    return undefined;
  }

  /** whether the key is one of the rows still pending */
  #isPending(key: string): boolean {
    return this.#early.has(key) || this.#find(key) !== undefined;
  }

  /** the pending row under this key (built once), or undefined */
  #pendingRow(key: string): V | undefined {
    const early = this.#early.get(key);
    if (early !== undefined) return early;
    const found = this.#find(key);
    if (!found) return undefined;
    const value = found[0].build(found[1]);
    this.#early.set(key, value);
    return value;
  }

  override get(key: string): V | undefined {
    if (this.#pending.length === 0) return super.get(key);
    return super.get(key) ?? this.#pendingRow(key);
  }

  override has(key: string): boolean {
    if (this.#pending.length === 0) return super.has(key);
    return super.has(key) || this.#isPending(key);
  }

  override set(key: string, value: V): this {
    if (this.#pending.length > 0 && !super.has(key)) {
      // a row still pending keeps its place; a new key goes after every row: those are built first
      if (this.#isPending(key)) {
        this.#early.set(key, value);
        return this;
      }
      this.complete();
    }
    return super.set(key, value);
  }

  override delete(key: string): boolean {
    this.complete();
    return super.delete(key);
  }

  override clear(): void {
    this.complete();
    super.clear();
  }

  override get size(): number {
    return super.size + this.#pendingRows;
  }

  override forEach(callback: (value: V, key: string, map: Map<string, V>) => void, thisArg?: unknown): void {
    this.complete();
    super.forEach(callback, thisArg);
  }

  override keys(): MapIterator<string> {
    this.complete();
    return super.keys();
  }

  override values(): MapIterator<V> {
    this.complete();
    return super.values();
  }

  override entries(): MapIterator<[string, V]> {
    this.complete();
    return super.entries();
  }

  override [Symbol.iterator](): MapIterator<[string, V]> {
    this.complete();
    return super[Symbol.iterator]();
  }
}

/**
 * A Map derived from others (an index of addresses), built by `build` when first used: any read or write builds it
 * first. Maps built together (an index and its shared holders) are given one `DerivedMaps` so that building one builds
 * them all, before anything reads or changes either.
 */
export class DerivedMap<V> extends Map<string, V> {
  readonly #derivation: Derivation;

  constructor(derivation: Derivation) {
    super();
    this.#derivation = derivation;
  }

  #ready(): void {
    if (!this.#derivation.done && !this.#derivation.building) this.#derivation.run();
  }

  override get(key: string): V | undefined {
    this.#ready();
    return super.get(key);
  }

  override has(key: string): boolean {
    this.#ready();
    return super.has(key);
  }

  override set(key: string, value: V): this {
    this.#ready();
    return super.set(key, value);
  }

  override delete(key: string): boolean {
    this.#ready();
    return super.delete(key);
  }

  override clear(): void {
    this.#ready();
    super.clear();
  }

  override get size(): number {
    this.#ready();
    return super.size;
  }

  override forEach(callback: (value: V, key: string, map: Map<string, V>) => void, thisArg?: unknown): void {
    this.#ready();
    super.forEach(callback, thisArg);
  }

  override keys(): MapIterator<string> {
    this.#ready();
    return super.keys();
  }

  override values(): MapIterator<V> {
    this.#ready();
    return super.values();
  }

  override entries(): MapIterator<[string, V]> {
    this.#ready();
    return super.entries();
  }

  override [Symbol.iterator](): MapIterator<[string, V]> {
    this.#ready();
    return super[Symbol.iterator]();
  }
}

/** Rows between two pauses of a derived Map's build (Derivation): ~1–3 ms here. */
export const DERIVED_ROWS_PER_STEP = 2_000;

/** Each row given to `index`, in order, pausing every DERIVED_ROWS_PER_STEP rows: a Derivation's build. */
export function* inSteps<T>(rows: Iterable<T>, index: (row: T) => void): Generator<void> {
  let n = 0;
  for (const row of rows) {
    index(row);
    if (++n % DERIVED_ROWS_PER_STEP === 0) yield;
  }
}

/**
 * How derived Maps are built: a generator that builds them, pausing (yield) where the background may take a turn
 * (deferred-rows' completeInTurns); the first use of one of the Maps builds the rest at once. Its reads of the rows go
 * through live Map iterators, and every change of the rows that matters to it comes with a change of the derived Maps
 * (the folds keep them together), which builds the rest first.
 */
export class Derivation {
  done = false;
  #steps: Iterator<unknown> | undefined;

  constructor(private readonly build: () => Iterator<unknown>) {}

  /** while a part is being built: the Maps it builds are used as they are */
  building = false;

  /** Builds a part (one step of the generator); true when it is done. */
  step(): boolean {
    if (this.done) return true;
    this.#steps ??= this.build();
    this.building = true;
    try {
      if (this.#steps.next().done) this.done = true;
    } finally {
      this.building = false;
    }
    return this.done;
  }

  /** Builds the rest. */
  run(): void {
    while (!this.step());
  }
}

/**
 * The background starts this long after the load: the command that loaded the state (and a workspace's load after its
 * organization's) goes first. Begun at once, the organization's rows were built in the turns between the workspace's
 * chunks, and the first command waited for both (measured: the same ~0.9 s as building every row during the load).
 */
export const BACKGROUND_DELAY_MS = 250;

/**
 * Builds, in turns of the event loop (SNAPSHOT_TURN_MS), the rows a load left pending, then the derived Maps: each
 * turn builds whole chunks until its time is up, so that requests waiting meanwhile wait about a turn. What a command
 * needs before then it builds itself (DeferredMap), and what it built is not built again.
 */
export async function completeInTurns(maps: readonly DeferredMap<unknown>[], derivations: readonly Derivation[], delayMs = BACKGROUND_DELAY_MS): Promise<void> {
  const turns = new LoadTurns(SNAPSHOT_TURN_MS);
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  await turns.yield();
  for (const map of maps)
    while (map.step()) {
      if (turns.due()) await turns.yield();
    }
  for (const derivation of derivations)
    while (!derivation.step()) {
      if (turns.due()) await turns.yield();
    }
}

// A restored state's Maps are Maps to whoever reads them: to a copy made with `new state.users.constructor()`, and to a
// comparison of a restored state with a replayed one (Jest's equality compares constructors), as much as to the domain.
for (const kind of [DeferredMap, DerivedMap]) Object.defineProperty(kind.prototype, 'constructor', { value: Map, writable: true, configurable: true });
