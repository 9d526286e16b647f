// Append throughput of the embedded event store. Run: `npm run bench:append` (no build step: see
// tools/register.cjs). Options (env): BENCH_EVENTS (default 150000), BENCH_EMMETT_MS
// (default 10000). Prints progress lines, then, last, one JSON line:
//   {"bench":"append","events":N,"eventsPerSec":…,"rawSqliteRowsPerSec":…,"ratio":…,"emmettEventsPerSec":…,"vsEmmett":…}
//
// Workload: 64 concurrent writers over 1,000 streams, one event per append, each with the stream's
// exact expected revision; durability 'full' (synchronous=FULL, WAL), the adapter's default.
//
// eventsPerSec        SqliteEventStore: N events / wall time from the first append to the last ack.
// rawSqliteRowsPerSec the plain-SQLite baseline for the same rows: the same N rows (same ids, streams,
//                     revisions, JSON serialised in the timed loop), into the same schema (copied from
//                     the adapter's file), on one node:sqlite connection with the same pragmas (WAL,
//                     synchronous=FULL, the adapter's cache_size), one prepared INSERT per row, committed
//                     in BEGIN IMMEDIATE … COMMIT transactions of the average size the adapter's group
//                     commit reached. No concurrency check, no idempotency lookup, no promises: SQLite's
//                     floor cost for those rows with that many fsyncs. The two run in turns, a tenth of
//                     the rows at a time, and each side's time is the sum of its turns.
// ratio               eventsPerSec / rawSqliteRowsPerSec (goal ≥ 0.5).
// emmettEventsPerSec  @event-driven-io/emmett-sqlite on the same workload, in the same run, for at most
//                     BENCH_EMMETT_MS (see bench/lib/append-emmett.ts for how it is driven); null, with
//                     emmettError, when it cannot run here.
// vsEmmett            eventsPerSec / emmettEventsPerSec (goal ≥ 1.5).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { type ExpectedRevision, SqliteEventStore } from '@rollcall/event-store';
import { loadEmmettBuildingSqlite3, runEmmett } from './lib/append-emmett';
import { type Workload, makeWorkload } from './lib/append-workload';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 150_000);
const WRITERS = 64;
const STREAMS = 1000;
const EMMETT_BUDGET_MS = Number(process.env.BENCH_EMMETT_MS ?? 10_000);
const SLICES = 10;

const log = (line: string) => process.stderr.write(`${line}\n`);
const round = (x: number) => Math.round(x);

/** Appends a workload through the adapter; returns the seconds from the first append to the last ack. */
async function appendAll(
  store: SqliteEventStore,
  workload: Workload,
  expected: Map<string, ExpectedRevision>,
): Promise<number> {
  const started = performance.now();
  await workload.run(async (stream, event) => {
    const result = await store.append(stream, [event], expected.get(stream) ?? 'no_stream');
    expected.set(stream, result.nextRevision);
    return true;
  });
  return (performance.now() - started) / 1000;
}

/** The plain-SQLite baseline: same schema, same pragmas, one prepared INSERT per row, G rows per transaction. */
class RawSqlite {
  private readonly db: DatabaseSync;
  private readonly insert: StatementSync;
  private readonly revisions = new Map<string, number>();

  constructor(file: string, schemaFrom: string) {
    const source = new DatabaseSync(schemaFrom, { readOnly: true });
    const ddl = source
      .prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'")
      .all()
      .map((row) => String(row.sql));
    source.close();
    this.db = new DatabaseSync(file);
    // the pragmas SqliteEventStore sets with durability 'full'
    this.db.exec('PRAGMA journal_mode = WAL');
    this.db.exec('PRAGMA synchronous = FULL');
    this.db.exec(`PRAGMA cache_size = -${SqliteEventStore.DEFAULT_CACHE_SIZE_KIB}`);
    for (const statement of ddl) this.db.exec(statement);
    this.insert = this.db.prepare(
      'INSERT INTO events (id, stream, revision, type, data, metadata, created) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
  }

  /** inserts the workload's rows; returns the seconds it took */
  insertAll(workload: Workload, groupSize: number): number {
    const rows = workload.interleaved();
    const started = performance.now();
    for (let i = 0; i < rows.length; i += groupSize) {
      this.db.exec('BEGIN IMMEDIATE');
      const created = Date.now();
      for (let j = i; j < Math.min(i + groupSize, rows.length); j++) {
        const { stream, event } = rows[j]!;
        const revision = this.revisions.get(stream) ?? 0;
        this.revisions.set(stream, revision + 1);
        this.insert.run(
          event.id,
          stream,
          revision,
          event.type,
          JSON.stringify(event.data),
          JSON.stringify(event.metadata),
          created,
        );
      }
      this.db.exec('COMMIT');
    }
    return (performance.now() - started) / 1000;
  }

  close(): void {
    this.db.close();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rollcall-bench-append-'));
  try {
    log(`append bench: ${EVENTS} events, ${WRITERS} writers, ${STREAMS} streams, durability full, in ${dir}`);
    // warm up the JIT on a throwaway store so the measured run is steady state
    const warmup = new SqliteEventStore(join(dir, 'warmup.sqlite'));
    await appendAll(warmup, makeWorkload(5_000, WRITERS, STREAMS), new Map());
    await warmup.close();

    // The adapter and the raw baseline take turns, slice by slice, so that both meet the same disk
    // (fsync latency on a shared VM drifts by a factor of 2 within a minute).
    const workload = makeWorkload(EVENTS, WRITERS, STREAMS);
    const adapterFile = join(dir, 'adapter.sqlite');
    const store = new SqliteEventStore(adapterFile, { durability: 'full' });
    const raw = new RawSqlite(join(dir, 'raw.sqlite'), adapterFile);
    const expected = new Map<string, ExpectedRevision>();
    const commitsBefore = store.commitSequence;
    let adapterSeconds = 0;
    let rawSeconds = 0;
    let appended = 0;
    let groupSize = 1;
    for (const slice of workload.split(SLICES)) {
      adapterSeconds += await appendAll(store, slice, expected);
      appended += slice.events;
      // the baseline commits groups of the average size the adapter's group commit reached so far
      groupSize = Math.max(1, Math.round(appended / (store.commitSequence - commitsBefore)));
      rawSeconds += raw.insertAll(slice, groupSize);
    }
    const commits = store.commitSequence - commitsBefore;
    const stored = Number(await store.headPosition());
    await store.close();
    raw.close();
    if (stored !== EVENTS) throw new Error(`adapter stored ${stored} events, expected ${EVENTS}`);
    const eventsPerSec = EVENTS / adapterSeconds;
    const rawSqliteRowsPerSec = EVENTS / rawSeconds;
    log(
      `adapter: ${round(eventsPerSec)} events/s (${adapterSeconds.toFixed(2)} s, ${commits} commits, ~${groupSize} events/commit)`,
    );
    log(
      `raw SQLite, ${groupSize} rows per transaction: ${round(rawSqliteRowsPerSec)} rows/s (${rawSeconds.toFixed(2)} s)`,
    );

    let emmettEventsPerSec: number | null = null;
    let emmettError: string | undefined;
    try {
      const emmett = loadEmmettBuildingSqlite3(log);
      const run = await runEmmett(emmett, join(dir, 'emmett.sqlite'), workload, EMMETT_BUDGET_MS);
      emmettEventsPerSec = run.events / run.seconds;
      log(
        `emmett-sqlite: ${round(emmettEventsPerSec)} events/s (${run.events} events in ${run.seconds.toFixed(2)} s, ` +
          `${run.retries} retried after SQLITE_BUSY, synchronous=${String(run.synchronous)})`,
      );
    } catch (error) {
      emmettError = error instanceof Error ? error.message : String(error);
      log(`emmett-sqlite could not run: ${emmettError}`);
    }

    const result: Record<string, unknown> = {
      bench: 'append',
      events: EVENTS,
      eventsPerSec: round(eventsPerSec),
      rawSqliteRowsPerSec: round(rawSqliteRowsPerSec),
      ratio: Number((eventsPerSec / rawSqliteRowsPerSec).toFixed(3)),
      emmettEventsPerSec: emmettEventsPerSec === null ? null : round(emmettEventsPerSec),
      vsEmmett: emmettEventsPerSec === null ? null : Number((eventsPerSec / emmettEventsPerSec).toFixed(2)),
    };
    if (emmettError !== undefined) result.emmettError = emmettError;
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
