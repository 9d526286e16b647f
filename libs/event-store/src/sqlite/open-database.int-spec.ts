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

const HOLDER = `
const { DatabaseSync } = require('node:sqlite');
const { parentPort, workerData } = require('node:worker_threads');
const db = new DatabaseSync(workerData.file);
db.exec('CREATE TABLE IF NOT EXISTS first_writer (x); BEGIN IMMEDIATE; INSERT INTO first_writer VALUES (1)');
parentPort.postMessage('locked');
setTimeout(() => { db.exec('COMMIT'); db.close(); parentPort.postMessage('released'); }, workerData.holdMs);
`;

/** a new file whose write lock another thread holds for `holdMs`; resolves once the lock is taken */
async function lockedFile(holdMs: number): Promise<{ file: string; released: Promise<void> }> {
  const file = join(dir, `db-${++files}.sqlite`);
  const worker = new Worker(HOLDER, { eval: true, workerData: { file, holdMs } });
  const released = new Promise<void>((resolve, reject) => {
    worker.on('message', (m) => m === 'released' && resolve());
    worker.on('error', reject);
  });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  return { file, released };
}

describe('openDatabase', () => {
  it('without it, switching a file another connection is writing to WAL mode fails at once, whatever the busy timeout (why it exists)', async () => {
    // held long enough that a loaded machine cannot get here after the release (a CI run did: nothing was locked)
    const { file, released } = await lockedFile(2000);
    const bare = new DatabaseSync(file, { timeout: 5000 });
    const started = Date.now();
    expect(() => bare.exec('PRAGMA journal_mode = WAL')).toThrow(/database is locked/);
    expect(Date.now() - started).toBeLessThan(250);
    bare.close();
    await released;
  });

  it('waits for the other connection, then opens the file in WAL mode and runs the set-up', async () => {
    const { file, released } = await lockedFile(300);
    const started = Date.now();
    const db = openDatabase(file, { setUp: 'CREATE TABLE IF NOT EXISTS mine (y)' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    expect(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all()).toEqual([{ name: 'first_writer' }, { name: 'mine' }]);
    // the other connection's write was committed, not lost
    expect(db.prepare('SELECT x FROM first_writer').all()).toEqual([{ x: 1 }]);
    db.close();
    await released;
  });

  it('gives up with "database is locked" once the busy timeout has passed', async () => {
    const { file, released } = await lockedFile(1500);
    const started = Date.now();
    expect(() => openDatabase(file, { busyTimeoutMs: 200 })).toThrow(/database is locked/);
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
