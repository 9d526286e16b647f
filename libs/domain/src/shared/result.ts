import type { DomainError } from './errors';

/** What a decider answers: the events to append (maybe none) and warnings, or an error value. */
export type Decision<E> =
  | { ok: true; events: E[]; warnings: string[] }
  | { ok: false; error: DomainError };

export const accept = <E>(events: E[], warnings: string[] = []): Decision<E> => ({ ok: true, events, warnings });
export const reject = <E = never>(error: DomainError): Decision<E> => ({ ok: false, error });

/** A check that either passes (undefined) or yields an error. Lets deciders read as a list of guards. */
export type Check = DomainError | undefined;
