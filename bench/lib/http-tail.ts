// bench:http with BENCH_HTTP_TIMELINE=1 (diagnosis): where the slowest 1 % of phase 1's answers come from. The
// measured window is cut into 250 ms slices by the answers' ends; a slice holding several of the slowest 1 % is
// printed with what the server's main thread did meanwhile (its longest stalls over 15 ms and GC pauses over 3 ms,
// recorded by lib/http-child-hook.ts), and one line says how much of the slowest 1 % those few slices hold. A p99 made
// of a few slices where all 64 clients waited at once points at pauses (GC, a long task, a wait for a core); one
// spread evenly, at queueing.
import { existsSync, readFileSync } from 'node:fs';
import { gcKindNames } from './gc-kinds';

const SLICE_MS = 250;
/** a slice is printed when it holds at least this many of the slowest 1 % */
const CROWDED = 5;
const LONG_STALL_MS = 25;
const GC_KINDS = gcKindNames();

/** a stall's fourth field: the main thread's CPU ms within it (busy, or waiting for a core?) */
type ServerEvent = [kind: string, startEpochMs: number, ms: number, gcKindOrCpuMs?: number];

/** `timeline`: pairs of (answer's end, epoch ms; latency, ms) from lib/http-commands.ts load() */
export function printTail(timeline: number[], stallsFile: string, out: (line: string) => void): void {
  const n = timeline.length / 2;
  if (n === 0) return;
  const latencies = Float64Array.from({ length: n }, (_, i) => timeline[2 * i + 1]!).sort();
  const p99 = latencies[Math.min(n - 1, Math.ceil(0.99 * n) - 1)]!;
  let start = Infinity;
  for (let i = 0; i < n; i++) start = Math.min(start, timeline[2 * i]! - timeline[2 * i + 1]!);
  const slices = new Map<number, { answers: number; slow: number }>();
  let slowest = 0;
  for (let i = 0; i < n; i++) {
    const k = Math.floor((timeline[2 * i]! - start) / SLICE_MS);
    const slice = slices.get(k) ?? { answers: 0, slow: 0 };
    slice.answers++;
    if (timeline[2 * i + 1]! >= p99) {
      slice.slow++;
      slowest++;
    }
    slices.set(k, slice);
  }
  const events: ServerEvent[] = existsSync(stallsFile) ? JSON.parse(readFileSync(stallsFile, 'utf8')) : [];
  const crowded = [...slices].filter(([, s]) => s.slow >= CROWDED).sort((a, b) => a[0] - b[0]);
  out(`Slowest 1 % of answers (>= ${p99.toFixed(1)} ms) by ${SLICE_MS} ms slice of the window (BENCH_HTTP_TIMELINE=1):`);
  for (const [k, s] of crowded) {
    const from = start + (k - 1) * SLICE_MS; // what ended in the slice began up to one slice earlier
    const to = start + (k + 1) * SLICE_MS;
    const during = events.filter(([, t]) => t >= from && t < to);
    const longest = [...during]
      .sort((a, b) => b[2] - a[2])
      .slice(0, 4)
      .map(([kind, , ms, x]) => (kind === 'gc' ? `${GC_KINDS[x ?? 0] ?? 'gc'} ${ms.toFixed(0)} ms` : `stall ${ms.toFixed(0)} ms (CPU ${(x ?? 0).toFixed(0)})`));
    const gcMs = during.filter(([kind]) => kind === 'gc').reduce((sum, e) => sum + e[2], 0);
    out(
      `  ${((k * SLICE_MS) / 1000).toFixed(2)} s: ${s.slow} of ${s.answers} answers; the server's main thread over the slice and the one before: longest ${longest.join(', ') || '(none over 15 ms)'}; GC ${gcMs.toFixed(0)} ms`,
    );
  }
  const inCrowded = crowded.reduce((sum, [, s]) => sum + s.slow, 0);
  out(`  ${inCrowded} of the ${slowest} slowest answers ended in ${crowded.length} of ${slices.size} slices`);
  // over the whole window: were the long stalls the main thread's own work, or its wait for a core?
  const end = start + slices.size * SLICE_MS;
  const long = events.filter(([kind, t, ms]) => kind === 'stall' && ms >= LONG_STALL_MS && t >= start && t < end);
  if (long.length > 0) {
    const wall = long.reduce((sum, e) => sum + e[2], 0);
    const cpu = long.reduce((sum, e) => sum + (e[3] ?? 0), 0);
    out(`  main-thread stalls of ${LONG_STALL_MS} ms or more: ${long.length}, ${wall.toFixed(0)} ms in all, of which the thread ran ${cpu.toFixed(0)} ms (${((100 * cpu) / wall).toFixed(0)} %; the rest it waited: for a core, for GC helper threads, or blocked)`);
  }
  if (events.length === 0) out(`  (no record of the server's main thread at ${stallsFile})`);
}
