// Two replicas over one data dir each run a notary on the same tree (audit.sqlite): they take turns without an error,
// and the tree is the one a single notary folds from the log (docs/adr/0007-verifiable-history.md).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '@rollcall/event-store';
import { Notary } from './notary';
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
});
