// SqliteEventStore with `checkpoints: 'thread'` (the API's store): the WAL is copied back into the file by a thread of
// its own, not by the commits; the WAL starts over (its file is reused, not grown); reads of unmoved streams are still
// answered from memory (another connection's checkpoint is no commit).
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync, StatementSync } from 'node:sqlite';
import type { NewEvent } from '../port';
import { SqliteEventStore } from './sqlite-event-store';

const dir = mkdtempSync(join(tmpdir(), 'rollcall-wal-checkpoint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshFile = () => join(dir, `events-${++files}.sqlite`);

/** ~4 KiB of data: one event fills about a page */
const ev = (): NewEvent => ({ id: randomUUID(), type: 'E', data: { filler: 'x'.repeat(4000) }, metadata: {} });
/** `count` events, appended by `count / 20` commits */
async function appendPages(store: SqliteEventStore, stream: string, count: number): Promise<void> {
  for (let i = 0; i < count / 20; i++) await store.append(stream, Array.from({ length: 20 }, ev), 'any');
}

/**
 * the events the database file itself holds, its WAL left aside (what a checkpoint copied back); -1 when the copy
 * caught a checkpoint halfway (a torn file: the caller looks again)
 */
function eventsInFile(file: string): number {
  const copy = `${file}.copy-${randomUUID()}`;
  copyFileSync(file, copy);
  try {
    const db = new DatabaseSync(copy, { readOnly: true });
    try {
      // the schema itself may not have been copied back yet
      if (!db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'events'").get()) return 0;
      return Number((db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n);
    } finally {
      db.close();
    }
  } catch {
    return -1;
  } finally {
    rmSync(copy, { force: true });
  }
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('SqliteEventStore: checkpoints on a thread of their own', () => {
  it('copies the WAL back without a commit doing it; by default the commits below 1,000 pages leave it in the WAL', async () => {
    const threaded = freshFile();
    const inline = freshFile();
    const withThread = new SqliteEventStore(threaded, { checkpoints: 'thread' });
    const byCommits = new SqliteEventStore(inline);
    try {
      await appendPages(withThread, 's', 400);
      await appendPages(byCommits, 's', 400);
      await until(() => eventsInFile(threaded) === 400, 'the thread to copy the WAL back');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(eventsInFile(inline)).toBe(0);
    } finally {
      await withThread.close();
      await byCommits.close();
    }
  });

  it('lets the WAL start over, so its file is reused: 12 rounds of ~300 pages leave it far smaller than their sum', async () => {
    const file = freshFile();
    const store = new SqliteEventStore(file, { checkpoints: 'thread' });
    try {
      for (let round = 1; round <= 12; round++) {
        await appendPages(store, 's', 300);
        // the thread's turn (every 100 ms) comes between two rounds: waited for, not timed (a loaded machine let a
        // 150 ms pause pass without one, and the WAL grew past the bound: CI of session 22)
        await until(() => eventsInFile(file) === round * 300, `round ${round} copied back`);
      }
      await until(() => eventsInFile(file) === 3600, 'the last round copied back');
      // their sum is ~15 MiB (the commits' own fallback would let the WAL reach ~40 MiB)
      expect(statSync(`${file}-wal`).size).toBeLessThan(6 * 2 ** 20);
    } finally {
      await store.close();
    }
  });

  it('still answers reads of unmoved streams from memory after the thread copied the WAL back', async () => {
    const file = freshFile();
    const store = new SqliteEventStore(file, { checkpoints: 'thread' });
    try {
      await appendPages(store, 's', 100);
      await until(() => eventsInFile(file) === 100, 'the WAL copied back');
      const all = StatementSync.prototype.all;
      let queries = 0;
      StatementSync.prototype.all = function (this: StatementSync, ...args: unknown[]) {
        if (/FROM events WHERE stream = \?/.test(this.sourceSQL)) queries++;
        return (all as (...a: unknown[]) => ReturnType<StatementSync['all']>).apply(this, args);
      } as StatementSync['all'];
      try {
        for await (const _ of store.readStream('s', { fromRevision: 100n })) throw new Error('no event expected');
      } finally {
        StatementSync.prototype.all = all;
      }
      expect(queries).toBe(0);
    } finally {
      await store.close();
    }
  });

  it("runs none of the process's preloads in its thread (a bench's child hook there once sent the process SIGTERM), and close() waits for it", () => {
    // a preload that, run anywhere but on the main thread, kills the process
    const preload = join(dir, 'kill-from-a-thread.js');
    writeFileSync(preload, "if (!require('node:worker_threads').isMainThread) process.kill(process.pid, 'SIGTERM');\n");
    const script = `
      const { SqliteEventStore } = require(${JSON.stringify(join(__dirname, 'sqlite-event-store.ts'))});
      (async () => {
        const store = new SqliteEventStore(${JSON.stringify(freshFile())}, { checkpoints: 'thread' });
        await store.append('s', [{ id: 'e1', type: 'E', data: {}, metadata: {} }], 'no_stream');
        await new Promise((resolve) => setTimeout(resolve, 400));
        await store.close();
        console.log('still alive');
      })();`;
    const root = join(__dirname, '..', '..', '..', '..');
    const child = spawnSync(process.execPath, ['--no-experimental-strip-types', '-r', join(root, 'tools', 'register.cjs'), '-r', preload, '-e', script], { encoding: 'utf8', timeout: 20_000 });
    // 'still alive' only once close() returned: the thread is stopped before the process may end
    expect({ signal: child.signal, stdout: child.stdout.trim() }).toEqual({ signal: null, stdout: 'still alive' });
  });
});
