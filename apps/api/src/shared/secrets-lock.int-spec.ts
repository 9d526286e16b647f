// Two processes adding a field to an existing secrets.json at the same moment (replicas started together after the
// operator unset ROLLCALL_SYSTEM_API_KEY, or on a data dir from before the invitation secret was kept): each generated
// its own and renamed it into place, the last one winning on disk while the other served with its own. Now the field
// is decided under `secrets.json.lock`, from the file as it is once the lock is held.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SECRETS_LOCK_STALE_MS, loadLocalSecrets } from './secrets';

const root = join(__dirname, '../../../..');
const SYSTEM = { systemApiKey: 'rk_system_secrets-spec-0123456789' };

/** a process loading the data dir's secrets (as a replica's start does), printing the invitation secret it took */
function loadInChild(dataDir: string): { child: ChildProcess; secret: Promise<string> } {
  const code = `const { loadLocalSecrets } = require('./apps/api/src/shared/secrets'); process.stdout.write(loadLocalSecrets(process.argv[1], ${JSON.stringify(SYSTEM)}).invitationSecret)`;
  const child = spawn(
    process.execPath,
    ['--no-experimental-strip-types', '-r', './tools/register.cjs', '-e', code, dataDir],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  return { child, secret: new Promise((resolve) => child.once('exit', () => resolve(out))) };
}

describe('secrets.json updated by several processes at once', () => {
  let dataDir: string;
  let file: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'rollcall-secrets-lock-'));
    file = join(dataDir, 'secrets.json');
    // a data dir whose file lacks the invitation secret
    writeFileSync(file, JSON.stringify({ systemKeyHash: 'x'.repeat(64) }), { mode: 0o600 });
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('a process adding a field waits for the lock, then takes what the holder stored instead of generating its own', async () => {
    writeFileSync(`${file}.lock`, 'another process');
    const loading = loadInChild(dataDir);
    // it has read the file (no invitation secret) and waits: without the lock it would have stored its own and ended
    await new Promise((r) => setTimeout(r, 3_000));
    expect(loading.child.exitCode).toBeNull();
    // the holder stores its secret, then lets go
    writeFileSync(
      file,
      JSON.stringify({ systemKeyHash: 'x'.repeat(64), invitationSecret: 'the-holders-invitation-secret' }),
    );
    rmSync(`${file}.lock`);
    expect(await loading.secret).toBe('the-holders-invitation-secret');
    expect(JSON.parse(readFileSync(file, 'utf8')).invitationSecret).toBe('the-holders-invitation-secret');
  }, 30_000);

  it('a lock left by a process that died holding it is taken over once it is stale; the lock is gone afterwards', () => {
    writeFileSync(`${file}.lock`, 'a dead process');
    const stale = (Date.now() - SECRETS_LOCK_STALE_MS - 1_000) / 1000;
    utimesSync(`${file}.lock`, stale, stale);
    const secret = loadLocalSecrets(dataDir, SYSTEM).invitationSecret;
    expect(secret).toMatch(/^[\w-]{64}$/);
    expect(JSON.parse(readFileSync(file, 'utf8')).invitationSecret).toBe(secret);
    expect(() => readFileSync(`${file}.lock`)).toThrow(/ENOENT/);
  });
});
