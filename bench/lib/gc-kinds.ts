// The names of a `gc` performance entry's `detail.kind`, from Node's constants (4 is a full mark-compact, 8 a step of
// incremental marking). Shared by the server child's hook and the bench's report.
import { constants } from 'node:perf_hooks';

export function gcKindNames(): Record<number, string> {
  return {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
    [constants.NODE_PERFORMANCE_GC_MINOR_MARK_SWEEP]: 'minor mark-sweep',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental marking',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
  };
}
