// Runs the bare-append endpoint (lib/bare-append-server.ts) in a child over a fresh data dir and measures it with the
// same closed loop as bench:http's commands: `clients` keep-alive clients, each sending its next request when the
// previous one answered, for `seconds` after a warm-up. Each request appends one event as large as a stored command
// event (`sample`: an invitation's UserInvited as the API stores it, personal fields sealed) to one of `streams` streams.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { JsonClient } from './http-client';
import { startServerChild } from './http-server';
import { Samples } from './http-stats';

export interface StoredSample {
  type: string;
  data: unknown;
  metadata: Record<string, unknown>;
  bytes: number;
}

/** one stored event of `type` from an embedded event store (as written, encrypted fields included) */
export function storedSample(eventsFile: string, type: string): StoredSample {
  const db = new DatabaseSync(eventsFile, { readOnly: true });
  try {
    const row = db.prepare('SELECT data, metadata FROM events WHERE type = ? LIMIT 1').get(type) as { data: string; metadata: string } | undefined;
    if (!row) throw new Error(`no ${type} event in ${eventsFile}`);
    return { type, data: JSON.parse(row.data), metadata: JSON.parse(row.metadata), bytes: row.data.length + row.metadata.length };
  } finally {
    db.close();
  }
}

export interface BareAppendResult {
  perSec: number;
  p50Ms: number;
  p99Ms: number;
  answers: number;
  errors: number;
  seconds: number;
  loadBefore: number;
  loadAfter: number;
  /** the endpoint's CPU time per successful append over the window, all threads and its main thread (Linux) */
  cpuMsPerAppend?: number;
  mainThreadCpuMsPerAppend?: number;
  /** the load generator's (this process's) CPU time per successful append over the window */
  clientCpuMsPerAppend: number;
}

export async function measureBareAppend(options: {
  env: Record<string, string>;
  sample: StoredSample;
  clients: number;
  streams: number;
  seconds: number;
  warmupSeconds: number;
}): Promise<BareAppendResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rollcall-bench-bare-'));
  const server = await startServerChild({ ...options.env, BARE_APPEND_DATA_DIR: dataDir }, 60_000, {
    entry: 'bench/lib/bare-append-server.ts',
    banner: /Bare append on (http:\/\/[^\s]+)/,
  });
  const client = new JsonClient(server.url, options.clients);
  try {
    const window = async (seconds: number) => {
      const latency = new Samples();
      let ok = 0;
      let errors = 0;
      const started = performance.now();
      const until = started + seconds * 1000;
      await Promise.all(
        Array.from({ length: options.clients }, async () => {
          while (performance.now() < until) {
            const stream = `bench-${Math.floor(Math.random() * options.streams)}`;
            try {
              const reply = await client.send('POST', '/append', { body: { stream, type: options.sample.type, data: options.sample.data, metadata: options.sample.metadata } });
              latency.add(reply.ms);
              if (reply.status === 201) ok++;
              else errors++;
            } catch {
              errors++;
            }
          }
        }),
      );
      return { latency, ok, errors, seconds: (performance.now() - started) / 1000 };
    };
    await window(options.warmupSeconds);
    const loadBefore = loadavg()[0]!;
    const cpuBefore = server.cpu();
    const clientCpuBefore = process.cpuUsage();
    const run = await window(options.seconds);
    const clientCpu = process.cpuUsage(clientCpuBefore);
    const cpuAfter = server.cpu();
    const loadAfter = loadavg()[0]!;
    return {
      perSec: run.ok / run.seconds,
      p50Ms: run.latency.percentile(50),
      p99Ms: run.latency.percentile(99),
      answers: run.latency.count,
      errors: run.errors,
      seconds: run.seconds,
      loadBefore,
      loadAfter,
      clientCpuMsPerAppend: (clientCpu.user + clientCpu.system) / 1000 / Math.max(1, run.ok),
      ...(cpuBefore && cpuAfter && run.ok > 0 && {
        cpuMsPerAppend: (cpuAfter.processMs - cpuBefore.processMs) / run.ok,
        mainThreadCpuMsPerAppend: (cpuAfter.mainThreadMs - cpuBefore.mainThreadMs) / run.ok,
      }),
    };
  } finally {
    client.close();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
