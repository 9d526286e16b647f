import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
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
 * Probe 44 F1: an operator who sets the server's clock back appends events dated before checkpoints auditors hold, and
 * rule 17's answers about the past change. The notary signs each checkpoint's time; `verify` names an entry appended
 * after a signed checkpoint yet dated (recorded or decided) more than the clock skew before it, whichever way the log is
 * read (by ranges on threads, one leaf at a time, through the event store port).
 */
const work = mkdtempSync(join(tmpdir(), 'rollcall-dating-'));
const signer = signerFromSeed('audit.rollcall.test/audit', Buffer.alloc(32, 5));
const SIGNED = Date.parse('2026-12-05T09:56:21.000Z');
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** 40 events and a checkpoint signed at SIGNED, then 2 more whose times `date` sets before the notary reads them, and a checkpoint after */
async function history(name: string, date: (created: number) => { created: number; occurredAt: string }): Promise<string> {
  const dir = join(work, name);
  mkdirSync(dir);
  const store = new SqliteEventStore(join(dir, 'events.sqlite'), { durability: 'normal' });
  const append = (i: number) =>
    store.append(`workspace-w${i % 3}`, [{ id: `e-${i}`, type: 'AccessLevelChanged', data: { n: i }, metadata: { actorId: 'a', occurredAt: new Date().toISOString() } }], 'any');
  for (let i = 0; i < 40; i++) await append(i);
  const tree = new SqliteTreeStore(join(dir, 'audit.sqlite'));
  const notary = new Notary(store, tree, signer);
  await notary.catchUp();
  notary.checkpoint(new Date(SIGNED));
  for (let i = 40; i < 42; i++) await append(i);
  const db = new DatabaseSync(join(dir, 'events.sqlite'));
  const update = db.prepare("UPDATE events SET created = ?, metadata = json_set(metadata, '$.occurredAt', ?) WHERE position = ?");
  for (const position of [41, 42]) {
    const { created, occurredAt } = date(SIGNED);
    update.run(created, occurredAt, position);
  }
  db.close();
  await notary.catchUp();
  notary.checkpoint(new Date(SIGNED + 5_000));
  tree.close();
  await store.close();
  return dir;
}

async function verified(dir: string, clockSkewMs?: number): Promise<VerifyResult[]> {
  const results: VerifyResult[] = [];
  for (const threads of [2, 1]) {
    const tree = new SqliteTreeStore(join(dir, 'audit.sqlite'), { readOnly: true });
    try {
      results.push(await verifyEmbeddedLog({ logFile: join(dir, 'events.sqlite'), tree, verifier: signer.verifier, threads, rangeWidth: 16, clockSkewMs }));
    } finally {
      tree.close();
    }
  }
  const store = new SqliteEventStore(join(dir, 'events.sqlite'));
  const tree = new SqliteTreeStore(join(dir, 'audit.sqlite'), { readOnly: true });
  try {
    results.push(await verifyLog({ events: store.readAll(), storedLeaves: tree.leaves(), storedCheckpoints: tree.checkpoints(), storedNodes: tree.storedNodes(), verifier: signer.verifier, clockSkewMs }));
  } finally {
    tree.close();
    await store.close();
  }
  return results;
}

describe('verify: entries dated before a checkpoint signed before they were appended (probe 44 F1)', () => {
  it('a clock set back 10 minutes: the first such entry is named, by every way of reading the log; the tree itself verifies', async () => {
    const back = SIGNED - 10 * 60_000;
    const dir = await history('back', () => ({ created: back, occurredAt: new Date(back).toISOString() }));
    for (const result of await verified(dir)) {
      expect(result).toMatchObject({ ok: false, events: 42, checkpointsChecked: 2, eventsCovered: 42 });
      expect(result.problems).toEqual([
        {
          code: 'ENTRY_BACKDATED',
          size: 40,
          message:
            "the entry at position 41 is recorded at 2026-12-05T09:46:21.000Z, before the stored checkpoint of size 40 was signed at 2026-12-05T09:56:21.000Z, yet it came after that checkpoint's 40 entries: the server's clock was set back when it was written (2 entries so, the first named)",
        },
      ]);
    }
  });

  it('only the decision time set back (the recording time honest): named too', async () => {
    const dir = await history('decided', (signed) => ({ created: signed + 1_000, occurredAt: new Date(signed - 3_600_000).toISOString() }));
    for (const result of await verified(dir)) expect(result.problems.map((p) => [p.code, /position 41 is decided at 2026-12-05T08:56:21/.test(p.message)])).toEqual([['ENTRY_BACKDATED', true]]);
  });

  it('within the clock skew (a request that waited, clocks a little apart), or entries after the checkpoint: verified', async () => {
    const dir = await history('skew', (signed) => ({ created: signed - 20_000, occurredAt: new Date(signed - 45_000).toISOString() }));
    for (const result of await verified(dir)) expect(result).toMatchObject({ ok: true, problems: [] });
    // a tighter tolerance, asked for: named
    for (const result of await verified(dir, 10_000)) expect(result.problems.map((p) => p.code)).toEqual(['ENTRY_BACKDATED']);
    const honest = await history('honest', (signed) => ({ created: signed + 2_000, occurredAt: new Date(signed + 1_000).toISOString() }));
    for (const result of await verified(honest)) expect(result).toMatchObject({ ok: true, problems: [] });
  });

  it('a notary catching up on a backlog (an old log notarized at once) signs no time until it reaches the head: no false alarm', async () => {
    const dir = join(work, 'backlog');
    mkdirSync(dir);
    const store = new SqliteEventStore(join(dir, 'events.sqlite'), { durability: 'normal' });
    for (let i = 0; i < 40; i++)
      await store.append(`workspace-w${i % 3}`, [{ id: `e-${i}`, type: 'AccessLevelChanged', data: { n: i }, metadata: { actorId: 'a', occurredAt: '2025-01-01T00:00:00.000Z' } }], 'any');
    const db = new DatabaseSync(join(dir, 'events.sqlite'));
    db.prepare('UPDATE events SET created = ?').run(Date.parse('2025-01-01T00:00:00.000Z'));
    db.close();
    const tree = new SqliteTreeStore(join(dir, 'audit.sqlite'));
    const notary = new Notary(store, tree, signer);
    // batches of 16 (the API's are 5,000), a checkpoint after each, as the notary thread signs between batches
    while ((await notary.catchUp(16)) > 0) notary.checkpoint();
    const signedAt = tree.checkpoints().map((c) => /\nsigned-at /.test(c.note));
    expect(signedAt).toEqual([false, false, true]);
    tree.close();
    await store.close();
    for (const result of await verified(dir)) expect(result).toMatchObject({ ok: true, events: 40, problems: [] });
  });
});
