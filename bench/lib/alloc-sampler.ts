// BENCH_HTTP_ALLOC_PROF=<path> (diagnosis only; lib/http-child-hook.ts installs it in the server child): V8's sampling
// heap profiler over the measured window of phase 1 (from the bench's `mark warm-up` to its `mark measured load`),
// counting every sampled allocation, also the ones scavenges and full collections freed since, so the profile is
// where the main thread's allocation *rate* comes from (what makes its scavenges), not what is alive at the end as
// `--heap-prof` records. Written as a `.heapprofile` (Chrome DevTools' Memory tab opens it) to <path>.<pid>.
// Only the main thread's isolate: the projector's and the commit thread's allocate in isolates of their own.
// BENCH_HTTP_ALLOC_WINDOW="<from>..<to>" takes another window, between two of the bench's marks (a mark ends the phase
// it names): e.g. "open loop..saturation" is `bench:presence`'s saturation phase.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { createInterface } from 'node:readline';

/** one sample per ~this many bytes allocated (V8's default is 32 KiB; smaller is finer and slower) */
const SAMPLING_INTERVAL_BYTES = 16 * 1024;

export function installAllocationSampler(path: string): void {
  const session = new Session();
  session.connect();
  const post = <T>(method: string, params?: object) =>
    new Promise<T>((resolve, reject) =>
      session.post(method, params, (err, result) => (err ? reject(err) : resolve(result as T))),
    );
  const [from, to] = (process.env.BENCH_HTTP_ALLOC_WINDOW ?? 'warm-up..measured load').split('..');
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line === `mark ${from}`) {
      void post('HeapProfiler.startSampling', {
        samplingInterval: SAMPLING_INTERVAL_BYTES,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
    } else if (line === `mark ${to}`) {
      void post<{ profile: unknown }>('HeapProfiler.stopSampling').then(({ profile }) => {
        writeFileSync(`${path}.${process.pid}`, JSON.stringify(profile));
        process.stderr.write(`allocation profile written to ${path}.${process.pid}\n`);
      });
    }
  });
}
