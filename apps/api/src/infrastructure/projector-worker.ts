// The embedded mode's projector, on its own thread: it reads the log through its own connections (the SQLite
// files are shared in WAL mode) and polls the head for the API thread's appends, so projecting never holds up
// command handling on the API's event loop, and uses the machine's second core. Of several API processes over one
// data dir, one projects at a time (lease.ts); the others stand by.
import { parentPort } from 'node:worker_threads';
import { createRollcallEventStore, dataFromParent } from '@rollcall/event-store';
import { createReadStore } from '@rollcall/read-store';
import { leasedProjections } from './leased-projector';
import { lowerThisThreadsPriority } from './thread-priority';

export interface ProjectorWorkerData {
  eventstoreUrl?: string;
  mongoUrl?: string;
  dataDir: string;
  pollIntervalMs: number;
  /** ProjectorOptions.lingerMs (config: ROLLCALL_PROJECTOR_LINGER_MS) */
  lingerMs: number;
  /** ProjectorOptions.erasureRewriteMinIntervalMs (config: ROLLCALL_ERASURE_REWRITE_SECONDS) */
  erasureRewriteMs: number;
  /** this thread's CPU priority (config: ROLLCALL_PROJECTOR_NICE; thread-priority.ts) */
  nice: number;
}

/** Messages from the API thread. */
export type ToWorker = { type: 'stop' } | { type: 'forget'; subjectIds: string[] } | { type: 'hurry'; position: string };
/** Messages to the API thread. */
export type FromWorker =
  | { type: 'status'; status: { name: string; checkpoint: string | null; lag: string; processed: number; state: string; error?: string }[] }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  | { type: 'started' }
  | { type: 'stopped' };

/** how often a leading, lingering projector thread looks for positions other processes' readers wait for */
const WANTED_POLL_MS = 25;

async function run(): Promise<void> {
  const port = parentPort!;
  // handed over by startWorker (the thread may have been spawned before the data existed: preloaded-workers.ts)
  const data = await dataFromParent<ProjectorWorkerData>(port);
  const send = (m: FromWorker) => port.postMessage(m);
  const lowered = lowerThisThreadsPriority(data.nice);
  if (lowered) send({ type: 'log', level: 'info', message: `projector: its thread keeps its CPU priority (${lowered})` });
  const { store: eventStore, personalData } = await createRollcallEventStore({ eventstoreUrl: data.eventstoreUrl, mongoUrl: data.mongoUrl, dataDir: data.dataDir });
  const readStore = await createReadStore({ mongoUrl: data.mongoUrl, dataDir: data.dataDir, warn: (message) => send({ type: 'log', level: 'warn', message }) });
  const logger = { info: (message: string) => send({ type: 'log', level: 'info', message }), error: (message: string) => send({ type: 'log', level: 'error', message }) };
  const projectors = leasedProjections({ eventStore, readStore }, data, logger);
  const { lease } = projectors;
  const report = () =>
    send({
      type: 'status',
      // a standby reports nothing (the leader's projections are the ones that run), but what stopped its own before a
      // later version's event, having let the lease go for an upgraded process (LeasedProjector.handOver)
      status: projectors.status().map((s) => ({ ...s, checkpoint: s.checkpoint === undefined ? null : s.checkpoint.toString(), lag: s.lag.toString() })),
    });
  const timer = setInterval(report, 250);
  // what the standbys' readers wait for, while this thread leads and lingers (commit-linger.ts): a small read per
  // tick; a position already cut for commit changes nothing there
  const wantedTimer =
    lease &&
    data.lingerMs > 0 &&
    setInterval(() => {
      const wanted = projectors.current && lease.wanted();
      if (wanted !== undefined) projectors.current?.hurry(wanted);
    }, WANTED_POLL_MS);
  port.on('message', (m: ToWorker) => {
    // the API thread forgot the keys already (before answering the deletion): drop this thread's cached copies only.
    // Forgetting them again here, later, would delete the key of an address invited again in the meantime.
    if (m.type === 'forget') personalData.forgetCached(m.subjectIds);
    // a reader of this process waits for a position: tell the projector, this thread's or (standing by) the leader's
    if (m.type === 'hurry') {
      if (projectors.current) projectors.current.hurry(BigInt(m.position));
      else lease?.want(BigInt(m.position));
    }
    if (m.type === 'stop')
      void (async () => {
        clearInterval(timer);
        if (wantedTimer) clearInterval(wantedTimer);
        await projectors.stop();
        report();
        await readStore.close();
        await eventStore.close();
        send({ type: 'stopped' });
        port.close();
      })();
  });
  await projectors.start();
  report();
  send({ type: 'started' });
}

run().catch((error: unknown) => {
  parentPort?.postMessage({ type: 'log', level: 'error', message: `projector thread failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}` });
  process.exitCode = 1;
});
