import { consistencyProof, inclusionProof, treeRoot } from './merkle';
import type { SqliteTreeStore, StoredLeaf } from './tree-store';

export class ProofUnavailableError extends Error {
  constructor(
    readonly reason: 'UNKNOWN_POSITION' | 'TREE_SIZE',
    message: string,
  ) {
    super(message);
    this.name = 'ProofUnavailableError';
  }
}

export interface InclusionAnswer {
  leaf: StoredLeaf;
  treeSize: number;
  hashes: Buffer[];
  root: Buffer;
}

/** The audit path of the event at `position` in the tree of the first `treeSize` leaves (RFC 9162 §2.1.3.1). */
export function proveInclusion(store: SqliteTreeStore, position: bigint, treeSize: number): InclusionAnswer {
  const leaf = store.leafAtPosition(position);
  if (!leaf) throw new ProofUnavailableError('UNKNOWN_POSITION', `No event at position ${position} is in the tree yet.`);
  const size = store.size();
  if (treeSize > size) throw new ProofUnavailableError('TREE_SIZE', `The tree has ${size} leaves; treeSize ${treeSize} is beyond it.`);
  if (leaf.index >= treeSize)
    throw new ProofUnavailableError('TREE_SIZE', `The event at position ${position} is leaf ${leaf.index}, not within a tree of ${treeSize} leaves.`);
  return { leaf, treeSize, hashes: inclusionProof(store.node, leaf.index, treeSize), root: treeRoot(store.node, treeSize) };
}

/** That the tree of `from` leaves is a prefix of the tree of `to` leaves (RFC 9162 §2.1.4.1). */
export function proveConsistency(store: SqliteTreeStore, from: number, to: number): { hashes: Buffer[]; fromRoot: Buffer; toRoot: Buffer } {
  const size = store.size();
  if (to > size) throw new ProofUnavailableError('TREE_SIZE', `The tree has ${size} leaves; to=${to} is beyond it.`);
  if (from > to) throw new ProofUnavailableError('TREE_SIZE', `from (${from}) must not exceed to (${to}).`);
  return { hashes: consistencyProof(store.node, from, to), fromRoot: treeRoot(store.node, from), toRoot: treeRoot(store.node, to) };
}
