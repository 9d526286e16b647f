// Run by heap-growing.spec.ts in a child process (with --trace-gc): sets the heap growing percent given as argv[2], as
// main.ts does, then promotes garbage into the old generation at a steady rate (a ring of live objects, each replaced
// in turn), so that V8 runs full collections (mark-compacts) over and over, each when the heap reached its limit.
import { setHeapGrowingPercent } from '../heap-growing';

setHeapGrowingPercent(Number(process.argv[2]));
const ring: { id: string; values: number[] }[] = Array.from({ length: 400_000 });
for (let i = 0; i < 10_000_000; i++) ring[i % ring.length] = { id: `object-${i}`, values: [i, i + 1, i + 2] };
