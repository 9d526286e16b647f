// Event ids in the embedded store's append path: random (UUID version 4) against time-ordered (version 7, what
// newEventId draws). Run: `npm run bench:event-ids`. Options (env): BENCH_IDS_PREFILL (default 300000 events written
// first, in batches of 1,000, with ids of the same kind), BENCH_IDS_EVENTS (default 40000 appends measured),
// BENCH_IDS_ORDER (default "v4,v7,v4,v7": the runs, alternated). Each run: a fresh data dir, durability 'full', 64
// writers over 1,024 streams, one event per append (~250 bytes of data) at the stream's exact expected revision.
// Prints one line per run, then, last, one JSON line:
//   {"bench":"event-ids","v4PerSec":…,"v7PerSec":…,"v4CpuUsPerEvent":…,"v7CpuUsPerEvent":…,"ratio":…,"load":…}
// (medians of each kind's runs; ratio = v7PerSec / v4PerSec; CPU of the whole process, every thread).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { v7 } from 'uuid';
import { type ExpectedRevision, type NewEvent, SqliteEventStore } from '@rollcall/event-store';

const PREFILL = Number(process.env.BENCH_IDS_PREFILL ?? 300_000);
const EVENTS = Number(process.env.BENCH_IDS_EVENTS ?? 40_000);
const ORDER = (process.env.BENCH_IDS_ORDER ?? 'v4,v7,v4,v7').split(',') as Kind[];
const WRITERS = 64;
type Kind = 'v4' | 'v7';

async function run(kind: Kind): Promise<{ perSec: number; cpuUsPerEvent: number }> {
  const id = kind === 'v4' ? randomUUID : () => v7();
  const event = (): NewEvent => ({ id: id(), type: 'T', data: { text: 'x'.repeat(200) }, metadata: { idempotencyKey: randomUUID(), occurredAt: new Date().toISOString() } });
  const dir = mkdtempSync(join(tmpdir(), 'rollcall-bench-ids-'));
  const store = new SqliteEventStore(join(dir, 'events.sqlite'), {});
  try {
    for (let i = 0; i < PREFILL; i += 1000) await store.append(`prefill-${i}`, Array.from({ length: Math.min(1000, PREFILL - i) }, event), 'no_stream');
    const heads = new Map<string, bigint>();
    const perWriter = Math.floor(EVENTS / WRITERS);
    const cpu = process.cpuUsage();
    const start = performance.now();
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        for (let k = 0; k < perWriter; k++) {
          const stream = `s-${w}-${k % 16}`;
          const expected: ExpectedRevision = heads.get(stream) ?? 'no_stream';
          heads.set(stream, (await store.append(stream, [event()], expected)).nextRevision);
        }
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    const used = process.cpuUsage(cpu);
    const events = perWriter * WRITERS;
    const figures = { perSec: Math.round(events / seconds), cpuUsPerEvent: Math.round(((used.user + used.system) / events) * 10) / 10 };
    console.log(JSON.stringify({ kind, events, prefill: PREFILL, ...figures, load: loadavg()[0]!.toFixed(2) }));
    return figures;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

void (async () => {
  const runs: Record<Kind, { perSec: number; cpuUsPerEvent: number }[]> = { v4: [], v7: [] };
  for (const kind of ORDER) runs[kind].push(await run(kind));
  const of = (kind: Kind, key: 'perSec' | 'cpuUsPerEvent') => (runs[kind].length ? median(runs[kind].map((r) => r[key])) : null);
  const [v4, v7PerSec] = [of('v4', 'perSec'), of('v7', 'perSec')];
  console.log(
    JSON.stringify({
      bench: 'event-ids',
      prefill: PREFILL,
      events: EVENTS,
      v4PerSec: v4,
      v7PerSec,
      v4CpuUsPerEvent: of('v4', 'cpuUsPerEvent'),
      v7CpuUsPerEvent: of('v7', 'cpuUsPerEvent'),
      ratio: v4 && v7PerSec ? Math.round((v7PerSec / v4) * 100) / 100 : null,
      load: loadavg().map((l) => l.toFixed(2)).join(' '),
    }),
  );
})();
