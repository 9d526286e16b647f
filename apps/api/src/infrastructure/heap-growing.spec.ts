import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '../../../..');

/**
 * The largest heap a full collection found, over what the previous one had left (MB), from V8's --trace-gc lines of a
 * child that churns the old generation with `percent` set (testing/full-collections.ts).
 */
function growthBeforeFullCollections(percent: number): number {
  const trace = execFileSync(
    process.execPath,
    ['--max-old-space-size=1024', '--trace-gc', '--no-experimental-strip-types', '-r', './tools/register.cjs', join(__dirname, 'testing/full-collections.ts'), String(percent)],
    { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
  );
  const collections = [...trace.matchAll(/Mark-Compact ([\d.]+) \([\d.]+\) -> ([\d.]+)/g)].map((m) => ({ before: Number(m[1]), after: Number(m[2]) }));
  let growth = 0;
  for (let i = 1; i < collections.length; i++) growth = Math.max(growth, collections[i]!.before / collections[i - 1]!.after);
  return growth;
}

describe('the heap growing percent set by the API at start (ROLLCALL_HEAP_GROWING_PERCENT)', () => {
  it('lets the old generation grow to (1 + percent/100) times what the last full collection left, where V8 alone stops sooner', () => {
    const own = growthBeforeFullCollections(0);
    const set = growthBeforeFullCollections(300);
    // V8's own factor for a 1 GiB heap tops out near 3.3 (~233 MB over ~71 MB live here); 300 % is 4 (plus the young generation)
    expect(set).toBeGreaterThanOrEqual(3.9);
    expect(set).toBeGreaterThan(own * 1.15);
  }, 120_000);
});
