// openDatabase: a file another process is converting or writing while this one opens it (API replicas started together
// on a fresh data dir) is waited for, not answered "database is locked". The other process is a worker thread here
// that holds SQLite's write lock of a new file, in its first (rollback journal) mode, for a given time.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';
import { openDatabase } from './open-database';

const dir = mkdtempSync(join(tmpdir(), 'rollcall-open-database-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

// the hold is counted from the test's go (state[0]), not from the lock: a loaded machine got the test thread to its
// clock well after the worker had started its own (CI: it waited less than asked, or found nothing locked).
// state[1] is set just before the COMMIT: whoever got the lock after it was waiting for it. A busy timeout: the COMMIT
// needs every other connection's shared lock gone, and openDatabase's retried pragma holds one for a moment (without
// one, a COMMIT that met it failed at once: "database is locked", the worker died with the lock taken).
const HOLDER = `
const { DatabaseSync } = require('node:sqlite');
const { parentPort, workerData } = require('node:worker_threads');
const state = new Int32Array(workerData.state);
const db = new DatabaseSync(workerData.file, { timeout: 5000 });
db.exec('CREATE TABLE IF NOT EXISTS first_writer (x); BEGIN IMMEDIATE; INSERT INTO first_writer VALUES (1)');
parentPort.postMessage('locked');
Atomics.wait(state, 0, 0);
Atomics.wait(state, 0, 1, workerData.holdMs);
Atomics.store(state, 1, 1);
db.exec('COMMIT');
db.close();
parentPort.postMessage('released');
`;

/**
 * a new file whose write lock another thread has taken; resolves once it is. `hold()` tells it to keep the lock
 * `holdMs` from then on, and answers Date.now(); `releasing()`: whether it has begun letting the lock go.
 */
async function lockedFile(holdMs: number): Promise<{ file: string; hold: () => number; releasing: () => boolean; released: Promise<void> }> {
  const file = join(dir, `db-${++files}.sqlite`);
  const state = new Int32Array(new SharedArrayBuffer(8));
  const worker = new Worker(HOLDER, { eval: true, workerData: { file, holdMs, state: state.buffer } });
  const released = new Promise<void>((resolve, reject) => {
    worker.on('message', (m) => m === 'released' && resolve());
    worker.on('error', reject);
  });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  const hold = () => {
    const now = Date.now();
    Atomics.store(state, 0, 1);
    Atomics.notify(state, 0);
    return now;
  };
  return { file, hold, releasing: () => Atomics.load(state, 1) === 1, released };
}

describe('openDatabase', () => {
  it('without it, switching a file another connection is writing to WAL mode fails at once, whatever the busy timeout (why it exists)', async () => {
    const { file, hold, released } = await lockedFile(2000);
    const bare = new DatabaseSync(file, { timeout: 5000 });
    // the pragma alone is timed: the first toThrow of a test file loads jest's matcher code (~20 ms, 327 ms on a
    // loaded machine, past the bound)
    let failure: unknown;
    const started = hold();
    try {
      bare.exec('PRAGMA journal_mode = WAL');
    } catch (error) {
      failure = error;
    }
    const took = Date.now() - started;
    expect(failure).toMatchObject({ message: expect.stringMatching(/database is locked/) });
    expect(took).toBeLessThan(250);
    bare.close();
    await released;
  });

  it('waits for the other connection, then opens the file in WAL mode and runs the set-up', async () => {
    const { file, hold, releasing, released } = await lockedFile(300);
    const started = hold();
    const db = openDatabase(file, { setUp: 'CREATE TABLE IF NOT EXISTS mine (y)' });
    expect(releasing()).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    expect(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all()).toEqual([{ name: 'first_writer' }, { name: 'mine' }]);
    // the other connection's write was committed, not lost
    expect(db.prepare('SELECT x FROM first_writer').all()).toEqual([{ x: 1 }]);
    db.close();
    await released;
  });

  it('gives up with "database is locked" once the busy timeout has passed', async () => {
    const { file, hold, releasing, released } = await lockedFile(1500);
    const started = hold();
    expect(() => openDatabase(file, { busyTimeoutMs: 200 })).toThrow(/database is locked/);
    expect(releasing()).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(Date.now() - started).toBeLessThan(1400);
    await released;
  });

  it('creates the folders of a new file', () => {
    const file = join(dir, 'a', 'b', 'new.sqlite');
    const db = openDatabase(file);
    expect(db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    db.close();
  });
});
