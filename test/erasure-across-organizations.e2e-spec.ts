// Rule 12 across organizations (docs/rules.md#rule-12, docs/adr/0003 "Session 24"): an invitation's address is sealed
// under its key within the organization, so deleting a user in one organization erases nothing of another
// organization's user who holds the same address — the same person working for two customers, or an address passed
// on (probe 23c: the deletion blanked that user's history, and their pending invitation answered 410). Checked on the
// replica that deleted, on another replica that held the other organization's workspace in memory, and after a restart
// that loads that workspace from a snapshot written before the deletion. (Invitations sent before session 24 shared
// one address subject across organizations; what the API does about those is specified in the specs that write them
// so: apps/api/src/shared/testing/invitations-before-session-24.ts.)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { type TestApp, startTestApp, tokenOf } from './support/app';

const ADDRESS = 'shared.person@acme.test';

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

interface HistoryItem {
  userId: string | null;
  email: string | null;
  change: string;
}

describe("rule 12: a deletion in one organization erases nothing of another organization's user of the same address", () => {
  let dataDir: string;
  const started: TestApp[] = [];
  // a snapshot after every load that folded an event: the workspaces below have one before the deletion
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

  it("the other organization's user keeps their history, profile and pending invitation (its link, and its acceptance), on the replica that deleted, on another that held it in memory, and after a restart from a snapshot", async () => {
    const holder = await start();
    const deleter = await start();
    // organization B: the person is a member of one workspace, and invited (bound to them) to another
    const b = await holder.api.organization();
    const asB = { key: b.key, actor: b.admin };
    const u2 = await holder.api.member({ ...asB, workspaceId: b.workspaceId }, ADDRESS);
    const other = (await holder.api.request('POST', `/v1/organizations/${b.organizationId}/workspaces`, { ...asB, body: { name: 'Two' } })).body.workspaceId as string;
    const pending = await holder.api.request('POST', `/v1/workspaces/${other}/invitations`, { ...asB, body: { email: ADDRESS } });
    expect(pending.status).toBe(201);
    const linkIn = (app: TestApp) => app.api.request('GET', `/v1/workspaces/${other}/invitations/${pending.body.invitationId}/link`, asB);
    expect((await linkIn(holder)).body.email).toBe(ADDRESS);
    const snapshotBefore = await eventually(() => snapshotId(dataDir, other), (id) => id !== undefined);
    expect(snapshotBefore).toBeDefined();

    // organization A, on the other replica: the same address is a user there, deleted
    const a = await deleter.api.organization();
    const asA = { key: a.key, actor: a.admin };
    const d = await deleter.api.member({ ...asA, workspaceId: a.workspaceId }, ADDRESS);
    const deleted = await deleter.api.request('DELETE', `/v1/organizations/${a.organizationId}/users/${d}`, asA);
    expect(deleted.status).toBe(200);
    const after = { headers: { 'x-min-position': String(deleted.body.position) } };

    // organization A's own: the address is gone from its history
    const historyA = (await deleter.api.request('GET', `/v1/workspaces/${a.workspaceId}/history`, { ...asA, ...after })).body.items as HistoryItem[];
    expect(JSON.stringify(historyA)).not.toContain(ADDRESS);

    for (const app of [deleter, holder]) {
      const read = { ...asB, ...after };
      const history = (await app.api.request('GET', `/v1/workspaces/${b.workspaceId}/history`, read)).body.items as HistoryItem[];
      expect(history.filter((h) => h.change === 'invited').map((h) => h.email)).toEqual([ADDRESS]);
      expect((await app.api.request('GET', `/v1/workspaces/${b.workspaceId}/members/${u2}`, read)).body.email).toBe(ADDRESS);
      const listed = await app.api.request('GET', `/v1/workspaces/${other}/members?status=pending`, read);
      expect(listed.body.items.map((m: { email: string | null }) => m.email)).toEqual([ADDRESS]);
    }
    // the holder has heard of the deletion by now (its log subscription polls every 100 ms): its memory keeps the address
    await new Promise((r) => setTimeout(r, 500));
    for (const app of [holder, deleter]) expect(await linkIn(app)).toMatchObject({ status: 200, body: { email: ADDRESS } });

    // cold: the workspace comes from the snapshot written before the deletion, which is kept (nothing of it was erased)
    for (const app of started.splice(0)) await app.stop();
    const third = await start();
    expect(await linkIn(third)).toMatchObject({ status: 200, body: { email: ADDRESS } });
    expect(snapshotId(dataDir, other)).toBe(snapshotBefore);
    const accepted = await third.api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(pending.body.inviteUrl) } });
    expect({ status: accepted.status, userId: accepted.body.userId }).toEqual({ status: 200, userId: u2 });
  }, 60_000);
});
