// bench:http: the printed results of phases 1, 1b and 2 — the human-readable lines and, last, the JSON line.
// See ../http.ts for the whole bench.
import { availableParallelism } from 'node:os';
import type { BareAppendResult } from './bare-append';
import { type changeAccessBySize, printColdLoad } from './http-cold-load';
import { IDEMPOTENCY, OPS, type load } from './http-commands';
import type { CpuTimes } from './http-server';
import { fmt, ms2 } from './http-stats';

export interface HttpBenchResults {
  /** phase 1: the measured window */
  run: Awaited<ReturnType<typeof load>>;
  clients: number;
  workspaces: number;
  /** the server's environment overrides (BENCH_HTTP_SERVER_ENV) */
  serverEnv: Record<string, string>;
  /** 1-minute load average before and after the window */
  loadBefore: number;
  loadAfter: number;
  cpuBefore: CpuTimes | undefined;
  cpuAfter: CpuTimes | undefined;
  /** the load generator's (this process's) CPU time over the window, ms: it shares the machine's cores */
  clientCpuMs: number;
  staleSocketRetries: number;
  /** phase 1b */
  bare: BareAppendResult;
  sampleBytes: number;
  /** phase 2 */
  size: Awaited<ReturnType<typeof changeAccessBySize>>;
  coldShape: { series: number; smallMembers: number; bigMembers: number };
  /** the server's TRACE lines (BENCH_HTTP_TRACE=1) and errors */
  traces: string[];
  serverErrors: string;
}

/** prints every result line, the JSON line last */
export function printResults(results: HttpBenchResults, out: (line: string) => void): void {
  const { run, size, bare, loadBefore, loadAfter, cpuBefore, cpuAfter, clientCpuMs, staleSocketRetries, traces, serverErrors } = results;
  const CLIENTS = results.clients;
  const WORKSPACES = results.workspaces;
    const all = OPS.map((op) => run.stats[op].latency).reduce((a, b) => a.merge(b));
    const ok = OPS.reduce((n, op) => n + run.stats[op].ok, 0);
    const errors = OPS.reduce((n, op) => n + run.stats[op].errors, 0);
    const commandsPerSec = ok / run.seconds;
    const experiments = [
      process.env.BENCH_HTTP_SERVER_ENV,
      process.env.BENCH_HTTP_WHATIF && `what-if ${process.env.BENCH_HTTP_WHATIF}`,
    ].filter(Boolean);
    out(
      `HTTP commands: ${CLIENTS} clients, ${WORKSPACES} workspaces, ${run.seconds.toFixed(1)} s, durability ${results.serverEnv.ROLLCALL_DURABILITY ?? 'full (default)'}${IDEMPOTENCY ? ', Idempotency-Key' : ''}${experiments.length ? ` [EXPERIMENT: ${experiments.join('; ')}]` : ''}`,
    );
    out(
      `  all            ${String(all.count).padStart(7)} answers  ${commandsPerSec.toFixed(0).padStart(6)} ok/s  p50 ${fmt(all.percentile(50))} ms  p90 ${fmt(all.percentile(90))} ms  p99 ${fmt(all.percentile(99))} ms  max ${fmt(all.max())} ms`,
    );
    for (const op of OPS) {
      const s = run.stats[op];
      out(
        `  ${op.padEnd(14)} ${String(s.latency.count).padStart(7)} answers  ${(s.ok / run.seconds).toFixed(0).padStart(6)} ok/s  p50 ${fmt(s.latency.percentile(50))} ms  p90 ${fmt(s.latency.percentile(90))} ms  p99 ${fmt(s.latency.percentile(99))} ms  max ${fmt(s.latency.max())} ms`,
      );
    }
    out(
      `  machine: ${availableParallelism()} CPUs, 1-min load average ${loadBefore.toFixed(2)} before / ${loadAfter.toFixed(2)} after the window (bench + server ≈ 2: anything above means other processes competed)`,
    );
    out(`  non-2xx / transport errors: ${errors}${errors > 0 ? '' : ' (none)'}`);
    for (const op of OPS) for (const [what, n] of run.stats[op].failures) out(`    ${op}: ${what} x${n}`);
    if (staleSocketRetries > 0)
      out(
        `  (${staleSocketRetries} requests were re-sent: the server had just closed their idle keep-alive socket)`,
      );
    if (run.acceptFallbacks > 0)
      out(`  (${run.acceptFallbacks} accepts became invites: no pending invitation left)`);
    const p50Small = size.smallLatency.percentile(50);
    const p50Big = size.bigLatency.percentile(50);
    printColdLoad(size, results.coldShape, out);
    const ratio = commandsPerSec / bare.perSec;
    out(
      `Bare NestJS endpoint, one durable append (${results.sampleBytes} bytes) per request, same clients, same machine, same run: ${bare.perSec.toFixed(0)} ok/s  p50 ${fmt(bare.p50Ms)} ms  p99 ${fmt(bare.p99Ms)} ms  errors ${bare.errors}  (1-min load average ${bare.loadBefore.toFixed(2)} before / ${bare.loadAfter.toFixed(2)} after)`,
    );
    out(`  ratio commands/s ÷ bare appends/s = ${ratio.toFixed(2)} (goal >= 0.5)`);
    // CPU per request: what the machine's load changes least (a busy machine slows both, but each needs the same work)
    const cpu =
      cpuBefore && cpuAfter && ok > 0
        ? {
            perCommandMs: (cpuAfter.processMs - cpuBefore.processMs) / ok,
            mainThreadPerCommandMs: (cpuAfter.mainThreadMs - cpuBefore.mainThreadMs) / ok,
            projectorThreadPerCommandMs: (cpuAfter.projectorThreadMs - cpuBefore.projectorThreadMs) / ok,
            commitThreadPerCommandMs: (cpuAfter.commitThreadMs - cpuBefore.commitThreadMs) / ok,
            mainThreadWaitShare: (cpuAfter.mainThreadWaitMs - cpuBefore.mainThreadWaitMs) / (cpuAfter.atMs - cpuBefore.atMs),
            mainThreadBusyShare: (cpuAfter.mainThreadMs - cpuBefore.mainThreadMs) / (cpuAfter.atMs - cpuBefore.atMs),
          }
        : undefined;
    if (cpu)
      out(
        `CPU per request (Linux /proc): command ${fmt(cpu.perCommandMs)} ms (main thread ${fmt(cpu.mainThreadPerCommandMs)} ms, projector thread ${fmt(cpu.projectorThreadPerCommandMs)} ms, commit thread ${fmt(cpu.commitThreadPerCommandMs)} ms, the rest: notary, WAL checkpoints, libuv, GC); bare append ${fmt(bare.cpuMsPerAppend ?? Number.NaN)} ms (main thread ${fmt(bare.mainThreadCpuMsPerAppend ?? Number.NaN)} ms)`,
      );
    if (cpu)
      out(
        `  the main thread over the window: on a core ${(100 * cpu.mainThreadBusyShare).toFixed(0)} %, runnable and waiting for one ${(100 * cpu.mainThreadWaitShare).toFixed(0)} % (/proc schedstat)`,
      );
    const clientCpuMsPerCommand = clientCpuMs / Math.max(1, ok);
    out(
      `Load generator (this process, same cores) CPU per request: command ${fmt(clientCpuMsPerCommand)} ms, bare append ${fmt(bare.clientCpuMsPerAppend)} ms`,
    );
    out(
      `Goals: >= 2000 commands/s: ${commandsPerSec >= 2000 ? 'met' : 'MISSED'}; p99 <= 50 ms: ${all.percentile(99) <= 50 ? 'met' : 'MISSED'}; ratio >= 0.5: ${ratio >= 0.5 ? 'met' : 'MISSED'}; cold load <= 1 s: ${size.coldBig <= 1000 ? 'met' : 'MISSED'}; /health <= 100 ms meanwhile: ${size.probe.max() <= 100 ? 'met' : 'MISSED'}`,
    );
    for (const t of traces) out(t);
    if (serverErrors)
      out(`Server errors (LOG_LEVEL=error):\n${serverErrors.split('\n').slice(0, 20).join('\n')}`);
    out(
      JSON.stringify({
        bench: 'http',
        commandsPerSec: Math.round(commandsPerSec),
        p50Ms: ms2(all.percentile(50)),
        p99Ms: ms2(all.percentile(99)),
        clients: CLIENTS,
        workspaces: WORKSPACES,
        errors,
        changeAccessP50Ms100: ms2(p50Small),
        changeAccessP50Ms100k: ms2(p50Big),
        changeAccessRatio: Math.round((p50Big / p50Small) * 100) / 100,
        coldLoadMs100k: ms2(size.coldBig),
        healthMaxMsDuringColdLoad: ms2(size.probe.max()),
        coldReplayMs100k: ms2(size.replay.ms),
        healthMaxMsDuringReplay: ms2(size.replay.probe.max()),
        bareAppendPerSec: Math.round(bare.perSec),
        ratio: Math.round(ratio * 100) / 100,
        ...(cpu && {
          cpuMsPerCommand: Math.round(cpu.perCommandMs * 1000) / 1000,
          mainThreadCpuMsPerCommand: Math.round(cpu.mainThreadPerCommandMs * 1000) / 1000,
          projectorThreadCpuMsPerCommand: Math.round(cpu.projectorThreadPerCommandMs * 1000) / 1000,
          commitThreadCpuMsPerCommand: Math.round(cpu.commitThreadPerCommandMs * 1000) / 1000,
          mainThreadWaitShare: Math.round(cpu.mainThreadWaitShare * 100) / 100,
          ...(bare.cpuMsPerAppend !== undefined && { bareCpuMsPerAppend: Math.round(bare.cpuMsPerAppend * 1000) / 1000 }),
        }),
        loadGeneratorCpuMsPerCommand: Math.round(clientCpuMsPerCommand * 1000) / 1000,
        loadGeneratorCpuMsPerAppend: Math.round(bare.clientCpuMsPerAppend * 1000) / 1000,
        loadAverage: { commands: [ms2(loadBefore), ms2(loadAfter)], bareAppend: [ms2(bare.loadBefore), ms2(bare.loadAfter)] },
      }),
    );
}
