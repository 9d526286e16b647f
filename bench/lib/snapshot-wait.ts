// bench:http's cold load from a snapshot: the first command on the big workspace replays its streams and the server
// writes their snapshots in the background (apps/api/src/shared/snapshots/snapshots.ts); this waits until both are stored in
// the data dir's snapshots.sqlite, read through the app's own snapshot store.
import { join } from 'node:path';
import { SqliteSnapshotStore } from '@rollcall/event-store';

export async function snapshotsWritten(dataDir: string, streams: string[], timeoutMs = 300_000): Promise<Map<string, bigint>> {
  const store = new SqliteSnapshotStore(join(dataDir, 'snapshots.sqlite'));
  const deadline = performance.now() + timeoutMs;
  try {
    for (;;) {
      const found = new Map<string, bigint>();
      for (const stream of streams) {
        const snapshot = await store.read(stream);
        if (snapshot) found.set(stream, snapshot.revision);
      }
      if (found.size === streams.length) return found;
      if (performance.now() > deadline) throw new Error(`no snapshot of ${streams.filter((s) => !found.has(s)).join(', ')} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await store.close();
  }
}
