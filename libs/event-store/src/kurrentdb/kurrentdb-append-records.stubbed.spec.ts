import {
  AppendConsistencyViolationError,
  type AppendRecordInput,
  type ConsistencyCheck,
  STREAM_STATE,
  UnsupportedError,
} from '@kurrent/kurrentdb-client';
import { type NewEvent, WrongExpectedRevisionError } from '../port';
import { JSON_KEYS_PROPERTY, decodeMetadata } from './kurrentdb-codec';
import { KurrentDbEventStore } from './kurrentdb-event-store';

/**
 * appendMany through appendRecords (KurrentDB 26.1+), with the client stubbed at its boundary (its methods replaced
 * on the instance, as in kurrentdb-event-store.stubbed.spec.ts): what is sent, how the server's answers are taken.
 * No server is involved: how a 26.1 server answers is what its sources say (kurrentdb-append-records.ts), not
 * something verified here. The 25.1 path (read, then multiStreamAppend): kurrentdb-event-store.stubbed.spec.ts.
 */

type Mock = jest.Mock;

const ev = (id: string, metadata: Record<string, unknown> = {}): NewEvent => ({ id, type: 'T', data: { id }, metadata });
const never = () => new Promise<never>(() => undefined);
/** a resolved event as the client hands it out */
const resolved = (stream: string, revision: bigint, position: bigint, id = `id-${stream}-${revision}`) => ({
  event: {
    streamId: stream,
    id,
    revision,
    type: 'T',
    data: {},
    metadata: {},
    isJson: true,
    created: new Date(1_000),
    position: { commit: position, prepare: position },
  },
});
/** the client's error for a FAILED_PRECONDITION carrying AppendConsistencyViolationErrorDetails (states as on the wire) */
const violated = (...violations: [checkIndex: number, stream: string, expected: string, actual: string][]) =>
  new AppendConsistencyViolationError(undefined as never, {
    violationsList: violations.map(([checkIndex, stream, expectedState, actualState]) => ({
      checkIndex,
      streamState: { stream, expectedState, actualState },
    })),
  } as never);

let store: KurrentDbEventStore;
const stub = (method: 'appendRecords' | 'multiStreamAppend' | 'readStream'): Mock =>
  jest.spyOn(store.client, method as 'readStream') as unknown as Mock;

beforeEach(() => {
  store = new KurrentDbEventStore('kurrentdb://localhost:2113?tls=false', { appendTimeoutMs: 30 });
});
afterEach(async () => {
  jest.restoreAllMocks();
  await store.close();
});

/** a deletion's shape: two written streams, a checked one that exists and one that does not */
const deletion = () => [
  { stream: 'user-1', events: [ev('a'), ev('b')], expected: 4n },
  { stream: 'org-1', events: [ev('c')], expected: 'no_stream' as const },
  { stream: 'policy-1', events: [], expected: 7n },
  { stream: 'ws-1', events: [], expected: 'no_stream' as const },
];

describe('KurrentDbEventStore appendMany through appendRecords (26.1+), with the client stubbed', () => {
  it('sends the records in the parts\' order under their ids with string-valued metadata, and a check for every part', async () => {
    const metadata = { schemaVersion: 2, actorId: 'u-1', tags: ['x'] };
    const records = stub('appendRecords').mockResolvedValue({
      position: 99n,
      responses: [
        { streamName: 'user-1', revision: 6n },
        { streamName: 'org-1', revision: 0n },
        { streamName: 'log-1', revision: 12n },
      ],
    });
    const multi = stub('multiStreamAppend');
    // only the check-only 'any' part is read: after the commit, for its revision (it checks nothing)
    const read = stub('readStream').mockImplementation(async function* (stream: string) {
      yield resolved(stream, 3n, 40n);
    });
    const parts = [
      { stream: 'user-1', events: [ev('a', metadata), ev('b')], expected: 4n },
      { stream: 'org-1', events: [ev('c')], expected: 'no_stream' as const },
      { stream: 'policy-1', events: [], expected: 7n },
      { stream: 'log-1', events: [ev('d')], expected: 'any' as const },
      { stream: 'ws-1', events: [], expected: 'no_stream' as const },
      { stream: 'feed-1', events: [], expected: 'any' as const },
    ];
    await expect(store.appendMany(parts)).resolves.toEqual({
      position: 99n,
      streams: [
        { stream: 'user-1', nextRevision: 6n },
        { stream: 'org-1', nextRevision: 0n },
        { stream: 'policy-1', nextRevision: 7n }, // checked by the server at commit: it did not move
        { stream: 'log-1', nextRevision: 12n },
        { stream: 'ws-1', nextRevision: -1n },
        { stream: 'feed-1', nextRevision: 3n },
      ],
    });

    expect(records).toHaveBeenCalledTimes(1);
    const [sent, checks] = records.mock.calls[0] as [AppendRecordInput[], ConsistencyCheck[]];
    expect(sent.map((r) => [r.streamName, r.record.id, r.record.type])).toEqual([
      ['user-1', 'a', 'T'],
      ['user-1', 'b', 'T'],
      ['org-1', 'c', 'T'],
      ['log-1', 'd', 'T'],
    ]);
    expect(sent[0]!.record.data).toEqual({ id: 'a' });
    const first = sent[0]!.record.metadata as Record<string, unknown>;
    expect(Object.values(first).every((v) => typeof v === 'string')).toBe(true);
    expect(first[JSON_KEYS_PROPERTY]).toBeDefined();
    expect(decodeMetadata(first)).toEqual(metadata);
    expect(checks).toEqual([
      { type: STREAM_STATE, streamName: 'user-1', expectedState: 4n },
      { type: STREAM_STATE, streamName: 'org-1', expectedState: 'no_stream' },
      { type: STREAM_STATE, streamName: 'policy-1', expectedState: 7n },
      { type: STREAM_STATE, streamName: 'log-1', expectedState: 'any' },
      { type: STREAM_STATE, streamName: 'ws-1', expectedState: 'no_stream' },
      { type: STREAM_STATE, streamName: 'feed-1', expectedState: 'any' },
    ]);
    expect(read.mock.calls.map(([stream]) => stream)).toEqual(['feed-1']);
    expect(multi).not.toHaveBeenCalled();
  });

  it('a check-only stream that moved: WrongExpectedRevisionError naming it, with nothing read before or after', async () => {
    const records = stub('appendRecords').mockRejectedValue(violated([2, 'policy-1', '7', '8']));
    const read = stub('readStream');
    const multi = stub('multiStreamAppend');
    const error = await store.appendMany(deletion()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WrongExpectedRevisionError);
    expect(error).toMatchObject({ stream: 'policy-1', expected: 7n, actual: 8n });
    expect(records).toHaveBeenCalledTimes(1); // a conflict is not re-sent: the command decides again
    expect(read).not.toHaveBeenCalled();
    expect(multi).not.toHaveBeenCalled();
  });

  it('names the first violated part in the batch\'s order; a soft-deleted stream reads as no stream, a tombstoned one is a refusal', async () => {
    stub('readStream');
    const records = stub('appendRecords').mockRejectedValueOnce(violated([3, 'ws-1', '-1', '0'], [2, 'policy-1', '7', '-1']));
    await expect(store.appendMany(deletion())).rejects.toMatchObject({ name: 'WrongExpectedRevisionError', stream: 'policy-1', actual: 'no_stream' });
    records.mockRejectedValueOnce(violated([2, 'policy-1', '7', '-5']));
    await expect(store.appendMany(deletion())).rejects.toMatchObject({ name: 'WrongExpectedRevisionError', stream: 'policy-1', actual: 'no_stream' });
    const tombstoned = violated([3, 'ws-1', '-1', '-6']);
    records.mockRejectedValueOnce(tombstoned);
    await expect(store.appendMany(deletion())).rejects.toBe(tombstoned);
  });

  it('a server without appendRecords (UnsupportedError, nothing sent) is asked once; its appendMany then reads and goes through multiStreamAppend', async () => {
    const records = stub('appendRecords').mockRejectedValue(new UnsupportedError('appendRecords', '26.1'));
    const multi = stub('multiStreamAppend').mockResolvedValue({
      position: 50n,
      responses: [
        { streamName: 'user-1', revision: 6n },
        { streamName: 'org-1', revision: 0n },
      ],
    });
    const read = stub('readStream').mockImplementation(async function* (stream: string) {
      if (stream === 'policy-1') yield resolved(stream, 7n, 40n);
    });
    const expected = {
      position: 50n,
      streams: [
        { stream: 'user-1', nextRevision: 6n },
        { stream: 'org-1', nextRevision: 0n },
        { stream: 'policy-1', nextRevision: 7n },
        { stream: 'ws-1', nextRevision: -1n },
      ],
    };
    await expect(store.appendMany(deletion())).resolves.toEqual(expected);
    await expect(store.appendMany(deletion())).resolves.toEqual(expected);
    expect(records).toHaveBeenCalledTimes(1);
    expect(multi).toHaveBeenCalledTimes(2);
    expect(multi.mock.calls[0]![0]).toHaveLength(2); // the check-only parts are read, not sent
    expect(read.mock.calls.map(([stream]) => stream).sort()).toEqual(['policy-1', 'policy-1', 'ws-1', 'ws-1']);
  });

  it('a silent appendRecords is re-sent once, identically (same records, same checks), and the answer to the re-send is returned', async () => {
    const records = stub('appendRecords')
      .mockImplementationOnce(never)
      .mockResolvedValueOnce({ position: 60n, responses: [{ streamName: 'user-1', revision: 6n }, { streamName: 'org-1', revision: 0n }] });
    await expect(store.appendMany(deletion())).resolves.toMatchObject({ position: 60n });
    expect(records).toHaveBeenCalledTimes(2);
    expect(records.mock.calls[1]).toEqual(records.mock.calls[0]);
  });

  it('the re-send of a committed batch, answered with a violation naming its own written streams, returns the original result: each written stream holds the batch\'s ids where it expected them', async () => {
    // what a 26.1 server answers: the written streams Idempotent, the check-only ones Ok, and that mix refused
    const records = stub('appendRecords')
      .mockImplementationOnce(never)
      .mockRejectedValueOnce(violated([0, 'user-1', '4', '6'], [1, 'org-1', '-1', '0']));
    const read = stub('readStream').mockImplementation((stream: string, { fromRevision, maxCount }: { fromRevision: bigint; maxCount: number }) =>
      (async function* () {
        const ids = stream === 'user-1' ? ['a', 'b'] : ['c'];
        for (let i = 0; i < Math.min(maxCount, ids.length); i++)
          yield resolved(stream, fromRevision + BigInt(i), (stream === 'user-1' ? 70n : 72n) + BigInt(i), ids[i]);
      })(),
    );
    await expect(store.appendMany(deletion())).resolves.toEqual({
      position: 72n,
      streams: [
        { stream: 'user-1', nextRevision: 6n },
        { stream: 'org-1', nextRevision: 0n },
        { stream: 'policy-1', nextRevision: 7n },
        { stream: 'ws-1', nextRevision: -1n },
      ],
      replayed: true,
    });
    expect(records).toHaveBeenCalledTimes(2);
    expect(read.mock.calls.map(([stream, options]) => [stream, options.fromRevision, options.maxCount])).toEqual([
      ['user-1', 5n, 2],
      ['org-1', 0n, 1],
    ]);
  });

  it('the same violation when a written stream holds another writer\'s events there is a conflict on it', async () => {
    stub('appendRecords').mockRejectedValue(violated([0, 'user-1', '4', '6']));
    // as many events as the batch has, where it would be: only their ids tell them from the batch's
    stub('readStream').mockImplementation((stream: string, { fromRevision, maxCount }: { fromRevision: bigint; maxCount: number }) =>
      (async function* () {
        for (let i = 0; i < maxCount; i++) yield resolved(stream, fromRevision + BigInt(i), 70n + BigInt(i), `someone-else-${i}`);
      })(),
    );
    await expect(store.appendMany(deletion())).rejects.toMatchObject({ name: 'WrongExpectedRevisionError', stream: 'user-1', expected: 4n, actual: 6n });
  });
});
