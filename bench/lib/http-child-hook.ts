// Preloaded (-r) into the API child by http-server.ts; by default it changes nothing on the request path.
// - The child never outlives the bench: when the bench's end of the stdin pipe closes (the bench exited,
//   even by SIGKILL), the child terminates itself the normal way (SIGTERM: Nest's shutdown hooks).
// - SIGUSR2 exits normally (process.exit), so --cpu-prof / --heap-prof write their profile; a signal
//   death would not, and Nest re-raises SIGTERM after closing.
// - BENCH_HTTP_TRACE=1 (diagnosis only): times every node:sqlite call by SQL text, the server side of
//   every HTTP request (diagnostics_channel), the main thread's GC pauses and the event loop (delay, utilisation): count,
//   total, mean, p50, p99, max. Each line
//   `mark <label>` the bench writes to stdin prints the figures since the previous mark to stderr as one
//   line `TRACE <json>` and starts over.
// - --cpu-prof / --heap-prof given to the child (BENCH_HTTP_SERVER_NODE_ARGS) are handed to its worker threads too
//   (the projector's): a Worker created with its own execArgv inherits none of the parent's flags.
// - BENCH_HTTP_STALLS=<path> (set by the bench under BENCH_HTTP_TIMELINE=1, diagnosis only): records the main thread's
//   stalls and GC pauses with their times (recordStalls below).
// - BENCH_HTTP_ALLOC_PROF=<path> (diagnosis only): where the main thread's allocations come from over the measured
//   window (lib/alloc-sampler.ts).
// - BENCH_HTTP_WHATIF=no-outbox-io (diagnosis only, changes the app's behaviour!): the invitation mailer's
//   file I/O (fs/promises mkdir + appendFile of outbox.jsonl) resolves at once without touching the disk,
//   to measure what taking that I/O off the request path would gain.
import { createInterface } from 'node:readline';
import { gcKindNames } from './gc-kinds';

process.on('SIGUSR2', () => process.exit(0));
process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM'));
process.stdin.on('error', () => process.kill(process.pid, 'SIGTERM'));

const profilingFlags = process.execArgv.filter((a) => /^--(cpu|heap)-prof/.test(a));
if (profilingFlags.length > 0) {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const threads = require('node:worker_threads') as { Worker: typeof import('node:worker_threads').Worker };
  const Original = threads.Worker;
  threads.Worker = class extends Original {
    constructor(file: string | URL, options: import('node:worker_threads').WorkerOptions = {}) {
      super(file, options.execArgv ? { ...options, execArgv: [...profilingFlags, ...options.execArgv] } : options);
    }
  };
}

if ((process.env.BENCH_HTTP_WHATIF ?? '').split(',').includes('no-outbox-io')) {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const fsp = require('node:fs/promises') as Record<string, unknown>;
  fsp.appendFile = () => Promise.resolve();
  fsp.mkdir = () => Promise.resolve(undefined);
}

if (process.env.BENCH_HTTP_TRACE === '1') installTrace();
else process.stdin.resume();

function installTrace(): void {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const sqlite = require('node:sqlite') as typeof import('node:sqlite');
  const dc = require('node:diagnostics_channel') as typeof import('node:diagnostics_channel');
  const { PerformanceObserver, monitorEventLoopDelay, performance } =
    require('node:perf_hooks') as typeof import('node:perf_hooks');

  /** `samples`: every duration, for the percentiles (the p99 of a request, of a group commit's COMMIT) */
  type Stat = { n: number; ms: number; max: number; samples: number[] };
  let sql = new Map<string, Stat>();
  const add = (map: Map<string, Stat>, key: string, ms: number) => {
    const s = map.get(key) ?? { n: 0, ms: 0, max: 0, samples: [] };
    s.n++;
    s.ms += ms;
    if (ms > s.max) s.max = ms;
    s.samples.push(ms);
    map.set(key, s);
  };
  const percentile = (samples: number[], p: number) => {
    const sorted = [...samples].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
  };
  const label = (text: string) => text.replace(/\s+/g, ' ').trim().slice(0, 90);
  const timed = (proto: any, method: string, keyOf: (self: any, args: unknown[]) => string) => {
    const original = proto[method] as (...args: unknown[]) => unknown;
    proto[method] = function (this: unknown, ...args: unknown[]) {
      const t = performance.now();
      try {
        return original.apply(this, args);
      } finally {
        add(sql, `${method} ${keyOf(this, args)}`, performance.now() - t);
      }
    };
  };
  for (const m of ['run', 'all', 'get'])
    timed(sqlite.StatementSync.prototype, m, (self) => label(String(self.sourceSQL)));
  timed(sqlite.DatabaseSync.prototype, 'exec', (_self, args) => label(String(args[0])));

  let requests = new Map<string, Stat>();
  const started = new WeakMap<object, number>();
  dc.subscribe('http.server.request.start', (msg: any) => started.set(msg.response, performance.now()));
  dc.subscribe('http.server.response.finish', (msg: any) => {
    const t = started.get(msg.response);
    if (t === undefined) return;
    const route = `${msg.request.method} ${String(msg.request.route?.path ?? msg.request.url).replace(/[0-9a-f-]{36}/g, ':id')} ${msg.response.statusCode}`;
    add(requests, route, performance.now() - t);
  });

  // garbage collection pauses of the main thread, by kind (scavenge, mark-compact, …): a stalled event loop's usual suspect
  let gc = new Map<string, Stat>();
  const GC_KINDS = gcKindNames();
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) add(gc, GC_KINDS[(entry as unknown as { detail: { kind: number } }).detail.kind] ?? 'other', entry.duration);
  }).observe({ entryTypes: ['gc'] });

  let delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  let elu = performance.eventLoopUtilization();
  let since = performance.now();

  const dump = (mark: string) => {
    const now = performance.now();
    const round = (x: number) => Math.round(x * 1000) / 1000;
    const table = (m: Map<string, Stat>) =>
      Object.fromEntries(
        [...m]
          .sort((a, b) => b[1].ms - a[1].ms)
          .map(([k, s]) => [
            k,
            { n: s.n, totalMs: round(s.ms), avgMs: round(s.ms / s.n), p50Ms: round(percentile(s.samples, 50)), p99Ms: round(percentile(s.samples, 99)), maxMs: round(s.max) },
          ]),
      );
    const u = performance.eventLoopUtilization(elu);
    process.stderr.write(
      `TRACE ${JSON.stringify({
        mark,
        seconds: round((now - since) / 1000),
        eventLoop: {
          utilization: round(u.utilization),
          delayP50Ms: round(delay.percentile(50) / 1e6),
          delayP99Ms: round(delay.percentile(99) / 1e6),
          delayMaxMs: round(delay.max / 1e6),
        },
        sqlite: table(sql),
        requests: table(requests),
        gc: table(gc),
        heapUsedMB: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
      })}\n`,
    );
    sql = new Map();
    requests = new Map();
    gc = new Map();
    delay.disable();
    delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    elu = performance.eventLoopUtilization();
    since = now;
  };
  createInterface({ input: process.stdin }).on('line', (line) => {
    const m = /^mark (.*)$/.exec(line);
    if (m) dump(m[1]!);
  });
}

if (process.env.BENCH_HTTP_STALLS) recordStalls(process.env.BENCH_HTTP_STALLS);

if (process.env.BENCH_HTTP_ALLOC_PROF) {
  /* eslint-disable @typescript-eslint/no-require-imports */
  (require('./alloc-sampler') as typeof import('./alloc-sampler')).installAllocationSampler(process.env.BENCH_HTTP_ALLOC_PROF);
}

/**
 * BENCH_HTTP_TIMELINE=1 (the bench sets BENCH_HTTP_STALLS to a path): the main thread's stalls (a 2 ms timer late by
 * more than 15 ms) and GC pauses over 3 ms, as [kind, epoch ms at the start, ms, GC kind or, for a stall, the
 * thread's CPU ms within it], written to `<path>.<pid>` every second (the child ends by a signal, so there is no last
 * write at exit). lib/http-tail.ts lays them beside the slowest answers.
 */
function recordStalls(path: string): void {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { PerformanceObserver, performance } = require('node:perf_hooks') as typeof import('node:perf_hooks');
  const { writeFileSync } = require('node:fs') as typeof import('node:fs');
  const events: [string, number, number, number?][] = [];
  const epoch = (t: number) => performance.timeOrigin + t;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      if (e.duration > 3) events.push(['gc', epoch(e.startTime), e.duration, (e as unknown as { detail: { kind: number } }).detail.kind]);
  }).observe({ entryTypes: ['gc'] });
  const cpuMs = () => {
    const { user, system } = process.threadCpuUsage();
    return (user + system) / 1000;
  };
  let last = performance.now();
  let lastCpu = cpuMs();
  setInterval(() => {
    const now = performance.now();
    const cpu = cpuMs();
    // the thread's CPU time within the stall: near its length, the thread was busy; far below, it waited (for a core,
    // for GC helper threads, or blocked)
    if (now - last > 15) events.push(['stall', epoch(last), now - last, cpu - lastCpu]);
    last = now;
    lastCpu = cpu;
  }, 2).unref();
  setInterval(() => writeFileSync(`${path}.${process.pid}`, JSON.stringify(events)), 1000).unref();
}
