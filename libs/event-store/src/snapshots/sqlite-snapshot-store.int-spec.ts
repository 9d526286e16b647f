import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { SnapshotUnreadableError, type StoredSnapshot } from './snapshot-store';
import { SqliteSnapshotStore } from './sqlite-snapshot-store';

let dir: string;
let store: SqliteSnapshotStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-snapshots-'));
  store = new SqliteSnapshotStore(join(dir, 'snapshots.sqlite'));
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** chunks are bytes (sealed by the application); these tests store text in them to read it back */
const bytes = (...texts: string[]) => texts.map((t) => Buffer.from(t));
const chunksOf = async (s: StoredSnapshot) => {
  const out: string[] = [];
  for await (const c of s.chunks()) out.push(Buffer.from(c).toString());
  return out;
};
const chunkRows = () => {
  const db = new DatabaseSync(join(dir, 'snapshots.sqlite'));
  try {
    return (db.prepare('SELECT count(*) AS n FROM snapshot_chunks').get() as { n: number }).n;
  } finally {
    db.close();
  }
};

describe('SqliteSnapshotStore (snapshots.sqlite beside the events)', () => {
  it('reads back the latest snapshot of a stream: revision, version, head and chunks in order', async () => {
    expect(await store.read('workspace-1')).toBeUndefined();
    await store.write({ stream: 'workspace-1', revision: 9n, version: 'workspace/1/x', head: '{"h":1}', chunks: bytes('a', 'b', 'c') });
    const read = (await store.read('workspace-1'))!;
    expect(read).toMatchObject({ stream: 'workspace-1', revision: 9n, version: 'workspace/1/x', head: '{"h":1}', chunkCount: 3 });
    expect(await chunksOf(read)).toEqual(['a', 'b', 'c']);
    expect(await store.read('workspace-2')).toBeUndefined();
  });

  it('a newer snapshot replaces the older one; an older revision is not stored; one at the same revision replaces it (written again after its key was shredded)', async () => {
    await store.write({ stream: 's', revision: 10n, version: 'v', head: 'ten', chunks: bytes('x') });
    await store.write({ stream: 's', revision: 20n, version: 'v', head: 'twenty', chunks: bytes('y', 'z') });
    await store.write({ stream: 's', revision: 15n, version: 'v', head: 'fifteen', chunks: bytes('w') });
    let read = (await store.read('s'))!;
    expect(read.head).toBe('twenty');
    expect(await chunksOf(read)).toEqual(['y', 'z']);
    await store.write({ stream: 's', revision: 20n, version: 'v', head: 'twenty again', chunks: bytes('w') });
    read = (await store.read('s'))!;
    expect(read.head).toBe('twenty again');
    expect(await chunksOf(read)).toEqual(['w']);
  });

  it('stores chunks as bytes (BLOBs), every byte value kept', async () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    await store.write({ stream: 's', revision: 1n, version: 'v', head: 'h', chunks: [all, Buffer.alloc(0)] });
    const read: Uint8Array[] = [];
    for await (const c of (await store.read('s'))!.chunks()) read.push(c);
    expect(read.map((c) => Buffer.from(c))).toEqual([all, Buffer.alloc(0)]);
  });

  it('keeps the chunks of the latest two snapshots only (a reader of the previous one can finish)', async () => {
    await store.write({ stream: 's', revision: 1n, version: 'v', head: 'one', chunks: bytes('a', 'b') });
    const first = (await store.read('s'))!;
    await store.write({ stream: 's', revision: 2n, version: 'v', head: 'two', chunks: bytes('c') });
    expect(await chunksOf(first)).toEqual(['a', 'b']);
    expect(chunkRows()).toBe(3);
    await store.write({ stream: 's', revision: 3n, version: 'v', head: 'three', chunks: bytes('d') });
    expect(chunkRows()).toBe(2);
    await expect(chunksOf(first)).rejects.toBeInstanceOf(SnapshotUnreadableError);
  });

  it('survives a reopen (it is a file)', async () => {
    await store.write({ stream: 's', revision: 5n, version: 'v', head: 'h', chunks: bytes() });
    await store.close();
    store = new SqliteSnapshotStore(join(dir, 'snapshots.sqlite'));
    expect((await store.read('s'))!).toMatchObject({ revision: 5n, chunkCount: 0 });
  });
});
