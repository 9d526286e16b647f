/**
 * A verifier thread (docs/adr/0007-verifiable-history.md §6, parallel-verify.ts): hashes one range of the embedded
 * log's leaves, compares each with the notary's recorded leaf at the same index, and sends back the right edge of the
 * range's own tree at the sizes asked. It never decides anything: a range that does not match exactly (a row more
 * or less than its leaves, a leaf unlike the recorded one, a row that cannot be read) is sent back as not matched,
 * and the main thread verifies the log from there one leaf at a time, which names the first difference.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { CompactTree, HASH_SIZE } from './merkle';
import { SqliteLogReader } from './sqlite-log';
import { SqliteTreeStore } from './tree-store';
import type { Edge } from './verify-log';

export const VERIFY_WORKER = 'rollcall-audit-verify';

export interface VerifyWorkerData {
  kind: typeof VERIFY_WORKER;
  logFile: string;
  treeFile?: string;
  pageSize: number;
}

/** Range `range`: the rows after position `after` up to `upTo`, which should be leaves [firstLeaf, firstLeaf + width). */
export interface RangeTask {
  range: number;
  after: bigint;
  upTo: bigint;
  firstLeaf: number;
  width: number;
  /** the last range may hold fewer leaves than `width` */
  last: boolean;
  /** sizes of the range's own tree (1..width) whose right edge to send back: the checkpoints inside the range */
  sizes: number[];
}

export type RangeReply =
  | { range: number; matched: true; leaves: number; edges: [size: number, edge: Edge][] }
  | { range: number; matched: false; reason: string };

const sameHash = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};

const edgeOf = (tree: CompactTree): Edge => tree.edge().map(({ level, hash }) => [level, hash]);

export function hashRange(reader: SqliteLogReader, tree: SqliteTreeStore | undefined, pageSize: number, task: RangeTask): RangeReply {
  const notMatched = (reason: string): RangeReply => ({ range: task.range, matched: false, reason });
  const recorded = tree?.leafHashes(task.firstLeaf, task.firstLeaf + task.width) ?? [];
  const own = new CompactTree();
  const edges: [number, Edge][] = [];
  let s = 0;
  let n = 0;
  try {
    for (const page of reader.leafPages(pageSize, task.after, task.upTo)) {
      for (let i = 0; i < page.positions.length; i++) {
        if (n === task.width) return notMatched('more rows than leaves');
        const hash = page.hashes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
        const leaf = recorded[n];
        // past the notary's last leaf (it may lag behind the log) there is nothing to compare with
        if (leaf && (leaf[0] !== BigInt(task.firstLeaf + n) || !sameHash(leaf[1], hash))) return notMatched(`leaf ${task.firstLeaf + n} differs`);
        own.push(Buffer.from(hash));
        n++;
        while (s < task.sizes.length && task.sizes[s] === n) edges.push([task.sizes[s++]!, edgeOf(own)]);
      }
    }
  } catch (error) {
    return notMatched(`a row could not be read: ${(error as Error).message}`);
  }
  if (n < task.width && !task.last) return notMatched('fewer rows than leaves');
  edges.push([n, edgeOf(own)]);
  return { range: task.range, matched: true, leaves: n, edges };
}

if (!isMainThread && parentPort && (workerData as VerifyWorkerData | undefined)?.kind === VERIFY_WORKER) {
  const data = workerData as VerifyWorkerData;
  const port = parentPort;
  const reader = new SqliteLogReader(data.logFile);
  const tree = data.treeFile ? new SqliteTreeStore(data.treeFile, { readOnly: true }) : undefined;
  port.on('message', (task: RangeTask) => port.postMessage(hashRange(reader, tree, data.pageSize, task)));
  port.on('close', () => {
    reader.close();
    tree?.close();
  });
}
