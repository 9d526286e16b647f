import { BACKWARDS, END, KurrentDBClient, StreamNotFoundError } from '@kurrent/kurrentdb-client';
import { KurrentDbSnapshotStore, SNAPSHOT_CHUNK_EVENT, SNAPSHOT_EVENT, snapshotStreamOf } from './kurrentdb-snapshot-store';
import { SnapshotUnreadableError, type StoredSnapshot } from './snapshot-store';

/**
 * Unit tests of the KurrentDB snapshot store with the client stubbed at its boundary: an in-memory snapshot stream
 * behind appendToStream / readStream / setStreamMetadata. No server is involved: nothing here says how a real
 * KurrentDB answers.
 */

interface Stored {
  type: string;
  data: Record<string, unknown>;
  revision: bigint;
}

let streams: Map<string, Stored[]>;
let client: KurrentDBClient;
let store: KurrentDbSnapshotStore;
let metadata: jest.Mock;

beforeEach(() => {
  streams = new Map();
  client = KurrentDBClient.connectionString('kurrentdb://localhost:2113?tls=false');
  jest.spyOn(client, 'appendToStream').mockImplementation((async (stream: string, events: { type: string; data: Record<string, unknown> }[]) => {
    const list = streams.get(stream) ?? streams.set(stream, []).get(stream)!;
    for (const e of events) list.push({ type: e.type, data: JSON.parse(JSON.stringify(e.data)), revision: BigInt(list.length) });
    return { success: true, nextExpectedRevision: BigInt(list.length - 1), position: undefined };
  }) as never);
  jest.spyOn(client, 'readStream').mockImplementation(((stream: string, options: { direction?: unknown; fromRevision?: unknown; maxCount?: bigint | number }) => {
    const list = streams.get(stream);
    return (async function* () {
      if (!list) throw new StreamNotFoundError({} as never, stream);
      const backwards = options.direction === BACKWARDS;
      const from = options.fromRevision === END ? BigInt(list.length - 1) : BigInt((options.fromRevision as bigint) ?? 0n);
      const ordered = backwards ? list.filter((e) => e.revision <= from).reverse() : list.filter((e) => e.revision >= from);
      for (const e of ordered.slice(0, Number(options.maxCount ?? ordered.length))) yield { event: { ...e, streamId: stream } };
    })();
  }) as never);
  metadata = jest.spyOn(client, 'setStreamMetadata').mockResolvedValue({} as never) as unknown as jest.Mock;
  store = new KurrentDbSnapshotStore(client);
});
afterEach(async () => {
  jest.restoreAllMocks();
  await client.dispose();
});

/** chunks are bytes (sealed by the application); these tests store text in them to read it back */
const bytes = (...texts: string[]) => texts.map((t) => Buffer.from(t));
const chunksOf = async (s: StoredSnapshot) => {
  const out: string[] = [];
  for await (const c of s.chunks()) out.push(Buffer.from(c).toString());
  return out;
};

describe('KurrentDbSnapshotStore, with the client stubbed (a snapshot stream per aggregate)', () => {
  it('writes each chunk as an event of the snapshot stream, then the head; reads back the latest snapshot', async () => {
    expect(await store.read('workspace-1')).toBeUndefined();
    await store.write({ stream: 'workspace-1', revision: 41n, version: 'workspace/1/x', head: '{"h":1}', chunks: bytes('a', 'b') });
    const events = streams.get(snapshotStreamOf('workspace-1'))!;
    expect(snapshotStreamOf('workspace-1')).toBe('rollcall-snapshot-workspace-1');
    expect(events.map((e) => e.type)).toEqual([SNAPSHOT_CHUNK_EVENT, SNAPSHOT_CHUNK_EVENT, SNAPSHOT_EVENT]);
    const read = (await store.read('workspace-1'))!;
    expect(read).toMatchObject({ revision: 41n, version: 'workspace/1/x', head: '{"h":1}', chunkCount: 2 });
    expect(await chunksOf(read)).toEqual(['a', 'b']);
  });

  it('a newer snapshot is read; an older revision is not written, the same one replaces it; the stream is truncated before the previous snapshot', async () => {
    await store.write({ stream: 's', revision: 10n, version: 'v', head: 'ten', chunks: bytes('x') });
    await store.write({ stream: 's', revision: 20n, version: 'v', head: 'twenty', chunks: bytes('y', 'z') });
    expect(metadata).toHaveBeenLastCalledWith(snapshotStreamOf('s'), { truncateBefore: 0 });
    await store.write({ stream: 's', revision: 30n, version: 'v', head: 'thirty', chunks: bytes('w') });
    expect(metadata).toHaveBeenLastCalledWith(snapshotStreamOf('s'), { truncateBefore: 2 });
    const appended = streams.get(snapshotStreamOf('s'))!.length;
    await store.write({ stream: 's', revision: 25n, version: 'v', head: 'older', chunks: bytes('q') });
    expect(streams.get(snapshotStreamOf('s'))!.length).toBe(appended);
    let read = (await store.read('s'))!;
    expect(read.head).toBe('thirty');
    expect(await chunksOf(read)).toEqual(['w']);
    // the same revision again (its key was shredded): it replaces the snapshot
    await store.write({ stream: 's', revision: 30n, version: 'v', head: 'thirty again', chunks: bytes('v') });
    read = (await store.read('s'))!;
    expect(read.head).toBe('thirty again');
    expect(await chunksOf(read)).toEqual(['v']);
  });

  it('stores the sealed bytes base64 in JSON events and reads every byte value back', async () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    await store.write({ stream: 's', revision: 1n, version: 'v', head: 'h', chunks: [all] });
    expect(streams.get(snapshotStreamOf('s'))![0]!.data.body).toBe(all.toString('base64'));
    const read: Uint8Array[] = [];
    for await (const c of (await store.read('s'))!.chunks()) read.push(c);
    expect(read.map((c) => Buffer.from(c))).toEqual([all]);
  });

  it('chunks left by a writer that died before its head are ignored: the last head and its own chunks are read', async () => {
    await store.write({ stream: 's', revision: 10n, version: 'v', head: 'ten', chunks: bytes('a', 'b') });
    // a writer died after one chunk of its snapshot
    await client.appendToStream(snapshotStreamOf('s'), [{ type: SNAPSHOT_CHUNK_EVENT, data: { generation: 'dead', seq: 0, body: 'orphan' } }] as never);
    const read = (await store.read('s'))!;
    expect(read.head).toBe('ten');
    expect(await chunksOf(read)).toEqual(['a', 'b']);
  });

  it('a writer that died after more chunks than one page of the backward read leaves the last head found all the same (L2)', async () => {
    await store.write({ stream: 's', revision: 10n, version: 'v', head: 'ten', chunks: bytes('a', 'b') });
    const orphans = Array.from({ length: 150 }, (_, seq) => ({ type: SNAPSHOT_CHUNK_EVENT, data: { generation: 'dead', seq, body: 'orphan' } }));
    await client.appendToStream(snapshotStreamOf('s'), orphans as never);
    const read = (await store.read('s'))!;
    expect(read.head).toBe('ten');
    expect(await chunksOf(read)).toEqual(['a', 'b']);
    // and the next snapshot truncates them away with the previous one
    await store.write({ stream: 's', revision: 20n, version: 'v', head: 'twenty', chunks: bytes('c') });
    expect(metadata).toHaveBeenLastCalledWith(snapshotStreamOf('s'), { truncateBefore: 0 });
    expect((await store.read('s'))!.head).toBe('twenty');
  });

  it('a snapshot whose chunks were truncated away is unreadable (the caller replays the stream)', async () => {
    await store.write({ stream: 's', revision: 10n, version: 'v', head: 'ten', chunks: bytes('a', 'b') });
    const read = (await store.read('s'))!;
    streams.set(snapshotStreamOf('s'), streams.get(snapshotStreamOf('s'))!.filter((e) => e.data.seq !== 1));
    await expect(chunksOf(read)).rejects.toBeInstanceOf(SnapshotUnreadableError);
  });
});
