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
  /** the organization API key the command came with (its id, not its secret); absent with the system key or an invitation's token */
  apiKeyId?: string;
}

export const SYSTEM_ACTOR = 'system';

/*
 * Deciders are plain functions per consistency boundary — `decideX(command, context) → Decision`, `evolveX(state,
 * event)`, `initialXState` — composed by the app's StreamHandler (apps/api/src/shared/command-path/stream-handler.ts). A
 * `Decider` record type was dropped: nothing needed the three bundled, and workspace commands decide over a context
 * (organization + workspace) that is not their own stream's state.
 */

/** Time arithmetic on ISO strings, so the domain never reads a clock. */
export const addSeconds = (iso: string, seconds: number): string =>
  new Date(Date.parse(iso) + seconds * 1000).toISOString();
export const isAtOrAfter = (iso: string, limitIso: string): boolean => Date.parse(iso) >= Date.parse(limitIso);
