// Run as child processes by vacuum-memory.int-spec.ts: `fill FILE` writes a read store of ~60 MB; `vacuum FILE` opens
// it (a 4 MiB page cache) and runs the rewrite after a deletion (purgeOldVersions' VACUUM), printing the process's peak
// resident memory before and after it, in MiB, as one JSON line. A process of its own for each: the peak is the
// rewrite's alone, not the filling's nor a test runner's.
import { readFileSync } from 'node:fs';
import { SqliteReadStore } from '../sqlite-read-store';

const peakMb = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
const SPEC = { docs: { indexes: ['group'] } };

async function main(mode: string, path: string): Promise<void> {
  if (mode === 'fill') {
    const store = new SqliteReadStore({ path, synchronous: 'NORMAL' });
    await store.init(SPEC);
    const filler = 'x'.repeat(10_000);
    for (let batch = 0; batch < 6; batch++)
      await store.commit(
        'p',
        Array.from({ length: 1000 }, (_, i) => ({ kind: 'upsert' as const, collection: 'docs', doc: { _id: `d${batch}-${i}`, group: i % 7, filler: `${filler}${i}` }, position: BigInt(batch * 1000 + i + 1) })),
        BigInt(batch * 1000 + 1000),
      );
    await store.close();
    return;
  }
  // a page cache of 4 MiB: what the rewrite reads is not kept, only a copy in memory would be (the file is 15× that)
  const store = new SqliteReadStore({ path, synchronous: 'NORMAL', cacheKib: 4096 });
  await store.init(SPEC);
  const before = peakMb();
  const purged = await store.purgeOldVersions(1n);
  console.log(JSON.stringify({ purged, before, after: peakMb() }));
  await store.close();
}

void main(process.argv[2]!, process.argv[3]!);
