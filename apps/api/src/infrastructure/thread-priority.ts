import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * Lowers the calling thread's CPU priority to `nice` (0 normal … 19 lowest); answers why it could not, or undefined.
 *
 * Why: the projector's thread shares the machine's cores with command handling (the API's event loop and its
 * commit thread). Lowered, it yields to them while both want a core and catches up when they idle, in larger batches
 * that cost less per event (commit-linger.ts). On Linux a nice value applies to one thread, named by its id, which
 * `/proc/thread-self` gives (Node has no gettid); elsewhere nothing changes.
 */
export function lowerThisThreadsPriority(nice: number): string | undefined {
  if (nice === 0) return undefined;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return 'no thread id in /proc/thread-self';
    setPriority(tid, nice);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
