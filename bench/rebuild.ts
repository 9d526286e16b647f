// npm run bench:rebuild — rebuilds every read model from a realistic log of BENCH_REBUILD_EVENTS (default
// 1,000,000) events in the embedded stores, and reads the same log alone for comparison. The log is generated
// once (through the real deciders) and kept in the OS temp dir for the next runs. Last line: the JSON figures.
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '@rollcall/event-store';
import { PROJECTIONS } from '../libs/read-store/src/projections';
import { rebuild } from '../libs/read-store/src/projector';
import { SqliteReadStore } from '../libs/read-store/src/store';
import { generateLog } from './lib/rebuild-log';

const EVENTS = Number(process.env.BENCH_REBUILD_EVENTS ?? 1_000_000);
const shape = { events: EVENTS, orgs: 200, workspacesPerOrg: 10, seed: 1 };

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function rawRead(file: string): Promise<{ events: number; ms: number }> {
  const store = new SqliteEventStore(file);
  const started = performance.now();
  let events = 0;
  for await (const _ of store.readAll()) events++;
  const ms = performance.now() - started;
  await store.close();
  return { events, ms };
}

async function main(): Promise<void> {
  const cacheDir = join(tmpdir(), 'rollcall-bench');
  mkdirSync(cacheDir, { recursive: true });
  const logFile = join(cacheDir, `rebuild-log-${shape.events}-${shape.orgs}x${shape.workspacesPerOrg}-${shape.seed}-v1.sqlite`);
  const t0 = performance.now();
  let reported = 0;
  await generateLog(logFile, shape, (n) => {
    if (n - reported >= 100_000) console.log(`generating the log: ${(reported = n)} events (${seconds(performance.now() - t0)})`);
  });
  console.log(`log: ${logFile} (${seconds(performance.now() - t0)} to generate or find)`);

  const raw = await rawRead(logFile);
  console.log(`raw read: ${raw.events} events in ${seconds(raw.ms)}`);

  const dir = mkdtempSync(join(tmpdir(), 'rollcall-bench-rebuild-'));
  const eventStore = new SqliteEventStore(logFile);
  const readStore = new SqliteReadStore({ path: join(dir, 'read.sqlite'), synchronous: 'NORMAL' });
  try {
    let last = 0;
    const result = await rebuild(eventStore, readStore, PROJECTIONS, {
      progressEveryMs: 5000,
      onProgress: ({ position, target }) => {
        const pct = Math.floor((Number(position) / Number(target)) * 100);
        if (pct >= last + 10) console.log(`rebuild: ${(last = pct - (pct % 10))}%`);
      },
      logger: { info: console.log, error: console.error },
    });
    console.log(`rebuild of ${PROJECTIONS.map((p) => p.name).join(', ')}: ${result.events} events in ${seconds(result.ms)} (indexes included)`);
    const { foldMs, writeMs, finishMs } = result.phases;
    console.log(`  read and fold ${seconds(foldMs)}, write the rest ${seconds(writeMs)}, indexes ${seconds(finishMs)}; ${result.writeOuts} write-outs, ${result.evictions} evictions; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    const rawReadEventsPerSec = Math.round(raw.events / (raw.ms / 1000));
    console.log(
      JSON.stringify({
        bench: 'rebuild',
        events: result.events,
        eventsPerSec: result.eventsPerSec,
        rawReadEventsPerSec,
        ratio: Number((result.eventsPerSec / rawReadEventsPerSec).toFixed(3)),
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
