// Two replicas over one data dir each run a notary on the same tree (audit.sqlite): they take turns without an error,
// and the tree is the one a single notary folds from the log (docs/adr/0007-verifiable-history.md).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '@rollcall/event-store';
import { CHECKPOINTS_KEPT_EVERY_MS, Notary } from './notary';
import { signerFromSeed } from './note';
import { SqliteTreeStore } from './tree-store';

const signer = signerFromSeed('audit.rollcall.test/audit', Buffer.alloc(32, 5));
let dir: string;
let events: SqliteEventStore;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-notary-'));
  events = new SqliteEventStore(join(dir, 'events.sqlite'), { durability: 'normal' });
  for (let i = 0; i < 60; i++) await events.append(`s-${i % 4}`, [{ id: `e-${i}`, type: 'Something', data: { n: i }, metadata: {} }], 'any');
});
afterEach(async () => {
  await events.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Notary', () => {
  it('two notaries on one tree (two replicas, one data dir) take turns: the one behind starts again from the tree, no error, and the tree is the log\'s', async () => {
    const trees = [new SqliteTreeStore(join(dir, 'audit.sqlite')), new SqliteTreeStore(join(dir, 'audit.sqlite'))];
    const [a, b] = trees.map((tree) => new Notary(events, tree, signer)) as [Notary, Notary];
    expect(await a.catchUp(10)).toBe(10);
    // b read the tree before a added to it: it adds nothing this time, and catches up from where the tree is
    expect(await b.catchUp(25)).toBe(0);
    expect(await b.catchUp(25)).toBe(25);
    expect(await a.catchUp(100)).toBe(0);
    expect(await a.catchUp(100)).toBe(25);
    const shared = a.checkpoint()!;

    const alone = new SqliteTreeStore(join(dir, 'alone.sqlite'));
    const reference = new Notary(events, alone, signer);
    expect(await reference.catchUp(100)).toBe(60);
    expect({ size: shared.size, root: shared.root.toString('hex') }).toEqual({ size: 60, root: reference.checkpoint()!.root.toString('hex') });
    for (const tree of [...trees, alone]) tree.close();
  });

  it('probe 108 F4: thins the checkpoints signed before the span kept whole to the first of each hour, never the latest; the tree and the latest checkpoint are as before', async () => {
    const tree = new SqliteTreeStore(join(dir, 'audit.sqlite'));
    const notary = new Notary(events, tree, signer);
    const HOUR = CHECKPOINTS_KEPT_EVERY_MS;
    const t0 = Date.parse('2026-12-01T00:00:00Z');
    // one checkpoint per event, signed every 20 minutes from t0: 3 an hour over 20 hours
    for (let i = 0; i < 60; i++) {
      await notary.catchUp(1);
      notary.checkpoint(new Date(t0 + i * 20 * 60_000));
    }
    const latestRoot = tree.latestCheckpoint()!.root.toString('hex');
    expect(tree.checkpoints()).toHaveLength(60);
    // now = t0 + 24 h, every checkpoint of the last 10 hours kept: those signed before t0 + 14 h go to one an hour
    // in steps of 7 checkpoints read, each its own transaction
    const steps: number[] = [];
    for (let step = notary.thinCheckpoints(10 * HOUR, t0 + 24 * HOUR, 7); ; step = notary.thinCheckpoints(10 * HOUR, t0 + 24 * HOUR, 7)) {
      steps.push(step.deleted);
      if (!step.more) break;
    }
    expect(steps).toEqual([4, 5, 5, 4, 5, 5, 0]);
    const sizes = tree.checkpoints().map((c) => c.size);
    expect(sizes.slice(0, 14)).toEqual(Array.from({ length: 14 }, (_, h) => 1 + 3 * h));
    expect(sizes.slice(14)).toEqual(Array.from({ length: 18 }, (_, i) => 43 + i));
    // the tree is untouched (the checkpoints' rows only): its size, and the root the latest checkpoint signed
    expect([tree.size(), tree.latestCheckpoint()?.root.toString('hex')]).toEqual([60, latestRoot]);
    // long after the log stopped growing, the latest checkpoint stays
    while (notary.thinCheckpoints(HOUR, t0 + 1000 * HOUR).more);
    expect(tree.latestCheckpoint()?.size).toBe(60);
    expect(tree.checkpoints().map((c) => c.size)).toEqual(Array.from({ length: 20 }, (_, h) => 1 + 3 * h).concat([60]));
    tree.close();
  });
});
