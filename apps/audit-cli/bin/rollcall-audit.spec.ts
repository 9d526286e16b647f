// The `rollcall-audit` bin (package.json "bin"): the same exit codes as `npm run audit` (docs/verifiable-history.md):
// 0 checked, 1 a check failed, 2 a usage error, an unknown option included, with the usage printed after it.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSeed, signerFromSeed } from '@rollcall/audit';

const ROOT = join(__dirname, '..', '..', '..');

// The bin runs the built CLI when `npm run build` made one, else the sources. A build left in the checkout may be
// older than the sources, so the bin runs here from a copy of the repository's layout that has no dist/: the bin
// itself, and links to the CLI's sources and the register hook.
const layout = mkdtempSync(join(tmpdir(), 'rollcall-audit-bin-'));
const bin = join(layout, 'apps', 'audit-cli', 'bin', 'rollcall-audit.cjs');
mkdirSync(join(layout, 'apps', 'audit-cli', 'bin'), { recursive: true });
copyFileSync(join(ROOT, 'apps', 'audit-cli', 'bin', 'rollcall-audit.cjs'), bin);
symlinkSync(join(ROOT, 'apps', 'audit-cli', 'src'), join(layout, 'apps', 'audit-cli', 'src'));
symlinkSync(join(ROOT, 'tools'), join(layout, 'tools'));
afterAll(() => rmSync(layout, { recursive: true, force: true }));

const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
const USAGE_START = 'rollcall-audit <command> [options]';

describe('the rollcall-audit bin (over the sources)', () => {
  it.each([
    ['an unknown option', ['verify', '--bogus'], "Unknown option '--bogus'"],
    ['an option without its value', ['verify', '--data-dir'], "Option '--data-dir <value>' argument missing"],
    ['an unknown command', ['frobnicate'], 'unknown command frobnicate'],
    ['a missing option', ['verify'], 'verify needs --data-dir DIR'],
    ['no command', [], ''],
  ])('exits 2 on a usage error (%s), printing the usage', (_what, args, message) => {
    const result = run(...args);
    expect(result.status).toBe(2);
    expect(`${result.stderr}${result.stdout}`).toContain(message);
    expect(`${result.stderr}${result.stdout}`).toContain(USAGE_START);
  });

  it('exits 0 with the usage on --help, and 1 on a check that fails', () => {
    const help = run('--help');
    expect({ status: help.status, usage: help.stdout.startsWith(USAGE_START) }).toEqual({ status: 0, usage: true });
    const proof = join(layout, 'proof.json');
    writeFileSync(proof, '{}');
    const key = signerFromSeed('test.example/audit', generateSeed()).verifier.text;
    const failed = run('check-proof', proof, '--public-key', key);
    expect({ status: failed.status, stdout: failed.stdout.trim() }).toEqual({ status: 1, stdout: 'proof FAILED: not a rollcall-inclusion-proof/v1 file' });
  });
});
