import { DatabaseSync } from 'node:sqlite';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../settings';
import { loadLocalSecrets } from './secrets';
import { protectDataDir, unwritableFiles } from './data-dir-access';

const SYSTEM = { systemApiKey: 'rk_system_secrets-spec-0123456789' };
const SECRET = 'a-configured-invitation-secret-of-at-least-32-characters';

describe('ROLLCALL_INVITATION_SECRET against the data dir (probe 32 F4)', () => {
  let dataDir: string;
  let file: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'rollcall-secrets-'));
    file = join(dataDir, 'secrets.json');
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));
  const stored = () => JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  const refusal = (invitationSecret?: string) => {
    try {
      loadLocalSecrets(dataDir, { ...SYSTEM, invitationSecret });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
    throw new Error('accepted');
  };

  it('over a generated secret: another one set is refused, saying how to move it to the environment; the same one set is taken', () => {
    const generated = loadLocalSecrets(dataDir, SYSTEM).invitationSecret;
    expect(stored().invitationSecret).toBe(generated);
    const before = readFileSync(file, 'utf8');
    expect(refusal(SECRET)).toBe(
      `Invalid configuration:\n  - ROLLCALL_INVITATION_SECRET differs from the invitation secret this data dir generated (invitationSecret in ${file}): ` +
        'every link already mailed and every answer kept under an Idempotency-Key are keyed by it, and would fail. ' +
        'To move the secret to the environment, set ROLLCALL_INVITATION_SECRET to that value (or leave it unset)',
    );
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(loadLocalSecrets(dataDir, { ...SYSTEM, invitationSecret: generated }).invitationSecret).toBe(generated);
    expect(loadLocalSecrets(dataDir, SYSTEM).invitationSecret).toBe(generated);
  });

  it('set from the first start: secrets.json keeps a salted check, never the secret; replicas with it start; another one, or none, is refused', () => {
    expect(loadLocalSecrets(dataDir, { ...SYSTEM, invitationSecret: SECRET }).invitationSecret).toBe(SECRET);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(SECRET);
    expect(stored()).toEqual({ invitationSecretCheck: expect.stringMatching(/^scrypt:[\w-]{22}:[\w-]{43}$/) });
    expect(loadLocalSecrets(dataDir, { ...SYSTEM, invitationSecret: SECRET }).invitationSecret).toBe(SECRET);
    expect(refusal(`${SECRET}-rotated`)).toContain(`ROLLCALL_INVITATION_SECRET differs from the one this data dir was started with (its check: invitationSecretCheck in ${file})`);
    // unset, a secret was generated silently beside the check
    expect(refusal(undefined)).toContain('ROLLCALL_INVITATION_SECRET is not set, but this data dir was started with one');
    expect(readFileSync(file, 'utf8')).toBe(text);
  });
});

describe('secrets.json lost or empty after a crash (probe 51 F2)', () => {
  let dataDir: string;
  let file: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'rollcall-secrets-lost-'));
    file = join(dataDir, 'secrets.json');
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('an empty or broken file stops the start with one sentence (a ConfigError: exit 78), not a SyntaxError', () => {
    for (const content of ['', '{"invitationSecret": "abc', '[]']) {
      writeFileSync(file, content);
      expect(() => loadLocalSecrets(dataDir, SYSTEM)).toThrow(ConfigError);
      expect(() => loadLocalSecrets(dataDir, SYSTEM)).toThrow(/restore it from the data dir's backup/);
      expect(readFileSync(file, 'utf8')).toBe(content);
    }
  });

  it('a missing file beside a data dir started before is refused, not replaced by a new secret; with the secret set it starts', () => {
    const generated = loadLocalSecrets(dataDir, SYSTEM).invitationSecret;
    writeFileSync(join(dataDir, 'audit.sqlite'), '');
    rmSync(file);
    expect(() => loadLocalSecrets(dataDir, SYSTEM)).toThrow(/secrets\.json is missing, but this data dir was started before .*restore secrets\.json/);
    expect(() => readFileSync(file)).toThrow();
    // the operator knows the secret (or accepts a new one): set, it is taken
    expect(loadLocalSecrets(dataDir, { ...SYSTEM, invitationSecret: generated }).invitationSecret).toBe(generated);
  });

  it('a missing file beside an event log that holds events is refused too, audit.sqlite moved aside or not (probe 62 F7: it started as a new install); an empty log is a first start', () => {
    loadLocalSecrets(dataDir, SYSTEM);
    rmSync(file);
    const log = new DatabaseSync(join(dataDir, 'events.sqlite'));
    log.exec('CREATE TABLE events (position INTEGER PRIMARY KEY, type TEXT)');
    // a log made by a first start that died before its first write: nothing was made under the old secret
    expect(() => loadLocalSecrets(dataDir, SYSTEM)).not.toThrow();
    rmSync(file);
    log.exec("INSERT INTO events (type) VALUES ('OrganizationCreated')");
    log.close();
    expect(() => loadLocalSecrets(dataDir, SYSTEM)).toThrow(/secrets\.json is missing, but this data dir was started before \(its events\.sqlite holds events\)/);
    expect(() => readFileSync(file)).toThrow();
  });

  it('one that holds no secret ({}) beside a data dir started before is as lost as a missing one; a directory of that name is one sentence (probe 54 F5)', () => {
    loadLocalSecrets(dataDir, SYSTEM);
    writeFileSync(join(dataDir, 'audit.sqlite'), '');
    writeFileSync(file, '{}');
    expect(() => loadLocalSecrets(dataDir, SYSTEM)).toThrow(/was started before/);
    expect(readFileSync(file, 'utf8')).toBe('{}');
    rmSync(file);
    mkdirSync(file);
    expect(() => loadLocalSecrets(dataDir, SYSTEM)).toThrow(ConfigError);
    expect(() => loadLocalSecrets(dataDir, SYSTEM)).toThrow(/cannot be read \(EISDIR\)/);
  });

  it('a first start writes it whole and flushed: never empty, never a temporary file left', () => {
    loadLocalSecrets(dataDir, SYSTEM);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ invitationSecret: expect.any(String) });
    expect(readdirSync(dataDir).filter((name) => name.startsWith('secrets.json.'))).toEqual([]);
  });
});

describe('a data dir whose files this process cannot write (probe 41 F3)', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'rollcall-unwritable-'));
    for (const name of ['events.sqlite', 'read.sqlite', 'secrets.json']) writeFileSync(join(dataDir, name), '');
    mkdirSync(join(dataDir, 'lost+found'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));
  // what access(2) answers a process of another user than the files' (as root, this test's user in CI, every file is writable)
  const deniedFor = (...names: string[]) => (path: string) => {
    if (names.some((name) => path.endsWith(`/${name}`))) throw Object.assign(new Error(`EACCES: permission denied, access '${path}'`), { code: 'EACCES' });
  };

  it('names its own files it cannot write (a link to one too); a directory (a volume\'s lost+found) and a file not its own are not looked at (probe 41b F3)', () => {
    writeFileSync(join(dataDir, 'README.operator'), 'notes of the operator');
    symlinkSync(join(dataDir, 'secrets.json'), join(dataDir, 'presence.sqlite'));
    expect(unwritableFiles(dataDir, deniedFor('events.sqlite', 'lost+found', 'README.operator', 'presence.sqlite')).sort()).toEqual(['events.sqlite', 'presence.sqlite']);
    expect(unwritableFiles(dataDir, deniedFor())).toEqual([]);
  });

  it('the start refuses it with one sentence naming the files and the fix (a ConfigError: exit 78)', () => {
    expect(() => protectDataDir(dataDir, deniedFor('events.sqlite', 'read.sqlite'))).toThrow(ConfigError);
    expect(() => protectDataDir(dataDir, deniedFor('read.sqlite'))).toThrow(/read\.sqlite is not writable by this process's user .*chown/);
    expect(() => protectDataDir(dataDir, deniedFor())).not.toThrow();
  });

  it('what others could read is closed; what its operator made read-only stays so, and the start refuses it naming the directory and the fix (probe 95 F8)', () => {
    const modeOf = (name: string) => statSync(join(dataDir, name)).mode & 0o777;
    chmodSync(join(dataDir, 'read.sqlite'), 0o644);
    chmodSync(join(dataDir, 'events.sqlite'), 0o400);
    chmodSync(dataDir, 0o555);
    try {
      expect(() => protectDataDir(dataDir, deniedFor('.'))).toThrow(/cannot be used: the directory is not writable by this process's user \(uid \d+\): .*chmod u\+w/);
      // (a start made them 0700 and 0600 again, without a word)
      expect([statSync(dataDir).mode & 0o777, modeOf('events.sqlite'), modeOf('read.sqlite')]).toEqual([0o500, 0o400, 0o600]);
    } finally {
      chmodSync(dataDir, 0o700);
    }
  });

  it('a process running as root refuses a data dir of another user: the files it made there would refuse that user next (probe 96 F7)', () => {
    // (as root, as in CI, the dir is given to `nobody` first; as another user it is that user's already)
    if (statSync(dataDir).uid === 0) chownSync(dataDir, 65534, 65534);
    const owner = statSync(dataDir).uid;
    expect(() => protectDataDir(dataDir, () => undefined, 0)).toThrow(new RegExp(`belongs to another user \\(uid ${owner}\\), and this process runs as root: run it as that user, or give the dir to root`));
    // its own user's, or root's own dir for root: taken
    expect(() => protectDataDir(dataDir, () => undefined, owner)).not.toThrow();
  });
});
