import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../config';
import { loadLocalSecrets } from './secrets';

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
