import {
  AccessDeniedError,
  type AppendStreamRequest,
  DeadlineExceededError,
  UnavailableError,
  UnsupportedError,
  UnknownError,
  WrongExpectedVersionError,
} from '@kurrent/kurrentdb-client';
import {
  AppendOutcomeUnknownError,
  type NewEvent,
  type RecordedEvent,
  WrongExpectedRevisionError,
} from '../port';
import { ClientTimeoutError } from './append-outcome';
import { KurrentDbEventStore } from './kurrentdb-event-store';

/**
 * Unit tests of the adapter with the KurrentDB client stubbed at its boundary (its methods replaced on the
 * instance): no server is involved, nothing here says how a real KurrentDB answers. The contract suite does
 * that, against a server, when EVENTSTORE_URL is set.
 */

type Mock = jest.Mock;

const ev = (id: string, metadata: Record<string, unknown> = {}): NewEvent => ({
  id,
  type: 'T',
  data: { id },
  metadata,
});
const never = () => new Promise<never>(() => undefined);
/** a server read that never yields nor ends */
const hangingRead = () => ({ [Symbol.asyncIterator]: () => ({ next: never }) }) as never;
/** a resolved event as the client hands it out */
const resolved = (stream: string, revision: bigint, position: bigint, metadata: unknown = {}) => ({
  event: {
    streamId: stream,
    id: `id-${stream}-${revision}`,
    revision,
    type: 'T',
    data: { revision: Number(revision) },
    metadata,
    isJson: true,
    created: new Date(1_000 + Number(revision)),
    position: { commit: position, prepare: position },
  },
});

let store: KurrentDbEventStore;
const stub = (method: 'appendToStream' | 'appendRecords' | 'multiStreamAppend' | 'readStream' | 'readAll' | 'dispose'): Mock =>
  jest.spyOn(store.client, method as 'dispose') as unknown as Mock;

beforeEach(() => {
  store = new KurrentDbEventStore('kurrentdb://localhost:2113?tls=false', {
    appendTimeoutMs: 30,
    pingTimeoutMs: 30,
  });
});
afterEach(async () => {
  jest.useRealTimers();
  jest.restoreAllMocks();
  await store.close();
});

describe('KurrentDbEventStore append, with the client stubbed', () => {
  it('a silent append times out, is re-sent once with the same events at the same expected revision, then raises AppendOutcomeUnknownError', async () => {
    const append = stub('appendToStream').mockImplementation(never);
    const error = await store.append('user-1', [ev('a'), ev('b')], 5n).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppendOutcomeUnknownError);
    expect(error).toMatchObject({ stream: 'user-1', code: 'EVENT_STORE_UNAVAILABLE' });
    expect((error as AppendOutcomeUnknownError).cause).toBeInstanceOf(ClientTimeoutError);
    expect(append).toHaveBeenCalledTimes(2);
    const [first, second] = append.mock.calls;
    expect(second).toEqual(first);
    expect(first![0]).toBe('user-1');
    expect(first![1].map((e: { id: string }) => e.id)).toEqual(['a', 'b']);
    expect(first![2]).toEqual({ streamState: 5n, deadline: 30 });
  });

  it('when the re-send after a timeout is answered (as the server answers a duplicate), its result is returned', async () => {
    const append = stub('appendToStream')
      .mockImplementationOnce(never)
      .mockResolvedValueOnce({
        success: true,
        nextExpectedRevision: 6n,
        position: { commit: 99n, prepare: 99n },
      });
    await expect(store.append('user-1', [ev('a')], 5n)).resolves.toEqual({ nextRevision: 6n, position: 99n });
    expect(append).toHaveBeenCalledTimes(2);
    expect(append.mock.calls[1]).toEqual(append.mock.calls[0]);
  });

  it('a conflict the client resolves instead of throwing (throwOnAppendFailure=false) is a conflict, never a write', async () => {
    stub('appendToStream').mockResolvedValue({ success: false, nextExpectedRevision: 7n, position: undefined });
    await expect(store.append('user-1', [ev('a')], 5n)).rejects.toMatchObject({ name: 'WrongExpectedRevisionError', stream: 'user-1', expected: 5n, actual: 7n });
  });

  it('a duplicate answered with position -1 (the server could not read it back) gets its position read from the stream', async () => {
    stub('appendToStream').mockResolvedValue({ success: true, nextExpectedRevision: 6n, position: { commit: -1n, prepare: -1n } });
    const read = stub('readStream').mockImplementation((stream: string, { fromRevision }: { fromRevision: bigint }) =>
      (async function* () {
        yield resolved(stream, fromRevision, 1_234n);
      })(),
    );
    await expect(store.append('user-1', [ev('a')], 4n)).resolves.toEqual({ nextRevision: 6n, position: 1_234n });
    expect(read.mock.calls[0]).toMatchObject(['user-1', { fromRevision: 6n, maxCount: 1 }]);
  });

  it('the re-send after a timeout waits (a duplicate of a write not yet committed gets no answer)', async () => {
    const sent: number[] = [];
    stub('appendToStream').mockImplementation(() => {
      sent.push(performance.now());
      return never();
    });
    const slow = new KurrentDbEventStore('kurrentdb://localhost:2113?tls=false', { appendTimeoutMs: 200 });
    jest.spyOn(slow.client, 'appendToStream').mockImplementation(store.client.appendToStream);
    try {
      await expect(slow.append('user-1', [ev('a')], 5n)).rejects.toBeInstanceOf(AppendOutcomeUnknownError);
    } finally {
      await slow.close();
    }
    // the timeout (200 ms), then a quarter of it less up to half of that: 25–50 ms
    expect(sent).toHaveLength(2);
    expect(sent[1]! - sent[0]!).toBeGreaterThanOrEqual(200 + 24);
  });

  it("the client's own deadline counts as a timeout: re-sent once", async () => {
    const append = stub('appendToStream').mockRejectedValue(new DeadlineExceededError(undefined, 'deadline'));
    await expect(store.append('user-1', [ev('a')], 5n)).rejects.toBeInstanceOf(AppendOutcomeUnknownError);
    expect(append).toHaveBeenCalledTimes(2);
  });

  it('UNAVAILABLE, a raw reset connection, a call cancelled on our side, an unclassified error: AppendOutcomeUnknownError, without a re-send', async () => {
    const raw = Object.assign(new Error('14 UNAVAILABLE: Connection dropped'), {
      code: 14,
      details: 'dropped',
    });
    const cancelled = new UnknownError({
      code: 1,
      details: 'Cancelled on client',
      metadata: undefined,
    } as never);
    const unclassified = new UnknownError(undefined, '?');
    for (const failure of [new UnavailableError(undefined, 'down'), raw, cancelled, unclassified]) {
      const append = stub('appendToStream').mockRejectedValue(failure);
      await expect(store.append('user-1', [ev('a')], 5n)).rejects.toBeInstanceOf(AppendOutcomeUnknownError);
      expect(append).toHaveBeenCalledTimes(1);
      append.mockRestore();
    }
  });

  it('a conflict maps to WrongExpectedRevisionError; a refusal is thrown as it is', async () => {
    const conflict = new WrongExpectedVersionError(undefined, {
      streamName: 'user-1',
      expected: 5n,
      current: 7n,
    });
    const append = stub('appendToStream').mockRejectedValueOnce(conflict);
    const error = await store.append('user-1', [ev('a')], 5n).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WrongExpectedRevisionError);
    expect(error).toMatchObject({ stream: 'user-1', expected: 5n, actual: 7n });

    const denied = new AccessDeniedError(undefined, 'denied');
    const invalid = new UnknownError({ code: 3, details: 'bad', metadata: undefined } as never);
    append.mockRejectedValueOnce(denied).mockRejectedValueOnce(invalid);
    await expect(store.append('user-1', [ev('a')], 5n)).rejects.toBe(denied);
    await expect(store.append('user-1', [ev('a')], 5n)).rejects.toBe(invalid);
    expect(append).toHaveBeenCalledTimes(3);
  });
});

describe('KurrentDbEventStore appendMany on a 25.1 server (no appendRecords: read, then multiStreamAppend), with the client stubbed', () => {
  // what the client throws, before sending anything, when the server does not offer appendRecords (KurrentDB < 26.1);
  // the appendRecords path: kurrentdb-append-records.stubbed.spec.ts
  beforeEach(() => {
    stub('appendRecords').mockRejectedValue(new UnsupportedError('appendRecords', '26.1'));
  });

  it('sends string-valued metadata through multiStreamAppend, and reads it back as it was given', async () => {
    const metadata = {
      schemaVersion: 2,
      actorId: 'u-1',
      looksLikeJson: '2',
      flag: false,
      tags: ['a'],
      none: null,
    };
    const multi = stub('multiStreamAppend').mockResolvedValue({
      position: 42n,
      responses: [{ streamName: 'user-1', revision: 0n }],
    });
    await expect(
      store.appendMany([{ stream: 'user-1', events: [ev('a', metadata)], expected: 'no_stream' }]),
    ).resolves.toEqual({ position: 42n, streams: [{ stream: 'user-1', nextRevision: 0n }] });

    const [requests] = multi.mock.calls[0] as [AppendStreamRequest[]];
    expect(requests).toMatchObject([
      { streamName: 'user-1', expectedState: 'no_stream', events: [{ id: 'a' }] },
    ]);
    const sent = requests[0]!.events[0]!.metadata as Record<string, unknown>;
    expect(Object.values(sent).every((v) => typeof v === 'string')).toBe(true);

    // what the server stores: the properties as JSON metadata, plus its own schema properties
    const stored = { ...sent, '$schema.data-format': 'Json', '$schema.name': 'T' };
    stub('readStream').mockImplementation(async function* () {
      yield resolved('user-1', 0n, 42n, stored);
    });
    const [event] = await collect(store.readStream('user-1'));
    expect(event!.metadata).toEqual(metadata);
  });

  it('maps a conflict to WrongExpectedRevisionError naming the stream the server named', async () => {
    stub('multiStreamAppend').mockRejectedValue(
      new WrongExpectedVersionError(undefined, { streamName: 'org-1', expected: 3n, current: 4n }),
    );
    const error = await store
      .appendMany([
        { stream: 'user-1', events: [ev('a')], expected: 'no_stream' },
        { stream: 'org-1', events: [ev('b')], expected: 3n },
      ])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WrongExpectedRevisionError);
    expect(error).toMatchObject({ stream: 'org-1', expected: 3n, actual: 4n });
  });

  it('checks a part without events by reading its stream first: a mismatch sends nothing', async () => {
    const multi = stub('multiStreamAppend').mockResolvedValue({
      position: 50n,
      responses: [{ streamName: 'user-1', revision: 1n }],
    });
    const read = stub('readStream').mockImplementation(async function* () {
      yield resolved('policy-1', 7n, 40n);
    });
    const part = (expected: bigint) => [
      { stream: 'user-1', events: [ev('a')], expected: 0n },
      { stream: 'policy-1', events: [], expected },
    ];
    await expect(store.appendMany(part(7n))).resolves.toEqual({
      position: 50n,
      streams: [
        { stream: 'user-1', nextRevision: 1n },
        { stream: 'policy-1', nextRevision: 7n },
      ],
    });
    expect(read.mock.calls[0]![1]).toMatchObject({
      direction: 'backwards',
      fromRevision: 'end',
      maxCount: 1,
    });
    expect(multi.mock.calls[0]![0]).toHaveLength(1); // the check-only part is not sent

    await expect(store.appendMany(part(6n))).rejects.toMatchObject({
      name: 'WrongExpectedRevisionError',
      stream: 'policy-1',
      expected: 6n,
      actual: 7n,
    });
    expect(multi).toHaveBeenCalledTimes(1);
  });

  it('reads the check-only streams 16 at a time, not one after the other (a deletion checks every workspace of its organization)', async () => {
    // not the fixture's 30 ms appendTimeoutMs: it bounds the whole attempt, three rounds of 5 ms reads here, and a
    // loaded machine ran past it (a re-sent attempt, or two timeouts; CI once saw 24 reads at once)
    await store.close();
    store = new KurrentDbEventStore('kurrentdb://localhost:2113?tls=false', { appendTimeoutMs: 10_000 });
    stub('appendRecords').mockRejectedValue(new UnsupportedError('appendRecords', '26.1'));
    stub('multiStreamAppend').mockResolvedValue({ position: 90n, responses: [{ streamName: 'org-1', revision: 1n }] });
    let reading = 0;
    let most = 0;
    stub('readStream').mockImplementation(async function* (stream: string) {
      reading++;
      most = Math.max(most, reading);
      await new Promise((resolve) => setTimeout(resolve, 5));
      reading--;
      yield resolved(stream, 2n, 10n);
    });
    const checks = Array.from({ length: 40 }, (_, i) => ({ stream: `workspace-${i}`, events: [], expected: 2n }));
    const result = await store.appendMany([{ stream: 'org-1', events: [ev('a')], expected: 0n }, ...checks]);
    expect(most).toBe(16);
    expect(result.streams).toHaveLength(41);
    expect(result.streams.slice(1).every((s) => s.nextRevision === 2n)).toBe(true);
  });

  it('an attempt that timed out during its check reads reads no further and writes nothing; the re-send waits for its reads (16 at a time still)', async () => {
    const multi = stub('multiStreamAppend').mockResolvedValue({ position: 90n, responses: [{ streamName: 'org-1', revision: 1n }] });
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    let reads = 0;
    let reading = 0;
    let most = 0;
    stub('readStream').mockImplementation(async function* (stream: string) {
      reads++;
      reading++;
      most = Math.max(most, reading);
      await answered; // the server answers no read until the test says so
      reading--;
      yield resolved(stream, 2n, 10n);
    });
    jest.useFakeTimers();
    const checks = Array.from({ length: 40 }, (_, i) => ({ stream: `workspace-${i}`, events: [], expected: 2n }));
    const outcome = store.appendMany([{ stream: 'org-1', events: [ev('a')], expected: 0n }, ...checks]);
    await jest.advanceTimersByTimeAsync(30); // the first attempt times out with its first 16 reads unanswered
    await jest.advanceTimersByTimeAsync(10); // the pause before the re-send (at most 7.5 ms): the second attempt runs
    expect(most).toBe(16);
    answer();
    await expect(outcome).resolves.toMatchObject({ position: 90n });
    await jest.advanceTimersByTimeAsync(100); // what the attempt given up would still do
    expect(most).toBe(16);
    expect(reads).toBe(16 + 40); // the first attempt's group, then all of the second's: the first did not read on
    expect(multi).toHaveBeenCalledTimes(1); // only the re-send wrote
  });

  it('a check-only stream that moved is reported as the conflict even when another read of its group failed first', async () => {
    const multi = stub('multiStreamAppend');
    stub('readStream').mockImplementation(async function* (stream: string) {
      if (stream === 'workspace-0') throw Object.assign(new Error('connection reset'), { code: 'ECONNRESET' });
      yield resolved(stream, stream === 'workspace-1' ? 3n : 2n, 10n);
    });
    const checks = [0, 1].map((i) => ({ stream: `workspace-${i}`, events: [], expected: 2n }));
    await expect(store.appendMany([{ stream: 'org-1', events: [ev('a')], expected: 0n }, ...checks])).rejects.toMatchObject({
      name: 'WrongExpectedRevisionError',
      stream: 'workspace-1',
      actual: 3n,
    });
    expect(multi).not.toHaveBeenCalled();
  });

  it('a re-sent write answered with position -1 (a duplicate in every stream) gets the position of its last event read back', async () => {
    stub('multiStreamAppend').mockResolvedValue({
      position: -1n,
      responses: [
        { streamName: 'user-1', revision: 3n },
        { streamName: 'org-1', revision: 8n },
      ],
    });
    stub('readStream').mockImplementation((stream: string, { fromRevision }: { fromRevision: bigint }) =>
      (async function* () {
        yield resolved(stream, fromRevision, stream === 'org-1' ? 900n : 700n);
      })(),
    );
    await expect(
      store.appendMany([
        { stream: 'user-1', events: [ev('a')], expected: 2n },
        { stream: 'org-1', events: [ev('b')], expected: 7n },
      ]),
    ).resolves.toEqual({ position: 900n, streams: [{ stream: 'user-1', nextRevision: 3n }, { stream: 'org-1', nextRevision: 8n }] });
  });

  it('a silent multiStreamAppend is re-sent once, identically, then raises AppendOutcomeUnknownError', async () => {
    const multi = stub('multiStreamAppend').mockImplementation(never);
    const error = await store
      .appendMany([
        { stream: 'user-1', events: [ev('a')], expected: 0n },
        { stream: 'org-1', events: [ev('b')], expected: 2n },
      ])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppendOutcomeUnknownError);
    expect((error as AppendOutcomeUnknownError).stream).toBe('user-1, org-1');
    expect(multi).toHaveBeenCalledTimes(2);
    expect(multi.mock.calls[1]).toEqual(multi.mock.calls[0]);
  });
});

describe('KurrentDbEventStore reads, with the client stubbed', () => {
  /** a 5000-event stream served in maxCount pages; records each server read and whether it was read to its end */
  function serveStream() {
    const reads: { fromRevision: bigint; maxCount: number; finished: boolean }[] = [];
    stub('readStream').mockImplementation((stream: string, { fromRevision, maxCount }) => {
      const read = { fromRevision, maxCount, finished: false };
      reads.push(read);
      return (async function* () {
        for (let r = fromRevision; r < 5000n && r < fromRevision + BigInt(maxCount); r++)
          yield resolved(stream, r, 10n * r);
        read.finished = true;
      })();
    });
    return reads;
  }

  it('reads a stream in pages of maxCount, each read to its end, and stops calling at toPosition', async () => {
    const reads = serveStream();
    const events = await collect(store.readStream('user-1', { toPosition: 10n * 1500n }));
    expect(events).toHaveLength(1501);
    expect(reads.map((r) => [r.fromRevision, r.maxCount])).toEqual([
      [0n, 1000],
      [1000n, 1000],
    ]);
    expect(reads.every((r) => r.finished)).toBe(true);
  });

  it('a reader that stops after one event leaves no server read open', async () => {
    const reads = serveStream();
    for await (const _ of store.readStream('user-1')) break;
    expect(reads).toHaveLength(1);
    expect(reads[0]!.finished).toBe(true);
  });

  it('reads $all in pages and stops calling the server once maxCount events were handed out', async () => {
    const reads: { fromPosition: unknown; maxCount: number }[] = [];
    stub('readAll').mockImplementation(({ fromPosition, maxCount }) => {
      reads.push({ fromPosition, maxCount });
      const start = fromPosition === 'start' ? 0n : (fromPosition as { commit: bigint }).commit; // inclusive
      return (async function* () {
        for (let p = start; p < start + BigInt(maxCount); p++) yield resolved(`s-${p}`, 0n, p);
      })();
    });
    const events = await collect(store.readAll({ fromPosition: 9n, maxCount: 1500 }));
    expect(events.map((e) => e.position)).toEqual(Array.from({ length: 1500 }, (_, i) => BigInt(10 + i)));
    expect(reads).toEqual([
      { fromPosition: { commit: 9n, prepare: 9n }, maxCount: 1000 },
      { fromPosition: { commit: 1008n, prepare: 1008n }, maxCount: 502 },
    ]);
  });
});

describe('KurrentDbEventStore ping and close, with the client stubbed', () => {
  it('ping fails after pingTimeoutMs when the server does not answer', async () => {
    stub('readAll').mockImplementation(hangingRead);
    // on fake timers: a busy machine delayed the real 30 ms timer past a wall-clock bound (CI, session 17)
    jest.useFakeTimers();
    const outcome = store.ping().then(
      () => 'answered',
      (e: unknown) => e,
    );
    let settled = false;
    void outcome.then(() => (settled = true));
    await jest.advanceTimersByTimeAsync(29);
    expect(settled).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(await outcome).toBeInstanceOf(ClientTimeoutError);
  });

  it('ping waits 2 s by default', async () => {
    const defaults = new KurrentDbEventStore('kurrentdb://localhost:2113?tls=false');
    jest.spyOn(defaults.client, 'readAll').mockImplementation(hangingRead);
    jest.useFakeTimers();
    const outcome = defaults.ping().then(
      () => 'answered',
      (e: unknown) => e,
    );
    await jest.advanceTimersByTimeAsync(1999);
    let settled = false;
    void outcome.then(() => (settled = true));
    await jest.advanceTimersByTimeAsync(0);
    expect(settled).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(await outcome).toBeInstanceOf(ClientTimeoutError);
    await defaults.close();
  });

  it('close disposes the client', async () => {
    const dispose = stub('dispose');
    await store.close();
    expect(dispose).toHaveBeenCalled();
  });
});

async function collect(iterable: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of iterable) out.push(e);
  return out;
}
