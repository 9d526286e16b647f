// A new signing key for the notary, the old one leaked (probe 60: no procedure was documented; docs/verifiable-history.md
// "A new signing key"): the operator stops the service, moves the notary's tree and key files aside (the evidence of
// what the old key signed), starts with a new key; the notary signs the whole log again under it — the tree is a
// function of the log, so its roots are the old ones at every size —, and an auditor's checkpoint kept under the old
// key is checked to be extended by the tree the new key signs (`consistency --kept-public-key`).
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestApp, startTestApp } from './support/app';
import { auditCli } from './support/audit-cli';
import { checkpointLargerThan } from './support/checkpoints';

const work = mkdtempSync(join(tmpdir(), 'rollcall-audit-new-key-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('verifiable history: the notary moved to a new key', () => {
  it('a checkpoint kept under the old key is extended by the tree the new key signs; under the new key alone it does not open', async () => {
    const dataDir = join(work, 'data');
    const env = { ROLLCALL_AUDIT_CHECKPOINT_MS: '100', ROLLCALL_DATA_DIR: dataDir };
    let app: TestApp = await startTestApp(env);
    const org = await app.api.organization();
    const oldKey = (await app.api.request('GET', '/v1/audit/public-key')).body.trim() as string;
    await checkpointLargerThan(app, 0);
    const kept = join(work, 'kept');
    expect((await auditCli(['checkpoint', '--url', app.url, '--key', org.key, '--public-key', oldKey, '--out', kept])).status).toBe(0);
    await app.stop();

    // the procedure: the tree and the key files aside (kept as evidence), the log's name kept, a new key made at start
    mkdirSync(join(work, 'old-notary'));
    for (const file of ['audit.sqlite', 'audit-signing-key', 'audit-public-key']) renameSync(join(dataDir, file), join(work, 'old-notary', file));
    rmSync(join(dataDir, 'audit.sqlite-wal'), { force: true });
    rmSync(join(dataDir, 'audit.sqlite-shm'), { force: true });
    app = await startTestApp(env);
    try {
      const newKey = (await app.api.request('GET', '/v1/audit/public-key')).body.trim() as string;
      expect(newKey).not.toBe(oldKey);
      await app.api.member({ key: org.key, actor: org.admin, workspaceId: org.workspaceId }, 'after.the.new.key@acme.test');
      const keptSize = Number(readFileSync(kept, 'utf8').split('\n')[1]);
      await checkpointLargerThan(app, keptSize);
      const as = ['--url', app.url, '--key', org.key, '--checkpoint', kept];
      const renewed = await auditCli(['consistency', ...as, '--public-key', newKey, '--kept-public-key', oldKey]);
      expect({ status: renewed.status, stdout: renewed.stdout }).toEqual({ status: 0, stdout: expect.stringMatching(new RegExp(`^consistent: the signed tree of \\d+ leaves extends your kept checkpoint of ${keptSize}`)) });
      const oneKey = await auditCli(['consistency', ...as, '--public-key', newKey]);
      expect([oneKey.status, oneKey.stdout]).toEqual([1, expect.stringContaining('your kept checkpoint does not verify under the key you trust')]);
    } finally {
      await app.stop();
    }
  }, 90_000);
});
