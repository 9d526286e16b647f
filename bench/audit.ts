// npm run bench:audit — the notary's figures (docs/rules.md#verifiable-history). Last line, one JSON object:
//   {"bench":"audit","events":1000000,"verifyEventsPerSec":…,"rawReadEventsPerSec":…,"ratio":…,"checkpointLagP99Ms":…,…}
//
// 1. Verify vs read: the rebuild benchmark's log of BENCH_AUDIT_EVENTS (1,000,000) events, written by the real
//    deciders (bench/lib/rebuild-log.ts, cached in the OS temp dir), and the notary's tree over it (audit.sqlite,
//    built once by the notary's own code with a checkpoint every 10,000 leaves, cached beside it). Then, alternately,
//    BENCH_AUDIT_ROUNDS (3) times each: reading the whole log through the event store port (rawReadEventsPerSec:
//    SQLite rows, JSON.parse of data and metadata, a record per event), the same rows read in verify's pages unparsed
//    (rawRowReadEventsPerSec), and the auditor's verification as `npm run audit -- verify` does it
//    (verifyEventsPerSec: rows read straight from events.sqlite, canonical entries written from the stored texts,
//    leaf hashes compared with the notary's, the tree, every checkpoint's signature and root, on verifyThreads
//    threads = the machine's parallelism). ratio = best verify / best raw read, same run; roundRatios pairs each
//    round's verify with its raw read. Then once on one thread (verifyOneThreadEventsPerSec, --threads 1).
//    verifyCpuSec / rawReadCpuSec: CPU seconds of those best runs, all threads of the process counted.
// 2. Checkpoint lag under load: the real API in a child process (lib/http-server.ts), ROLLCALL_AUDIT_CHECKPOINT_MS
//    1000 (the default), 20 organizations set up over HTTP, then 64 closed-loop clients changing access (agent <->
//    manager) for BENCH_AUDIT_SECONDS (15), as bench:http's clients do, while the checkpoint is polled every 20 ms.
//    A write's lag = the first poll that saw a checkpoint covering its position, minus when its answer arrived.
import { mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Notary, SqliteLogReader, SqliteTreeStore, signerFromSeed, verifyEmbeddedLog } from '@rollcall/audit';
import { SqliteEventStore } from '@rollcall/event-store';
import { JsonClient, tokenOf } from './lib/http-client';
import { inheritedEnv, startServerChild } from './lib/http-server';
import { generateLog } from './lib/rebuild-log';

const EVENTS = Number(process.env.BENCH_AUDIT_EVENTS ?? 1_000_000);
const SECONDS = Number(process.env.BENCH_AUDIT_SECONDS ?? 15);
/** rounds of raw read then verify, alternating: the machine is shared, so each figure is the best of its rounds */
const ROUNDS = Number(process.env.BENCH_AUDIT_ROUNDS ?? 3);
const shape = { events: EVENTS, orgs: 200, workspacesPerOrg: 10, seed: 1 };
const SIGNER = signerFromSeed('bench.rollcall.test/audit', Buffer.alloc(32, 7));
const SYSTEM_KEY = 'rk_system_bench-audit-system-key-0123456789';
const progress = (line: string) => process.stderr.write(`${line}\n`);
const perSec = (n: number, ms: number) => Math.round(n / (ms / 1000));

async function notarized(logFile: string): Promise<string> {
  const treeFile = `${logFile}.audit-v1.sqlite`;
  const partial = `${treeFile}.partial`;
  rmSync(partial, { force: true });
  try {
    new SqliteTreeStore(treeFile, { readOnly: true }).close();
    return treeFile;
  } catch {
    /* not built yet */
  }
  const events = new SqliteEventStore(logFile);
  const tree = new SqliteTreeStore(partial);
  const notary = new Notary(events, tree, SIGNER);
  const t0 = performance.now();
  for (let next = 10_000; ; ) {
    const added = await notary.catchUp(10_000);
    if (notary.size >= next || added === 0) {
      notary.checkpoint();
      next += 10_000;
    }
    if (added === 0) break;
    if (notary.size % 100_000 < 10_000) progress(`notarizing: ${notary.size} leaves (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  progress(`notarized ${notary.size} events in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${perSec(notary.size, performance.now() - t0)} events/s`);
  tree.close();
  await events.close();
  renameSync(partial, treeFile);
  return treeFile;
}

interface VerifyFigures {
  events: number;
  verifyEventsPerSec: number;
  rawReadEventsPerSec: number;
  rawRowReadEventsPerSec: number;
  verifyOneThreadEventsPerSec: number;
  verifyThreads: number;
  /** CPU seconds (all threads of this process) of the best verify and of the best raw read */
  verifyCpuSec: number;
  rawReadCpuSec: number;
  roundRatios: number[];
}

/** wall time and CPU time (every thread of the process) of one run */
async function timed<T>(run: () => Promise<T> | T): Promise<{ value: T; ms: number; cpuSec: number }> {
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const value = await run();
  const ms = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  return { value, ms, cpuSec: Number(((used.user + used.system) / 1e6).toFixed(1)) };
}

async function verifyVsRead(): Promise<VerifyFigures> {
  const cacheDir = join(tmpdir(), 'rollcall-bench');
  mkdirSync(cacheDir, { recursive: true });
  const logFile = join(cacheDir, `rebuild-log-${shape.events}-${shape.orgs}x${shape.workspacesPerOrg}-${shape.seed}-v1.sqlite`);
  await generateLog(logFile, shape, (n) => n % 100_000 < 5000 && progress(`generating the log: ${n} events`));
  const treeFile = await notarized(logFile);
  const threads = availableParallelism();
  const best = { raw: 0, rawCpu: 0, rows: 0, verify: 0, verifyCpu: 0, oneThread: 0 };
  const roundRatios: number[] = [];
  let events = 0;
  const verifyOnce = async (verifyThreads: number) => {
    const tree = new SqliteTreeStore(treeFile, { readOnly: true });
    try {
      const run = await timed(() => verifyEmbeddedLog({ logFile, tree, verifier: SIGNER.verifier, threads: verifyThreads }));
      if (!run.value.ok) throw new Error(`the benchmark's log does not verify: ${run.value.problems[0]?.message}`);
      events = run.value.events;
      return { ...run, perSec: perSec(run.value.events, run.ms), checkpoints: run.value.checkpointsChecked };
    } finally {
      tree.close();
    }
  };
  for (let round = 0; round < ROUNDS; round++) {
    // the figure: the whole log through the event store port (rows, JSON.parse of data and metadata, records)
    const store = new SqliteEventStore(logFile);
    const raw = await timed(async () => {
      let n = 0;
      for await (const _ of store.readAll()) n++;
      return n;
    });
    await store.close();
    // what verify reads: the same rows in the same pages, not parsed
    const reader = new SqliteLogReader(logFile);
    const rows = await timed(() => {
      let n = 0;
      for (let after = -1n, page = reader.rows(after, 4096); page.length > 0; after = page[page.length - 1]![0] as bigint, page = reader.rows(after, 4096)) n += page.length;
      return n;
    });
    reader.close();
    const verify = await verifyOnce(threads);
    const rawPerSec = perSec(raw.value, raw.ms);
    roundRatios.push(Number((verify.perSec / rawPerSec).toFixed(3)));
    if (rawPerSec > best.raw) Object.assign(best, { raw: rawPerSec, rawCpu: raw.cpuSec });
    if (verify.perSec > best.verify) Object.assign(best, { verify: verify.perSec, verifyCpu: verify.cpuSec });
    best.rows = Math.max(best.rows, perSec(rows.value, rows.ms));
    progress(
      `round ${round + 1}: raw read ${rawPerSec} events/s (${raw.cpuSec} s CPU), raw rows ${perSec(rows.value, rows.ms)}, verify ${verify.perSec} events/s on ${threads} threads (${verify.cpuSec} s CPU, ${verify.checkpoints} checkpoints), load ${loadavg()[0]!.toFixed(2)}`,
    );
  }
  // the same verification on the calling thread alone (--threads 1), once
  const one = await verifyOnce(1);
  best.oneThread = one.perSec;
  progress(`verify on one thread: ${one.perSec} events/s (${one.cpuSec} s CPU), load ${loadavg()[0]!.toFixed(2)}`);
  return {
    events,
    verifyEventsPerSec: best.verify,
    rawReadEventsPerSec: best.raw,
    rawRowReadEventsPerSec: best.rows,
    verifyOneThreadEventsPerSec: best.oneThread,
    verifyThreads: threads,
    verifyCpuSec: best.verifyCpu,
    rawReadCpuSec: best.rawCpu,
    roundRatios,
  };
}

interface Ws {
  key: string;
  admin: string;
  workspaceId: string;
  members: { userId: string; role: 'agent' | 'manager' }[];
}

async function checkpointLag(): Promise<{ p50: number; p99: number; max: number; writes: number; checkpoints: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rollcall-bench-audit-'));
  const server = await startServerChild({ ...inheritedEnv(), PORT: '0', ROLLCALL_TCP_PORT: '0', ROLLCALL_DATA_DIR: dataDir, ROLLCALL_SYSTEM_API_KEY: SYSTEM_KEY, LOG_LEVEL: 'error' });
  const client = new JsonClient(server.url, 66);
  try {
    const workspaces: Ws[] = [];
    for (let i = 0; i < 20; i++) {
      const org = (await client.send('POST', '/v1/organizations', { key: SYSTEM_KEY, body: { name: `Audit ${i}`, admin: { email: `admin-${i}@audit.bench.test`, displayName: 'Admin' } } })).body;
      const ws = (await client.send('POST', `/v1/organizations/${org.organizationId}/workspaces`, { key: org.apiKey, actor: org.adminUserId, body: { name: 'Support' } })).body;
      const w: Ws = { key: org.apiKey, admin: org.adminUserId, workspaceId: ws.workspaceId, members: [] };
      for (let m = 0; m < 4; m++) {
        const inv = await client.send('POST', `/v1/workspaces/${w.workspaceId}/invitations`, { key: w.key, actor: w.admin, body: { email: `m${m}-${i}@audit.bench.test`, roles: ['agent'] } });
        const acc = await client.send('POST', '/v1/invitations/accept', { body: { token: tokenOf(inv.body.inviteUrl) } });
        w.members.push({ userId: acc.body.userId, role: 'agent' });
      }
      workspaces.push(w);
    }
    progress(`set up ${workspaces.length} workspaces; ${SECONDS} s of access changes from 64 clients`);
    const answered: { position: bigint; at: number }[] = [];
    const seen: { size: bigint; at: number }[] = [];
    let done = false;
    const poller = (async () => {
      while (!done) {
        const reply = await client.send('GET', '/v1/audit/checkpoint', { key: SYSTEM_KEY });
        if (reply.status === 200) seen.push({ size: BigInt(String(reply.body).split('\n')[1]!), at: performance.now() });
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const until = performance.now() + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (performance.now() < until) {
          const w = workspaces[Math.floor(Math.random() * workspaces.length)]!;
          const m = w.members[Math.floor(Math.random() * w.members.length)]!;
          const role = m.role === 'agent' ? 'manager' : 'agent';
          const reply = await client.send('PATCH', `/v1/workspaces/${w.workspaceId}/members/${m.userId}/access`, { key: w.key, actor: w.admin, body: { roles: [role] } });
          if (reply.status === 200) {
            m.role = role;
            answered.push({ position: BigInt(reply.body.position), at: performance.now() });
          }
        }
      }),
    );
    // every write answered gets its checkpoint (the embedded log's positions are 1, 2, 3…: size >= position covers it)
    const last = answered.reduce((a, w) => (w.position > a ? w.position : a), 0n);
    const deadline = performance.now() + 10_000;
    while ((seen.at(-1)?.size ?? 0n) < last && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    done = true;
    await poller;
    const lags = answered.map((w) => (seen.find((s) => s.at >= w.at && s.size >= w.position)?.at ?? Number.POSITIVE_INFINITY) - w.at).sort((a, b) => a - b);
    const q = (p: number) => Math.round(lags[Math.min(lags.length - 1, Math.floor(p * lags.length))]!);
    return { p50: q(0.5), p99: q(0.99), max: Math.round(lags.at(-1)!), writes: answered.length, checkpoints: new Set(seen.map((s) => s.size)).size };
  } finally {
    client.close();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const figures = await verifyVsRead();
  progress(`verify ${figures.verifyEventsPerSec} events/s vs raw read ${figures.rawReadEventsPerSec} events/s`);
  const lag = await checkpointLag();
  progress(`checkpoint lag over ${lag.writes} writes: p50 ${lag.p50} ms, p99 ${lag.p99} ms, max ${lag.max} ms (${lag.checkpoints} checkpoints seen)`);
  console.log(
    JSON.stringify({
      bench: 'audit',
      events: figures.events,
      verifyEventsPerSec: figures.verifyEventsPerSec,
      rawReadEventsPerSec: figures.rawReadEventsPerSec,
      ratio: Number((figures.verifyEventsPerSec / figures.rawReadEventsPerSec).toFixed(3)),
      checkpointLagP99Ms: lag.p99,
      roundRatios: figures.roundRatios,
      rawRowReadEventsPerSec: figures.rawRowReadEventsPerSec,
      verifyOneThreadEventsPerSec: figures.verifyOneThreadEventsPerSec,
      verifyThreads: figures.verifyThreads,
      verifyCpuSec: figures.verifyCpuSec,
      rawReadCpuSec: figures.rawReadCpuSec,
      checkpointLagP50Ms: lag.p50,
      writesUnderLoad: lag.writes,
      cores: availableParallelism(),
      loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
