import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { createOutput } from '../apps/audit-cli/src/output';
import { verifyReadModels } from '../apps/audit-cli/src/read-models';
import type { EventStore } from '@rollcall/event-store';
import { EVENT_STORE } from '../apps/api/src/shared/tokens';
import { type TestApp, startTestApp } from './support/app';
import { DATA_FORMAT, claimDataDir } from '../apps/api/src/infrastructure/data-format';

/*
 * `rollcall-audit verify --read-models` (docs/rules.md#verifiable-history): what the API answers an auditor (the
 * permission history above all) is derived from the log; the check derives it again and compares it document by
 * document with what read.sqlite holds (probe 33 F1: an edited history was served while `verify` passed).
 */
let app: TestApp;
const work = mkdtempSync(join(tmpdir(), 'rollcall-audit-read-models-'));
let pristine: string;
let publicKey: string;
let carl: string;
let workspaceId: string;

beforeAll(async () => {
  app = await startTestApp({ ROLLCALL_DATA_DIR: join(work, 'data') });
  const o = await app.api.organization();
  workspaceId = o.workspaceId;
  const as = { key: o.key, actor: o.admin, workspaceId };
  carl = await app.api.member(as, 'carl.owner@acme.test', { roles: ['agent'] });
  const gone = await app.api.member(as, 'gone.soon@acme.test', { roles: ['agent'] });
  expect((await app.api.request('PATCH', `/v1/workspaces/${workspaceId}/members/${carl}/access`, { key: o.key, actor: o.admin, body: { roles: ['owner'] } })).status).toBe(200);
  const team = await app.api.request('POST', `/v1/workspaces/${workspaceId}/teams`, { key: o.key, actor: o.admin, body: { name: 'Billing' } });
  expect(team.status).toBe(201);
  const deleted = await app.api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${gone}`, { key: o.key, actor: o.admin });
  expect(deleted.status).toBe(200);
  // the read models at the log's head before the stop: past the deletion, the record of its erasure the handler
  // appends before answering (PersonalDataErased; waiting for the deletion's own position left that one unprojected
  // now and then: READ_MODELS_BEHIND, CI4 of session 34)
  const head = await app.app.get<EventStore>(EVENT_STORE).headPosition();
  expect(head).toBeGreaterThan(BigInt(deleted.body.position));
  expect((await app.api.request('GET', `/v1/workspaces/${workspaceId}/members`, { key: o.key, actor: o.admin, headers: { 'x-min-position': String(head) } })).status).toBe(200);
  publicKey = (await app.api.request('GET', '/v1/audit/public-key')).body.trim();
  await app.stop();
  // marked with this version's data format, as the API's entry point does at its start (the test app does not)
  claimDataDir(app.dataDir, 'api');
  pristine = join(work, 'pristine');
  cpSync(app.dataDir, pristine, { recursive: true });
}, 60_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

const quiet = createOutput({ json: true }, { out: { write: () => true } as never, err: { write: () => true } as never });
/** a copy of the data dir, its read.sqlite edited with SQL */
const edited = (name: string, sql: string): string => {
  const dir = join(work, name);
  cpSync(pristine, dir, { recursive: true });
  const db = new DatabaseSync(join(dir, 'read.sqlite'));
  db.exec(sql);
  db.close();
  return dir;
};
const carlsHistory = () => `json_extract(doc, '$.workspaceId') = '${workspaceId}' AND json_extract(doc, '$.userId') = '${carl}'`;

describe('the auditor compares the read models with what the log derives (verify --read-models)', () => {
  it('passes on the read models as the projector wrote them, a deletion included', async () => {
    const result = await verifyReadModels({ dataDir: pristine }, quiet);
    expect(result).toMatchObject({ ok: true, differences: 0, problems: [] });
    expect(result.documents).toBeGreaterThan(10);
  });

  it('names a permission-history entry whose roles were rewritten, and one deleted, by collection and id (no value printed)', async () => {
    const dir = edited(
      'rewritten',
      `UPDATE rs_doc_permission_history SET doc = jsonb_set(doc, '$.after.roles', json('["agent"]')) WHERE ${carlsHistory()} AND json_extract(doc, '$.change') = 'roles_changed';
       DELETE FROM rs_doc_permission_history WHERE ${carlsHistory()} AND json_extract(doc, '$.change') = 'invited';`,
    );
    const result = await verifyReadModels({ dataDir: dir }, quiet);
    expect(result.ok).toBe(false);
    expect(result.problems.map((p) => p.code)).toEqual(['READ_MODEL_DIFFERS']);
    expect(result.listed).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ collection: 'permission_history', kind: 'differs', fields: ['after'] }),
        expect.objectContaining({ collection: 'permission_history', kind: 'missing' }),
      ]),
    );
    expect(result.differences).toBe(2);
    expect(JSON.stringify(result)).not.toContain('carl.owner@acme.test');
  });

  it('names a document the log derives nowhere (an entry added), and one stored twice (a copy under another row key)', async () => {
    const added = edited('added', `INSERT INTO rs_doc_permission_history (id, doc, position) SELECT id || '-forged', jsonb_set(doc, '$._id', id || '-forged'), position FROM rs_doc_permission_history WHERE ${carlsHistory()} LIMIT 1`);
    expect((await verifyReadModels({ dataDir: added }, quiet)).listed).toEqual([expect.objectContaining({ collection: 'permission_history', kind: 'extra', id: expect.stringMatching(/-forged$/) })]);
    const copied = edited('copied', `INSERT INTO rs_doc_permission_history (id, doc, position) SELECT id || '-copy', doc, position FROM rs_doc_permission_history WHERE ${carlsHistory()} LIMIT 1`);
    expect((await verifyReadModels({ dataDir: copied }, quiet)).listed).toEqual([expect.objectContaining({ collection: 'permission_history', kind: 'duplicate' })]);
  });

  it('compares nothing while the stored read models stand behind the log (READ_MODELS_BEHIND, saying where)', async () => {
    const dir = edited('behind', "UPDATE rs_checkpoints SET position = position - 1 WHERE projection LIKE 'permission_history%'");
    const result = await verifyReadModels({ dataDir: dir }, quiet);
    expect(result).toMatchObject({ ok: false, documents: 0, problems: [{ code: 'READ_MODELS_BEHIND', message: expect.stringMatching(/permission_history at \d+ \(the log: \d+\)/) }] });
  });

  it('probe 33 F7: verify against an event store it cannot reach, or a malformed EVENTSTORE_URL, says so in a sentence (exit 1, exit 2), as JSON with --json', () => {
    const cli = (url: string, ...args: string[]) =>
      spawnSync(process.execPath, ['--no-experimental-strip-types', '-r', './tools/register.cjs', 'apps/audit-cli/src/main.ts', 'verify', '--public-key', publicKey, ...args], {
        encoding: 'utf8',
        env: { ...process.env, CI: 'true', EVENTSTORE_URL: url },
      });
    const unreachable = cli('esdb://127.0.0.1:9?tls=false');
    expect({ status: unreachable.status, stdout: unreachable.stdout.trim(), stack: unreachable.stderr.includes('    at ') }).toEqual({
      status: 1,
      stdout: expect.stringMatching(/^FAILED: cannot read the log from the event store at esdb:\/\/127\.0\.0\.1:9\?tls=false: \w+/),
      stack: false,
    });
    const malformed = cli('http://x', '--json');
    expect({ status: malformed.status, json: JSON.parse(malformed.stdout), stack: malformed.stderr.includes('    at ') }).toEqual({
      status: 2,
      json: { ok: false, problems: [{ code: 'USAGE', message: expect.stringContaining('EVENTSTORE_URL') }] },
      stack: false,
    });
  }, 60_000);

  it('the CLI: exit 0 after the log verified and the read models matched; exit 1 naming the document', () => {
    const cli = (dir: string) =>
      spawnSync(process.execPath, ['--no-experimental-strip-types', '-r', './tools/register.cjs', 'apps/audit-cli/src/main.ts', 'verify', '--data-dir', dir, '--public-key', publicKey, '--read-models'], {
        encoding: 'utf8',
        env: { ...process.env, CI: 'true' },
      });
    const ok = cli(pristine);
    // stderr: the note about the key, and progress lines only every 100,000 events (none here)
    expect(ok.stderr).not.toMatch(/object Object|deriving/);
    expect({ status: ok.status, stdout: ok.stdout }).toEqual({ status: 0, stdout: expect.stringMatching(/^verified \d+ events, root .*\nread models: \d+ documents, each as the log derives it\n$/) });
    const failed = cli(join(work, 'rewritten'));
    expect({ status: failed.status, stdout: failed.stdout }).toEqual({ status: 1, stdout: expect.stringMatching(/\nread models FAILED: 2 stored read-model document\(s\) differ .*permission_history\//) });
  }, 60_000);

  it('probe 42b F1, probe 57 F3: comparing read models claims the data dir as the API does: a dir a later version wrote is refused in a sentence; one an earlier version wrote is refused too, and left unchanged', () => {
    const cli = (dir: string) =>
      spawnSync(process.execPath, ['--no-experimental-strip-types', '-r', './tools/register.cjs', 'apps/audit-cli/src/main.ts', 'verify', '--data-dir', dir, '--public-key', publicKey, '--read-models'], {
        encoding: 'utf8',
        env: { ...process.env, CI: 'true' },
      });
    const formatOf = (dir: string) => {
      const db = new DatabaseSync(join(dir, 'data-format.sqlite'));
      try {
        return (db.prepare('SELECT format FROM data_format').get() as { format: number }).format;
      } finally {
        db.close();
      }
    };
    const later = join(work, 'later');
    cpSync(pristine, later, { recursive: true });
    // (the test app, started in this process, does not claim its dir as the API's entry point does)
    claimDataDir(later, 'audit');
    const db = new DatabaseSync(join(later, 'data-format.sqlite'));
    db.prepare('UPDATE data_format SET format = ?').run(DATA_FORMAT + 1);
    db.close();
    const refused = cli(later);
    expect({ status: refused.status, refused: refused.stderr.includes('was written by a later version of Rollcall'), stack: refused.stderr.includes('    at ') }).toEqual({ status: 1, refused: true, stack: false });
    // a dir an earlier version left: refused, and left as it was (probe 57 F3: it was upgraded, its keys moved and its
    // mark raised, and the version that wrote it no longer started there)
    const earlier = join(work, 'earlier');
    cpSync(pristine, earlier, { recursive: true });
    const mark = new DatabaseSync(join(earlier, 'data-format.sqlite'));
    mark.prepare('UPDATE data_format SET format = ?').run(DATA_FORMAT - 1);
    mark.close();
    const old = cli(earlier);
    expect({ status: old.status, refused: old.stderr.includes('was written by an earlier version of Rollcall'), changesNothing: old.stderr.includes('a verification changes nothing') }).toEqual({ status: 1, refused: true, changesNothing: true });
    expect(formatOf(earlier)).toBe(DATA_FORMAT - 1);
  }, 60_000);
});
