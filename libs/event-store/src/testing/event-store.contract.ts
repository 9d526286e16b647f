import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type RecordedEvent,
  type Subscription,
  WrongExpectedRevisionError,
} from '../port';
import { appendManyContract, expectReplayOf } from './event-store.append-many.contract';

/**
 * The behaviour every EventStore adapter must have. Registers jest tests under `describe(name)`.
 *
 * `factory` returns a store for one test; the suite closes it after the test. The suite runs on a
 * log that other tests (or other runs) may share, as an EventStoreDB server's is: each test writes to
 * streams under its own random prefix and reads the log through a filter on that prefix.
 * appendMany and retries after an unclear failure: event-store.append-many.contract.ts.
 */
export function eventStoreContract(name: string, factory: () => EventStore | Promise<EventStore>): void {
  describe(name, () => {
    let store: EventStore;
    /** unique per test: every stream of the test starts with it */
    let p: string;

    beforeEach(async () => {
      store = await factory();
      p = `t${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    });
    afterEach(async () => {
      await store.close();
    });

    const ev = (type: string, data: unknown = {}, metadata: Record<string, unknown> = {}): NewEvent => ({
      id: randomUUID(),
      type,
      data,
      metadata,
    });
    const readStream = async (stream: string, options?: Parameters<EventStore['readStream']>[1]) =>
      collect(store.readStream(stream, options));
    const readPrefix = async (options: Parameters<EventStore['readAll']>[0] = {}) =>
      collect(store.readAll({ ...options, filter: { streamPrefixes: [p], ...options.filter } }));

    describe('optimistic concurrency', () => {
      it('creates a stream with no_stream, then refuses no_stream on the existing stream', async () => {
        const s = `${p}-user-1`;
        const first = await store.append(s, [ev('UserInvited')], 'no_stream');
        expect(first.nextRevision).toBe(0n);

        const error = await store.append(s, [ev('UserInvited')], 'no_stream').catch((e: unknown) => e);
        expect(error).toBeInstanceOf(WrongExpectedRevisionError);
        expect(error).toMatchObject({
          code: 'CONCURRENCY_CONFLICT',
          stream: s,
          expected: 'no_stream',
          actual: 0n,
        });
        expect(await readStream(s)).toHaveLength(1);
      });

      it('refuses a wrong revision and accepts the right one', async () => {
        const s = `${p}-user-1`;
        await store.append(s, [ev('A'), ev('B')], 'no_stream');

        await expect(store.append(s, [ev('C')], 0n)).rejects.toMatchObject({ expected: 0n, actual: 1n });
        await expect(store.append(s, [ev('C')], 2n)).rejects.toBeInstanceOf(WrongExpectedRevisionError);
        const ok = await store.append(s, [ev('C'), ev('D')], 1n);
        expect(ok.nextRevision).toBe(3n);
        expect((await readStream(s)).map((e) => e.type)).toEqual(['A', 'B', 'C', 'D']);
      });

      it('refuses an expected revision on a stream that does not exist', async () => {
        await expect(store.append(`${p}-missing`, [ev('A')], 0n)).rejects.toMatchObject({
          name: 'WrongExpectedRevisionError',
          actual: 'no_stream',
        });
        expect(await readStream(`${p}-missing`)).toEqual([]);
      });

      it('appends with any whatever the stream state', async () => {
        const s = `${p}-user-1`;
        expect((await store.append(s, [ev('A')], 'any')).nextRevision).toBe(0n);
        expect((await store.append(s, [ev('B')], 'any')).nextRevision).toBe(1n);
        expect((await readStream(s)).map((e) => e.revision)).toEqual([0n, 1n]);
      });

      it('lets exactly one of 50 concurrent appends with the same expected revision win', async () => {
        const s = `${p}-race`;
        await store.append(s, [ev('Created')], 'no_stream');
        const outcomes = await Promise.allSettled(
          Array.from({ length: 50 }, (_, i) => store.append(s, [ev('Raced', { i })], 0n)),
        );
        const won = outcomes.filter((o) => o.status === 'fulfilled');
        const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(49);
        for (const o of lost) expect(o.reason).toBeInstanceOf(WrongExpectedRevisionError);
        expect((won[0] as PromiseFulfilledResult<AppendResult>).value.nextRevision).toBe(1n);
        expect(await readStream(s)).toHaveLength(2);

        const created = await Promise.allSettled(
          Array.from({ length: 50 }, () => store.append(`${p}-race-new`, [ev('Created')], 'no_stream')),
        );
        expect(created.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        expect(await readStream(`${p}-race-new`)).toHaveLength(1);
      });

      it('50 writers retrying on conflict write exactly 50 events, none lost, none twice', async () => {
        const s = `${p}-retry`;
        const writer = async (i: number): Promise<number> => {
          const event = ev('Counted', { writer: i });
          for (let attempt = 1; ; attempt++) {
            const events = await readStream(s);
            const expected: ExpectedRevision = events.length === 0 ? 'no_stream' : BigInt(events.length - 1);
            try {
              await store.append(s, [event], expected);
              return attempt;
            } catch (error) {
              if (!(error instanceof WrongExpectedRevisionError)) throw error;
            }
          }
        };
        const attempts = await Promise.all(Array.from({ length: 50 }, (_, i) => writer(i)));
        const events = await readStream(s);
        expect(events).toHaveLength(50);
        expect(events.map((e) => e.revision)).toEqual(Array.from({ length: 50 }, (_, i) => BigInt(i)));
        expect(new Set(events.map((e) => (e.data as { writer: number }).writer)).size).toBe(50);
        expect(Math.max(...attempts)).toBeGreaterThan(1); // they did race
      }, 60_000);
    });

    describe('idempotency', () => {
      it('re-appending the same events returns the original result and writes nothing', async () => {
        const s = `${p}-user-1`;
        await store.append(s, [ev('Before')], 'no_stream');
        const batch = [ev('A', { n: 1 }), ev('B', { n: 2 })];
        const original = await store.append(s, batch, 0n);
        await store.append(s, [ev('After')], original.nextRevision);

        // a retry of the same command: same ids, the expected revision it was decided against
        expectReplayOf(await store.append(s, batch, 0n), original);
        expectReplayOf(await store.append(s, batch, 'any'), original);
        const events = await readStream(s);
        expect(events.map((e) => e.type)).toEqual(['Before', 'A', 'B', 'After']);
        expect(events[2]!.position).toBe(original.position);
      });

      it('two identical appends racing write the events once and both get the same result', async () => {
        const s = `${p}-user-1`;
        const batch = [ev('A'), ev('B')];
        const [r1, r2] = await Promise.all([
          store.append(s, batch, 'no_stream'),
          store.append(s, batch, 'no_stream'),
        ]);
        // one wrote, the other is its replay
        if (r1.replayed) expectReplayOf(r1, r2);
        else expectReplayOf(r2, r1);
        expect(await readStream(s)).toHaveLength(2);
      });
    });

    describe('reading', () => {
      it('reads its own append, with the positions the append returned', async () => {
        const s = `${p}-user-1`;
        const before = await store.headPosition();
        const result = await store.append(
          s,
          [ev('A', { x: 1 }, { correlationId: 'c-1' }), ev('B', { x: 2 })],
          'no_stream',
        );
        expect(result.position).toBeGreaterThan(before);
        expect(await store.headPosition()).toBeGreaterThanOrEqual(result.position);

        const events = await readStream(s);
        expect(events).toMatchObject([
          { stream: s, type: 'A', revision: 0n, data: { x: 1 }, metadata: { correlationId: 'c-1' } },
          { stream: s, type: 'B', revision: 1n, data: { x: 2 }, metadata: {} },
        ]);
        expect(events[1]!.position).toBe(result.position);
        expect(events[0]!.position).toBeLessThan(events[1]!.position);
        expect(events[0]!.created).toBeInstanceOf(Date);
        expect(Math.abs(events[0]!.created.getTime() - Date.now())).toBeLessThan(60_000);
        expect(await readStream(`${p}-nothing-here`)).toEqual([]);
      });

      it('reads a stream from a revision, up to a position, until a time', async () => {
        const s = `${p}-user-1`;
        const a = await store.append(s, [ev('A')], 'no_stream');
        const b = await store.append(s, [ev('B')], a.nextRevision);
        await sleep(30);
        await store.append(s, [ev('C')], b.nextRevision);

        const types = (events: RecordedEvent[]) => events.map((e) => e.type);
        expect(types(await readStream(s, { fromRevision: 1n }))).toEqual(['B', 'C']);
        expect(types(await readStream(s, { fromRevision: 5n }))).toEqual([]);
        expect(types(await readStream(s, { toPosition: b.position }))).toEqual(['A', 'B']);
        expect(types(await readStream(s, { fromRevision: 1n, toPosition: b.position }))).toEqual(['B']);

        const [, recordedB] = await readStream(s);
        expect(types(await readStream(s, { until: recordedB!.created }))).toEqual(['A', 'B']);
        expect(
          types(await readStream(s, { until: new Date(recordedB!.created.getTime() - 60_000) })),
        ).toEqual([]);
      });

      it('reads a long stream across pages', async () => {
        const s = `${p}-long`;
        let expected: ExpectedRevision = 'no_stream';
        for (let i = 0; i < 5; i++) {
          const batch = Array.from({ length: 500 }, (_, j) => ev('N', { n: i * 500 + j }));
          expected = (await store.append(s, batch, expected)).nextRevision;
        }
        const events = await readStream(s);
        expect(events.map((e) => (e.data as { n: number }).n)).toEqual(
          Array.from({ length: 2500 }, (_, n) => n),
        );
        expect(await readStream(s, { fromRevision: 2499n })).toHaveLength(1);
        expect(await readPrefix()).toHaveLength(2500);
        // up to a count (a command's span), within a page and across pages, and past the stream's end
        const ns = (events: RecordedEvent[]) => events.map((e) => (e.data as { n: number }).n);
        expect(ns(await readStream(s, { fromRevision: 7n, maxCount: 3 }))).toEqual([7, 8, 9]);
        expect(ns(await readStream(s, { fromRevision: 0n, maxCount: 1 }))).toEqual([0]);
        expect(ns(await readStream(s, { fromRevision: 100n, maxCount: 1500 }))).toEqual(Array.from({ length: 1500 }, (_, n) => n + 100));
        expect(ns(await readStream(s, { fromRevision: 2498n, maxCount: 10 }))).toEqual([2498, 2499]);
        expect(ns(await readStream(s, { fromRevision: 5n, maxCount: 2, toPosition: events[5]!.position }))).toEqual([5]);
      });

      it('reads the log filtered by event type and stream prefix, from a position, up to a count', async () => {
        const typeA = `${p}.UserInvited`;
        const typeB = `${p}.OrgCreated`;
        const u1 = await store.append(`${p}-user-1`, [ev(typeA, { n: 1 })], 'no_stream');
        await store.append(`${p}-org-1`, [ev(typeB, { n: 2 })], 'no_stream');
        await store.append(`${p}-user-2`, [ev(typeA, { n: 3 }), ev('Other', { n: 4 })], 'no_stream');
        await store.append(`${p}-User-3`, [ev(typeA, { n: 5 })], 'no_stream'); // prefixes are case-sensitive
        const ns = (events: RecordedEvent[]) => events.map((e) => (e.data as { n: number }).n);

        expect(ns(await readPrefix())).toEqual([1, 2, 3, 4, 5]);
        expect(ns(await readPrefix({ filter: { streamPrefixes: [`${p}-user-`] } }))).toEqual([1, 3, 4]);
        expect(ns(await readPrefix({ filter: { streamPrefixes: [`${p}-org-`, `${p}-User-`] } }))).toEqual([
          2, 5,
        ]);
        expect(ns(await collect(store.readAll({ filter: { eventTypes: [typeA] } })))).toEqual([1, 3, 5]);
        expect(ns(await collect(store.readAll({ filter: { eventTypes: [typeA, typeB] } })))).toEqual([
          1, 2, 3, 5,
        ]);
        expect(
          ns(
            await collect(store.readAll({ filter: { eventTypes: [typeA], streamPrefixes: [`${p}-user-`] } })),
          ),
        ).toEqual([1, 3]);
        expect(ns(await readPrefix({ fromPosition: u1.position }))).toEqual([2, 3, 4, 5]);
        expect(ns(await readPrefix({ fromPosition: u1.position, maxCount: 2 }))).toEqual([2, 3]);
      });

      it('orders the log across many streams: positions strictly increase, stream order is kept', async () => {
        const streams = Array.from({ length: 40 }, (_, i) => `${p}-s${i}`);
        await Promise.all(
          streams.map(async (s) => {
            let expected: ExpectedRevision = 'no_stream';
            for (let n = 0; n < 5; n++)
              expected = (await store.append(s, [ev('N', { n })], expected)).nextRevision;
          }),
        );
        const log = await readPrefix();
        expect(log).toHaveLength(200);
        for (let i = 1; i < log.length; i++) expect(log[i]!.position).toBeGreaterThan(log[i - 1]!.position);
        for (const s of streams) {
          const inLog = log.filter((e) => e.stream === s);
          expect(inLog.map((e) => e.revision)).toEqual([0n, 1n, 2n, 3n, 4n]);
          expect(inLog.map((e) => (e.data as { n: number }).n)).toEqual([0, 1, 2, 3, 4]);
        }
      });
    });

    describe('payloads', () => {
      it('round-trips a 1 MB event', async () => {
        const big = { blob: 'x'.repeat(1024 * 1024), tail: [1, 2, 3] };
        await store.append(`${p}-big`, [ev('Big', big)], 'no_stream');
        const [event] = await readStream(`${p}-big`);
        expect((event!.data as typeof big).blob.length).toBe(1024 * 1024);
        expect(event!.data).toEqual(big);
      });

      it('round-trips unicode: emoji, CJK, right-to-left, combining marks', async () => {
        const text = {
          emoji: '👩🏽‍💻🚀✅',
          cjk: '日本語のテキスト 中文 한국어',
          rtl: 'مرحبا بالعالم שלום',
          nfd: 'e\u0301',
        };
        const s = `${p}-ünïcödé-用户-😀`;
        await store.append(s, [ev('Unicode', text, { note: '注意 ⚠️' })], 'no_stream');
        const [event] = await readStream(s);
        expect(event).toMatchObject({ stream: s, data: text, metadata: { note: '注意 ⚠️' } });
        expect(await readPrefix({ filter: { streamPrefixes: [`${p}-ünï`] } })).toHaveLength(1);
      });
    });

    describe('subscriptions', () => {
      it('catches up from the start, then delivers live appends', async () => {
        for (let i = 0; i < 5; i++) await store.append(`${p}-s${i}`, [ev('Old', { i })], 'no_stream');
        const sub = store.subscribe({ filter: { streamPrefixes: [p] } });
        try {
          const old = await take(sub, 5);
          expect(old.map((e) => (e.data as { i: number }).i)).toEqual([0, 1, 2, 3, 4]);
          const pending = take(sub, 2);
          await store.append(`${p}-s9`, [ev('New', { i: 5 }), ev('New', { i: 6 })], 'no_stream');
          expect((await pending).map((e) => (e.data as { i: number }).i)).toEqual([5, 6]);
        } finally {
          await sub.unsubscribe();
        }
      });

      it('starts after the given position', async () => {
        const results: AppendResult[] = [];
        for (let i = 0; i < 6; i++)
          results.push(await store.append(`${p}-s${i}`, [ev('E', { i })], 'no_stream'));
        const sub = store.subscribe({ fromPosition: results[2]!.position, filter: { streamPrefixes: [p] } });
        try {
          const events = await take(sub, 3);
          expect(events.map((e) => (e.data as { i: number }).i)).toEqual([3, 4, 5]);
          await store.append(`${p}-s6`, [ev('E', { i: 6 })], 'no_stream');
          expect((await take(sub, 1)).map((e) => (e.data as { i: number }).i)).toEqual([6]);
        } finally {
          await sub.unsubscribe();
        }
      });

      it('has no gap and no duplicate while appends race the catch-up and live phases', async () => {
        const expectedIds: string[] = [];
        for (let i = 0; i < 30; i++) {
          const e = ev('Pre', { i });
          expectedIds.push(e.id);
          await store.append(`${p}-pre${i % 3}`, [e], 'any');
        }
        const sub = store.subscribe({ filter: { streamPrefixes: [p] } });
        try {
          const received: RecordedEvent[] = [];
          const iterator = iteratorOf(sub);
          const consumer = (async () => {
            while (received.length < 130) {
              const next = await iterator.next();
              if (next.done) throw new Error(`subscription ended after ${received.length} events`);
              received.push(next.value);
              if (received.length % 7 === 0) await sleep(1); // a slow consumer: live appends pile up
            }
          })();
          // 10 writers × 10 appends, starting while the subscription is still catching up
          await Promise.all(
            Array.from({ length: 10 }, async (_, w) => {
              for (let n = 0; n < 10; n++) {
                const e = ev('Live', { w, n });
                expectedIds.push(e.id);
                await store.append(`${p}-live${w}`, [e], 'any');
              }
            }),
          );
          await withTimeout(consumer, 20_000, 'subscription did not deliver 130 events');
          expect(received.map((e) => e.id).sort()).toEqual([...expectedIds].sort());
          for (let i = 1; i < received.length; i++) {
            expect(received[i]!.position).toBeGreaterThan(received[i - 1]!.position);
          }
          // nothing left over: the next event delivered is the next one appended
          const sentinel = ev('Sentinel');
          const next = take(sub, 1);
          await store.append(`${p}-sentinel`, [sentinel], 'no_stream');
          expect((await next)[0]!.id).toBe(sentinel.id);
        } finally {
          await sub.unsubscribe();
        }
      }, 30_000);

      it('filters by event type and ends when unsubscribed', async () => {
        const type = `${p}.Wanted`;
        const sub = store.subscribe({ filter: { eventTypes: [type] } });
        const received: RecordedEvent[] = [];
        const consumer = (async () => {
          for await (const e of sub) received.push(e);
          return 'ended';
        })();
        await store.append(`${p}-a`, [ev('Unwanted'), ev(type, { n: 1 })], 'no_stream');
        await store.append(`${p}-b`, [ev(type, { n: 2 })], 'no_stream');
        await waitUntil(() => received.length >= 2, 10_000);
        await sub.unsubscribe();
        expect(await withTimeout(consumer, 10_000, 'iterator did not end after unsubscribe')).toBe('ended');
        expect(received.map((e) => e.data)).toEqual([{ n: 1 }, { n: 2 }]);
      });
    });

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    appendManyContract(() => ({ store, p }));
  });
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of iterable) out.push(x);
  return out;
}

/** the next `n` events of a subscription (keeps the subscription open) */
async function take(sub: Subscription, n: number, timeoutMs = 10_000): Promise<RecordedEvent[]> {
  const iterator = iteratorOf(sub);
  const out: RecordedEvent[] = [];
  while (out.length < n) {
    const next = await withTimeout(
      iterator.next(),
      timeoutMs,
      `subscription delivered ${out.length} of ${n} events`,
    );
    if (next.done) throw new Error(`subscription ended after ${out.length} of ${n} events`);
    out.push(next.value);
  }
  return out;
}

/** one iterator per subscription, shared by successive take() calls */
const iterators = new WeakMap<Subscription, AsyncIterator<RecordedEvent>>();
function iteratorOf(sub: Subscription): AsyncIterator<RecordedEvent> {
  let it = iterators.get(sub);
  if (!it) {
    it = sub[Symbol.asyncIterator]();
    iterators.set(sub, it);
  }
  return it;
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms: ${message}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function waitUntil(condition: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await sleep(5);
  }
}
