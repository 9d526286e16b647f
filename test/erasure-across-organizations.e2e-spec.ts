// Rule 12 across organizations (docs/rules.md#crypto-shredding, docs/adr/0013 point 4): the address of an invitation
// is a data subject shared by every organization, so deleting a user in one organization erases the pending
// invitations to their addresses in the others — with no event in those workspaces. What a process holds of those
// workspaces (a cached state, a snapshot written before the deletion) must read as a replay does: no address, no
// link to copy, nothing to mail. test/probe-defects.e2e-spec.ts covers the process that deleted; here: another
// replica that had the workspace in memory, and a restart that loads it from a snapshot written before the deletion.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { type TestApp, expectProblem, startTestApp } from './support/app';
import { outbox } from './support/outbox';

const ADDRESS = 'shared.person@acme.test';

/** the outbox lines mailed to the address */
const mailsTo = (dataDir: string) => outbox({ dataDir }).filter((m) => m.to === ADDRESS).length;

/** the id in the clear head of the stored snapshot of the workspace (undefined: none) */
function snapshotId(dataDir: string, workspaceId: string): string | undefined {
  const db = new DatabaseSync(join(dataDir, 'snapshots.sqlite'), { readOnly: true });
  try {
    const row = db.prepare('SELECT head FROM snapshots WHERE stream = ?').get(`workspace-${workspaceId}`) as { head: string } | undefined;
    return row ? (JSON.parse(row.head) as { id: string }).id : undefined;
  } finally {
    db.close();
  }
}

async function eventually<T>(probe: () => Promise<T> | T, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('rule 12: an address erased by a deletion in another organization is gone from every replica\'s memory and from snapshots written before', () => {
  let dataDir: string;
  const started: TestApp[] = [];
  // a snapshot after every load that folded an event: the workspace below has one before the deletion
  const start = async () => {
    const app = await startTestApp({ ROLLCALL_DATA_DIR: dataDir, ROLLCALL_SNAPSHOT_EVERY: '1' });
    started.push(app);
    return app;
  };

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'rollcall-erasure-across-'));
  });
  afterEach(async () => {
    for (const app of started.splice(0)) await app.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('another replica holding the workspace in memory: its link, resend and accept refuse once its log subscription sees the deletion', async () => {
    const holder = await start();
    const deleter = await start();
    const b = await holder.api.organization();
    const invited = await holder.api.request('POST', `/v1/workspaces/${b.workspaceId}/invitations`, { key: b.key, actor: b.admin, body: { email: ADDRESS } });
    expect(invited.status).toBe(201);
    const link = () => holder.api.request('GET', `/v1/workspaces/${b.workspaceId}/invitations/${invited.body.invitationId}/link`, { key: b.key, actor: b.admin });
    expect((await link()).body.email).toBe(ADDRESS);

    // the other replica: the person is a user of organization A there, and is deleted
    const a = await deleter.api.organization();
    const person = await deleter.api.member({ key: a.key, actor: a.admin, workspaceId: a.workspaceId }, ADDRESS);
    expect((await deleter.api.request('DELETE', `/v1/organizations/${a.organizationId}/users/${person}`, { key: a.key, actor: a.admin })).status).toBe(200);

    const after = await eventually(link, (r) => r.status !== 200);
    expect(JSON.stringify(after.body)).not.toContain(ADDRESS);
    expectProblem(after, 410, 'INVITATION_ADDRESSEE_ERASED');
    const mails = mailsTo(dataDir);
    expectProblem(await holder.api.request('POST', `/v1/workspaces/${b.workspaceId}/invitations/${invited.body.invitationId}/resend`, { key: b.key, actor: b.admin }), 410, 'INVITATION_ADDRESSEE_ERASED');
    expect(mailsTo(dataDir)).toBe(mails);
    // the address can be invited again there
    expect((await holder.api.request('POST', `/v1/workspaces/${b.workspaceId}/invitations`, { key: b.key, actor: b.admin, body: { email: ADDRESS } })).status).toBe(201);
  }, 30_000);

  it('a restart loading the workspace from a snapshot written before the deletion: the address is gone, and the snapshot is written again', async () => {
    const first = await start();
    const b = await first.api.organization();
    const invited = await first.api.request('POST', `/v1/workspaces/${b.workspaceId}/invitations`, { key: b.key, actor: b.admin, body: { email: ADDRESS } });
    expect(invited.status).toBe(201);
    const linkIn = (app: TestApp) => app.api.request('GET', `/v1/workspaces/${b.workspaceId}/invitations/${invited.body.invitationId}/link`, { key: b.key, actor: b.admin });
    expect((await linkIn(first)).body.email).toBe(ADDRESS);
    const before = await eventually(() => snapshotId(dataDir, b.workspaceId), (id) => id !== undefined);
    expect(before).toBeDefined();
    await first.stop();
    started.splice(0);

    // a process that never loads organization B's workspace deletes the person in organization A
    const second = await start();
    const a = await second.api.organization();
    const person = await second.api.member({ key: a.key, actor: a.admin, workspaceId: a.workspaceId }, ADDRESS);
    expect((await second.api.request('DELETE', `/v1/organizations/${a.organizationId}/users/${person}`, { key: a.key, actor: a.admin })).status).toBe(200);
    await second.stop();
    started.splice(0);
    expect(snapshotId(dataDir, b.workspaceId)).toBe(before);

    // cold: the workspace comes from that snapshot
    const third = await start();
    const after = await linkIn(third);
    expect(JSON.stringify(after.body)).not.toContain(ADDRESS);
    expectProblem(after, 410, 'INVITATION_ADDRESSEE_ERASED');
    // the stored snapshot that held the address is replaced
    expect(await eventually(() => snapshotId(dataDir, b.workspaceId), (id) => id !== before)).not.toBe(before);
  }, 30_000);
});
