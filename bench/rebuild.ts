// npm run bench:rebuild — rebuilds every read model from a realistic log of BENCH_REBUILD_EVENTS (default
// 1,000,000) events in the embedded stores, and reads the same log alone for comparison, through the same event
// store: `ratio` is rebuild events/s over log-alone events/s. The log is generated once (through the real deciders)
// and kept in the OS temp dir for the next runs. Last line: the JSON figures.
//
// BENCH_REBUILD_OPTIONS: RebuildOptions as JSON (e.g. '{"lateWriteOutAt":1}'), to compare settings on the same log.
//
// BENCH_REBUILD_SEALED=1: the same log with its personal data sealed, as the application writes it (a copy appended
// through createRollcallEventStore, made once and kept beside it), read and rebuilt through the application's
// store, which decrypts each personal field as it reads: both figures then include the decryption.
import { existsSync, mkdtempSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EventStore, SqliteEventStore, createRollcallEventStore } from '@rollcall/event-store';
import { PROJECTIONS } from '../libs/read-store/src/projections';
import { type RebuildOptions, rebuild } from '../libs/read-store/src/projector';
import { SqliteReadStore } from '../libs/read-store/src/store';
import { generateLog } from './lib/rebuild-log';

const EVENTS = Number(process.env.BENCH_REBUILD_EVENTS ?? 1_000_000);
const SEALED = process.env.BENCH_REBUILD_SEALED === '1';
const OPTIONS = JSON.parse(process.env.BENCH_REBUILD_OPTIONS ?? '{}') as RebuildOptions;
// every projection's events: console activity, teams and presence (bench/lib/rebuild-log.ts)
const shape = { events: EVENTS, orgs: 200, workspacesPerOrg: 10, seed: 1, mix: 'all' } as const;

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const load = () => `load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`;
/** CPU seconds of the whole process (every thread) since `from` */
const cpuSeconds = (from: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1e6;
};
/** CPU seconds of the main thread since `from` (the rest of the process's: the store's writer thread, GC helpers) */
const mainCpuSeconds = (from: NodeJS.CpuUsage) => {
  const used = process.threadCpuUsage(from);
  return (used.user + used.system) / 1e6;
};

/** the event store a run reads: the plain log file, or the application's store over the sealed copy's data dir */
async function openLog(source: string): Promise<EventStore> {
  if (!SEALED) return new SqliteEventStore(source);
  return (await createRollcallEventStore({ dataDir: source, durability: 'normal' })).store;
}

async function readAlone(source: string): Promise<{ events: number; ms: number; cpu: number }> {
  const store = await openLog(source);
  const started = performance.now();
  const cpu = process.cpuUsage();
  let events = 0;
  for await (const _ of store.readAll()) events++;
  const ms = performance.now() - started;
  const result = { events, ms, cpu: cpuSeconds(cpu) };
  await store.close();
  return result;
}

/** the plain log appended again through the application's store (personal data sealed), in a data dir; made once */
async function sealedCopy(logFile: string): Promise<string> {
  const dataDir = logFile.replace(/\.sqlite$/, '-sealed');
  if (existsSync(dataDir)) return dataDir;
  const partial = `${dataDir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  const plain = new SqliteEventStore(logFile);
  const { store } = await createRollcallEventStore({ dataDir: partial, durability: 'normal' });
  const started = performance.now();
  let copied = 0;
  let pending: Promise<unknown>[] = [];
  for await (const e of plain.readAll()) {
    // appends queued together are committed together, in call order (positions keep the log's order)
    pending.push(store.append(e.stream, [{ id: e.id, type: e.type, data: e.data, metadata: e.metadata }], 'any'));
    if (pending.length >= 2000) {
      await Promise.all(pending);
      pending = [];
    }
    if (++copied % 100_000 === 0) console.log(`sealing a copy of the log: ${copied} events (${seconds(performance.now() - started)})`);
  }
  await Promise.all(pending);
  await store.close();
  await plain.close();
  renameSync(partial, dataDir);
  return dataDir;
}

async function main(): Promise<void> {
  const cacheDir = join(tmpdir(), 'rollcall-bench');
  mkdirSync(cacheDir, { recursive: true });
  const logFile = join(cacheDir, `rebuild-log-${shape.events}-${shape.orgs}x${shape.workspacesPerOrg}-${shape.seed}-v2.sqlite`);
  const t0 = performance.now();
  let reported = 0;
  await generateLog(logFile, shape, (n) => {
    if (n - reported >= 100_000) console.log(`generating the log: ${(reported = n)} events (${seconds(performance.now() - t0)})`);
  });
  console.log(`log: ${logFile} (${seconds(performance.now() - t0)} to generate or find)`);
  const source = SEALED ? await sealedCopy(logFile) : logFile;
  if (SEALED) console.log(`sealed copy: ${source} (read through the application's store, decrypting)`);

  const raw = await readAlone(source);
  console.log(`log alone: ${raw.events} events in ${seconds(raw.ms)} (${raw.cpu.toFixed(1)} s CPU); ${load()}`);

  const dir = mkdtempSync(join(tmpdir(), 'rollcall-bench-rebuild-'));
  const eventStore = await openLog(source);
  const readStore = new SqliteReadStore({ path: join(dir, 'read.sqlite'), synchronous: 'NORMAL' });
  try {
    let last = 0;
    const cpu = process.cpuUsage();
    const mainCpu = process.threadCpuUsage();
    const result = await rebuild(eventStore, readStore, PROJECTIONS, {
      ...OPTIONS,
      progressEveryMs: 5000,
      onProgress: ({ position, target }) => {
        const pct = Math.floor((Number(position) / Number(target)) * 100);
        if (pct >= last + 10) console.log(`rebuild: ${(last = pct - (pct % 10))}%`);
      },
      logger: { info: console.log, error: console.error },
    });
    const rebuildCpu = cpuSeconds(cpu);
    const rebuildMainCpu = mainCpuSeconds(mainCpu);
    console.log(
      `rebuild of ${PROJECTIONS.map((p) => p.name).join(', ')}: ${result.events} events in ${seconds(result.ms)} (indexes included; ` +
        `${rebuildCpu.toFixed(1)} s CPU, all threads, ${rebuildMainCpu.toFixed(1)} s of it the main thread's); ${load()}`,
    );
    const { foldMs, writeMs, finishMs } = result.phases;
    console.log(
      `  read and fold ${seconds(foldMs)}, last write-outs handed over ${seconds(writeMs)}, then their writes and the indexes ${seconds(finishMs)}; ` +
        `${result.writeOuts} write-outs, ${result.evictions} evictions`,
    );
    const rawReadEventsPerSec = Math.round(raw.events / (raw.ms / 1000));
    console.log(
      JSON.stringify({
        bench: 'rebuild',
        sealed: SEALED,
        ...(process.env.BENCH_REBUILD_OPTIONS && { options: OPTIONS }),
        events: result.events,
        eventsPerSec: result.eventsPerSec,
        rawReadEventsPerSec,
        ratio: Number((result.eventsPerSec / rawReadEventsPerSec).toFixed(3)),
        cpuRatio: Number((raw.cpu / raw.events / (rebuildCpu / result.events)).toFixed(3)),
        cpuS: Number(rebuildCpu.toFixed(1)),
        mainCpuS: Number(rebuildMainCpu.toFixed(1)),
        logAloneCpuS: Number(raw.cpu.toFixed(1)),
        peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      }),
    );
  } finally {
    await readStore.close();
    await eventStore.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
