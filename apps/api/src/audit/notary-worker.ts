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

export interface NotaryWorkerData {
  eventstoreUrl?: string;
  dataDir: string;
  /** base64 Ed25519 seed */
  seed: string;
  origin: string;
  checkpointMs: number;
  /** how often an idle notary looks for new events */
  pollMs: number;
}

export type ToNotary = { type: 'stop' };
export type FromNotary =
  | { type: 'started' }
  /** `notarizing`: this process holds the lease (the others' `size` is the tree's, as the holder stored it) */
  | { type: 'status'; size: number; checkpointSize: number | null; notarizing: boolean; error?: string }
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
  let stopping = false;
  let lastError: string | undefined;
  port.on('message', (m: ToNotary) => {
    if (m.type === 'stop') stopping = true;
  });
  /** a notary taking over reads the tree as the last holder left it */
  const leader = new LeaseLeader(lease, {
    taken: () => {
      notary.reload();
      send({ type: 'log', level: 'info', message: 'notary: this process notarizes the log (lease taken)' });
    },
    lost: () => send({ type: 'log', level: 'info', message: 'notary: the lease passed to another process; this one stands by' }),
  });
  const holdsLease = () => leader.leads();
  if (holdsLease()) notary.checkpoint();
  let lastCheckpoint = Date.now();
  const report = () =>
    send({ type: 'status', size: leader.leader ? notary.size : tree.size(), checkpointSize: tree.latestCheckpoint()?.size ?? null, notarizing: leader.leader, error: lastError });
  send({ type: 'started' });
  report();
  while (!stopping) {
    if (!holdsLease()) {
      report();
      await new Promise((r) => setTimeout(r, LEASE_RENEW_MS));
      continue;
    }
    let added = 0;
    try {
      added = await notary.catchUp(5000);
      if (lastError) send({ type: 'log', level: 'info', message: 'the notary reads the log again' });
      lastError = undefined;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message !== lastError) send({ type: 'log', level: 'error', message: `notary: ${message}` });
      lastError = message;
    }
    // checkpoints are signed here, between batches: a checkpoint's leaves are always in the store already
    if (Date.now() - lastCheckpoint >= data.checkpointMs) {
      if (notary.checkpoint()) report();
      lastCheckpoint = Date.now();
    }
    if (added === 0) await new Promise((r) => setTimeout(r, lastError ? 1000 : data.pollMs));
  }
  if (leader.leader) notary.checkpoint();
  report();
  leader.release();
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
