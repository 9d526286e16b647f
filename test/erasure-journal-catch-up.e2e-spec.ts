// The erasure journal caught up with the log at start (apps/api/src/backup/journal-catch-up.ts; docs/adr/0031): a
// deletion, a key revocation and an address erasure whose lines a process's death kept from the journal (appended to
// the log, answered or not, the line not yet written) are journaled by the next start, before any request, so that a
// restore from a backup taken before them does them again (probe 122 F4: only the client's retry journaled them).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, tokenOf } from './support/app';

const root = mkdtempSync(join(tmpdir(), 'rollcall-journal-catch-up-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const linesOf = (journal: string) =>
  readFileSync(journal, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('the erasure journal caught up with the log at start (probe 122 F4)', () => {
  it('a deletion, a revocation and an address erasure the log holds and the journal lost are journaled by the next start; one journaled is not twice', async () => {
    const dataDir = join(root, 'data');
    const journal = join(root, 'kept-apart', 'erasures.jsonl');
    let app = await startTestApp({ ROLLCALL_DATA_DIR: dataDir, ROLLCALL_ERASURE_JOURNAL: journal });
    const o = await app.api.organization();
    const as = { key: o.key, actor: o.admin };
    const invite = async (email: string) => (await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { ...as, body: { email, roles: ['agent'] } })).body;
    const join_ = async (email: string, displayName: string) => (await app.api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf((await invite(email)).inviteUrl), displayName } })).body.userId as string;
    const tess = await join_('tess.lost@acme.test', 'Tess Lost');
    const kept = await join_('kim.kept@acme.test', 'Kim Kept');
    const rotated = (await app.api.request('POST', `/v1/organizations/${o.organizationId}/api-keys`, as)).body.apiKey as string;
    await invite('only.invited@example.org');
    const keyId = o.key.split('_')[2]!;
    const asRotated = { key: rotated, actor: o.admin };
    expect((await app.api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${kept}`, asRotated)).status).toBe(200);
    const before = linesOf(journal);
    expect((await app.api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${tess}`, asRotated)).status).toBe(200);
    expect((await app.api.request('DELETE', `/v1/organizations/${o.organizationId}/api-keys/${keyId}`, asRotated)).status).toBe(200);
    const erasure = await app.api.request('POST', `/v1/organizations/${o.organizationId}/address-erasures`, { ...asRotated, body: { email: 'only.invited@example.org' } });
    expect(erasure.status).toBe(201);
    await app.stop();
    // its start found an empty log: nothing read, no mark (an empty log's head, -1, was written)
    expect(existsSync(join(dataDir, 'erasure-journal-checked'))).toBe(false);
    // the process died after those three appends and before their lines: the journal as it was before them
    writeFileSync(journal, `${before.map((l) => JSON.stringify(l)).join('\n')}\n`);

    app = await startTestApp({ ROLLCALL_DATA_DIR: dataDir, ROLLCALL_ERASURE_JOURNAL: journal });
    try {
      const lines = linesOf(journal);
      expect(lines.slice(0, before.length)).toEqual(before);
      expect(lines.slice(before.length)).toEqual([
        { kind: 'UserDeleted', at: expect.any(String), organizationId: o.organizationId, userId: tess, actorId: o.admin, position: expect.any(String) },
        { kind: 'ApiKeyRevoked', at: expect.any(String), organizationId: o.organizationId, keyId, position: expect.any(String) },
        {
          kind: 'AddressErased',
          at: expect.any(String),
          organizationId: o.organizationId,
          erasureId: erasure.body.erasureId,
          actorId: o.admin,
          invitations: [{ workspaceId: o.workspaceId, invitationId: erasure.body.invitationIds[0] }],
          position: expect.any(String),
        },
      ]);
      // the log's head at that start marked: the next start reads from there
      expect(readFileSync(join(dataDir, 'erasure-journal-checked'), 'utf8')).toMatch(/^[1-9]\d*\n$/);
      // (Kim's deletion was journaled when made: not again)
      expect(lines.filter((l) => l.userId === kept)).toHaveLength(1);
      expect(readFileSync(journal, 'utf8')).not.toMatch(/tess\.lost|only\.invited|Tess Lost/);
    } finally {
      await app.stop();
    }
    // a start with nothing new journals nothing more
    app = await startTestApp({ ROLLCALL_DATA_DIR: dataDir, ROLLCALL_ERASURE_JOURNAL: journal });
    await app.stop();
    expect(linesOf(journal)).toHaveLength(before.length + 3);
  }, 60_000);
});
