import { type EntryRecord, entryText } from './entry';
import { CompactTree, leafHash } from './merkle';
import { type NoteVerifier, openCheckpoint } from './note';
import type { StoredCheckpoint, StoredLeaf } from './tree-store';

/** How the first differing entry differs from what the notary recorded at that leaf. */
export type DifferenceKind = 'altered' | 'missing' | 'unexpected' | 'truncated';

export interface FirstDifference {
  leafIndex: number;
  /** the position to look at: the altered or missing entry's, or the unexpected one's */
  position: string;
  kind: DifferenceKind;
  /** the position the notary recorded at this leaf (absent past the notary's last leaf) */
  expectedPosition?: string;
  /** the position the log has at this leaf (absent when the log ended) */
  foundPosition?: string;
}

export interface AuditProblem {
  code: 'ENTRY_DIFFERS' | 'CHECKPOINT_SIGNATURE' | 'CHECKPOINT_ROOT' | 'LOG_TOO_SHORT' | 'STORED_TREE_ALTERED';
  message: string;
  size?: number;
}

export interface VerifyResult {
  ok: boolean;
  events: number;
  /** base64 root of the whole log as re-read */
  root: string;
  checkpointsChecked: number;
  problems: AuditProblem[];
  firstDifference?: FirstDifference;
}

export interface VerifyInput {
  /** the whole log, re-read in order, as stored */
  events: AsyncIterable<EntryRecord>;
  /** the notary's leaves, in index order (locate the first differing entry exactly) */
  storedLeaves?: Iterable<StoredLeaf>;
  /** every checkpoint the notary signed */
  storedCheckpoints?: StoredCheckpoint[];
  /** signed checkpoints the auditor kept */
  keptCheckpoints?: string[];
  verifier: NoteVerifier;
  onProgress?: (events: number) => void;
}

interface Target {
  size: number;
  root: Buffer;
  label: string;
}

/**
 * Re-reads the log and recomputes the tree (docs/rules.md#verifiable-history). Every signed checkpoint (stored or
 * kept) must verify under the key and its root must be the log's root at its size; with the notary's leaves, each
 * re-read leaf is compared with the recorded one, which names the first entry that was altered, removed, inserted
 * or moved. The recorded leaves are trusted for that only as far as the signed roots vouch for them.
 */
export async function verifyLog(input: VerifyInput): Promise<VerifyResult> {
  const problems: AuditProblem[] = [];
  const targets: Target[] = [];
  for (const c of input.storedCheckpoints ?? []) addTarget(c.note, `the stored checkpoint of size ${c.size}`, c.size);
  for (const [i, note] of (input.keptCheckpoints ?? []).entries()) addTarget(note, `the kept checkpoint${(input.keptCheckpoints?.length ?? 0) > 1 ? ` #${i + 1}` : ''}`);
  targets.sort((a, b) => a.size - b.size);

  function addTarget(note: string, label: string, recordedSize?: number): void {
    try {
      const c = openCheckpoint(note, input.verifier);
      if (recordedSize !== undefined && c.size !== recordedSize)
        throw new Error(`its note says size ${c.size}`);
      targets.push({ size: c.size, root: c.root, label: `${label}` });
    } catch (error) {
      problems.push({ code: 'CHECKPOINT_SIGNATURE', size: recordedSize, message: `${label} does not verify: ${(error as Error).message}` });
    }
  }

  const log = new CompactTree();
  let storedTree: CompactTree | undefined; // built only once the log and the notary's leaves part
  const stored = input.storedLeaves?.[Symbol.iterator]();
  let first: FirstDifference | undefined;
  let t = 0;
  let count = 0;
  const checkTargets = (size: number) => {
    while (t < targets.length && targets[t]!.size === size) {
      const target = targets[t++]!;
      if (!log.root().equals(target.root))
        problems.push({ code: 'CHECKPOINT_ROOT', size, message: `the log's first ${size} entries do not hash to the root of ${target.label}` });
      if (storedTree && !storedTree.root().equals(target.root))
        problems.push({ code: 'STORED_TREE_ALTERED', size, message: `the notary's recorded leaves do not hash to the root of ${target.label}` });
    }
  };
  while (t < targets.length && targets[t]!.size === 0) checkTargets(0);

  for await (const event of input.events) {
    const hash = leafHash(entryText(event));
    const expected = stored?.next();
    if (expected && !expected.done) {
      const leaf = expected.value;
      if (!first && !leaf.hash.equals(hash)) {
        first = difference(count, leaf.position, event.position);
        storedTree = log.clone();
      }
      storedTree?.push(leaf.hash);
    } else storedTree?.push(hash);
    log.push(hash);
    count++;
    if (t < targets.length && targets[t]!.size === count) checkTargets(count);
    if (count % 10_000 === 0) input.onProgress?.(count);
  }
  input.onProgress?.(count);

  // recorded leaves past the end of the log: entries that were removed from its end
  const beyond = stored?.next();
  if (beyond && !beyond.done && !first)
    first = { leafIndex: count, position: beyond.value.position.toString(), kind: 'truncated', expectedPosition: beyond.value.position.toString() };
  for (; t < targets.length; t++)
    problems.push({ code: 'LOG_TOO_SHORT', size: targets[t]!.size, message: `the log has ${count} entries, fewer than ${targets[t]!.label}` });
  if (first) problems.unshift({ code: 'ENTRY_DIFFERS', message: describe(first) });
  return { ok: problems.length === 0, events: count, root: log.root().toString('base64'), checkpointsChecked: targets.length, problems, firstDifference: first };
}

function difference(leafIndex: number, expected: bigint, found: bigint): FirstDifference {
  const kind: DifferenceKind = found === expected ? 'altered' : found > expected ? 'missing' : 'unexpected';
  return {
    leafIndex,
    position: (kind === 'unexpected' ? found : expected).toString(),
    kind,
    expectedPosition: expected.toString(),
    foundPosition: found.toString(),
  };
}

export function describe(d: FirstDifference): string {
  switch (d.kind) {
    case 'altered':
      return `the entry at position ${d.position} (leaf ${d.leafIndex}) was altered`;
    case 'missing':
      return `the entry at position ${d.position} (leaf ${d.leafIndex}) is missing or moved: the log has position ${d.foundPosition} there`;
    case 'unexpected':
      return `an entry at position ${d.position} (leaf ${d.leafIndex}) was inserted or moved: the notary recorded position ${d.expectedPosition} there`;
    case 'truncated':
      return `the log ends before position ${d.position} (leaf ${d.leafIndex}): entries were removed from its end`;
  }
}
