// Whether another process serves the data dir (docs/replicas-and-faults.md): alone, the embedded store's reads need
// not look at other processes' commits (EventStore.othersMayWrite, session 40).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { claimDataDir, watchOtherProcesses } from './data-format';

const dir = mkdtempSync(join(tmpdir(), 'rollcall-data-format-watch-'));
let child: ChildProcess | undefined;
afterAll(() => {
  child?.kill();
  rmSync(dir, { recursive: true, force: true });
});

const register = (pid: number) => {
  const db = new DatabaseSync(join(dir, 'data-format.sqlite'));
  db.prepare("INSERT INTO processes (process, format, role, started) VALUES (?, 1, 'api', 0)").run(`${hostname()}|${pid}`);
  db.close();
};

it('tells whether another live process is registered on the data dir, and again when that changes', async () => {
  claimDataDir(dir, 'api');
  const told: boolean[] = [];
  const stop = watchOtherProcesses(dir, (others) => told.push(others));
  try {
    expect(told).toEqual([false]); // alone
    child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    register(child.pid!);
    for (let i = 0; i < 100 && told.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(told).toEqual([false, true]);
    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    // its row stays (a killed process cleans nothing up): gone from this host's processes, it counts no more
    for (let i = 0; i < 100 && told.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    expect(told).toEqual([false, true, false]);
  } finally {
    stop();
  }
});
