import { DatingCheck, type Dated, type SignedBound, signedAtOf } from './dating';
import { type EntryRecord, entryText } from './entry';
import { CompactTree, HASH_SIZE, leafHash } from './merkle';
import { type NoteVerifier, openCheckpoint } from './note';
import type { LeafPage } from './sqlite-log';
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
  code: 'ENTRY_DIFFERS' | 'CHECKPOINT_SIGNATURE' | 'CHECKPOINT_ROOT' | 'LOG_TOO_SHORT' | 'STORED_TREE_ALTERED' | 'NO_CHECKPOINT' | 'LOG_UNREADABLE' | 'ENTRY_BACKDATED';
  message: string;
  size?: number;
}

export interface VerifyResult {
  ok: boolean;
  events: number;
  /** base64 root of the whole log as re-read */
  root: string;
  checkpointsChecked: number;
  /** the log's first entries a signed checkpoint vouches for (its root is theirs); the rest came after the last one */
  eventsCovered: number;
  problems: AuditProblem[];
  firstDifference?: FirstDifference;
}

export interface VerifyInput {
  /** the whole log, re-read in order, as stored (through the event store port) */
  events?: AsyncIterable<EntryRecord>;
  /** or its leaves already hashed, in order (the embedded log read straight from its file: sqlite-log.ts) */
  leafPages?: AsyncIterable<LeafPage> | Iterable<LeafPage>;
  /** the notary's leaves, in index order (locate the first differing entry exactly) */
  storedLeaves?: Iterable<StoredLeaf>;
  /** every checkpoint the notary signed */
  storedCheckpoints?: StoredCheckpoint[];
  /** the notary's subtrees above the leaves (what proofs are built from): each is checked against the log's */
  storedNodes?: StoredNodes;
  /** signed checkpoints the auditor kept */
  keptCheckpoints?: string[];
  verifier: NoteVerifier;
  onProgress?: (events: number) => void;
  /** how far an entry may be dated before a checkpoint signed before it was appended (dating.ts; default 60 s) */
  clockSkewMs?: number;
}

/** The notary's recorded subtrees (level >= 1), as the verification checks them (SqliteTreeStore.storedNodes). */
export interface StoredNodes {
  /** the notary's number of leaves: the subtrees it completes are all stored */
  size: number;
  /** the stored hash of a subtree, or undefined when there is none */
  node(level: number, index: number): Buffer | undefined;
  /** a stored subtree beyond those `size` leaves complete (it has no recorded leaves under it), if any */
  beyond(): { level: number; index: number } | undefined;
}

/** A stored subtree that is not the log's (found by a verifier thread in its range, or by the verification). */
export interface AlteredNode {
  level: number;
  index: number;
  reason: string;
}

interface Target {
  size: number;
  root: Buffer;
  label: string;
  /** when the notary signed it (checkpoints since session 44: dating.ts) */
  signedAt?: number;
}

/**
 * Re-reads the log and recomputes the tree (docs/rules.md#verifiable-history). Every signed checkpoint (stored or
 * kept) must verify under the key and its root must be the log's root at its size; with the notary's leaves, each
 * re-read leaf is compared with the recorded one, which names the first entry that was altered, removed, inserted
 * or moved. The recorded leaves are trusted for that only as far as the signed roots vouch for them.
 */
export async function verifyLog(input: VerifyInput): Promise<VerifyResult> {
  const run = new Verification(input);
  run.readStored(input.storedLeaves);
  if (input.events) for await (const event of input.events) run.add(event.position, leafHash(entryText(event)), event.created.getTime(), occurredAtOf(event.metadata));
  if (input.leafPages) for await (const page of input.leafPages) run.addPage(page);
  return run.finish();
}

/** A right edge of the tree (CompactTree.edge) as a verifier thread sends it: [level, hex hash] from the largest. */
export type Edge = [level: number, hash: string][];

/**
 * The checks of `verifyLog`, fed in log order: one re-read leaf at a time (`add`), or a range of leaves that a
 * verifier thread hashed and found equal to the notary's recorded ones (`addRange`, parallel-verify.ts).
 */
export class Verification {
  private readonly problems: AuditProblem[] = [];
  private readonly targets: Target[] = [];
  /** the tree of the log's leaves; each subtree it completes is compared with the notary's stored one */
  private readonly log = new CompactTree((node) => this.checkNode(node.level, node.index, (stored) => node.hash.equals(stored)));
  private altered: AlteredNode | undefined;
  private storedTree: CompactTree | undefined; // built only once the log and the notary's leaves part
  private stored: Iterator<StoredLeaf> | undefined;
  private first: FirstDifference | undefined;
  private t = 0;
  private count = 0;
  /** the largest checkpoint size whose root is the log's */
  private vouched = 0;

  /** entries dated before a checkpoint signed before they were appended (dating.ts) */
  private readonly dating: DatingCheck;

  constructor(private readonly input: Pick<VerifyInput, 'storedCheckpoints' | 'keptCheckpoints' | 'storedNodes' | 'verifier' | 'onProgress' | 'clockSkewMs'>) {
    for (const c of input.storedCheckpoints ?? []) this.addTarget(c.note, `the stored checkpoint of size ${c.size}`, c.size);
    for (const [i, note] of (input.keptCheckpoints ?? []).entries()) this.addTarget(note, `the kept checkpoint${(input.keptCheckpoints?.length ?? 0) > 1 ? ` #${i + 1}` : ''}`);
    this.targets.sort((a, b) => a.size - b.size);
    this.dating = new DatingCheck(this.signedBounds, input.clockSkewMs);
    this.checkTargets(0, () => this.log.root());
  }

  /** leaves re-read so far */
  get size(): number {
    return this.count;
  }

  /** The signed checkpoints that say when they were signed: no entry after one may be dated before it (dating.ts). */
  get signedBounds(): SignedBound[] {
    return this.targets.flatMap((t) => (t.signedAt === undefined ? [] : [{ size: t.size, at: t.signedAt, label: t.label }]));
  }

  /** The tree sizes of the checkpoints, in order (a verifier thread reports the right edge at each). */
  get targetSizes(): number[] {
    return this.targets.map((t) => t.size);
  }

  /** The notary's recorded leaves from the current size on (their order is the leaf order). */
  readStored(leaves: Iterable<StoredLeaf> | undefined): void {
    this.stored = leaves?.[Symbol.iterator]();
  }

  private addTarget(note: string, label: string, recordedSize?: number): void {
    try {
      const c = openCheckpoint(note, this.input.verifier);
      if (recordedSize !== undefined && c.size !== recordedSize)
        throw new Error(`its note says size ${c.size}`);
      const signedAt = signedAtOf(c);
      this.targets.push({ size: c.size, root: c.root, label: `${label}`, ...(signedAt !== undefined && { signedAt }) });
    } catch (error) {
      this.problems.push({ code: 'CHECKPOINT_SIGNATURE', size: recordedSize, message: `${label} does not verify: ${(error as Error).message}` });
    }
  }

  /** the checkpoints of this size, against the log's root at this size */
  private checkTargets(size: number, logRoot: () => Buffer): void {
    while (this.t < this.targets.length && this.targets[this.t]!.size === size) {
      const target = this.targets[this.t++]!;
      if (!logRoot().equals(target.root))
        this.problems.push({ code: 'CHECKPOINT_ROOT', size, message: `the log's first ${size} entries do not hash to the root of ${target.label}` });
      else this.vouched = Math.max(this.vouched, size);
      if (this.storedTree && !this.storedTree.root().equals(target.root))
        this.problems.push({ code: 'STORED_TREE_ALTERED', size, message: `the notary's recorded leaves do not hash to the root of ${target.label}` });
    }
  }

  /** the next leaf; `created`/`occurredAt` (ms): the entry's times, for the dating check */
  add(position: bigint, hash: Buffer, created?: number, occurredAt?: number): void {
    this.dating.add(this.count, position, created, occurredAt);
    const expected = this.stored?.next();
    if (expected && !expected.done) {
      const leaf = expected.value;
      if (!this.first && !leaf.hash.equals(hash)) {
        this.first = difference(this.count, leaf.position, position);
        this.storedTree = this.log.clone();
      }
      this.storedTree?.push(leaf.hash);
    } else this.storedTree?.push(hash);
    this.log.push(hash);
    this.count++;
    if (this.t < this.targets.length && this.targets[this.t]!.size === this.count) this.checkTargets(this.count, () => this.log.root());
    if (this.count % 10_000 === 0) this.input.onProgress?.(this.count);
  }

  addPage(page: LeafPage): void {
    for (let i = 0; i < page.positions.length; i++)
      this.add(page.positions[i]!, Buffer.from(page.hashes.buffer, page.hashes.byteOffset + i * HASH_SIZE, HASH_SIZE), page.created?.[i], page.occurredAt?.[i]);
  }

  /**
   * The next `leaves` leaves, hashed by a verifier thread and each equal to the notary's recorded leaf at its index
   * (so no difference to locate among them): `edges(n)` is the right edge of the range's own tree after its first n
   * leaves, for n = `leaves` and each checkpoint size inside the range. The range starts at a multiple of the
   * largest perfect subtree in it, so its subtrees are subtrees of the whole tree (RFC 9162 §2.1).
   */
  addRange(leaves: number, edges: (n: number) => Edge, dated?: Dated): void {
    if (this.first) throw new Error('addRange after a difference: the recorded leaves are no longer compared');
    this.dating.absorb(dated);
    const base = this.count;
    const extended = (edge: Edge): CompactTree => {
      const tree = this.log.clone();
      for (const [level, hash] of edge) tree.pushSubtree(level, Buffer.from(hash, 'hex'));
      return tree;
    };
    while (this.t < this.targets.length && this.targets[this.t]!.size <= base + leaves) {
      const size = this.targets[this.t]!.size;
      this.checkTargets(size, () => extended(edges(size - base)).root());
    }
    for (const [level, hash] of edges(leaves)) this.log.pushSubtree(level, Buffer.from(hash, 'hex'));
    this.count += leaves;
    this.input.onProgress?.(this.count);
  }

  /**
   * A subtree of the log completed (its hash `matches` the stored one or not), compared with the notary's while the
   * log and the recorded leaves agree (past a difference the leaves are what is reported) and the notary has it.
   */
  private checkNode(level: number, index: number, matches: (stored: Buffer) => boolean): void {
    const nodes = this.input.storedNodes;
    if (!nodes || this.altered || this.first || (index + 1) * 2 ** level > nodes.size) return;
    const stored = nodes.node(level, index);
    if (!stored) this.altered = { level, index, reason: 'is missing' };
    else if (stored.length !== HASH_SIZE) this.altered = { level, index, reason: 'is not a 32-byte hash' };
    else if (!matches(stored)) this.altered = { level, index, reason: 'is not the hash of the leaves under it' };
  }

  /** a stored subtree a verifier thread found altered in its range (ranges are added in order: the first one wins) */
  alteredInRange(node: AlteredNode): void {
    if (!this.first) this.altered ??= node;
  }

  finish(): VerifyResult {
    const { problems, targets, count } = this;
    const extra = this.altered || this.first ? undefined : this.input.storedNodes?.beyond();
    const altered = this.altered ?? (extra && { ...extra, reason: 'has no recorded leaves under it' });
    // the notary's subtrees above its leaves (what proofs are built from): an edited one passed verify while the API
    // served proofs leading to no signed root (probe 23)
    if (altered) {
      // signed roots the log does not hold besides: the log was edited under that subtree, and its recorded leaf with it
      // to match (probe 33 F8: "the notary's file was edited, not the log" cleared the log). The subtree's leaves are
      // where; the signed checkpoints say how far the log is vouched for.
      const width = 2 ** altered.level;
      if (problems.some((p) => p.code === 'CHECKPOINT_ROOT'))
        problems.unshift({
          code: 'ENTRY_DIFFERS',
          message:
            `an entry at leaves ${altered.index * width}–${(altered.index + 1) * width - 1} of the log differs from what was signed: the notary's recorded subtree at level ${altered.level}, index ${altered.index} ${altered.reason}, ` +
            `and the signed checkpoints past the log's first ${this.vouched} entries do not hold (the log was edited there, and the notary's recorded leaf rewritten to match)`,
        });
      else
        problems.push({
          code: 'STORED_TREE_ALTERED',
          message: `the notary's recorded subtree at level ${altered.level}, index ${altered.index} ${altered.reason}: the notary's file was edited, not the log, and the inclusion and consistency proofs built through it lead to no signed root`,
        });
    }
    this.input.onProgress?.(count);
    // recorded leaves past the end of the log: entries that were removed from its end
    const beyond = this.stored?.next();
    if (beyond && !beyond.done && !this.first)
      this.first = { leafIndex: count, position: beyond.value.position.toString(), kind: 'truncated', expectedPosition: beyond.value.position.toString() };
    for (; this.t < targets.length; this.t++)
      problems.push({ code: 'LOG_TOO_SHORT', size: targets[this.t]!.size, message: `the log has ${count} entries, fewer than the ${targets[this.t]!.size} of ${targets[this.t]!.label}` });
    let first = this.first;
    // the signed roots vouch for the log past the leaf where it and the notary's record part, and no root contradicts
    // it: the record is what was edited (the recorded leaves locate a difference only as far as the roots vouch for them)
    if (first && this.vouched > first.leafIndex && !problems.some((p) => p.code === 'CHECKPOINT_ROOT')) {
      problems.unshift({
        code: 'STORED_TREE_ALTERED',
        message:
          `the notary's record differs from the log at leaf ${first.leafIndex} (position ${first.expectedPosition ?? first.position}), and signed checkpoints vouch for the log's first ${this.vouched} entries: ` +
          `the notary's file was edited there, not the log${count > this.vouched ? `; the log's ${count - this.vouched} later entries are vouched for by no checkpoint (not compared past the edit)` : ''}`,
      });
      first = undefined;
    } else if (first) problems.unshift({ code: 'ENTRY_DIFFERS', message: describe(first) });
    // entries dated before a checkpoint signed before them, reported after what the tree found
    problems.push(...this.dating.problems());
    if (targets.length === 0 && problems.length === 0)
      problems.push({ code: 'NO_CHECKPOINT', message: `no signed checkpoint to check the log's ${count} entries against (the notary has signed none here, and none was kept): nothing vouches for them` });
    return {
      ok: problems.length === 0,
      events: count,
      root: this.log.root().toString('base64'),
      checkpointsChecked: targets.length,
      eventsCovered: this.vouched,
      problems,
      firstDifference: first,
    };
  }
}

/** an event's decision time (`metadata.occurredAt`), in ms; undefined when it has none (erasure passes, older events) */
export function occurredAtOf(metadata: unknown): number | undefined {
  const at = (metadata as { occurredAt?: unknown } | null)?.occurredAt;
  return typeof at === 'string' ? Date.parse(at) : undefined;
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
