// A data dir whose files do not belong together (probe 33 F5, F6): a file lost, or one restored alone from an older
// backup. The API refuses to start on it, in one sentence naming the file, exit 78, where serving it would lose data
// for good (every personal field unreadable, an address in use taken again) or acknowledge writes that never show.
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { assertNotarizedEventsKept } from '../apps/api/src/infrastructure/log-not-behind';
import { SYSTEM_KEY, startTestApp } from './support/app';

const root = resolve(__dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'rollcall-mixed-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** runs the API over `dataDir` until it exits or listens (then stopped): its exit code and stderr */
function startApi(dataDir: string): Promise<{ code: number | null; stderr: string; listened: boolean }> {
  const child = spawn(process.execPath, ['--no-experimental-strip-types', '-r', join(root, 'tools/register.cjs'), join(root, 'apps/api/src/main.ts')], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'silent', PORT: '0', ROLLCALL_TCP_PORT: '0', ROLLCALL_DATA_DIR: dataDir, ROLLCALL_SYSTEM_API_KEY: SYSTEM_KEY },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let listened = false;
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  // a start that goes through is stopped once it says so
  child.stdout!.on('data', (chunk) => {
    if (!String(chunk).includes('Rollcall API on')) return;
    listened = true;
    child.kill('SIGTERM');
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((done) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      done({ code, stderr: stderr.trim(), listened });
    }),
  );
}

/** a data dir after some writes, stopped; and a copy of it taken before the last ones */
async function written(): Promise<{ dataDir: string; earlier: string }> {
  const dataDir = join(work, 'data');
  const earlier = join(work, 'earlier');
  let app = await startTestApp({ ROLLCALL_DATA_DIR: dataDir, ROLLCALL_AUDIT_CHECKPOINT_MS: '50' });
  const o = await app.api.organization();
  await app.stop();
  cpSync(dataDir, earlier, { recursive: true });
  app = await startTestApp({ ROLLCALL_DATA_DIR: dataDir, ROLLCALL_AUDIT_CHECKPOINT_MS: '50' });
  const as = { key: o.key, actor: o.admin, workspaceId: o.workspaceId };
  for (const name of ['ann', 'bob', 'cid']) await app.api.member(as, `${name}@acme.test`);
  // the notary and the projector at the head before the stop
  const head = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: 'dee@acme.test' } });
  expect((await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members`, { key: o.key, actor: o.admin, headers: { 'x-min-position': head.body.position } })).status).toBe(200);
  for (let i = 0; i < 100 && (await app.api.request('GET', `/v1/audit/proofs/inclusion?position=${head.body.position}`, { key: SYSTEM_KEY })).status !== 200; i++) await new Promise((r) => setTimeout(r, 50));
  await app.stop();
  return { dataDir, earlier };
}

describe('a data dir whose files do not belong together: refused at start, exit 78, naming the file', () => {
  let dirs: { dataDir: string; earlier: string };
  beforeAll(async () => {
    dirs = await written();
  }, 90_000);
  const copyOf = (name: string) => {
    const dir = join(work, name);
    cpSync(dirs.dataDir, dir, { recursive: true });
    return dir;
  };

  it('rule 12: keys.sqlite lost beside a log that holds events (new keys would shred every personal field for good)', async () => {
    const dir = copyOf('no-keys');
    for (const f of ['keys.sqlite', 'keys.sqlite-wal', 'keys.sqlite-shm']) rmSync(join(dir, f), { force: true });
    const { code, stderr } = await startApi(dir);
    expect({ code, stderr }).toEqual({ code: 78, stderr: `${join(dir, 'keys.sqlite')} holds no key-derivation key while the event log holds the salts of subjects' keys: they open only with the keys.sqlite written with them. Restore keys.sqlite from the same backup as the event log` });
  }, 90_000);

  it('an event log older than the notary\'s tree and the read models (restored alone from an earlier copy)', async () => {
    const dir = copyOf('old-log');
    for (const f of ['events.sqlite', 'events.sqlite-wal', 'events.sqlite-shm']) rmSync(join(dir, f), { force: true });
    cpSync(join(dirs.earlier, 'events.sqlite'), join(dir, 'events.sqlite'));
    const { code, stderr } = await startApi(dir);
    expect({ code, stderr }).toEqual({ code: 78, stderr: expect.stringMatching(/^The event log ends at position \d+, but the notary's tree \(.*audit\.sqlite\) reached \d+ and the read model .* reached \d+: the log lost its last events \(a torn write-ahead log after a crash, here \d+ positions?\), or was rolled back or replaced.*Without a backup to restore/m) });
  }, 90_000);

  it('an event the notary took in, deleted from the middle of the log (probe 60 F1: served, an organization\'s auditor could not tell the gap from another organization\'s entry)', async () => {
    const dir = copyOf('hole');
    const db = new DatabaseSync(join(dir, 'events.sqlite'));
    db.prepare('DELETE FROM events WHERE position = (SELECT min(position) + 3 FROM events)').run();
    db.close();
    const { code, stderr } = await startApi(dir);
    expect({ code, stderr }).toEqual({ code: 78, stderr: expect.stringMatching(/^The notary's tree \(.*audit\.sqlite\) holds (\d+) entries up to position \d+, but the event log \(.*events\.sqlite\) has only \d+: 1 event\(s\) it notarized are gone from the log\. The log was altered after it was notarized .*verify/) });
  }, 90_000);

  it('a replica appending while another starts is no hole (probe 61 F2: an event appended between the two counts read as one gone, 1 start in 12)', () => {
    const dir = copyOf('appending');
    const appended = () => {
      const db = new DatabaseSync(join(dir, 'events.sqlite'));
      db.prepare("INSERT INTO events (id, stream, revision, type, data, metadata, created) VALUES (?, 'appended-meanwhile', 0, 'Test', '{}', '{}', 0)").run(`appended-${Date.now()}`);
      db.close();
    };
    expect(() => assertNotarizedEventsKept(dir, appended)).not.toThrow();
  });

  it('an inclusion proof asked for a notarized entry the log lost while the API ran: 500 AUDIT_LOG_ALTERED to any key, not "not found" (probe 60 F1)', async () => {
    const dir = copyOf('hole-live');
    const app = await startTestApp({ ROLLCALL_DATA_DIR: dir });
    try {
      const o = await app.api.organization();
      const db = new DatabaseSync(join(dir, 'events.sqlite'));
      const gone = Number((db.prepare('SELECT min(position) + 2 AS p FROM events').get() as { p: number }).p);
      db.prepare('DELETE FROM events WHERE position = ?').run(gone);
      db.close();
      for (const key of [o.key, SYSTEM_KEY]) {
        const answer = await app.api.request('GET', `/v1/audit/proofs/inclusion?position=${gone}`, { key });
        expect({ status: answer.status, code: answer.body.code, detail: answer.body.detail }).toEqual({
          status: 500,
          code: 'AUDIT_LOG_ALTERED',
          detail: `The notary's tree holds an entry at position ${gone}, but the event log no longer has it: the log was altered after it was notarized. The operator should run \`rollcall-audit verify\` on the data dir and restore it from a backup.`,
        });
      }
    } finally {
      await app.stop();
    }
  }, 90_000);

  it('an inclusion proof of an entry changed in the log after it was notarized: 500 AUDIT_LOG_ALTERED, and /health names the positions found (probe 115 F1: 200, the entry unlike its leafHash)', async () => {
    const dir = copyOf('changed-live');
    const app = await startTestApp({ ROLLCALL_DATA_DIR: dir });
    try {
      const o = await app.api.organization();
      const db = new DatabaseSync(join(dir, 'events.sqlite'));
      const changed = Number((db.prepare('SELECT min(position) + 1 AS p FROM events').get() as { p: number }).p);
      const moved = Number((db.prepare('SELECT min(position) AS p FROM events WHERE stream = ?').get(`organization-${o.organizationId}`) as { p: number }).p);
      const proofOf = (position: number) => app.api.request('GET', `/v1/audit/proofs/inclusion?position=${position}`, { key: SYSTEM_KEY });
      // the notary has signed it, and its proof is served as it was notarized
      for (let i = 0; i < 50 && (await proofOf(changed)).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
      expect((await proofOf(changed)).status).toBe(200);
      expect((await app.api.request('GET', '/health')).body.info.audit.alteredPositions).toBeUndefined();
      db.prepare("UPDATE events SET data = json_set(data, '$.altered', 'after notarization') WHERE position = ?").run(changed);
      db.close();
      const answer = await proofOf(changed);
      expect({ status: answer.status, code: answer.body.code, detail: answer.body.detail }).toEqual({
        status: 500,
        code: 'AUDIT_LOG_ALTERED',
        detail: `The event log's entry at position ${changed} does not hash to the leaf the notary recorded for it: the log was altered after it was notarized. The operator should run \`rollcall-audit verify\` on the data dir and restore it from a backup.`,
      });
      expect((await app.api.request('GET', '/health')).body.info.audit).toMatchObject({ status: 'up', alteredPositions: [String(changed)], alteredCount: 1, alteredMessage: expect.stringContaining('rollcall-audit verify') });
      // an entry moved into another organization's stream is told to its owner as altered, not "not found" (probe 118 F2)
      for (let i = 0; i < 50 && (await app.api.request('GET', `/v1/audit/proofs/inclusion?position=${moved}`, { key: o.key })).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
      const edit = new DatabaseSync(join(dir, 'events.sqlite'));
      edit.prepare("UPDATE events SET stream = 'organization-someone-else' WHERE position = ?").run(moved);
      edit.close();
      const owner = await app.api.request('GET', `/v1/audit/proofs/inclusion?position=${moved}`, { key: o.key });
      expect([owner.status, owner.body.code]).toEqual([500, 'AUDIT_LOG_ALTERED']);
      expect((await app.api.request('GET', '/health')).body.info.audit).toMatchObject({ alteredPositions: [String(changed), String(moved)], alteredCount: 2 });
    } finally {
      await app.stop();
    }
  }, 90_000);

  it('an empty audit.sqlite (a crash as it was created) holds no tree: the start goes on and the notary makes one (probe 61 F6: "no such table: leaves", exit 1)', async () => {
    const dir = copyOf('empty-tree');
    for (const f of ['audit.sqlite-wal', 'audit.sqlite-shm']) rmSync(join(dir, f), { force: true });
    writeFileSync(join(dir, 'audit.sqlite'), '');
    const { listened, stderr } = await startApi(dir);
    expect({ listened, stderr }).toEqual({ listened: true, stderr: '' });
  }, 90_000);

  it('an audit.sqlite whose tables were in the -wal left out of a copy holds no tree either: the start goes on (probe 62 F8: the same stack)', async () => {
    const dir = copyOf('tree-without-wal');
    for (const f of ['audit.sqlite', 'audit.sqlite-wal', 'audit.sqlite-shm']) rmSync(join(dir, f), { force: true });
    // a database file with its header and no table: what SQLite's first write leaves in the main file in WAL mode
    const header = new DatabaseSync(join(dir, 'audit.sqlite'));
    header.exec('PRAGMA journal_mode = WAL; PRAGMA user_version = 1');
    header.close();
    const { listened, stderr } = await startApi(dir);
    expect({ listened, stderr }).toEqual({ listened: true, stderr: '' });
  }, 90_000);

  it('the data dir as it was written starts (the checks refuse only what does not belong together)', async () => {
    const { listened, stderr } = await startApi(copyOf('intact'));
    expect({ listened, stderr }).toEqual({ listened: true, stderr: '' });
  }, 90_000);
});
