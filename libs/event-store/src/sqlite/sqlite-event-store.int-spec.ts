import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync, StatementSync } from 'node:sqlite';
import { randomUUID } from 'node:crypto';
import { type NewEvent, type RecordedEvent, WrongExpectedRevisionError } from '../port';
import { eventStoreContract } from '../testing/event-store.contract';
import { DuplicateEventIdError, SqliteEventStore } from './sqlite-event-store';

const dir = mkdtempSync(join(tmpdir(), 'rollcall-sqlite-es-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
const freshFile = () => join(dir, `store-${++n}`, 'events.sqlite');

eventStoreContract('SqliteEventStore (durability full)', () => new SqliteEventStore(freshFile()));
eventStoreContract(
  'SqliteEventStore (durability normal, small pages)',
  () => new SqliteEventStore(freshFile(), { durability: 'normal', pageSize: 7 }),
);
eventStoreContract('SqliteEventStore (commit thread)', () => new SqliteEventStore(freshFile(), { writer: 'thread', pageSize: 7 }));

const ev = (type = 'E', data: unknown = {}): NewEvent => ({ id: randomUUID(), type, data, metadata: {} });

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of iterable) out.push(x);
  return out;
}

describe('SqliteEventStore specifics', () => {
  it('reports -1 as the head of an empty log and 1 as the first position', async () => {
    const store = new SqliteEventStore(freshFile());
    expect(await store.headPosition()).toBe(-1n);
    expect((await store.append('s', [ev()], 'no_stream')).position).toBe(1n);
    expect(await store.headPosition()).toBe(1n);
    await store.close();
  });

  it('writes appends queued in the same turn in one transaction (group commit)', async () => {
    const store = new SqliteEventStore(freshFile());
    await store.append('warmup', [ev()], 'no_stream');
    const before = store.commitSequence;
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => store.append(`s-${i}`, [ev()], 'no_stream')),
    );
    expect(store.commitSequence).toBe(before + 1);
    const positions = results.map((r) => r.position);
    expect(positions).toEqual(Array.from({ length: 100 }, (_, i) => 2n + BigInt(i)));
    await store.close();
  });

  it('rejects only the conflicting append of a group; the others commit', async () => {
    const store = new SqliteEventStore(freshFile());
    await store.append('taken', [ev()], 'no_stream');
    const before = store.commitSequence;
    const [a, b, c, d] = await Promise.allSettled([
      store.append('a', [ev('A')], 'no_stream'),
      store.append('taken', [ev('B')], 'no_stream'),
      store.append('c', [ev('C1'), ev('C2')], 'no_stream'),
      store.append('a', [ev('A2')], 0n), // sees the first append of its own group
    ]);
    expect(store.commitSequence).toBe(before + 1);
    expect(a).toMatchObject({ status: 'fulfilled', value: { nextRevision: 0n } });
    expect(b.status).toBe('rejected');
    expect((b as PromiseRejectedResult).reason).toBeInstanceOf(WrongExpectedRevisionError);
    expect(c).toMatchObject({ status: 'fulfilled', value: { nextRevision: 1n } });
    expect(d).toMatchObject({ status: 'fulfilled', value: { nextRevision: 1n } });
    const log = await collect(store.readAll());
    expect(log.map((e) => e.type)).toEqual(['E', 'A', 'C1', 'C2', 'A2']);
    expect(log.map((e) => e.position)).toEqual([1n, 2n, 3n, 4n, 5n]);
    await store.close();
  });

  it('rolls back a failing append of a group without touching the others', async () => {
    const store = new SqliteEventStore(freshFile());
    const shared = ev('Shared');
    await store.append('owner', [shared], 'no_stream');
    const [x, y] = await Promise.allSettled([
      store.append('x', [ev('X1'), shared], 'no_stream'), // second id collides after the first insert
      store.append('y', [ev('Y')], 'no_stream'),
    ]);
    expect(x.status).toBe('rejected');
    expect(y.status).toBe('fulfilled');
    expect((await collect(store.readAll())).map((e) => e.type)).toEqual(['Shared', 'Y']);
    await store.close();
  });

  it('refuses an event id that already exists in another stream or in another batch', async () => {
    const store = new SqliteEventStore(freshFile());
    const a = ev('A');
    const b = ev('B');
    await store.append('one', [a, b], 'no_stream');
    await expect(store.append('two', [a], 'no_stream')).rejects.toBeInstanceOf(DuplicateEventIdError);
    await expect(store.append('one', [a, ev('other')], 'any')).rejects.toMatchObject({
      code: 'DUPLICATE_EVENT_ID',
    });
    // a suffix of the original batch is not the original batch either
    await expect(store.append('one', [b, ev('C')], 'any')).rejects.toBeInstanceOf(DuplicateEventIdError);
    expect(await collect(store.readStream('two'))).toEqual([]);
    expect(await collect(store.readStream('one'))).toHaveLength(2);
    await store.close();
  });

  it('rejects invalid arguments without queueing them', async () => {
    const store = new SqliteEventStore(freshFile());
    await expect(store.append('s', [], 'any')).rejects.toThrow(RangeError);
    await expect(store.append('', [ev()], 'any')).rejects.toThrow(RangeError);
    await expect(store.append('s', [ev()], -1n)).rejects.toThrow(RangeError);
    const e = ev();
    await expect(store.append('s', [e, e], 'any')).rejects.toThrow(/twice/);
    await expect(store.append('s', [{ ...ev(), type: '' }], 'any')).rejects.toThrow(RangeError);
    expect(() => new SqliteEventStore(freshFile(), { durability: 'sometimes' as never })).toThrow(RangeError);
    expect(await store.headPosition()).toBe(-1n);
    await store.close();
  });

  it('keeps everything across close and reopen, in WAL mode, and continues the positions', async () => {
    const file = freshFile();
    const first = new SqliteEventStore(file);
    await first.append('s', [ev('A'), ev('B')], 'no_stream');
    const unawaited = first.append('s', [ev('C')], 1n); // still queued: close() must commit it
    await first.close();
    await expect(unawaited).resolves.toEqual({ nextRevision: 2n, position: 3n });
    await expect(first.append('s', [ev()], 'any')).rejects.toThrow(/closed/);
    await expect(first.ping()).rejects.toThrow(/closed/);
    await first.close(); // idempotent

    const raw = new DatabaseSync(file);
    expect(raw.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    raw.close();

    const second = new SqliteEventStore(file);
    expect(await second.headPosition()).toBe(3n);
    expect(await second.append('s', [ev('D')], 2n)).toEqual({ nextRevision: 3n, position: 4n });
    expect((await collect(second.readStream('s'))).map((e) => e.type)).toEqual(['A', 'B', 'C', 'D']);
    await second.close();
  });

  it('ends live subscriptions when the store closes', async () => {
    const store = new SqliteEventStore(freshFile());
    await store.append('s', [ev()], 'no_stream');
    const sub = store.subscribe();
    const received: RecordedEvent[] = [];
    const done = (async () => {
      for await (const e of sub) received.push(e);
    })();
    await new Promise((r) => setTimeout(r, 20));
    await store.close();
    await done;
    expect(received).toHaveLength(1);
  });

  it('subscription honours maxCount and a fromPosition beyond the head', async () => {
    const store = new SqliteEventStore(freshFile());
    for (let i = 0; i < 5; i++) await store.append(`s${i}`, [ev()], 'no_stream');
    expect((await collect(store.subscribe({ maxCount: 3 }))).map((e) => e.position)).toEqual([1n, 2n, 3n]);

    const sub = store.subscribe({ fromPosition: 10n });
    const it = sub[Symbol.asyncIterator]();
    const next = it.next();
    for (let i = 5; i < 12; i++) await store.append(`s${i}`, [ev()], 'no_stream');
    expect((await next).value).toMatchObject({ position: 11n });
    await sub.unsubscribe();
    expect(await it.next()).toMatchObject({ done: true });
    await store.close();
  });

  it('subscription hands on the events of each read of the file together as its pages, in order, up to maxCount; then not its events besides', async () => {
    const store = new SqliteEventStore(freshFile(), { pageSize: 4 });
    await store.append('s', Array.from({ length: 10 }, () => ev()), 'no_stream');
    const pages: bigint[][] = [];
    for await (const page of store.subscribe({ fromPosition: 1n, maxCount: 7 }).pages!()) pages.push(page.map((e) => e.position));
    expect(pages).toEqual([
      [2n, 3n, 4n, 5n],
      [6n, 7n, 8n],
    ]);
    const events = store.subscribe({});
    await events[Symbol.asyncIterator]().next();
    expect(() => events.pages!()).toThrow(/events are being read already/);
    await events.unsubscribe();
    await store.close();
  });

  it('reads full pages with statements whose LIMIT is no parameter (SQLite prepares those again at every run), and any other page size right', async () => {
    const store = new SqliteEventStore(freshFile(), { pageSize: 3 });
    for (let i = 0; i < 8; i++) await store.append(i % 2 ? 'odd' : 'even', [ev(i % 2 ? 'O' : 'E', { i })], 'any');
    const all = StatementSync.prototype.all;
    const limits: string[] = [];
    StatementSync.prototype.all = function (this: StatementSync, ...args: unknown[]) {
      limits.push(/LIMIT (\S+)$/.exec(this.sourceSQL)?.[1] ?? 'none');
      return (all as (...a: unknown[]) => ReturnType<StatementSync['all']>).apply(this, args);
    } as StatementSync['all'];
    try {
      expect((await collect(store.readStream('even'))).map((e) => e.data)).toEqual([{ i: 0 }, { i: 2 }, { i: 4 }, { i: 6 }]);
      expect((await collect(store.readStream('odd', { toPosition: 6n }))).map((e) => e.data)).toEqual([{ i: 1 }, { i: 3 }, { i: 5 }]);
      expect((await collect(store.readAll({ filter: { eventTypes: ['O'] } }))).map((e) => e.data)).toEqual([{ i: 1 }, { i: 3 }, { i: 5 }, { i: 7 }]);
      expect((await collect(store.subscribe({ filter: { streamPrefixes: ['ev'] }, maxCount: 4 }))).map((e) => e.data)).toEqual([{ i: 0 }, { i: 2 }, { i: 4 }, { i: 6 }]);
      expect(limits.length).toBeGreaterThan(0);
      // the last page of a maxCount (1 of 4, pages of 3) is the only read with another limit
      expect(limits.filter((l) => l !== '3')).toEqual(['?']);
    } finally {
      StatementSync.prototype.all = all;
    }
    await store.close();
  });
});
