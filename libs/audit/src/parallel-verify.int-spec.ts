import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { SqliteEventStore } from '@rollcall/event-store';
import { Notary } from './notary';
import { signerFromSeed } from './note';
import { verifyEmbeddedLog } from './parallel-verify';
import { SqliteTreeStore } from './tree-store';
import { type VerifyResult, verifyLog } from './verify-log';

/*
 * The auditor's verification of the embedded log split across threads by ranges of 16 leaves (docs/rules.md#verifiable-history,
 * docs/adr/0007-verifiable-history.md §6) gives the result of the one-leaf-at-a-time verification through the event
 * store port, on the log as written and on forged copies: the same root, checkpoints and problems, and the same first
 * position that differs.
 */
const work = mkdtempSync(join(tmpdir(), 'rollcall-parallel-verify-'));
const signer = signerFromSeed('audit.rollcall.test/audit', Buffer.alloc(32, 3));
const EVENTS = 203;
const pristine = join(work, 'pristine');
let keptCheckpoint: string;

beforeAll(async () => {
  mkdirSync(pristine);
  const store = new SqliteEventStore(join(pristine, 'events.sqlite'), { durability: 'normal' });
  for (let i = 0; i < EVENTS; i++) {
    const data = { userId: `u-${i % 17}`, email: `enc:v1:u-${i}:k:${'x'.repeat(i % 5)}`, access: { roles: ['agent'], grants: [], restrictions: { b: i, a: 'z' } }, n: i };
    await store.append(`workspace-w${i % 3}`, [{ id: `e-${i}`, type: 'AccessLevelChanged', data, metadata: { actorId: 'a', correlationId: `c-${i}`, causationId: `c-${i}`, schemaVersion: 1 } }], 'any');
  }
  const tree = new SqliteTreeStore(join(pristine, 'audit.sqlite'));
  const notary = new Notary(store, tree, signer);
  // checkpoints at sizes inside ranges, on their ends (16, 32…) and at the end
  for (const step of [5, 11, 16, 16, 23, 37, 64, 100]) {
    await notary.catchUp(step);
    notary.checkpoint();
  }
  keptCheckpoint = tree.latestCheckpoint()!.note;
  tree.close();
  await store.close();
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** a copy of the pristine data dir, forged with SQL on its log or on the notary's tree */
let copies = 0;
function forged(sql: { log?: string; tree?: string }): string {
  const dir = join(work, `copy-${copies++}`);
  cpSync(pristine, dir, { recursive: true });
  for (const [file, statements] of [['events.sqlite', sql.log], ['audit.sqlite', sql.tree]] as const) {
    if (!statements) continue;
    const db = new DatabaseSync(join(dir, file));
    db.exec(statements);
    db.close();
  }
  return dir;
}

/** the one-leaf-at-a-time verification through the event store port (the reference) */
async function sequential(dir: string): Promise<VerifyResult> {
  const store = new SqliteEventStore(join(dir, 'events.sqlite'));
  const tree = new SqliteTreeStore(join(dir, 'audit.sqlite'), { readOnly: true });
  try {
    return await verifyLog({ events: store.readAll(), storedLeaves: tree.leaves(), storedCheckpoints: tree.checkpoints(), storedNodes: tree.storedNodes(), keptCheckpoints: [keptCheckpoint], verifier: signer.verifier });
  } finally {
    tree.close();
    await store.close();
  }
}

async function inRanges(dir: string, threads = 2): Promise<{ result: VerifyResult; progress: number[] }> {
  const tree = new SqliteTreeStore(join(dir, 'audit.sqlite'), { readOnly: true });
  const progress: number[] = [];
  try {
    const result = await verifyEmbeddedLog({ logFile: join(dir, 'events.sqlite'), tree, keptCheckpoints: [keptCheckpoint], verifier: signer.verifier, threads, rangeWidth: 16, onProgress: (n) => progress.push(n) });
    return { result, progress };
  } finally {
    tree.close();
  }
}

describe('verifiable history: verification by ranges on several threads', () => {
  it('verifies the log as written, range by range, with every checkpoint inside or at the end of a range', async () => {
    const { result, progress } = await inRanges(pristine);
    expect(result).toMatchObject({ ok: true, events: EVENTS, problems: [], checkpointsChecked: 9 });
    expect(result).toEqual(await sequential(pristine));
    // the ranges were hashed by the threads: the main thread added them 16 leaves at a time
    expect(progress.slice(0, 13)).toEqual([...Array.from({ length: 12 }, (_, i) => 16 * (i + 1)), EVENTS]);
  }, 30_000);

  it.each([
    ['an altered entry in a late range', { log: `UPDATE events SET data = replace(data, '"agent"', '"owner"') WHERE position = 150` }, { kind: 'altered', position: '150' }],
    ['a deleted entry', { log: 'DELETE FROM events WHERE position = 100' }, { kind: 'missing', position: '100' }],
    ['two swapped entries across a range boundary', { log: 'UPDATE events SET position = -1 WHERE position = 64; UPDATE events SET position = 64 WHERE position = 65; UPDATE events SET position = 65 WHERE position = -1;' }, { position: '64' }],
    ['an inserted entry', { log: `UPDATE events SET position = -position WHERE position >= 90; UPDATE events SET position = 1 - position WHERE position < 0; INSERT INTO events (position, id, stream, revision, type, data, metadata, created) VALUES (90, 'forged', 'workspace-x', 0, 'AccessLevelChanged', '{"after":["owner"]}', '{}', 0);` }, { kind: 'altered', position: '90' }],
    ['entries removed from the end', { log: 'DELETE FROM events WHERE position > 190' }, { kind: 'truncated', position: '191' }],
    ['an entry at position 0, before the first range', { log: `INSERT INTO events (position, id, stream, revision, type, data, metadata, created) VALUES (0, 'forged', 'workspace-x', 0, 'AccessLevelChanged', '{}', '{}', 0)` }, { kind: 'unexpected', position: '0' }],
    // the signed checkpoints vouch for the log there: the notary's file is what was edited, no entry of the log is blamed
    ["a leaf of the notary's tree edited instead of the log", { tree: 'UPDATE leaves SET hash = zeroblob(32) WHERE idx = 120' }, 'notary'],
    ["a leaf removed from the notary's tree", { tree: 'DELETE FROM leaves WHERE idx = 50' }, 'notary'],
  ] as const)('names the first position that differs as the sequential verification does: %s', async (_, sql, expected) => {
    const dir = forged(sql);
    const { result } = await inRanges(dir);
    expect(result.ok).toBe(false);
    if (expected === 'notary') {
      expect(result.firstDifference).toBeUndefined();
      expect(result.problems[0]).toMatchObject({ code: 'STORED_TREE_ALTERED' });
    } else expect(result.firstDifference).toMatchObject(expected);
    expect(result).toEqual(await sequential(dir));
    expect(result).toEqual((await inRanges(dir, 1)).result);
  }, 30_000);

  // probe 23: an edited subtree passed verify while the API served proofs through it that lead to no signed root
  it.each([
    ['inside a range (a verifier thread compares it)', 'UPDATE nodes SET hash = zeroblob(32) WHERE level = 1 AND idx = 60', 'level 1, index 60 is not the hash'],
    ["a range's own root (level 4: 16 leaves)", 'UPDATE nodes SET hash = zeroblob(32) WHERE level = 4 AND idx = 5', 'level 4, index 5 is not the hash'],
    ['above the ranges (the main thread completes it)', 'UPDATE nodes SET hash = zeroblob(32) WHERE level = 5 AND idx = 2', 'level 5, index 2 is not the hash'],
    ['missing', 'DELETE FROM nodes WHERE level = 3 AND idx = 10', 'level 3, index 10 is missing'],
    ['not a hash', "UPDATE nodes SET hash = 'x' WHERE level = 2 AND idx = 7", 'level 2, index 7 is not a 32-byte hash'],
    ['beyond the leaves', "INSERT INTO nodes (level, idx, hash) VALUES (1, 500, zeroblob(32))", 'level 1, index 500 has no recorded leaves under it'],
  ] as const)("an edited subtree of the notary's tree above the leaves is STORED_TREE_ALTERED, by ranges and one leaf at a time: %s", async (_, sql, message) => {
    const dir = forged({ tree: sql });
    const { result } = await inRanges(dir);
    expect({ ok: result.ok, problems: result.problems.map((p) => p.code), firstDifference: result.firstDifference }).toEqual({ ok: false, problems: ['STORED_TREE_ALTERED'], firstDifference: undefined });
    expect(result.problems[0]!.message).toContain(message);
    expect(result).toEqual((await inRanges(dir, 1)).result);
    expect(result).toEqual(await sequential(dir));
  }, 30_000);

  // probe 29: `verify` of a data dir whose notary went on appending while the log was read said STORED_TREE_ALTERED
  it.each([1, 2])('a notary appending while the log is verified changes nothing: the tree is read as pinned (%i threads)', async (threads) => {
    // the log has 40 entries the tree does not hold yet; a copy of it (`grown`) has them notarized
    const dir = forged({});
    const store = new SqliteEventStore(join(dir, 'events.sqlite'), { durability: 'normal' });
    for (let i = EVENTS; i < EVENTS + 40; i++) await store.append('workspace-w9', [{ id: `e-${i}`, type: 'AccessLevelChanged', data: { n: i }, metadata: { actorId: 'a', correlationId: `c-${i}`, causationId: `c-${i}`, schemaVersion: 1 } }], 'any');
    await store.close();
    const grown = forged({});
    cpSync(join(dir, 'events.sqlite'), join(grown, 'events.sqlite'));
    const grownStore = new SqliteEventStore(join(grown, 'events.sqlite'));
    const grownTree = new SqliteTreeStore(join(grown, 'audit.sqlite'));
    await new Notary(grownStore, grownTree, signer).catchUp(1000);
    grownTree.close();
    await grownStore.close();

    const tree = new SqliteTreeStore(join(dir, 'audit.sqlite'), { readOnly: true });
    tree.pin();
    let appended = false;
    // the notary's appends land in the file while the verification runs (the grown copy's leaves and subtrees)
    const notaryAppends = () => {
      if (appended) return;
      appended = true;
      const db = new DatabaseSync(join(dir, 'audit.sqlite'));
      db.exec(`ATTACH '${join(grown, 'audit.sqlite')}' AS grown; INSERT OR IGNORE INTO leaves SELECT * FROM grown.leaves; INSERT OR IGNORE INTO nodes SELECT * FROM grown.nodes;`);
      db.close();
    };
    try {
      const result = await verifyEmbeddedLog({ logFile: join(dir, 'events.sqlite'), tree, keptCheckpoints: [keptCheckpoint], verifier: signer.verifier, threads, rangeWidth: 16, onProgress: notaryAppends });
      expect(appended).toBe(true);
      expect(result).toMatchObject({ ok: true, events: EVENTS + 40, eventsCovered: EVENTS, problems: [] });
    } finally {
      tree.close();
    }
  }, 30_000);

  it('a row that is not JSON in a late range fails as the read through the event store fails', async () => {
    const dir = forged({ log: `UPDATE events SET data = '{"a":' WHERE position = 170` });
    const viaPort = await sequential(dir).catch((error: Error) => error);
    const viaRanges = await inRanges(dir).catch((error: Error) => error);
    expect(viaRanges).toBeInstanceOf(SyntaxError);
    expect((viaRanges as Error).message).toBe((viaPort as Error).message);
  }, 30_000);
});
