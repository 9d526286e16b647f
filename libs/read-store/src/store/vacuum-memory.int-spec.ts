import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * The rewrite after a deletion (rule 12 at rest: SqliteReadStore.purgeOldVersions' VACUUM) builds its copy of the file in
 * a temporary file, not in memory: with the connection's temp_store = MEMORY the copy took as much memory as the file
 * (m44: a 1 GB read.sqlite, RSS 43 → 981 MB), which the allocator of the projector's thread kept after, for good.
 */
describe('the rewrite after a deletion', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rollcall-vacuum-memory-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('rule 12 at rest: VACUUMs a 60 MB read store without a copy of it in memory (the copy goes to a temporary file)', () => {
    const file = join(dir, 'read.sqlite');
    const child = (mode: string) =>
      spawnSync(process.execPath, ['--no-experimental-strip-types', '-r', './tools/register.cjs', 'libs/read-store/src/store/testing/vacuum-peak.ts', mode, file], { encoding: 'utf8' });
    expect(child('fill').stderr).toBe('');
    const run = child('vacuum');
    expect(run.stderr).toBe('');
    const { purged, before, after } = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { purged: boolean; before: number; after: number };
    expect(purged).toBe(true);
    expect(statSync(file).size).toBeGreaterThan(55 * 2 ** 20);
    // a copy in memory raised the peak by about the file (~60 MB); to a file, by the 4 MiB page cache and a little
    expect(after - before).toBeLessThan(25);
  });
});
