// The notary on its own thread (docs/rules.md#verifiable-history): it reads the global log through its own
// connection to the event store, as stored (personal fields encrypted: the inner store, not the crypto-shredding
// wrapper), folds it into the Merkle tree in audit.sqlite and signs a checkpoint at least every checkpointMs while
// the log grows. It never writes to the event store, so it cannot slow a command down beyond sharing the machine.
// Of the API processes over one data dir, one notarizes at a time (a lease, ../infrastructure/lease.ts); the others
// stand by, their trees read from the same audit.sqlite, and take over when it stops.
import { join } from 'node:path';
import { isMainThread, parentPort } from 'node:worker_threads';
import { Notary, SqliteTreeStore, signerFromSeed } from '@rollcall/audit';
import { createEventStore, dataFromParent } from '@rollcall/event-store';
import { LEASE_RENEW_MS, Lease, LeaseLeader } from '../infrastructure/lease';
import { NotaryLoop, type NotaryStatus } from './notary-loop';

export interface NotaryWorkerData {
  eventstoreUrl?: string;
  dataDir: string;
  /** base64 Ed25519 seed */
  seed: string;
  origin: string;
  checkpointMs: number;
  /** NotaryLoopParts.keepEveryCheckpointMs */
  keepEveryCheckpointMs: number;
  /** how often an idle notary looks for new events */
  pollMs: number;
}

export type ToNotary = { type: 'stop' };
export type FromNotary =
  | { type: 'started' }
  /** `notarizing`: this process holds the lease (the others' `size` is the tree's, as the holder stored it) */
  | ({ type: 'status' } & NotaryStatus)
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  | { type: 'stopped' };

export const auditFile = (dataDir: string) => join(dataDir, 'audit.sqlite');

async function run(): Promise<void> {
  const port = parentPort!;
  // handed over by startWorker (the thread may have been spawned before the data existed: preloaded-workers.ts)
  const data = await dataFromParent<NotaryWorkerData>(port);
  const send = (m: FromNotary) => port.postMessage(m);
  const events = createEventStore({ eventstoreUrl: data.eventstoreUrl, dataDir: data.dataDir });
  const tree = new SqliteTreeStore(auditFile(data.dataDir));
  const notary = new Notary(events, tree, signerFromSeed(data.origin, Buffer.from(data.seed, 'base64')));
  // an empty tree beside a log that holds events: a data dir from before the notary, or its audit.sqlite lost or
  // removed; either way the whole log is notarized as it is now, and only a checkpoint an auditor kept can tell whether
  // it changed meanwhile (probe 32: the notary re-signed a log silently)
  const head = await events.headPosition();
  if (tree.size() === 0 && head >= 0n)
    send({
      type: 'log',
      level: 'warn',
      message: `notary: ${auditFile(data.dataDir)} holds no tree while the log holds events (up to position ${head}): the whole log is notarized now; if this data dir was notarized before, its tree was lost or removed, and only the checkpoints auditors kept can tell whether the log changed since`,
    });
  const lease = new Lease(data.dataDir, 'notary');
  /** a notary taking over reads the tree as the last holder left it */
  const leader = new LeaseLeader(lease, {
    taken: () => {
      notary.reload();
      send({ type: 'log', level: 'info', message: 'notary: this process notarizes the log (lease taken)' });
    },
    lost: () => send({ type: 'log', level: 'info', message: 'notary: the lease passed to another process; this one stands by' }),
  });
  const loop = new NotaryLoop({
    leader,
    notary,
    tree,
    checkpointMs: data.checkpointMs,
    keepEveryCheckpointMs: data.keepEveryCheckpointMs,
    pollMs: data.pollMs,
    standbyMs: LEASE_RENEW_MS,
    status: (status) => send({ type: 'status', ...status }),
    log: (level, message) => send({ type: 'log', level, message }),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    // the period between checkpoints on a clock that never steps (probe 55 F1: on the wall clock, a step back left the
    // log unsigned for as long as the step); what a checkpoint is signed with is the wall clock's time
    now: () => performance.now(),
  });
  port.on('message', (m: ToNotary) => {
    if (m.type === 'stop') loop.stop();
  });
  await loop.begin();
  send({ type: 'started' });
  await loop.run();
  lease.close();
  tree.close();
  await events.close();
  send({ type: 'stopped' });
  port.close();
}

// only in the notary thread: the API imports this module (auditFile) on its main thread, where running it failed and
// set the whole process's exit code to 1 (npm start, npm run openapi)
if (!isMainThread)
  run().catch((error: unknown) => {
    parentPort?.postMessage({ type: 'log', level: 'error', message: `notary thread failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}` });
    process.exitCode = 1;
  });
