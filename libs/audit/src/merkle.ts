/**
 * The Merkle tree of RFC 9162 §2.1 over the audit entries, in log order.
 *
 *   MTH({})       = SHA-256()
 *   MTH({d(0)})   = SHA-256(0x00 || d(0))                      (leaf hash)
 *   MTH(D[n])     = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])) (node hash; k = largest power of two < n)
 *
 * Storage model: the hash of every complete ("perfect") subtree, addressed by (level, index): level 0 holds the
 * leaf hashes, and (L, i) covers leaves [i·2^L, (i+1)·2^L). Any MTH(D[a:b]) the proofs need decomposes into
 * O(log n) of them, so proofs for any tree size cost O(log² n) lookups.
 */
import { hash } from 'node:crypto';

export const HASH_SIZE = 32;

/**
 * SHA-256 into a Buffer. node:crypto's 'buffer' output allocates a new backing store for every digest; the digest
 * as a latin1 string copied into a (pooled) Buffer costs about a third of that, and the tree hashes one or two per leaf.
 */
const sha256 = (data: Uint8Array | string): Buffer => Buffer.from(hash('sha256', data, 'binary'), 'binary'); // 'binary' = latin1

export const EMPTY_ROOT: Buffer = sha256(Buffer.alloc(0));

export function leafHash(entry: Uint8Array | string): Buffer {
  // a string is hashed as its UTF-8 bytes: '\0' + text is the 0x00 prefix followed by the entry
  if (typeof entry === 'string') return sha256(`\0${entry}`);
  const buf = Buffer.allocUnsafe(entry.length + 1);
  buf[0] = 0;
  buf.set(entry, 1);
  return sha256(buf);
}

const nodeInput = Buffer.alloc(1 + 2 * HASH_SIZE);
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  nodeInput[0] = 1;
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + HASH_SIZE);
  return sha256(nodeInput);
}

/** (bit tricks stop at 2^31; tree sizes go to 2^53) */
export const isPowerOfTwo = (n: number): boolean => n > 0 && 2 ** Math.round(Math.log2(n)) === n;

/** The largest power of two strictly smaller than n (n > 1). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH over a list of leaf hashes (tests and small trees). */
export function rootOfLeafHashes(leaves: readonly Uint8Array[]): Buffer {
  const tree = new CompactTree();
  for (const l of leaves) tree.push(Buffer.from(l));
  return tree.root();
}

/** A perfect subtree's hash, as the tree makes it. */
export interface NewNode {
  level: number;
  index: number;
  hash: Buffer;
}

/**
 * The right edge of the tree: one perfect subtree hash per 1-bit of the size, largest first. Appending a leaf
 * merges equal-sized subtrees (amortized one node hash per leaf); `onNode` sees every completed subtree (level
 * >= 1), for a store to keep.
 */
export class CompactTree {
  private readonly stack: { level: number; hash: Buffer }[] = [];
  private count = 0;

  constructor(private readonly onNode?: (node: NewNode) => void) {}

  /** Rebuilds the right edge of a tree of `size` leaves from stored perfect subtree hashes. */
  static restore(size: number, node: (level: number, index: number) => Buffer, onNode?: (node: NewNode) => void): CompactTree {
    const tree = new CompactTree(onNode);
    let start = 0;
    for (let level = 52; level >= 0; level--) {
      const width = 2 ** level;
      if (size - start >= width) {
        tree.stack.push({ level, hash: node(level, start / width) });
        start += width;
      }
    }
    tree.count = size;
    return tree;
  }

  get size(): number {
    return this.count;
  }

  push(leaf: Buffer): void {
    let index = this.count;
    let top = { level: 0, hash: leaf };
    this.count++;
    for (;;) {
      const last = this.stack[this.stack.length - 1];
      if (!last || last.level !== top.level) break;
      this.stack.pop();
      index = Math.floor(index / 2);
      top = { level: top.level + 1, hash: nodeHash(last.hash, top.hash) };
      this.onNode?.({ level: top.level, index, hash: top.hash });
    }
    this.stack.push(top);
  }

  /**
   * Appends a whole perfect subtree of 2^level leaves, hashed elsewhere (a verifier thread's range). RFC 9162 only
   * combines subtrees aligned on their size, so the tree's size must be a multiple of 2^level.
   */
  pushSubtree(level: number, hash: Buffer): void {
    const width = 2 ** level;
    if (this.count % width !== 0) throw new RangeError(`a subtree of ${width} leaves cannot follow ${this.count} leaves`);
    let top = { level, hash };
    let start = this.count; // the first leaf under `top`
    for (;;) {
      const last = this.stack[this.stack.length - 1];
      if (!last || last.level !== top.level) break;
      this.stack.pop();
      start -= 2 ** top.level;
      top = { level: top.level + 1, hash: nodeHash(last.hash, top.hash) };
      this.onNode?.({ level: top.level, index: start / 2 ** top.level, hash: top.hash });
    }
    this.stack.push(top);
    this.count += width;
  }

  /** The right edge: the perfect subtrees that make up the tree, largest (leftmost) first. */
  edge(): { level: number; hash: Buffer }[] {
    return this.stack.map((s) => ({ ...s }));
  }

  root(): Buffer {
    if (this.stack.length === 0) return Buffer.from(EMPTY_ROOT);
    let acc = this.stack[this.stack.length - 1]!.hash;
    for (let i = this.stack.length - 2; i >= 0; i--) acc = nodeHash(this.stack[i]!.hash, acc);
    return acc;
  }

  clone(onNode?: (node: NewNode) => void): CompactTree {
    const copy = new CompactTree(onNode);
    copy.stack.push(...this.stack.map((s) => ({ ...s })));
    copy.count = this.count;
    return copy;
  }
}

/** Perfect subtree hashes by (level, index), e.g. from the notary's store. */
export type NodeSource = (level: number, index: number) => Buffer;

/** MTH(D[a:b]) from perfect subtree hashes; `a` is aligned as in RFC 9162's recursion. */
export function rangeHash(node: NodeSource, a: number, b: number): Buffer {
  const n = b - a;
  if (n <= 0) throw new RangeError(`empty range [${a}, ${b})`);
  if (isPowerOfTwo(n) && a % n === 0) return node(Math.log2(n), a / n);
  const k = splitPoint(n);
  return nodeHash(rangeHash(node, a, a + k), rangeHash(node, a + k, b));
}

export function treeRoot(node: NodeSource, size: number): Buffer {
  return size === 0 ? Buffer.from(EMPTY_ROOT) : rangeHash(node, 0, size);
}

/** RFC 9162 §2.1.3.1 PATH(m, D[n]): the audit path of leaf m in the tree of the first n leaves, leaf side first. */
export function inclusionProof(node: NodeSource, m: number, n: number): Buffer[] {
  if (!(m >= 0 && m < n)) throw new RangeError(`leaf ${m} is not in a tree of ${n} leaves`);
  const path = (m: number, a: number, b: number): Buffer[] => {
    const size = b - a;
    if (size === 1) return [];
    const k = splitPoint(size);
    return m < k ? [...path(m, a, a + k), rangeHash(node, a + k, b)] : [...path(m - k, a + k, b), rangeHash(node, a, a + k)];
  };
  return path(m, 0, n);
}

/** RFC 9162 §2.1.4.1 PROOF(m, D[n]): that the first m leaves are a prefix of the first n. */
export function consistencyProof(node: NodeSource, m: number, n: number): Buffer[] {
  if (!(m >= 0 && m <= n)) throw new RangeError(`tree size ${m} is not within 0..${n}`);
  if (m === 0 || m === n) return [];
  const subproof = (m: number, a: number, b: number, complete: boolean): Buffer[] => {
    const size = b - a;
    if (m === size) return complete ? [] : [rangeHash(node, a, b)];
    const k = splitPoint(size);
    return m <= k
      ? [...subproof(m, a, a + k, complete), rangeHash(node, a + k, b)]
      : [...subproof(m - k, a + k, b, false), rangeHash(node, a, a + k)];
  };
  return subproof(m, 0, n, true);
}

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0;

/** RFC 9162 §2.1.3.2: verifying an inclusion proof. */
export function verifyInclusion(leafIndex: number, treeSize: number, leaf: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!(leafIndex >= 0 && leafIndex < treeSize)) return false;
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else r = nodeHash(r, p);
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && same(r, root);
}

/** RFC 9162 §2.1.4.2: verifying a consistency proof between (size1, root1) and (size2, root2). */
export function verifyConsistency(size1: number, size2: number, proof: readonly Uint8Array[], root1: Uint8Array, root2: Uint8Array): boolean {
  if (size1 > size2) return false;
  if (size1 === size2) return proof.length === 0 && same(root1, root2);
  if (size1 === 0) return proof.length === 0;
  if (proof.length === 0) return false;
  let path = [...proof];
  if (isPowerOfTwo(size1)) path = [Buffer.from(root1), ...path];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr: Buffer = Buffer.from(path[0]!);
  let sr: Buffer = Buffer.from(path[0]!);
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else sr = nodeHash(sr, c);
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && same(fr, root1) && same(sr, root2);
}
