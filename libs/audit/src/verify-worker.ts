/**
 * A verifier thread (docs/adr/0007-verifiable-history.md §6, parallel-verify.ts): hashes one range of the embedded
 * log's leaves, compares each with the notary's recorded leaf at the same index, and sends back the right edge of the
 * range's own tree at the sizes asked. It never decides anything: a range that does not match exactly (a row more
 * or less than its leaves, a leaf unlike the recorded one, a row that cannot be read) is sent back as not matched,
 * and the main thread verifies the log from there one leaf at a time, which names the first difference.
 */
import { hash } from 'node:crypto';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { DatingCheck, type Dated, type SignedBound, occurredAtInText } from './dating';
import { HASH_SIZE } from './merkle';
import { SqliteLogReader, entryTextOfRow } from './sqlite-log';
import { SqliteTreeStore } from './tree-store';
import type { AlteredNode, Edge } from './verify-log';

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
  /**
   * the notary's tree size the main thread pinned (SqliteTreeStore.pin): its leaves and subtrees past it, appended
   * since by a notary still running, are not looked at (this thread's own reads see the file as of their moment)
   */
  treeSize?: number;
  /** the signed checkpoints' sizes and times, and the clock skew allowed: the range's entries' dates are checked (dating.ts) */
  bounds: SignedBound[];
  skewMs?: number;
}

export type RangeReply =
  | { range: number; matched: true; leaves: number; edges: [size: number, edge: Edge][]; alteredNode?: AlteredNode; dated: Dated }
  | { range: number; matched: false; reason: string };

/**
 * The range's own tree, hashes as hex strings: a hash written as a string costs a third of one written into a new
 * Buffer (node:crypto allocates a backing store for each), and the recorded hashes are read as one hex string.
 */
class HexTree {
  private readonly levels: number[] = [];
  private readonly hashes: string[] = [];
  /** per level, how many subtrees of it were completed (the next one's index in the range) */
  private readonly completed: number[] = [];
  private static readonly input = Buffer.alloc(1 + 2 * HASH_SIZE, 1);

  /** `onNode` sees each subtree completed (level >= 1), with its index in the range among those of its level */
  constructor(private readonly onNode?: (level: number, index: number, hash: string) => void) {}

  push(leaf: string): void {
    let level = 0;
    let top = leaf;
    while (this.levels.length > 0 && this.levels[this.levels.length - 1] === level) {
      this.levels.pop();
      top = HexTree.node(this.hashes.pop()!, top);
      level++;
      const index = this.completed[level] ?? 0;
      this.completed[level] = index + 1;
      this.onNode?.(level, index, top);
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
  const recordedTo = Math.min(task.firstLeaf + task.width, task.treeSize ?? Number.POSITIVE_INFINITY);
  const recorded = (tree && recordedTo > task.firstLeaf ? tree.recordedHex(task.firstLeaf, recordedTo) : undefined) ?? { count: 0, hex: '', wellFormed: true };
  if (!recorded.wellFormed) return notMatched('a recorded leaf is not a 32-byte hash');
  // the notary's subtrees inside the range, per level, compared as the range's own tree completes them (the leaves
  // matched the recorded ones: a difference is the stored subtree's); only those over leaves the notary recorded
  const storedNodes = tree ? storedNodesOf(tree, task.firstLeaf, recorded.count, Math.log2(task.width)) : [];
  let alteredNode: AlteredNode | undefined;
  const own = new HexTree((level, index, hash) => {
    const stored = storedNodes[level];
    if (alteredNode || !stored || index >= stored.expected) return;
    if (index >= stored.count) alteredNode = { level, index: stored.first + index, reason: stored.cut };
    else if (!stored.hex.startsWith(hash, 2 * HASH_SIZE * index)) alteredNode = { level, index: stored.first + index, reason: 'is not the hash of the leaves under it' };
  });
  const edges: [number, Edge][] = [];
  const dating = new DatingCheck(task.bounds, task.skewMs);
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
        if (dating.wants(task.firstLeaf + n)) dating.add(task.firstLeaf + n, row[0] as bigint, Number(row[7]), occurredAtInText(row[6]));
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
  return { range: task.range, matched: true, leaves: n, edges, ...(alteredNode && { alteredNode }), dated: dating.result() };
}

interface RangeLevel {
  /** the index of the level's first subtree in the range */
  first: number;
  /** how many the notary completed in the range (its recorded leaves there), and how many are stored */
  expected: number;
  count: number;
  hex: string;
  /** why the level is cut at `count` */
  cut: string;
}

/**
 * The stored subtrees of levels 1..top inside the range starting at leaf `firstLeaf` (aligned on 2^top), over its
 * first `recorded` leaves. A level whose subtrees are not all there, or not all 32-byte hashes, is cut at the first
 * that is not (its `count`: what is compared stops there, and that one is reported missing).
 */
function storedNodesOf(tree: SqliteTreeStore, firstLeaf: number, recorded: number, top: number): (RangeLevel | undefined)[] {
  const levels: (RangeLevel | undefined)[] = [];
  for (let level = 1; level <= top; level++) {
    const first = firstLeaf / 2 ** level;
    const expected = Math.floor((firstLeaf + recorded) / 2 ** level) - first;
    if (expected <= 0) break;
    const stored = tree.nodesHex(level, first, first + expected);
    const whole = stored.count === expected && stored.wellFormed;
    const cut = whole ? undefined : tree.firstMissingOrMalformed(level, first, first + expected);
    levels[level] = { first, expected, count: cut ? cut.index - first : expected, hex: stored.hex, cut: cut?.reason ?? 'is missing' };
  }
  return levels;
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
