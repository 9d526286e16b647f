import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the old generation grow past what its last full collection kept before it runs the next one:
 * (1 + percent / 100) times that, instead of V8's own factor (1.1 up to ~4, by its measure of GC and mutator speed
 * and the heap's maximum; ~1.5–2 in the API under load).
 * Under a steady command load the API promotes ~10 MB/s (per-stream command keys, cached states, subject keys) of
 * which most dies in the old generation; each full collection stops the main thread for 15–40 ms on two busy cores,
 * and every command in flight waits it out. 300 % made them ~3× rarer, for a heap up to ~4× its live size
 * (docs/adr/0010-command-throughput.md, seventh pass). 0: V8's own.
 *
 * A V8 flag set after start: V8 reads this one whenever it sets the next collection's limit (after the next full
 * collection), and Node keeps its flags writable for `v8.setFlagsFromString`. Process-wide (the projector's and the
 * other threads' heaps too); set by the process's entry point, never by `startApp` (tests run it in-process).
 */
export function setHeapGrowingPercent(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${Math.trunc(percent)}`);
}
