import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkpointText, readSigningKey, signerFromSeed } from '@rollcall/audit';
import { main } from '../apps/audit-cli/src/main';
import { UsageError } from '../apps/audit-cli/src/verify';
import { type TestApp, startTestApp } from './support/app';
import { auditCli } from './support/audit-cli';
import { checkpointLargerThan } from './support/checkpoints';

/*
 * The auditor's CLI over the real app: `checkpoint` keeps the latest signed checkpoint with an organization's key,
 * `consistency` later checks that the log extends it (docs/rules.md#verifiable-history, "Proofs"; probe 33 O2). The
 * endpoints themselves are tested in audit.e2e-spec.ts; the check's cases over built trees in consistency.spec.ts.
 */
let app: TestApp;
let org: Awaited<ReturnType<TestApp['api']['organization']>>;
let publicKey: string;
const work = mkdtempSync(join(tmpdir(), 'rollcall-audit-consistency-'));
const b = (s: string) => Buffer.from(s, 'base64');

beforeAll(async () => {
  app = await startTestApp({ ROLLCALL_AUDIT_CHECKPOINT_MS: '100', ROLLCALL_DATA_DIR: join(work, 'data') });
  org = await app.api.organization();
  publicKey = (await app.api.request('GET', '/v1/audit/public-key')).body.trim();
  await checkpointLargerThan(app, 0);
}, 30_000);

afterAll(async () => {
  await app?.stop();
  rmSync(work, { recursive: true, force: true });
});

const cli = (...args: string[]) => auditCli(args);

describe('verifiable history: a customer\'s auditor checks that the log extends a kept checkpoint', () => {
  it("the CLI keeps a checkpoint with an organization's key and later checks that the log extends it; a fork or a cut-back log exits 1", async () => {
    const as = ['--url', app.url, '--key', org.key, '--public-key', publicKey];
    const kept = join(work, 'cli-kept');
    const keep = await cli('checkpoint', ...as, '--out', kept);
    expect({ status: keep.status, stdout: keep.stdout }).toEqual({ status: 0, stdout: `wrote the checkpoint to ${kept}\n` });
    const keptSize = Number(readFileSync(kept, 'utf8').split('\n')[1]);
    const same = await cli('consistency', ...as, '--checkpoint', kept);
    expect(same.stdout).toMatch(/^consistent: /);
    expect(same.status).toBe(0);

    await app.api.member({ key: org.key, actor: org.admin, workspaceId: org.workspaceId }, 'even.later@acme.test');
    await checkpointLargerThan(app, keptSize);
    const rolled = join(work, 'cli-rolled');
    const grown = await cli('consistency', ...as, '--checkpoint', kept, '--out', rolled);
    expect(grown.stdout).toMatch(new RegExp(`^consistent: the signed tree of (\\d+) leaves extends your kept checkpoint of ${keptSize} \\(console\\.acme\\.test/audit\\)\\nwrote the latest checkpoint to `));
    expect(grown.status).toBe(0);
    expect(Number(readFileSync(rolled, 'utf8').split('\n')[1])).toBeGreaterThan(keptSize);
    const json = await cli('consistency', ...as, '--checkpoint', rolled, '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, origin: 'console.acme.test/audit' });

    // checkpoints the notary's own key signed for a log the server does not have: what an operator who rewrote or
    // cut back the log since would face (the key is in the data dir: the test plays that operator)
    const signer = signerFromSeed('console.acme.test/audit', readSigningKey(app.dataDir)!);
    const [, , root] = readFileSync(kept, 'utf8').split('\n');
    writeFileSync(join(work, 'cli-forked'), signer.sign(checkpointText({ origin: 'console.acme.test/audit', size: keptSize, root: Buffer.from(b(root!).map((x) => x ^ 1)) })));
    const forked = await cli('consistency', ...as, '--checkpoint', join(work, 'cli-forked'));
    expect(forked.stdout).toMatch(new RegExp(`^consistency FAILED: the signed tree of \\d+ leaves does not extend your kept checkpoint of ${keptSize}`));
    expect(forked.status).toBe(1);
    writeFileSync(join(work, 'cli-longer'), signer.sign(checkpointText({ origin: 'console.acme.test/audit', size: keptSize + 10_000, root: b(root!) })));
    const cut = await cli('consistency', ...as, '--checkpoint', join(work, 'cli-longer'), '--json');
    expect(JSON.parse(cut.stdout)).toMatchObject({ ok: false, problems: [expect.stringMatching(/fewer than the \d+ of your kept checkpoint: the log was cut back since$/)] });
    expect(cut.status).toBe(1);

    // usage (exit 2 through run(), as every UsageError: tested with verify's below): in this process, no child needed
    await expect(main(['consistency', '--url', app.url, '--key', org.key, '--checkpoint', kept])).rejects.toThrow(
      new UsageError('consistency needs --public-key: the notary key you trust (GET /v1/audit/public-key, kept from before)'),
    );
    await expect(main(['consistency', ...as])).rejects.toThrow(/^consistency needs one --checkpoint FILE/);
    await expect(main(['consistency', ...as, '--checkpoint', join(work, 'nothing-here')])).rejects.toThrow(/^cannot read .*nothing-here: ENOENT$/);
    await expect(main(['checkpoint', ...as, '--checkpoint', kept])).rejects.toThrow('--checkpoint does not apply to checkpoint');
    // a mistyped path to the key file is said so, not read as a damaged key (probe 116 F6); a file without a key too
    const missingKey = join(work, 'notary.pub-typo');
    await expect(main(['checkpoint', '--url', app.url, '--key', org.key, '--public-key', missingKey])).rejects.toThrow(new RegExp(`^--public-key: no file ${missingKey} \\(nor is it a verifier key given inline: `));
    // the kept key's option named as given (probe 117 F4: it was said as --public-key)
    await expect(main(['consistency', ...as, '--checkpoint', kept, '--kept-public-key', missingKey])).rejects.toThrow(new RegExp(`^--kept-public-key: no file ${missingKey} `));
    // an --out that cannot be a file is said before the API is asked (probe 117 F3: a stack after "consistent")
    await expect(main(['consistency', ...as, '--checkpoint', kept, '--out', join(work, 'no-such-dir', 'k.txt')])).rejects.toThrow(new UsageError(`--out ${join(work, 'no-such-dir', 'k.txt')}: there is no directory ${join(work, 'no-such-dir')}`));
    await expect(main(['checkpoint', ...as, '--out', work])).rejects.toThrow(new UsageError(`--out ${work} is a directory: name a file`));
    // an empty one (an unset variable's) is no file (probe 118 F4: the output went to stdout, exit 0)
    await expect(main(['checkpoint', ...as, '--out', ''])).rejects.toThrow(new UsageError('--out needs a file to write (it was given empty)'));
    await expect(main(['checkpoint', ...as, '--out', join(kept, 'k.txt')])).rejects.toThrow(new UsageError(`--out ${join(kept, 'k.txt')}: ${kept} is not a directory`));
    writeFileSync(join(work, 'not-a-key.txt'), 'hello\n');
    await expect(main(['checkpoint', '--url', app.url, '--key', org.key, '--public-key', join(work, 'not-a-key.txt')])).rejects.toThrow(/^--public-key: the file .*not-a-key\.txt holds no verifier key: /);
    // a checkpoint under another key than the one trusted
    const stranger = signerFromSeed('console.acme.test/audit', Buffer.alloc(32, 9)).verifier.text;
    const untrusted = await cli('checkpoint', '--url', app.url, '--key', org.key, '--public-key', stranger);
    expect({ status: untrusted.status, stderr: untrusted.stderr }).toEqual({ status: 1, stderr: expect.stringMatching(/^checkpoint FAILED: the API's latest checkpoint does not verify under the key you trust/) });
  });
});
