import type { ProjectionStatus, ReadStore } from '@rollcall/read-store';

/** The query side as the API sees it: the read store and the projections' progress. */
export interface ReadSide {
  readonly store: ReadStore;
  ping(): Promise<void>;
  /** the in-process projections' state (none when an external projector runs them) */
  projections(): ProjectionStatus[];
  /** the projections without a checkpoint in the read store: reset, and not built since (whoever projects them) */
  withoutCheckpoint(): Promise<string[]>;
  /** true when every projection reached `position` (read-your-writes) within timeoutMs */
  waitFor(position: bigint, timeoutMs: number): Promise<boolean>;
  /**
   * The log position every projection has reached (the lowest checkpoint): a read of the read models begun now
   * includes every change up to it. Undefined while a projection has none (reset, being rebuilt).
   */
  position(): Promise<bigint | undefined>;
  /** tells the projector that these data subjects were forgotten (its key cache must not keep them) */
  forgotten(subjectIds: string[]): void;
  start(): Promise<void>;
  close(): Promise<void>;
}
export const READ_SIDE = Symbol('ReadSide');
