import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { preloadWorker, startWorker } from './preloaded-workers';

const TESTING = join(__dirname, 'testing');
const FIXTURE = join(__dirname, 'testing', 'fixture.ts'); // a caller file in the sources: the threads run under the register hook

const nextMessage = (worker: Worker) => new Promise<Record<string, unknown>>((resolve) => worker.once('message', resolve));

describe('threads spawned ahead of their data (preloaded-workers.ts)', () => {
  const started: Worker[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((w) => w.terminate()));
  });

  it('startWorker takes the preloaded thread and hands it its data', async () => {
    const preloaded = preloadWorker(TESTING, 'echo-data-worker', FIXTURE, 'echo').threadId;
    expect(preloadWorker(TESTING, 'echo-data-worker', FIXTURE, 'echo').threadId).toBe(preloaded); // one per module
    // give it time to load (what the early spawn is for)
    await new Promise((resolve) => setTimeout(resolve, 500));
    const worker = startWorker(TESTING, 'echo-data-worker', FIXTURE, 'echo', { delayMs: 0, n: 1 });
    started.push(worker);
    const first = await nextMessage(worker);
    expect(worker.threadId).toBe(preloaded);
    expect(first).toEqual({ data: { delayMs: 0, n: 1 }, threadId: preloaded });
  });

  it('a second start without a preload spawns a thread of its own', async () => {
    const a = startWorker(TESTING, 'echo-data-worker', FIXTURE, 'echo', { n: 'a' });
    const b = startWorker(TESTING, 'echo-data-worker', FIXTURE, 'echo', { n: 'b' });
    started.push(a, b);
    const [fromA, fromB] = await Promise.all([nextMessage(a), nextMessage(b)]);
    expect(fromA.data).toEqual({ n: 'a' });
    expect(fromB.data).toEqual({ n: 'b' });
    expect(a.threadId).not.toBe(b.threadId);
  });

  it('messages posted right after the data reach the thread, even before it listens for them', async () => {
    preloadWorker(TESTING, 'echo-data-worker', FIXTURE, 'echo');
    // loaded and waiting for its data (its listener attached), as in the API; it removes that listener on the data and
    // attaches its handler 200 ms later: "forget" and "hurry" may be posted meanwhile
    await new Promise((resolve) => setTimeout(resolve, 500));
    const worker = startWorker(TESTING, 'echo-data-worker', FIXTURE, 'echo', { delayMs: 200 });
    started.push(worker);
    worker.postMessage({ type: 'forget', subjectIds: ['s1'] });
    const messages: unknown[] = [];
    await new Promise<void>((resolve) =>
      worker.on('message', (m) => {
        messages.push(m);
        if (messages.length === 2) resolve();
      }),
    );
    expect(messages[1]).toEqual({ echo: { type: 'forget', subjectIds: ['s1'] } });
  });

  it('a preloaded thread that failed while loading does not fail the process; the start spawns one that reports', async () => {
    const failed = preloadWorker(TESTING, 'failing-worker', FIXTURE, 'failing');
    await failed.endedUntaken;
    const worker = startWorker(TESTING, 'failing-worker', FIXTURE, 'failing', {});
    expect(worker.threadId).not.toBe(failed.threadId); // a fresh thread, not the one that failed
    const error = await new Promise<Error>((resolve) => worker.once('error', resolve));
    expect(error.message).toContain('failed while loading');
  });

  it('a preloaded thread nobody takes does not keep the process alive', () => {
    const script = `require(${JSON.stringify(join(__dirname, 'preloaded-workers.ts'))}).preloadWorker(${JSON.stringify(TESTING)}, 'echo-data-worker', ${JSON.stringify(FIXTURE)}, 'echo');`;
    const child = spawnSync(process.execPath, ['--no-experimental-strip-types', '-r', join(__dirname, '..', '..', '..', 'tools', 'register.cjs'), '-e', script], {
      timeout: 20_000,
      encoding: 'utf8',
    });
    expect(child.error).toBeUndefined(); // not killed by the timeout
    expect(child.status).toBe(0);
  });
});
