// The group commit on a thread of its own (commit-thread.ts): what changes for the process that appends, and what
// must not (the contract and the heads specs run over it too: sqlite-event-store.int-spec.ts, stream-heads.int-spec.ts).
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Worker } from 'node:worker_threads';
import { AppendOutcomeUnknownError, type NewEvent, type RecordedEvent } from '../port';
import { SqliteEventStore } from './sqlite-event-store';

const dir = mkdtempSync(join(tmpdir(), 'rollcall-commit-thread-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshFile = () => join(dir, `events-${++files}.sqlite`);

const ev = (type = 'E'): NewEvent => ({ id: randomUUID(), type, data: { type }, metadata: {} });
const read = async (store: SqliteEventStore, stream: string, fromRevision = 0n) => {
  const out: RecordedEvent[] = [];
  for await (const e of store.readStream(stream, { fromRevision })) out.push(e);
  return out.map((e) => `${e.revision}:${e.type}`);
};
/** blocks this thread (as a busy event loop would) */
const block = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const threadOf = (store: SqliteEventStore) => (store as unknown as { writes: { worker: Worker } }).writes.worker;

describe('SqliteEventStore with the commit thread', () => {
  it('a read of a stream whose append is committed but not answered yet reads it (the heads known do not answer for it)', async () => {
    const store = new SqliteEventStore(freshFile(), { writer: 'thread' });
    await store.append('s', [ev('A')], 'no_stream');
    expect(await read(store, 's', 1n)).toEqual([]); // known: the head is 0
    const appending = store.append('s', [ev('B')], 0n);
    await new Promise((resolve) => setImmediate(resolve)); // the append is posted to the thread
    block(300); // meanwhile the thread commits; its answer waits for this event loop
    // before the answer is handled: the event is in the log, and a read must not answer from the head it knew
    expect(await read(store, 's', 1n)).toEqual(['1:B']);
    expect(await appending).toMatchObject({ nextRevision: 1n });
    expect(await read(store, 's', 2n)).toEqual([]);
    await store.close();
  });

  it("an own append's answer is read after a read in flight noted the head before it, in an epoch begun by another process's commit (session 29; known-heads.spec.ts holds the order exactly)", async () => {
    const file = freshFile();
    const store = new SqliteEventStore(file, { writer: 'thread' });
    const other = new DatabaseSync(file);
    other.exec('PRAGMA busy_timeout = 5000');
    try {
      let revision = -1n;
      // the order needs the thread to have counted the other commit, in its group's transaction, before this process
      // looks, and the read to come before the COMMIT: met in some rounds (before the fix the case failed 4 runs of 4)
      for (let round = 0; round < 12; round++) {
        await store.append('s', [ev('A')], revision < 0n ? 'no_stream' : revision);
        revision++;
        await read(store, 's', 0n);
        await new Promise((resolve) => setImmediate(resolve));
        const appending = store.append('s', Array.from({ length: 5_000 }, () => ev('B')), revision); // a long group
        other.prepare("INSERT INTO events (id, stream, revision, type, data, metadata, created) VALUES (?, ?, 0, 'T', '{}', '{}', 0)").run(randomUUID(), `t-${round}`);
        await new Promise((resolve) => setImmediate(resolve)); // posted to the thread
        block(5); // the thread begins its group
        await read(store, 's', revision + 1n); // a read while the append is in flight
        const { nextRevision } = await appending;
        // answered: a read after the append finds its events
        expect((await read(store, 's', revision + 1n)).length).toBe(5_000);
        revision = nextRevision;
      }
    } finally {
      other.close();
      await store.close();
    }
  }, 60_000);

  it('close commits what was queued, and answers it', async () => {
    const file = freshFile();
    const store = new SqliteEventStore(file, { writer: 'thread' });
    const appends = [store.append('s', [ev('A')], 'no_stream'), store.append('s', [ev('B')], 0n)];
    await store.close();
    expect((await Promise.all(appends)).map((r) => r.nextRevision)).toEqual([0n, 1n]);
    await expect(store.append('s', [ev('C')], 1n)).rejects.toThrow('closed');
    const again = new SqliteEventStore(file);
    expect(await read(again, 's')).toEqual(['0:A', '1:B']);
    await again.close();
  });

  it('a thread that is gone fails what waits as an unknown outcome (it may be written), and the store answers no ping', async () => {
    const store = new SqliteEventStore(freshFile(), { writer: 'thread' });
    await store.append('s', [ev('A')], 'no_stream');
    const appending = store.append('s', [ev('B')], 0n);
    await threadOf(store).terminate();
    await expect(appending).rejects.toBeInstanceOf(AppendOutcomeUnknownError);
    await expect(store.append('s', [ev('C')], 1n)).rejects.toThrow(/commit thread ended/);
    await expect(store.ping()).rejects.toThrow(/commit thread ended/);
    await store.close();
  });

  it('appends while another process commits to the same file: each stale expectation refused, none lost', async () => {
    const file = freshFile();
    const threaded = new SqliteEventStore(file, { writer: 'thread' });
    const inline = new SqliteEventStore(file);
    await threaded.append('s', [ev('A')], 'no_stream');
    expect(await read(threaded, 's', 1n)).toEqual([]);
    await inline.append('s', [ev('B')], 0n);
    // the thread's group sees the other connection's commit: the head it knew is gone, and so is this process's
    await expect(threaded.append('s', [ev('X')], 0n)).rejects.toMatchObject({ code: 'CONCURRENCY_CONFLICT' });
    expect(await read(threaded, 's', 1n)).toEqual(['1:B']);
    await threaded.append('s', [ev('C')], 1n);
    await inline.append('t', [ev('T')], 'no_stream');
    expect(await read(threaded, 's', 2n)).toEqual(['2:C']);
    expect(await read(threaded, 't')).toEqual(['0:T']);
    await threaded.close();
    await inline.close();
  });

  it.each([
    ['that never appended', ''],
    ['after appends and a fault injection', "await store.append('s', [{ id: 'e1', type: 'E', data: {}, metadata: {} }], 'no_stream'); await store.execOnWriters('PRAGMA query_only = OFF');"],
  ])('keeps no process alive that left it open, %s (an app that never closes its store still exits)', (_, work) => {
    const script = `
      const { SqliteEventStore } = require(${JSON.stringify(join(__dirname, 'sqlite-event-store.ts'))});
      (async () => {
        const store = new SqliteEventStore(${JSON.stringify(freshFile())}, { writer: 'thread' });
        ${work}
        console.log('left open');
      })();`;
    const root = join(__dirname, '..', '..', '..', '..');
    const child = spawnSync(process.execPath, ['--no-experimental-strip-types', '-r', join(root, 'tools', 'register.cjs'), '-e', script], { encoding: 'utf8', timeout: 10_000 });
    expect({ status: child.status, signal: child.signal, stdout: child.stdout.trim() }).toEqual({ status: 0, signal: null, stdout: 'left open' });
  });
});
