// The operator's backup of a live embedded data dir (`npm run backup`, apps/api/src/backup; docs/adr/0031): a copy
// taken while writes go on starts, and is the data dir as it was at one moment (nothing derived past its log, every
// event's key kept, the notary's tree verifying); a deleted user's data is in none of its files (rule 12 at rest); a
// destination that exists, or a directory that is no data dir, is refused and nothing is left behind.
import { copyFileSync, cpSync, existsSync, mkdirSync, symlinkSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { DATA_FORMAT, claimDataDir } from '../apps/api/src/infrastructure/data-format';
import { checkDataDir } from '../apps/api/src/infrastructure/log-not-behind';
import { BackupProblem, backupDataDir } from '../apps/api/src/backup/backup-data-dir';
import { SYSTEM_KEY, type TestApp, startTestApp, tokenOf } from './support/app';
import { auditCli, runScript } from './support/audit-cli';
import { type ServerProcess, startServer } from './support/server-process';

const root = mkdtempSync(join(tmpdir(), 'rollcall-backup-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** an app started in this process over a data dir it claims, as the API's entry point does (a backup refuses a dir of another version) */
async function servingApp(env: Record<string, string> & { ROLLCALL_DATA_DIR: string }): Promise<TestApp> {
  const app = await startTestApp(env);
  claimDataDir(env.ROLLCALL_DATA_DIR, 'api');
  return app;
}

describe('backup of a live data dir (ADR 0031)', () => {
  let server: ServerProcess;
  let restored: TestApp | undefined;
  afterEach(async () => {
    await restored?.stop();
    restored = undefined;
  });
  afterAll(async () => server?.stop());

  it('backup: taken while invitations and teams are written, the copy starts, verifies, and holds a prefix of what the live service holds', async () => {
    const dataDir = join(root, 'live');
    server = await startServer({ dataDir });
    const o = await server.api.organization();
    const as = { key: o.key, actor: o.admin };
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing) {
        const n = written++;
        const invited = await server.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { ...as, body: { email: `w${n}@acme.test`, roles: ['agent'] } });
        expect(invited.status).toBe(201);
        if (n % 5 === 0) expect((await server.api.request('POST', `/v1/workspaces/${o.workspaceId}/teams`, { ...as, body: { name: `Team ${n}` } })).status).toBe(201);
      }
    })();
    while (written < 30) await new Promise((r) => setTimeout(r, 20));
    const backup = await runScript('apps/api/src/backup/main.ts', [join(root, 'copy')], { ROLLCALL_DATA_DIR: dataDir });
    const writtenAtBackupEnd = written;
    while (written < writtenAtBackupEnd + 20) await new Promise((r) => setTimeout(r, 20));
    writing = false;
    await writer;
    expect({ status: backup.status, stderr: backup.stderr }).toEqual({ status: 0, stderr: '' });
    expect(backup.stdout).toMatch(/copied events\.sqlite: .*\n.*copied keys\.sqlite: .*\nbackup of .* written to .*: \d+ files, .* bytes, checked, in \d+ ms; its log ends at position \d+\n$/);
    // leases and the development outbox stay behind; the write-ahead logs are inside each snapshot
    const files = readdirSync(join(root, 'copy'));
    expect(files.filter((f) => /lease|outbox|-wal$|-shm$/.test(f))).toEqual([]);
    expect(files).toEqual(expect.arrayContaining(['events.sqlite', 'keys.sqlite', 'read.sqlite', 'audit.sqlite', 'api.sqlite', 'secrets.json', 'audit-signing-key']));

    // the copy starts (its checks at start pass) and serves a prefix of the live invitations, each readable
    restored = await startTestApp({ ROLLCALL_DATA_DIR: join(root, 'copy') });
    const listed = async (api: TestApp['api'] | ServerProcess['api']) => {
      const page = await api.request('GET', `/v1/workspaces/${o.workspaceId}/members?status=pending&limit=500&sort=email`, as);
      expect(page.status).toBe(200);
      return new Set<string>(page.body.items.map((m: { email: string }) => m.email));
    };
    const head = (await restored.api.request('POST', `/v1/workspaces/${o.workspaceId}/teams`, { ...as, body: { name: 'After the restore' } })).body.position as string;
    await restored.api.request('GET', `/v1/workspaces/${o.workspaceId}/members?limit=1`, { ...as, headers: { 'x-min-position': head } });
    const inCopy = await listed(restored.api);
    const live = await listed(server.api);
    expect(inCopy.size).toBeGreaterThanOrEqual(30);
    expect(inCopy.size).toBeLessThan(live.size);
    expect([...inCopy].filter((email) => !live.has(email))).toEqual([]);
    // the notary's tree of the copy verifies against its log (signed checkpoints included)
    await restored.stop();
    restored = undefined;
    const verified = await auditCli(['verify', '--data-dir', join(root, 'copy'), '--threads', '1']);
    expect({ status: verified.status, stderr: verified.stderr.replace(/^note: .*\n/m, '') }).toEqual({ status: 0, stderr: '' });
  }, 120_000);

  it("backup: a deleted user's name and address are in no file of a backup taken after the deletion (rule 12 at rest)", async () => {
    const app = await servingApp({ ROLLCALL_DATA_DIR: join(root, 'erasing'), ROLLCALL_ERASURE_REWRITE_SECONDS: '3600' });
    try {
      const o = await app.api.organization();
      const as = { key: o.key, actor: o.admin };
      const invited = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { ...as, body: { email: 'quinn.backedup@acme.test', roles: ['agent'] } });
      const quinn = (await app.api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(invited.body.inviteUrl), displayName: 'Quinn Vaultname' } })).body.userId as string;
      const deleted = await app.api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${quinn}`, as);
      expect(deleted.status).toBe(200);
      await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members?limit=1`, { ...as, headers: { 'x-min-position': deleted.body.position } });
      await backupDataDir(join(root, 'erasing'), join(root, 'erased-copy'), (copy) => checkDataDir({ dataDir: copy }));
      const holding = readdirSync(join(root, 'erased-copy')).filter((f) => {
        const bytes = readFileSync(join(root, 'erased-copy', f)).toString('latin1');
        return bytes.includes('quinn.backedup') || bytes.includes('Vaultname');
      });
      expect(holding).toEqual([]);
    } finally {
      await app.stop();
    }
  }, 60_000);

  it('restore: a retry answered by the lost host after the backup is decided again, not replayed (probe 62 F1: its kept answer came back with later files)', async () => {
    const live = join(root, 'lost-host');
    let app = await servingApp({ ROLLCALL_DATA_DIR: live });
    const o = await app.api.organization();
    const as = { key: o.key, actor: o.admin };
    const invited = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { ...as, body: { email: 'rhea@acme.test', roles: ['agent'] } });
    const rhea = (await app.api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(invited.body.inviteUrl) } })).body.userId as string;
    await backupDataDir(live, join(root, 'before-deletion'), (copy) => checkDataDir({ dataDir: copy }));
    // after the backup, on the host about to be lost: a keyed deletion and a keyed invitation, answered
    const deletion = { ...as, headers: { 'idempotency-key': 'delete-rhea' } };
    const invitation = { ...as, headers: { 'idempotency-key': 'invite-sol' }, body: { email: 'sol@acme.test', roles: ['agent'] } };
    expect((await app.api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${rhea}`, deletion)).status).toBe(200);
    expect((await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, invitation)).status).toBe(201);
    await app.stop();
    // the restore mixes in the lost host's later api.sqlite (a copy of files taken at different moments)
    await backupDataDir(live, join(root, 'lost-host-end'), async () => undefined);
    copyFileSync(join(root, 'lost-host-end', 'api.sqlite'), join(root, 'before-deletion', 'api.sqlite'));
    app = await startTestApp({ ROLLCALL_DATA_DIR: join(root, 'before-deletion') });
    try {
      const retried = await app.api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${rhea}`, deletion);
      expect({ status: retried.status, replayed: retried.headers.get('idempotency-replayed') }).toEqual({ status: 200, replayed: null });
      const user = await app.api.request('GET', `/v1/organizations/${o.organizationId}/users/${rhea}`, { ...as, headers: { 'x-min-position': retried.body.position } });
      expect(user.body).toMatchObject({ deleted: true });
      const invitedAgain = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, invitation);
      expect({ status: invitedAgain.status, replayed: invitedAgain.headers.get('idempotency-replayed') }).toEqual({ status: 201, replayed: null });
      // and the new answer is the one kept from now on
      const thirdTime = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, invitation);
      expect({ replayed: thirdTime.headers.get('idempotency-replayed'), invitationId: thirdTime.body.invitationId }).toEqual({ replayed: 'true', invitationId: invitedAgain.body.invitationId });
    } finally {
      await app.stop();
    }
  }, 60_000);

  it('restore: the erasure journal deletes again the users deleted since the backup, erases again the addresses erased since, revokes again the keys revoked since, before any request (probe 62 F2, F3)', async () => {
    const live = join(root, 'journaled-host');
    const journal = join(root, 'elsewhere', 'erasures.jsonl');
    let app = await servingApp({ ROLLCALL_DATA_DIR: live, ROLLCALL_ERASURE_JOURNAL: journal });
    const o = await app.api.organization();
    const as = { key: o.key, actor: o.admin };
    const invited = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { ...as, body: { email: 'tess.journaled@acme.test', roles: ['agent'] } });
    const tess = (await app.api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(invited.body.inviteUrl), displayName: 'Tess Journaled' } })).body.userId as string;
    const rotated = (await app.api.request('POST', `/v1/organizations/${o.organizationId}/api-keys`, as)).body.apiKey as string;
    expect((await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { ...as, body: { email: 'only.invited@example.org', roles: ['agent'] } })).status).toBe(201);
    await backupDataDir(live, join(root, 'journaled-backup'), (copy) => checkDataDir({ dataDir: copy }));
    // after the backup: the user deleted, the organization's first key revoked (it leaked), each journaled before its answer
    const deleted = await app.api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${tess}`, as);
    expect(deleted.status).toBe(200);
    expect((await app.api.request('DELETE', `/v1/organizations/${o.organizationId}/api-keys/${o.key.split('_')[2]}`, { key: rotated, actor: o.admin })).status).toBe(200);
    const erasure = await app.api.request('POST', `/v1/organizations/${o.organizationId}/address-erasures`, { key: rotated, actor: o.admin, body: { email: 'only.invited@example.org' } });
    expect(erasure.status).toBe(201);
    const lines = readFileSync(journal, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
    // first the journal's own id (the data dir's marker records it: probe 117 F1), then one line per erasure
    expect(lines).toEqual([
      { kind: 'JournalMade', journalId: readFileSync(join(live, 'erasure-journal-used'), 'utf8').split('\n')[1], at: expect.any(String) },
      { kind: 'UserDeleted', at: expect.any(String), organizationId: o.organizationId, userId: tess, actorId: o.admin, position: deleted.body.position },
      { kind: 'ApiKeyRevoked', at: expect.any(String), organizationId: o.organizationId, keyId: o.key.split('_')[2], position: expect.any(String) },
      { kind: 'AddressErased', at: expect.any(String), organizationId: o.organizationId, erasureId: erasure.body.erasureId, actorId: o.admin, invitations: [{ workspaceId: o.workspaceId, invitationId: erasure.body.invitationIds[0] }], position: erasure.body.position },
    ]);
    expect(readFileSync(journal, 'utf8')).not.toMatch(/tess\.journaled|only\.invited/);
    await app.stop();

    // the host is lost; the backup is restored. Started without the journal, it is refused before anything is opened
    // (probe 116 F1: served, the deleted user's name and address came back)
    await expect(startServer({ dataDir: join(root, 'journaled-backup') })).rejects.toThrow(
      /exited with 78 before listening:\n[\s\S]*- ROLLCALL_ERASURE_JOURNAL is not set, but this data dir has used an erasure journal \(.*erasures\.jsonl\) \(.*erasure-journal-used\): set it to that journal/,
    );
    // nor with another journal, an empty one made on the new host (probe 117 F1: it started, and served Tess again)
    const another = join(root, 'elsewhere', 'made-anew.jsonl');
    writeFileSync(another, '');
    await expect(startServer({ dataDir: join(root, 'journaled-backup'), env: { ROLLCALL_ERASURE_JOURNAL: another } })).rejects.toThrow(
      /exited with 78 before listening:\n[\s\S]*- ROLLCALL_ERASURE_JOURNAL is .*made-anew\.jsonl, but this data dir used the erasure journal .*erasures\.jsonl/,
    );
    // nor with a journal made anew where the lost one was (an empty file at the same path: its first line names no journal)
    const kept = readFileSync(journal, 'utf8');
    writeFileSync(journal, '');
    await expect(startServer({ dataDir: join(root, 'journaled-backup'), env: { ROLLCALL_ERASURE_JOURNAL: journal } })).rejects.toThrow(
      /exited with 78 before listening:\n[\s\S]*- ROLLCALL_ERASURE_JOURNAL .*erasures\.jsonl is not the erasure journal this data dir wrote to/,
    );
    writeFileSync(journal, kept);
    // with the journal kept apart
    app = await startTestApp({ ROLLCALL_DATA_DIR: join(root, 'journaled-backup'), ROLLCALL_ERASURE_JOURNAL: journal });
    try {
      expect((await app.api.request('GET', `/v1/organizations/${o.organizationId}/users/${tess}`, { key: rotated, actor: o.admin })).body).toMatchObject({ deleted: true, email: null });
      expect((await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members`, { key: o.key, actor: o.admin })).status).toBe(401);
      const head = (await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/teams`, { key: rotated, actor: o.admin, body: { name: 'After' } })).body.position as string;
      const members = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members?q=tess`, { key: rotated, actor: o.admin, headers: { 'x-min-position': head } });
      expect(members.body.items).toEqual([]);
      const pending = await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members?status=pending`, { key: rotated, actor: o.admin, headers: { 'x-min-position': head } });
      expect(pending.status).toBe(200);
      expect(JSON.stringify(pending.body.items)).not.toContain('only.invited');
      // and no file of the data dir holds the address: not the erasure's own idempotency key, recorded in its events'
      // metadata for good (probe 64 F1: it named the address)
      const dir = join(root, 'journaled-backup');
      expect(readdirSync(dir).filter((f) => f !== 'outbox.jsonl' && readFileSync(join(dir, f)).toString('latin1').includes('only.invited'))).toEqual([]);
    } finally {
      await app.stop();
    }
  }, 60_000);

  it('restore: a closing since the backup is done again, whole — the last org admin and last owner too (probe 77 F5: her deletion alone was refused LAST_OWNER)', async () => {
    const live = join(root, 'closing-host');
    const journal = join(root, 'elsewhere-closing', 'erasures.jsonl');
    let app = await servingApp({ ROLLCALL_DATA_DIR: live, ROLLCALL_ERASURE_JOURNAL: journal });
    const o = await app.api.organization();
    await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: 'closing.invited@example.org' } });
    await backupDataDir(live, join(root, 'closing-backup'), (copy) => checkDataDir({ dataDir: copy }));
    const closed = await app.api.request('POST', `/v1/organizations/${o.organizationId}/close`, { key: SYSTEM_KEY, body: { confirmName: 'Acme' } });
    expect(closed.body).toMatchObject({ closed: true, usersDeleted: 1, addressesErased: 1 });
    expect(readFileSync(journal, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l).kind)).toEqual(['JournalMade', 'OrganizationClosing', 'ApiKeyRevoked', 'UserDeleted', 'AddressErased']);
    await app.stop();

    app = await startTestApp({ ROLLCALL_DATA_DIR: join(root, 'closing-backup'), ROLLCALL_ERASURE_JOURNAL: journal });
    try {
      expect((await app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members`, { key: o.key, actor: o.admin })).status).toBe(401);
      const again = await app.api.request('POST', `/v1/organizations/${o.organizationId}/close`, { key: SYSTEM_KEY, body: { confirmName: 'Acme' } });
      expect(again.body).toMatchObject({ closed: true, usersDeleted: 0, addressesErased: 0 });
      const dir = join(root, 'closing-backup');
      const feed = JSON.stringify((await app.api.request('GET', '/v1/events?limit=1000', { key: SYSTEM_KEY })).body.items);
      for (const personal of [o.adminEmail, 'closing.invited@example.org', 'Ada Admin']) expect(feed).not.toContain(personal);
      expect(readdirSync(dir).length).toBeGreaterThan(0);
    } finally {
      await app.stop();
    }
  }, 60_000);

  it('the erasure journal failing: the deletion is made, answered 503 with a sentence naming the journal, /health says so; the entry is written once the journal takes lines (probe 63 F6, probe 64 F9)', async () => {
    const journal = join(root, 'not-a-directory', 'erasures.jsonl');
    // a journal that cannot be read stops the start: after a restore it would serve again what was erased
    writeFileSync(join(root, 'not-a-directory'), '');
    await expect(startTestApp({ ROLLCALL_DATA_DIR: join(root, 'journal-unreadable'), ROLLCALL_ERASURE_JOURNAL: journal })).rejects.toThrow(/ROLLCALL_ERASURE_JOURNAL .* cannot be (read|made) \((ENOTDIR|EEXIST)\)/);
    rmSync(join(root, 'not-a-directory'));
    const app = await startTestApp({ ROLLCALL_DATA_DIR: join(root, 'journal-failing'), ROLLCALL_ERASURE_JOURNAL: journal });
    try {
      // the journal becomes something it cannot append to, after the start (made empty there at the start)
      rmSync(journal);
      mkdirSync(journal);
      const o = await app.api.organization();
      const as = { key: o.key, actor: o.admin };
      const invited = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { ...as, body: { email: 'uma@acme.test', roles: ['agent'] } });
      const uma = (await app.api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(invited.body.inviteUrl) } })).body.userId as string;
      const deletion = { ...as, headers: { 'idempotency-key': 'delete-uma' } };
      const refused = await app.api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${uma}`, deletion);
      expect([refused.status, refused.body.code, refused.body.detail]).toEqual([503, 'EVENT_STORE_UNAVAILABLE', expect.stringMatching(/^The change was made, but the erasure journal could not record it yet \((EEXIST|ENOTDIR|EISDIR)\): this server records it as soon as the journal takes writes/)]);
      const health = await app.api.request('GET', '/health', {});
      expect([health.status, health.body.info.erasureJournal]).toEqual([200, { status: 'up', failing: true, message: expect.stringContaining('cannot be written') }]);
      // the journal's disk back: the entry kept is written within a second or two, without any request (an address
      // erasure's retry is answered 410: probe 64 F9), and /health says so
      rmSync(journal, { recursive: true });
      // (the line is in the file once appended, and the journal is healthy again once it is synced to the disk just
      // after: ci136 read /health between the two)
      const journalState = async () => (await app.api.request('GET', '/health', {})).body.info.erasureJournal;
      for (let i = 0; i < 50 && (!existsSync(journal) || (await journalState()).failing !== false); i++) await new Promise((r) => setTimeout(r, 100));
      expect(readFileSync(journal, 'utf8')).toContain(`"userId":"${uma}"`);
      expect(await journalState()).toEqual({ status: 'up', failing: false });
      // a retry with the key is answered from the log
      expect((await app.api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${uma}`, deletion)).status).toBe(200);
    } finally {
      await app.stop();
    }
  }, 60_000);

  it('backup: refuses a destination that exists, a path inside the data dir, a directory without a log; a copy that fails its check is not left', async () => {
    const dataDir = join(root, 'live');
    mkdirSync(join(root, 'taken'));
    await expect(backupDataDir(dataDir, join(root, 'taken'), async () => undefined)).rejects.toThrow(/exists: give a new path/);
    await expect(backupDataDir(dataDir, join(dataDir, 'inside'), async () => undefined)).rejects.toThrow(/overlap/);
    mkdirSync(join(root, 'empty'));
    writeFileSync(join(root, 'empty', 'secrets.json'), '{}');
    await expect(backupDataDir(join(root, 'empty'), join(root, 'nothing'), async () => undefined)).rejects.toThrow(BackupProblem);
    // a path that holds no data dir is told so, not that an earlier version wrote it (probe 94 F2)
    for (const notOne of [join(root, 'empty'), join(root, 'no-such-dir'), join(root, 'empty', 'secrets.json')])
      await expect(backupDataDir(notOne, join(root, 'nothing'), async () => undefined)).rejects.toThrow('holds no events.sqlite: not an embedded data dir');
    await expect(backupDataDir(dataDir, join(root, 'refused'), async () => Promise.reject(new Error('check failed')))).rejects.toThrow('check failed');
    expect([existsSync(join(root, 'refused')), existsSync(join(root, 'refused.partial'))]).toEqual([false, false]);
    // a `.partial` that exists is never removed (probe 63 F2: it was the data dir); a link into the data dir is inside it (F7)
    mkdirSync(join(root, 'left.partial'));
    writeFileSync(join(root, 'left.partial', 'keep-me'), 'x');
    await expect(backupDataDir(dataDir, join(root, 'left'), async () => undefined)).rejects.toThrow(/left\.partial exists/);
    expect(existsSync(join(root, 'left.partial', 'keep-me'))).toBe(true);
    cpSync(dataDir, join(root, 'victim.partial'), { recursive: true });
    await expect(backupDataDir(join(root, 'victim.partial'), join(root, 'victim'), async () => undefined)).rejects.toThrow(/overlap/);
    expect(existsSync(join(root, 'victim.partial', 'events.sqlite'))).toBe(true);
    symlinkSync(dataDir, join(root, 'link-to-live'));
    await expect(backupDataDir(dataDir, join(root, 'link-to-live', 'copy'), async () => undefined)).rejects.toThrow(/overlap/);
    // over servers, the tool is not the way: said so, exit 64
    const overServers = await runScript('apps/api/src/backup/main.ts', [join(root, 'servers')], { EVENTSTORE_URL: 'esdb://localhost:2113?tls=false' });
    expect([overServers.status, overServers.stderr]).toEqual([64, expect.stringContaining('back them up with their own tools')]);
    // an unknown option, an option without its value: said with the usage, exit 64 (probe 116 F2: a stack, exit 1)
    for (const [args, said] of [
      [[join(root, 'b1'), '--bogus'], "Unknown option '--bogus'"],
      [[join(root, 'b2'), '--data-dir'], "Option '--data-dir <value>' argument missing"],
    ] as const) {
      const bad = await runScript('apps/api/src/backup/main.ts', [...args], {});
      expect([bad.status, bad.stderr.split('\n')[0], bad.stderr.includes('npm run backup -- <destination>'), bad.stderr.includes('    at ')]).toEqual([64, expect.stringContaining(said), true, false]);
    }
  }, 60_000);

  it('backup: a data dir another version wrote is refused before anything is copied, saying how to back it up (probe 93 F2: the copy was converted to this version, and the earlier one could not restore it)', async () => {
    const check = async () => undefined;
    for (const [name, format, said] of [
      ['unmarked', undefined, 'written by an earlier version of Rollcall (no data-format mark'],
      ['earlier', DATA_FORMAT - 1, `written by an earlier version of Rollcall (data format ${DATA_FORMAT - 1}`],
      ['later', DATA_FORMAT + 1, `written by a later version of Rollcall (data format ${DATA_FORMAT + 1}`],
    ] as const) {
      const dataDir = join(root, `other-version-${name}`);
      mkdirSync(dataDir);
      writeFileSync(join(dataDir, 'events.sqlite'), '');
      if (format !== undefined) {
        const db = new DatabaseSync(join(dataDir, 'data-format.sqlite'));
        db.exec(`CREATE TABLE data_format (id INTEGER PRIMARY KEY, format INTEGER NOT NULL, since INTEGER NOT NULL); INSERT INTO data_format VALUES (1, ${format}, 0)`);
        db.close();
      }
      const destination = join(root, `copy-of-${name}`);
      await expect(backupDataDir(dataDir, destination, check)).rejects.toThrow(BackupProblem);
      await expect(backupDataDir(dataDir, destination, check)).rejects.toThrow(said);
      expect([existsSync(destination), existsSync(`${destination}.partial`)]).toEqual([false, false]);
      // nothing written into it either (no mark made)
      expect(readdirSync(dataDir).sort()).toEqual(format === undefined ? ['events.sqlite'] : ['data-format.sqlite', 'events.sqlite']);
    }
    const earlier = await runScript('apps/api/src/backup/main.ts', [join(root, 'copy-of-earlier')], { ROLLCALL_DATA_DIR: join(root, 'other-version-earlier') });
    expect(earlier.status).toBe(78);
    expect(earlier.stderr).toContain('Stop its processes and copy the directory whole (cp -a) as its backup');
  });
});
