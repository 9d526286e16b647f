/**
 * Verification of the embedded log on several threads (docs/rules.md#verifiable-history,
 * docs/adr/0007-verifiable-history.md §6). The log is cut into ranges of 2^k leaves; verifier threads
 * (verify-worker.ts) hash each range, compare it with the notary's recorded leaves and send back the range's perfect
 * subtree (and its right edge at every checkpoint size inside it); the main thread adds the ranges in order to one
 * tree, as RFC 9162 allows for subtrees aligned on their size, and checks every checkpoint. The first range that does
 * not match exactly is verified again one leaf at a time (verify-log.ts), with the same tree, so a difference is
 * named as the sequential verifier names it.
 */
import { availableParallelism } from 'node:os';
import { workerEntry } from '@rollcall/event-store';
import { Worker } from 'node:worker_threads';
import { LAST_POSITION, SqliteLogReader } from './sqlite-log';
import type { SqliteTreeStore } from './tree-store';
import { type Edge, Verification, type VerifyInput, type VerifyResult } from './verify-log';
import { type RangeReply, type RangeTask, VERIFY_WORKER, type VerifyWorkerData } from './verify-worker';

export interface EmbeddedVerifyInput extends Omit<VerifyInput, 'events' | 'leafPages' | 'storedLeaves' | 'storedCheckpoints'> {
  /** the embedded log, `events.sqlite` */
  logFile: string;
  /** the notary's tree, if there is one */
  tree?: SqliteTreeStore;
  /** verifier threads (default: the machine's parallelism); 1 verifies on the calling thread */
  threads?: number;
  /** leaves per range, a power of two (default 2^14) */
  rangeWidth?: number;
}

const PAGE_SIZE = 4096;


/** `verifyLog` over the embedded log, read straight from its file (what `npm run audit -- verify` does without EVENTSTORE_URL). */
export async function verifyEmbeddedLog(input: EmbeddedVerifyInput): Promise<VerifyResult> {
  const run = new Verification({ ...input, storedCheckpoints: input.tree?.checkpoints(), storedNodes: input.tree?.storedNodes() });
  const reader = new SqliteLogReader(input.logFile);
  try {
    const threads = input.threads ?? availableParallelism();
    // ranges are cut by leaf index; an edited notary file (holes in its leaf indexes) is read one leaf at a time
    let after: bigint | undefined = -1n;
    if (threads > 1 && (input.tree?.leavesAreDense() ?? true)) after = await inRanges(run, input, reader.count(), threads);
    run.readStored(input.tree?.leaves(run.size));
    if (after !== undefined) for (const page of reader.leafPages(PAGE_SIZE, after, undefined, run.signedBounds.length > 0)) run.addPage(page);
    return run.finish();
  } finally {
    reader.close();
  }
}

/**
 * Verifies the log range by range on `threads` threads. Range c is the rows at positions (c·w, (c+1)·w] (the
 * embedded log's positions are 1, 2, 3…; the first range also takes position 0, the last everything after): a range
 * holds exactly its w leaves unless rows were removed, inserted or moved, and then it does not match. Returns the
 * position after which the rest of the log is to be verified one leaf at a time, or undefined when all was.
 */
async function inRanges(run: Verification, input: EmbeddedVerifyInput, rows: number, threads: number): Promise<bigint | undefined> {
  const width = input.rangeWidth ?? 2 ** 14;
  if (!Number.isInteger(Math.log2(width))) throw new RangeError(`rangeWidth ${width} is not a power of two`);
  const ranges = Math.ceil(rows / width);
  if (ranges < 2) return -1n;
  const sizes = run.targetSizes;
  // the signed checkpoints' times: each thread checks the dates of its range's entries against them (dating.ts)
  const bounds = run.signedBounds;
  // the size the main thread reads the tree at (pinned by the caller while a notary may still append)
  const treeSize = input.tree?.size();
  const task = (c: number): RangeTask => {
    const last = c === ranges - 1;
    return {
      range: c,
      after: c === 0 ? -1n : BigInt(c * width),
      upTo: last ? LAST_POSITION : BigInt((c + 1) * width),
      firstLeaf: c * width,
      width,
      last,
      sizes: sizes.filter((s) => s > c * width && (last || s <= (c + 1) * width)).map((s) => s - c * width),
      ...(treeSize !== undefined && { treeSize }),
      bounds,
      ...(input.clockSkewMs !== undefined && { skewMs: input.clockSkewMs }),
    };
  };
  const { file, execArgv } = workerEntry(__dirname, 'verify-worker', __filename);
  const data: VerifyWorkerData = { kind: VERIFY_WORKER, logFile: input.logFile, treeFile: input.tree?.file, pageSize: PAGE_SIZE };
  const workers = Array.from({ length: Math.min(threads, ranges) }, () => new Worker(file, { workerData: data, execArgv }));
  try {
    return await new Promise<bigint | undefined>((resolve, reject) => {
      let next = 0;
      let done = 0;
      let settled = false;
      const replies = new Map<number, RangeReply>();
      // where the ranges verified so far end: all of the log before it matched, leaf for leaf
      const resumeAt = (): bigint => (done === 0 ? -1n : BigInt(done * width));
      const settle = (after: bigint | undefined) => {
        settled = true;
        resolve(after);
      };
      const give = (worker: Worker) => {
        if (next < ranges && !settled) worker.postMessage(task(next++));
      };
      const drain = () => {
        for (let reply = replies.get(done); reply && !settled; reply = replies.get(done)) {
          replies.delete(done);
          if (!reply.matched) return settle(resumeAt());
          if (reply.alteredNode) run.alteredInRange(reply.alteredNode);
          const edges = new Map(reply.edges);
          run.addRange(reply.leaves, (n) => edges.get(n) ?? missingEdge(reply.range, n), reply.dated);
          done++;
          if (done === ranges) return settle(undefined);
        }
      };
      for (const worker of workers) {
        worker.on('message', (reply: RangeReply) => {
          replies.set(reply.range, reply);
          try {
            drain();
          } catch (error) {
            settled = true;
            reject(error);
          }
          give(worker);
        });
        // a thread that cannot run leaves the rest to the sequential verifier
        worker.on('error', () => !settled && settle(resumeAt()));
        worker.on('exit', () => !settled && settle(resumeAt()));
        give(worker);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

const missingEdge = (range: number, size: number): Edge => {
  throw new Error(`range ${range} sent no right edge at size ${size}`);
};
