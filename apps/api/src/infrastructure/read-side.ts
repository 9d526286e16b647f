import type { Metrics } from './metrics';

/**
 * The query side as the API sees it: the read store and, in embedded mode, the in-process projector.
 * Filled in by the projections issue; until then it only answers health checks.
 */
export interface ReadSide {
  ping(): Promise<void>;
  /** resolves when every projection reached `position` (read-your-writes), or rejects after timeoutMs */
  waitFor(position: bigint, timeoutMs: number): Promise<void>;
  updateLagMetrics(metrics: Metrics, head: bigint): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}
export const READ_SIDE = Symbol('ReadSide');
