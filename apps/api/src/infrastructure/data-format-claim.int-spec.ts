// What a claim of the data dir says of an upgrade (probe 57 F6: a start that upgraded an earlier version's data dir
// said nothing, so the operator had no record of when a rollback came to need the backup).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { DATA_FORMAT, claimDataDir } from './data-format';

const dirs: string[] = [];
const dir = () => {
  const d = mkdtempSync(join(tmpdir(), 'rollcall-data-format-claim-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const mark = (d: string, format: number) => {
  const db = new DatabaseSync(join(d, 'data-format.sqlite'));
  db.prepare('UPDATE data_format SET format = ?').run(format);
  db.close();
};

it('probe 57 F6: a claim says which format it upgraded a data dir from (marked earlier, or unmarked with a log); a new or current dir says nothing', () => {
  const fresh = dir();
  expect(claimDataDir(fresh, 'api')).toEqual({});
  expect(claimDataDir(fresh, 'api')).toEqual({});
  const earlier = dir();
  claimDataDir(earlier, 'api');
  mark(earlier, DATA_FORMAT - 1);
  expect(claimDataDir(earlier, 'api')).toEqual({ upgradedFrom: DATA_FORMAT - 1 });
  expect(claimDataDir(earlier, 'api')).toEqual({});
  // a new dir whose log the start's checks made before the claim: nothing to say (as the API's main starts it)
  const made = dir();
  writeFileSync(join(made, 'events.sqlite'), '');
  expect(claimDataDir(made, 'api')).toEqual({});
  // a dir an API served without a mark: a version from before the mark (session 38)
  const unmarked = dir();
  writeFileSync(join(unmarked, 'events.sqlite'), '');
  writeFileSync(join(unmarked, 'api.sqlite'), '');
  expect(claimDataDir(unmarked, 'api')).toEqual({ upgradedFrom: 0 });
});

it('probe 58 F7: the audit tool refuses a dir without a mark and writes none there', () => {
  const old = dir();
  writeFileSync(join(old, 'events.sqlite'), '');
  expect(() => claimDataDir(old, 'audit')).toThrow('no data-format mark');
  expect(existsSync(join(old, 'data-format.sqlite'))).toBe(false);
});
