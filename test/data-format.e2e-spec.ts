// Processes of two versions must not serve one data dir, and an earlier version must not start on what a later one
// wrote (docs/adr/0020; probe 37b: an old replica beside a new one decided as if an org admin's demotion had not
// happened, and its projector moved org_users past it for good). A process of an earlier version is one that holds a
// job's lease without being registered with this data format: what the versions before session 37 do.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Lease } from '../apps/api/src/infrastructure/lease';
import { DATA_FORMAT } from '../apps/api/src/infrastructure/data-format';
import { SYSTEM_KEY } from './support/api';
import { startServer, startServers } from './support/server-process';

const root = resolve(__dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'rollcall-data-format-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** an entry point run to its end (at most 60 s): its exit code and what it wrote */
const run = (entry: string, dataDir: string, args: string[] = []) => {
  const done = spawnSync(process.execPath, ['--no-experimental-strip-types', '-r', join(root, 'tools/register.cjs'), join(root, entry), ...args], {
    cwd: root,
    env: { ...process.env, ROLLCALL_DATA_DIR: dataDir, ROLLCALL_SYSTEM_API_KEY: SYSTEM_KEY, PORT: '0', ROLLCALL_TCP_PORT: '0', PROJECTOR_PORT: '0', LOG_LEVEL: 'silent' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: done.status, stderr: done.stderr };
};
const api = (dataDir: string) => run('apps/api/src/main.ts', dataDir);

/** a data dir the API made and served (then stopped), with an organization */
async function servedDataDir(name: string): Promise<string> {
  const dataDir = join(dir, name);
  const server = await startServer({ dataDir });
  try {
    const org = await server.api.request('POST', '/v1/organizations', { key: SYSTEM_KEY, body: { name: 'Acme', admin: { email: 'ada@acme.test', displayName: 'Ada' } } });
    expect(org.status).toBe(201);
  } finally {
    await server.stop();
  }
  return dataDir;
}

describe('one data dir, one version (docs/adr/0020, probe 37b)', () => {
  it('a process of an earlier version serving the data dir (a job lease held, no registration): the API and the projector worker refuse to start (exit 78), the rebuild too (exit 2), naming it; once it stopped, they start', async () => {
    const dataDir = await servedDataDir('beside-earlier');
    // this test's process plays the earlier version: it holds the notary's lease and registered nothing, and keeps its
    // keys in one table, as versions before session 42 did (which a start of this one moves into its own tables)
    const earlier = new Lease(dataDir, 'notary');
    expect(earlier.tryAcquire()).toBe(true);
    const events = new DatabaseSync(join(dataDir, 'events.sqlite'));
    events.exec("CREATE TABLE subject_keys (subject TEXT PRIMARY KEY, key BLOB NOT NULL); INSERT INTO subject_keys VALUES ('u:earlier', randomblob(32))");
    const earlierKeys = () => events.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'subject_keys'").get() as { n: number };
    try {
      const refused = api(dataDir);
      // refused before anything of the data dir was changed (probe 93 F1: the keys were moved first, and the earlier
      // process answered 500 for every key it looked up)
      expect(earlierKeys().n).toBe(1);
      expect(refused.code).toBe(78);
      expect(refused.stderr).toContain(`Process ${process.pid} on `);
      expect(refused.stderr).toContain('holding the notary lease, serves');
      expect(refused.stderr).toContain(`with an earlier version of Rollcall; this one writes data format ${DATA_FORMAT}. Processes of two versions must not serve one data dir`);
      expect(run('apps/projector/src/main.ts', dataDir).code).toBe(78);
      const rebuild = run('apps/projector/src/rebuild.ts', dataDir, ['all']);
      expect({ code: rebuild.code, said: rebuild.stderr.includes('Processes of two versions must not serve one data dir') }).toEqual({ code: 2, said: true });
      expect(earlierKeys().n).toBe(1);
    } finally {
      earlier.release();
      earlier.close();
    }
    // (marked as an earlier format would have left it: the start says it upgraded the dir, in a JSON record)
    const mark = new DatabaseSync(join(dataDir, 'data-format.sqlite'));
    mark.prepare('UPDATE data_format SET format = ?').run(DATA_FORMAT - 1);
    mark.close();
    const after = await startServer({ dataDir, env: { LOG_LEVEL: 'info' } });
    expect((await after.api.request('GET', '/health')).status).toBe(200);
    await after.stop();
    // once it stopped, a start of this version moves them
    expect(earlierKeys().n).toBe(0);
    const upgraded = after
      .output()
      .split('\n')
      .filter((line) => line.includes('data_dir_upgraded'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(upgraded).toEqual([expect.objectContaining({ level: 'warn', event: 'data_dir_upgraded', fromFormat: DATA_FORMAT - 1, toFormat: DATA_FORMAT, msg: expect.stringContaining('roll back only by restoring the backup') })]);
    // the start is one JSON record too, naming the data format and the log's head (probe 95 F6, F10: two plain lines)
    const lines = after.output().split('\n').filter(Boolean);
    expect(lines.filter((line) => !line.startsWith('{'))).toEqual([]);
    expect(lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((r) => r.event === 'api_started')).toEqual([
      expect.objectContaining({ level: 'info', dataDir, dataFormat: DATA_FORMAT, logHead: expect.stringMatching(/^\d+$/), msg: expect.stringContaining('Rollcall API on http://') }),
    ]);
    // and its stop by a signal is said (probe 95 F6: nothing was)
    expect(lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((r) => r.event === 'stopping')).toEqual([expect.objectContaining({ level: 'info', signal: 'SIGTERM' })]);
    events.close();
  }, 180_000);

  it('a data dir a later version wrote: refused, exit 78; two replicas of this version start together over one', async () => {
    const dataDir = await servedDataDir('later');
    const replicas = await startServers(2, { dataDir });
    try {
      for (const r of replicas) expect((await r.api.request('GET', '/health')).status).toBe(200);
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
    }
    const db = new DatabaseSync(join(dataDir, 'data-format.sqlite'));
    expect(db.prepare('SELECT format FROM data_format').get()).toEqual({ format: DATA_FORMAT });
    // stopped, they are registered no more (probe 94 F1: a stopped process's row, its pid reused, refused a later start)
    expect(db.prepare('SELECT process FROM processes').all()).toEqual([]);
    db.prepare('UPDATE data_format SET format = ?').run(DATA_FORMAT + 1);
    db.close();
    const refused = api(dataDir);
    expect(refused.code).toBe(78);
    expect(refused.stderr).toContain(`was written by a later version of Rollcall (data format ${DATA_FORMAT + 1}; this one reads ${DATA_FORMAT} and earlier)`);
  }, 180_000);

  it('a start after a process on the data dir was killed says so, naming it; after a clean stop it says nothing (probe 95 F6)', async () => {
    const dataDir = await servedDataDir('killed');
    const killed = await startServer({ dataDir });
    killed.child.kill('SIGKILL');
    await killed.exited;
    const uncleanStopsOf = (output: string) =>
      output
        .split('\n')
        .filter((line) => line.includes('unclean_stop'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    const after = await startServer({ dataDir });
    await after.stop();
    expect(uncleanStopsOf(after.output())).toEqual([expect.objectContaining({ level: 'warn', event: 'unclean_stop', stoppedPid: killed.child.pid, role: 'api', msg: expect.stringContaining('did not stop cleanly (killed or crashed)') })]);
    const again = await startServer({ dataDir });
    await again.stop();
    expect(uncleanStopsOf(again.output())).toEqual([]);
  }, 120_000);
});
