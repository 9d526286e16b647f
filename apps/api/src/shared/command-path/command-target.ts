import type { EventSpan } from './idempotency';
import type { Loaded, StreamStates } from './stream-states';

/**
 * What a command decides on, and how to load it. `lock` is the stream commands take turns on in this process;
 * `load` loads the decision context and the streams it may append to (with their expected revisions).
 */
export interface Target<C> {
  lock: string;
  /**
   * A stream besides the lock's that the command appends to (`writes`) or checks, whose turn is taken first
   * (StreamHandler.inOuterTurn): the organization's, for a workspace's command (an acceptance writes it, an
   * invitation checks it). Always the wider stream, so that turns are taken in one order (keyed-mutex.ts).
   */
  outerTurn?: { stream: string; writes: boolean };
  load(states: StreamStates): Promise<{ context: C; streams: Loaded<unknown>[] }>;
  /**
   * The organization a stream the command appends to belongs to: written into each of its events' metadata
   * (`organizationId`), so that every integration event names its organization, also a workspace's or a presence
   * stream's, whose names do not (probe 87 F4). Every command acts within one organization but a partner link, which
   * writes one event into a workspace of each (`workspacePair`).
   */
  organizationOf?: (stream: string) => string;
}

/** `organizationOf` of a command whose streams are all one organization's */
export const inOrganization = (organizationId: string) => (): string => organizationId;

/** The outcome of a command: its events (decided now, or read back for a retry), their position, the context. */
export interface Written<C, E> {
  events: E[];
  warnings: string[];
  /** global position of the command's last event (when it decided nothing, that of the state it was decided on: replay.ts positionOfState) */
  position: string;
  /** the context the events were decided on; for a replay, the current one */
  context: C;
  /** true when the events were already in the log: a retry of a command whose answer was lost */
  replayed: boolean;
  /** where the events are in the log (appended, or read back); absent when nothing was appended */
  spans?: EventSpan[];
  /**
   * decided and written by this command, by a send whose outcome was unclear: its re-send found the batch written (the
   * store wrote nothing now). Not a replay: the command's side effects (its mail) are still to do; the keys a deletion
   * forgets went with that first send.
   */
  resent?: true;
  /** for a replay: where its events were read (`stream@from+count`, or `stream>loaded` for a stream searched after the
   * revision its state was loaded at), for a handler's error when a part it needs is missing */
  readFrom?: string;
}
