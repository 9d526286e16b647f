/**
 * Events are string-literal unions with a schema version. `data` is the fact; metadata travels beside it
 * (the domain never needs it to decide). Old versions are upcast in exactly one place: ../upcasting.ts.
 */
export interface Event<Type extends string, Data, Version extends number = 1> {
  type: Type;
  version: Version;
  data: Data;
}

export interface EventMetadata {
  /** the user on whose behalf the command ran ('system' for system-key commands) */
  actorId: string;
  correlationId: string;
  causationId: string;
  idempotencyKey: string;
  /** ISO-8601 */
  occurredAt: string;
}

export const SYSTEM_ACTOR = 'system';

/** A decider: pure functions over one consistency boundary. Time, ids and actor arrive in the command. */
export interface Decider<Command, Event, State, Context = State> {
  initialState: () => State;
  evolve: (state: State, event: Event) => State;
  decide: (command: Command, context: Context) => import('./result').Decision<Event>;
}

/** Time arithmetic on ISO strings, so the domain never reads a clock. */
export const addSeconds = (iso: string, seconds: number): string =>
  new Date(Date.parse(iso) + seconds * 1000).toISOString();
export const isAtOrAfter = (iso: string, limitIso: string): boolean => Date.parse(iso) >= Date.parse(limitIso);
