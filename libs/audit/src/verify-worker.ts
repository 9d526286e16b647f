/**
 * A verifier thread (docs/adr/0007-verifiable-history.md §6, parallel-verify.ts): hashes one range of the embedded
 * log's leaves, compares each with the notary's recorded leaf at the same index, and sends back the right edge of the
 * range's own tree at the sizes asked. It never decides anything: a range that does not match exactly (a row more
 * or less than its leaves, a leaf unlike the recorded one, a row that cannot be read) is sent back as not matched,
 * and the main thread verifies the log from there one leaf at a time, which names the first difference.
 */
import { hash } from 'node:crypto';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { HASH_SIZE } from './merkle';
import { SqliteLogReader, entryTextOfRow } from './sqlite-log';
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

/**
 * The range's own tree, hashes as hex strings: a hash written as a string costs a third of one written into a new
 * Buffer (node:crypto allocates a backing store for each), and the recorded hashes are read as one hex string.
 */
class HexTree {
  private readonly levels: number[] = [];
  private readonly hashes: string[] = [];
  private static readonly input = Buffer.alloc(1 + 2 * HASH_SIZE, 1);

  push(leaf: string): void {
    let level = 0;
    let top = leaf;
    while (this.levels.length > 0 && this.levels[this.levels.length - 1] === level) {
      this.levels.pop();
      top = HexTree.node(this.hashes.pop()!, top);
      level++;
    }
    this.levels.push(level);
    this.hashes.push(top);
  }

  edge(): Edge {
    return this.levels.map((level, i) => [level, this.hashes[i]!]);
  }

  /** RFC 9162 node hash: SHA-256(0x01 || left || right) */
  private static node(left: string, right: string): string {
    HexTree.input.write(left, 1, HASH_SIZE, 'hex');
    HexTree.input.write(right, 1 + HASH_SIZE, HASH_SIZE, 'hex');
    return hash('sha256', HexTree.input, 'hex');
  }
}

export function hashRange(reader: SqliteLogReader, tree: SqliteTreeStore | undefined, pageSize: number, task: RangeTask): RangeReply {
  const notMatched = (reason: string): RangeReply => ({ range: task.range, matched: false, reason });
  const recorded = tree?.recordedHex(task.firstLeaf, task.firstLeaf + task.width) ?? { count: 0, hex: '', wellFormed: true };
  if (!recorded.wellFormed) return notMatched('a recorded leaf is not a 32-byte hash');
  const own = new HexTree();
  const edges: [number, Edge][] = [];
  let s = 0;
  let n = 0;
  try {
    for (let after = task.after; ; ) {
      const rows = reader.rows(after, pageSize, task.upTo);
      for (const row of rows) {
        if (n === task.width) return notMatched('more rows than leaves');
        // RFC 9162 leaf hash: SHA-256(0x00 || entry), the entry's text hashed as UTF-8
        const leaf = hash('sha256', `\0${entryTextOfRow(row)}`, 'hex');
        // past the notary's last leaf (it may lag behind the log) there is nothing to compare with
        if (n < recorded.count && !recorded.hex.startsWith(leaf, n * 2 * HASH_SIZE)) return notMatched(`leaf ${task.firstLeaf + n} differs`);
        own.push(leaf);
        n++;
        while (s < task.sizes.length && task.sizes[s] === n) edges.push([task.sizes[s++]!, own.edge()]);
      }
      if (rows.length < pageSize) break;
      after = rows[rows.length - 1]![0] as bigint;
    }
  } catch (error) {
    return notMatched(`a row could not be read: ${(error as Error).message}`);
  }
  if (n < task.width && !task.last) return notMatched('fewer rows than leaves');
  edges.push([n, own.edge()]);
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
