// The embedded mode's projector, on its own thread: it reads the log through its own connections (the SQLite
// files are shared in WAL mode) and polls the head for the API thread's appends, so projecting never holds up
// command handling on the API's event loop, and uses the machine's second core.
import { parentPort, workerData } from 'node:worker_threads';
import { createRollcallEventStore } from '@rollcall/event-store';
import { PROJECTIONS, Projector, createReadStore } from '@rollcall/read-store';

export interface ProjectorWorkerData {
  eventstoreUrl?: string;
  mongoUrl?: string;
  dataDir: string;
  pollIntervalMs: number;
}

/** Messages from the API thread. */
export type ToWorker = { type: 'stop' } | { type: 'forget'; subjectIds: string[] };
/** Messages to the API thread. */
export type FromWorker =
  | { type: 'status'; status: { name: string; checkpoint: string | null; lag: string; processed: number; state: string; error?: string }[] }
  | { type: 'log'; level: 'info' | 'error'; message: string }
  | { type: 'started' }
  | { type: 'stopped' };

async function run(): Promise<void> {
  const port = parentPort!;
  const data = workerData as ProjectorWorkerData;
  const send = (m: FromWorker) => port.postMessage(m);
  const { store: eventStore, personalData } = await createRollcallEventStore({ eventstoreUrl: data.eventstoreUrl, mongoUrl: data.mongoUrl, dataDir: data.dataDir });
  const readStore = await createReadStore({ mongoUrl: data.mongoUrl, dataDir: data.dataDir });
  const projector = new Projector({
    eventStore,
    readStore,
    projections: PROJECTIONS,
    pollIntervalMs: data.eventstoreUrl ? undefined : data.pollIntervalMs,
    logger: { info: (message) => send({ type: 'log', level: 'info', message }), error: (message) => send({ type: 'log', level: 'error', message }) },
  });
  const report = () =>
    send({
      type: 'status',
      status: projector.status().map((s) => ({ ...s, checkpoint: s.checkpoint === undefined ? null : s.checkpoint.toString(), lag: s.lag.toString() })),
    });
  const timer = setInterval(report, 250);
  port.on('message', (m: ToWorker) => {
    if (m.type === 'forget') void personalData.forget(m.subjectIds);
    if (m.type === 'stop')
      void (async () => {
        clearInterval(timer);
        await projector.stop();
        report();
        await readStore.close();
        await eventStore.close();
        send({ type: 'stopped' });
        port.close();
      })();
  });
  await projector.start();
  report();
  send({ type: 'started' });
}

run().catch((error: unknown) => {
  parentPort?.postMessage({ type: 'log', level: 'error', message: `projector thread failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}` });
  process.exitCode = 1;
});
