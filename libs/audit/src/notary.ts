import type { EventStore } from '@rollcall/event-store';
import { entryText } from './entry';
import { CompactTree, type NewNode, leafHash } from './merkle';
import { signedAtLine } from './dating';
import { type NoteSigner, checkpointText } from './note';
import type { SqliteTreeStore, StoredCheckpoint } from './tree-store';

/** of the checkpoints past the notary's `keepEveryMs`, one kept per this many ms (the first signed in each) */
export const CHECKPOINTS_KEPT_EVERY_MS = 3_600_000;

/**
 * The notary's core (docs/rules.md#verifiable-history): folds the global log, as stored (personal fields
 * encrypted: the inner store, never the crypto-shredding wrapper), into the Merkle tree, and signs checkpoints.
 * It only reads the log, so it never holds up a command. Restarts resume from the stored tree.
 */
export class Notary {
  private tree: CompactTree;
  private pendingNodes: NewNode[] = [];
  private lastPosition: bigint | undefined;
  /**
   * whether the last catch-up read the log to its end: only then does a checkpoint say when it was signed, since only
   * then are the entries after it appended after it (a notary catching up on a backlog — a data dir from before the
   * notary, its tree lost — signs checkpoints over entries written long before: dating.ts would call those back-dated)
   */
  private atHead = false;

  constructor(
    private readonly events: Pick<EventStore, 'readAll'>,
    readonly store: SqliteTreeStore,
    private readonly signer: NoteSigner,
  ) {
    this.tree = CompactTree.restore(store.size(), store.node, (n) => this.pendingNodes.push(n));
    this.lastPosition = store.lastLeaf()?.position;
  }

  get size(): number {
    return this.tree.size;
  }

  get origin(): string {
    return this.signer.verifier.name;
  }

  /**
   * Adds the events after the last leaf (at most `max`), in one store transaction. Returns how many. Another replica's
   * notary may share the tree (one data dir): when it added leaves first, this one starts again from the store (the
   * same log folds into the same tree) and adds none this time.
   */
  async catchUp(max = 5000): Promise<number> {
    const from = this.tree.size;
    const leaves: { position: bigint; hash: Buffer }[] = [];
    try {
      for await (const event of this.events.readAll({ fromPosition: this.lastPosition, maxCount: max })) {
        const hash = leafHash(entryText(event));
        leaves.push({ position: event.position, hash });
        this.tree.push(hash);
      }
    } catch (error) {
      // a read that failed part-way (an I/O error): the leaves pushed are in no store; start again from the store
      this.reload();
      throw error;
    }
    this.atHead = leaves.length < max;
    if (leaves.length === 0) return 0;
    let appended: boolean;
    try {
      appended = this.store.append(leaves, this.pendingNodes, from);
    } catch (error) {
      this.reload();
      throw error;
    }
    if (!appended) {
      this.reload();
      return 0;
    }
    this.pendingNodes = [];
    this.lastPosition = leaves[leaves.length - 1]!.position;
    return leaves.length;
  }

  /**
   * Starts again from the store: what it did not take is not in the tree either, and what another notary added since
   * is (a notary taking over from another replica's: apps/api/src/audit/notary-worker.ts).
   */
  reload(): void {
    this.tree = CompactTree.restore(this.store.size(), this.store.node, (n) => this.pendingNodes.push(n));
    this.pendingNodes = [];
    this.lastPosition = this.store.lastLeaf()?.position;
    this.atHead = false;
  }

  /**
   * Signs and stores a checkpoint of the current tree, unless the latest one already has this size. When the tree
   * reached the log's head, the note says when it was signed (`signed-at`, dating.ts): an auditor holding it can tell
   * an entry appended later but dated before.
   */
  /**
   * Keeps every checkpoint signed in the last `keepEveryMs`, and of older ones the first signed in each hour
   * (docs/adr/0007, "Session 65"): inclusion and consistency proofs need none of them (they come from the tree), an
   * auditor keeps the checkpoints they were given, and `verify` dates entries by those it finds (dating.ts). One step
   * (SqliteTreeStore.thinCheckpoints) per call: `more` while checkpoints before the span are left to read.
   */
  thinCheckpoints(keepEveryMs: number, now = Date.now(), batch?: number): { deleted: number; more: boolean } {
    const { deleted, readUpTo } = this.store.thinCheckpoints(this.thinned.after, now - keepEveryMs, CHECKPOINTS_KEPT_EVERY_MS, this.thinned.kept, batch);
    if (readUpTo !== undefined) this.thinned.after = readUpTo;
    return { deleted, more: readUpTo !== undefined };
  }

  /** how far the thinning read (the next step goes on after it), and the first checkpoint kept of each hour it read */
  private readonly thinned = { after: 0, kept: new Map<number, number>() };

  checkpoint(now = new Date()): StoredCheckpoint | undefined {
    const latest = this.store.latestCheckpoint();
    if (latest && latest.size >= this.tree.size) return undefined;
    const root = this.tree.root();
    const signed: StoredCheckpoint = {
      size: this.tree.size,
      root,
      note: this.signer.sign(checkpointText({ origin: this.origin, size: this.tree.size, root, extensions: this.atHead ? [signedAtLine(now)] : [] })),
      signedAt: now,
    };
    this.store.saveCheckpoint(signed);
    return signed;
  }
}
