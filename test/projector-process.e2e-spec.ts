// The separate projector process (apps/projector, `npm run start:projector`) over an embedded data dir an API also
// projects (docs/adr/0011 point 4): it stands by while the API's projector thread holds the lease, and takes over when
// the API stops; its /metrics needs the metrics token as the API's does; a bad setting stops it at start.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SYSTEM_KEY } from './support/api';
import { type ServerProcess, startServer } from './support/server-process';

const root = resolve(__dirname, '..');
const TOKEN = 'projector-metrics-token-0123456789';

interface ProjectorProcess {
  child: ChildProcess;
  url: string;
  exited: Promise<number | string>;
  output: () => string;
}

function startProjector(dataDir: string, env: Record<string, string> = {}): Promise<ProjectorProcess> {
  const child = spawn(process.execPath, ['--no-experimental-strip-types', '-r', join(root, 'tools/register.cjs'), join(root, 'apps/projector/src/main.ts')], {
    cwd: root,
    env: { ...process.env, ROLLCALL_DATA_DIR: dataDir, PROJECTOR_PORT: '0', LOG_FORMAT: 'json', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (chunk) => (out += chunk));
  child.stderr!.on('data', (chunk) => (out += chunk));
  const exited = new Promise<number | string>((done) => child.on('exit', (code, signal) => done(code ?? signal ?? 'unknown')));
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`the projector did not listen in 30 s:\n${out}`));
    }, 30_000);
    const onData = () => {
      const port = /"port":(\d+)[^\n]*health and metrics listening/.exec(out)?.[1];
      if (!port) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      ok({ child, url: `http://127.0.0.1:${port}`, exited, output: () => out });
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      fail(Object.assign(new Error(`the projector exited with ${code}:\n${out}`), { code, out }));
    });
  });
}

/** an empty event log, as the API's first start leaves it: a projector refuses a data dir without one (probe 32 F5) */
const anEventLogIn = (dataDir: string) => writeFileSync(join(dataDir, 'events.sqlite'), '');

const health = async (p: ProjectorProcess) => (await (await fetch(`${p.url}/health`)).json()) as { status: string; projections: { checkpoint: string | null }[] };

describe('the separate projector process over an embedded data dir', () => {
  let dataDir: string;
  let api: ServerProcess | undefined;
  let projector: ProjectorProcess | undefined;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'rollcall-projector-process-'));
  });
  afterEach(async () => {
    await api?.stop();
    if (projector && projector.child.exitCode === null) {
      projector.child.kill('SIGTERM');
      await projector.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('stands by while the API projects, takes over when it stops; /metrics needs the token', async () => {
    api = await startServer({ dataDir });
    projector = await startProjector(dataDir, { ROLLCALL_METRICS_TOKEN: TOKEN });
    expect(await health(projector)).toEqual({ status: 'standby', projections: [] });
    expect((await fetch(`${projector.url}/metrics`)).status).toBe(401);
    const scraped = await fetch(`${projector.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(scraped.status).toBe(200);

    const org = await api.api.request('POST', '/v1/organizations', { key: SYSTEM_KEY, body: { name: 'Acme', admin: { email: 'admin@acme.test', displayName: 'Ada' } } });
    expect(org.status).toBe(201);
    await api.stop();
    api = undefined;
    const deadline = Date.now() + 15_000;
    let state = await health(projector);
    while (state.status !== 'ok' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      state = await health(projector);
    }
    expect(state.status).toBe('ok');
    expect(state.projections.length).toBeGreaterThan(0);
  }, 60_000);

  it("the API's /health names the read models no projector built since a reset (none running since, as after a killed rebuild), still 200; none once one has (probe 32 F8)", async () => {
    api = await startServer({ dataDir, env: { ROLLCALL_PROJECTOR: 'external' } });
    const apiHealth = async () => (await api!.api.request('GET', '/health')) as { status: number; body: { info: { projections: { status: string; withoutCheckpoint?: string[]; message?: string } } } };
    // an empty log: nothing to build yet, nothing said
    expect((await apiHealth()).body.info.projections).toEqual({ status: 'up' });
    const org = await api.api.request('POST', '/v1/organizations', { key: SYSTEM_KEY, body: { name: 'Acme', admin: { email: 'admin@acme.test', displayName: 'Ada' } } });
    expect(org.status).toBe(201);
    const unbuilt = await apiHealth();
    expect(unbuilt.status).toBe(200);
    expect(unbuilt.body.info.projections).toEqual({ status: 'up', withoutCheckpoint: expect.arrayContaining(['members', 'permission_history', 'org_users']), message: expect.stringMatching(/^Not built since a reset: .*npm run rebuild/) });

    projector = await startProjector(dataDir);
    const deadline = Date.now() + 15_000;
    let built = await apiHealth();
    while (built.body.info.projections.withoutCheckpoint && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      built = await apiHealth();
    }
    expect(built.body.info.projections).toEqual({ status: 'up' });
  }, 60_000);

  it('without a token /metrics is off (404 METRICS_DISABLED); a short token stops it at start (exit 78)', async () => {
    anEventLogIn(dataDir);
    projector = await startProjector(dataDir);
    const off = await fetch(`${projector.url}/metrics`);
    expect([off.status, ((await off.json()) as { code: string }).code]).toEqual([404, 'METRICS_DISABLED']);
    projector.child.kill('SIGTERM');
    await projector.exited;
    const refused = await startProjector(dataDir, { ROLLCALL_METRICS_TOKEN: 'short' }).catch((error: { code?: number; out?: string }) => error);
    expect(refused).toMatchObject({ code: 78, out: expect.stringContaining('ROLLCALL_METRICS_TOKEN must be at least 16 characters') });
  }, 60_000);

  it('PROJECTOR_PORT where another process listens stops it at start: one sentence naming the setting, exit 78', async () => {
    const busy = createServer();
    await new Promise<void>((ok) => busy.listen(0, '0.0.0.0', ok));
    const port = (busy.address() as AddressInfo).port;
    anEventLogIn(dataDir);
    try {
      const refused = await startProjector(dataDir, { PROJECTOR_PORT: String(port) }).catch((error: { code?: number; out?: string }) => error);
      expect(refused).toMatchObject({ code: 78, out: expect.stringContaining(`PROJECTOR_PORT ${port} is in use by another process (EADDRINUSE)`) });
      expect((refused as { out: string }).out).not.toContain('Unhandled');
      // refused before it took the lease and projected (probe 96 F6: it projected the whole log first)
      expect((refused as { out: string }).out).not.toContain('lease taken');
    } finally {
      busy.close();
    }
  }, 60_000);

  it('over a data dir without an event log (a mistyped or missing ROLLCALL_DATA_DIR) it refuses to start, creating nothing: exit 78 (probe 32 F5)', async () => {
    const typo = join(dataDir, 'no-such-dir');
    const refused = await startProjector(typo).catch((error: { code?: number; out?: string }) => error);
    expect(refused).toMatchObject({
      code: 78,
      out: `Invalid configuration:\n  - No event log in ${typo} (events.sqlite): is ROLLCALL_DATA_DIR the API's data dir? Start the API on it first\n`,
    });
    expect(existsSync(typo)).toBe(false);
  }, 60_000);

  it('probe 117 F2: a member set offline before the read models projected it shows their last heartbeat as last seen, not the earlier time of their last status change', async () => {
    api = await startServer({ dataDir });
    const o = await api.api.organization();
    const agent = await api.api.member({ key: o.key, actor: o.admin, workspaceId: o.workspaceId }, 'agent.last.seen@acme.test', { roles: ['agent'] });
    const beat = () => api!.api.request('POST', `/v1/workspaces/${o.workspaceId}/presence/heartbeat`, { key: o.key, actor: agent, body: { status: 'online' } });
    const read = (position?: string) =>
      api!.api.request('GET', `/v1/workspaces/${o.workspaceId}/members/${agent}`, { key: o.key, actor: o.admin, headers: position ? { 'x-min-position': position } : {} });
    const online = await beat();
    expect((await read(online.body.position)).body).toMatchObject({ presence: 'online', lastSeenAt: online.body.lastSeenAt });
    await api.stop();
    // the same data dir served by a process whose read models nobody projects from now on: the gap held open
    api = await startServer({ dataDir, env: { ROLLCALL_PROJECTOR: 'external' } });
    await new Promise((r) => setTimeout(r, 1_100));
    const later = await beat();
    expect([later.body.changed, later.body.lastSeenAt > online.body.lastSeenAt]).toEqual([false, true]);
    expect((await read()).body).toMatchObject({ presence: 'online', lastSeenAt: later.body.lastSeenAt });
    expect((await api.api.request('POST', `/v1/workspaces/${o.workspaceId}/members/${agent}/presence/offline`, { key: o.key, actor: o.admin })).status).toBe(200);
    // the read model still says online, since the status change; the lease is gone: last seen stays the last heartbeat
    expect((await read()).body).toMatchObject({ presence: 'online', lastSeenAt: later.body.lastSeenAt });
  }, 60_000);

  const rebuildRun = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, ['--no-experimental-strip-types', '-r', join(root, 'tools/register.cjs'), join(root, 'apps/projector/src/rebuild.ts'), ...args], {
      cwd: root,
      env: { ...process.env, ROLLCALL_DATA_DIR: dataDir, ...env },
      encoding: 'utf8',
    });

  it('the rebuild reads every projection named: two are rebuilt, an unknown one among them or `all` beside another is refused naming it, exit 2 (probe 116 F4: the first alone was rebuilt, exit 0)', async () => {
    api = await startServer({ dataDir });
    expect((await api.api.request('POST', '/v1/organizations', { key: SYSTEM_KEY, body: { name: 'Acme', admin: { email: 'admin@acme.test', displayName: 'Ada' } } })).status).toBe(201);
    await api.stop();
    api = undefined;
    const two = rebuildRun(['members', 'teams']);
    expect([two.status, two.stdout.match(/^rebuilt [^:]*:/m)?.[0]]).toEqual([0, 'rebuilt members, teams:']);
    const unknown = rebuildRun(['members', 'teamz']);
    expect([unknown.status, unknown.stderr.split('\n')[0]]).toEqual([2, 'not a projection: teamz']);
    const allAndOne = rebuildRun(['all', 'members']);
    expect([allAndOne.status, allAndOne.stderr.split('\n')[0]]).toEqual([2, '`all` stands alone']);
  }, 60_000);

  it('the rebuild with a MongoDB it cannot reach: one sentence naming MONGO_URL, without its password, exit 69 (probe 116 F5: a bare ECONNREFUSED, exit 1)', async () => {
    api = await startServer({ dataDir });
    await api.stop();
    api = undefined;
    const closed = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const run = rebuildRun(['members'], { MONGO_URL: `mongodb://rc:secret-pw@127.0.0.1:${closed}/rollcall?directConnection=true&serverSelectionTimeoutMS=1000` });
    expect([run.status, run.stderr.trim()]).toEqual([69, expect.stringMatching(new RegExp(`^MONGO_URL: MongoDB at mongodb://127\\.0\\.0\\.1:${closed}/.* could not be reached`))]);
    expect(run.stderr).not.toContain('secret-pw');
  }, 60_000);

  it('started on a data dir an older version left readable, it keeps it as the API does: the dir 0700, every file 0600 (probe 30 F4)', async () => {
    // the event log is the API's (a projector refuses a data dir without one: probe 32 F5); the rest it makes itself
    chmodSync(dataDir, 0o755);
    writeFileSync(join(dataDir, 'events.sqlite'), '', { mode: 0o644 });
    projector = await startProjector(dataDir);
    const modes = () => [
      `${dataDir} ${(statSync(dataDir).mode & 0o777).toString(8)}`,
      ...readdirSync(dataDir).map((f) => `${f} ${(statSync(join(dataDir, f)).mode & 0o777).toString(8)}`),
    ];
    const made = modes();
    // the event log, the keys, the read models and the lease (and their WAL files)
    expect(made.length).toBeGreaterThanOrEqual(4);
    expect(made).toEqual([`${dataDir} 700`, ...made.slice(1).map((line) => `${line.split(' ')[0]} 600`)]);
  }, 60_000);

  it('the rebuild refuses to start beside a process that projects the data dir: exit 75, naming what to do (probe 95 F11: exit 1, undocumented)', async () => {
    api = await startServer({ dataDir });
    const run = spawnSync(process.execPath, ['--no-experimental-strip-types', '-r', join(root, 'tools/register.cjs'), join(root, 'apps/projector/src/rebuild.ts'), 'members'], {
      cwd: root,
      env: { ...process.env, ROLLCALL_DATA_DIR: dataDir },
      encoding: 'utf8',
    });
    expect([run.status, run.stderr.trim()]).toEqual([75, 'Another process projects this data dir (it holds the projector lease): stop it, then rebuild.']);
  }, 60_000);

  it('the rebuild refuses a data dir without an event log (a mistyped ROLLCALL_DATA_DIR), creating nothing: exit 2', () => {
    const typo = join(dataDir, 'no-such-dir');
    const run = spawnSync(process.execPath, ['--no-experimental-strip-types', '-r', join(root, 'tools/register.cjs'), join(root, 'apps/projector/src/rebuild.ts'), 'all'], {
      cwd: root,
      env: { ...process.env, ROLLCALL_DATA_DIR: typo },
      encoding: 'utf8',
    });
    expect([run.status, run.stderr.trim()]).toEqual([2, `No event log in ${typo} (events.sqlite): is ROLLCALL_DATA_DIR the API's data dir?`]);
    expect(existsSync(typo)).toBe(false);
  }, 60_000);
});
