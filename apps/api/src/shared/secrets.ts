import { type KeyObject, createHmac, createSecretKey, hash, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileDurably } from '@rollcall/event-store';
import { ConfigError } from '../settings';
import { whyStartedBefore } from './command-path/started-before';
import { protectDataDir } from './data-dir-access';

// the one-shot hash: cheaper than a Hash object (API keys are hashed on every request)
export const sha256 = (text: string): string => hash('sha256', text, 'hex');
export const randomSecret = (bytes = 32): string => randomBytes(bytes).toString('base64url');

export const safeEqual = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * Organization API keys look like `rk_<organizationId>_<keyId>_<secret>`: the organization and key id say where
 * to look, the 256-bit secret is checked against the SHA-256 hash recorded in the organization's stream.
 */
export const formatOrgKey = (organizationId: string, keyId: string, secret: string) => `rk_${organizationId}_${keyId}_${secret}`;

export const parseOrgKey = (key: string): { organizationId: string; keyId: string; secret: string } | undefined => {
  const m = /^rk_([0-9a-f-]{36})_([0-9a-f-]{36})_([A-Za-z0-9_-]{43})$/.exec(key);
  return m ? { organizationId: m[1]!, keyId: m[2]!, secret: m[3]! } : undefined;
};

/**
 * Secrets kept in the data dir when not configured: the system key's hash (the key is printed once on first
 * start) and the invitation-link HMAC secret. In production both come from the environment.
 */
export interface LocalSecrets {
  systemKeyHash: string;
  invitationSecret: string;
  /** set only on the start that generated it: print it once (also when that start then fails: main.ts) */
  generatedSystemKey?: string;
}

export function loadLocalSecrets(dataDir: string, configured: { systemApiKey?: string; invitationSecret?: string }): LocalSecrets {
  protectDataDir(dataDir);
  const file = join(dataDir, 'secrets.json');
  if (!existsSync(file)) {
    refuseLostSecrets(dataDir, file, configured.invitationSecret);
    const made = completed({}, configured, file);
    // a replica starting on the same data dir at the same moment stored its secrets first: use those
    if (!storeSecrets(file, made.stored, false)) return loadLocalSecrets(dataDir, configured);
    return resolved(made, configured);
  }
  const stored = readSecrets(file);
  // a file that holds no invitation secret and no check of one (`{}`): as lost as a missing one (probe 54 F5)
  if (!stored.invitationSecret && !stored.invitationSecretCheck) refuseLostSecrets(dataDir, file, configured.invitationSecret);
  let made = completed(stored, configured, file);
  // a field to add to the file: decided again under its lock, from the file as it is then. Two replicas adding one at
  // the same moment each kept their own (a different invitation secret each), the last rename winning on disk.
  if (made.changed)
    made = withFileLock(file, () => {
      const again = completed(readSecrets(file), configured, file);
      if (again.changed) storeSecrets(file, again.stored, true);
      return again;
    });
  return resolved(made, configured);
}

/** secrets.json as stored; one that is empty or not JSON stops the start with one sentence (probe 51 F2: a stack, exit 1) */
function readSecrets(file: string): StoredSecrets {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    // a directory of that name, a file this user may not read: one sentence, exit 78 (probe 54 F5: a stack, exit 1)
    throw new ConfigError([`${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): it must be the data dir's secrets file; restore it from the data dir's backup`]);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as StoredSecrets;
  } catch {
    // named below
  }
  throw new ConfigError([
    `${file} is ${text.trim() === '' ? 'empty' : 'not the JSON this process writes'} (a write that never reached the disk before a crash, or an edit): restore it from the data dir's backup. ` +
      'Do not remove it: a new invitation secret would fail every link already mailed and every answer kept under an Idempotency-Key',
  ]);
}


/** The stored secrets with what is missing generated (refused first when a configured secret is not the data dir's). */
function completed(stored: StoredSecrets, configured: { systemApiKey?: string; invitationSecret?: string }, file: string) {
  // before anything is generated or stored: a refused start leaves the data dir as it was
  checkInvitationSecret(file, stored, configured.invitationSecret);
  let generatedSystemKey: string | undefined;
  let changed = false;
  if (configured.invitationSecret && !stored.invitationSecret && !stored.invitationSecretCheck) {
    stored.invitationSecretCheck = secretCheck(configured.invitationSecret);
    changed = true;
  }
  if (!configured.systemApiKey && !stored.systemKeyHash) {
    generatedSystemKey = `rk_system_${randomSecret()}`;
    stored.systemKeyHash = sha256(generatedSystemKey);
    changed = true;
  }
  if (!configured.invitationSecret && !stored.invitationSecret) {
    stored.invitationSecret = randomSecret(48);
    changed = true;
  }
  return { stored, changed, generatedSystemKey };
}

/**
 * secrets.json missing from a data dir started before (its audit.sqlite, written after the secrets at every first
 * start, is there; or its embedded event log holds events — probe 62 F7: audit.sqlite moved aside as the docs advise
 * for a log that lost its end, and a backup without secrets.json, started as a new install): lost, not new. Generating a new invitation secret then failed every pending link and decided every
 * retry under an Idempotency-Key again (probe 51 F2: an invitation retried with its key was made twice). Refused,
 * unless the operator sets the secret (the one the file held, or a new one knowing what that breaks).
 */
function refuseLostSecrets(dataDir: string, file: string, configuredSecret: string | undefined): void {
  if (configuredSecret) return;
  const startedBefore = whyStartedBefore(dataDir);
  if (!startedBefore) return;
  throw new ConfigError([
    `${file} is missing, but this data dir was started before (${startedBefore}): restore secrets.json from the data dir's backup. ` +
      'A new invitation secret would fail every link already mailed and every answer kept under an Idempotency-Key (retries decided again); ' +
      'to start anyway, set ROLLCALL_INVITATION_SECRET (the secret the file held, or a new one, accepting that)',
  ]);
}

const resolved = (made: ReturnType<typeof completed>, configured: { systemApiKey?: string; invitationSecret?: string }): LocalSecrets => ({
  systemKeyHash: configured.systemApiKey ? sha256(configured.systemApiKey) : made.stored.systemKeyHash!,
  invitationSecret: configured.invitationSecret ?? made.stored.invitationSecret!,
  generatedSystemKey: made.generatedSystemKey,
});

/** a lock file older than this was left by a process that died holding it (the work under it takes milliseconds) */
export const SECRETS_LOCK_STALE_MS = 10_000;

/**
 * Runs `work` while holding `<file>.lock` (created exclusively; other processes wait for it, polling every 20 ms). A
 * lock older than SECRETS_LOCK_STALE_MS is taken over. Synchronous, as the start that calls it.
 */
function withFileLock<T>(file: string, work: () => T): T {
  const lock = `${file}.lock`;
  for (;;) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx', mode: 0o600 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > SECRETS_LOCK_STALE_MS) rmSync(lock, { force: true });
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
  try {
    return work();
  } finally {
    rmSync(lock, { force: true });
  }
}

interface StoredSecrets {
  systemKeyHash?: string;
  /** the generated invitation secret (none was configured at the data dir's first start) */
  invitationSecret?: string;
  /** a configured one's check (`scrypt:<salt>:<hash>`): the secret itself stays in the environment */
  invitationSecretCheck?: string;
}

const SCRYPT = { N: 16_384, r: 8, p: 1 };
/** salted and slow: a chosen secret of 32 characters may be guessable from a fast hash of it */
const secretCheck = (secret: string, salt = randomBytes(16).toString('base64url')): string =>
  `scrypt:${salt}:${scryptSync(secret, salt, 32, SCRYPT).toString('base64url')}`;

/**
 * The invitation secret keys every link mailed and the fingerprint of every answer kept under an Idempotency-Key:
 * another one taken silently made every link fail and every retry a 422 IDEMPOTENCY_KEY_REUSED (probe 32 F4). So a
 * configured secret must be the data dir's (the generated one, or the one whose check its first start recorded), and
 * a data dir started with a configured one needs it set again.
 */
function checkInvitationSecret(file: string, stored: StoredSecrets, configured: string | undefined): void {
  const breaks = 'every link already mailed and every answer kept under an Idempotency-Key are keyed by it, and would fail';
  if (configured && stored.invitationSecret && !safeEqual(configured, stored.invitationSecret))
    throw new ConfigError([
      `ROLLCALL_INVITATION_SECRET differs from the invitation secret this data dir generated (invitationSecret in ${file}): ${breaks}. ` +
        'To move the secret to the environment, set ROLLCALL_INVITATION_SECRET to that value (or leave it unset)',
    ]);
  const check = stored.invitationSecretCheck;
  if (!check || stored.invitationSecret) return;
  if (!configured)
    throw new ConfigError([
      `ROLLCALL_INVITATION_SECRET is not set, but this data dir was started with one (its check: invitationSecretCheck in ${file}): set it again; ` +
        'a secret generated instead would fail every link already mailed and every answer kept under an Idempotency-Key',
    ]);
  const salt = check.split(':')[1] ?? '';
  if (!safeEqual(secretCheck(configured, salt), check))
    throw new ConfigError([
      `ROLLCALL_INVITATION_SECRET differs from the one this data dir was started with (its check: invitationSecretCheck in ${file}): ${breaks}. ` +
        'Set the one it was started with; the secret cannot be changed',
    ]);
}

/**
 * Writes the secrets whole, flushed to the disk, under a temporary name, then moves them into place, so no process
 * reads a half-written file and no crash leaves an empty one (writeFileDurably). A new file is linked into place only
 * if no other process created it first (then false: read theirs).
 */
const storeSecrets = (file: string, stored: object, replace: boolean): boolean => writeFileDurably(file, JSON.stringify(stored, null, 2), { mode: 0o600, replace });

/**
 * Invitation links: `<payload>.<signature>` where payload = base64url(orgId:workspaceId:invitationId:linkVersion)
 * and signature = HMAC-SHA256(secret, payload). The server recomputes the current link ("copy link") and checks
 * a presented one; nothing secret is stored in events, and a resend (new linkVersion) invalidates older links.
 */
export class InvitationLinks {
  constructor(
    private readonly secret: string,
    private readonly publicUrl: string,
  ) {}

  token(ref: InvitationRef): string {
    const payload = Buffer.from(`${ref.organizationId}:${ref.workspaceId}:${ref.invitationId}:${ref.linkVersion}`).toString('base64url');
    return `${payload}.${this.sign(payload)}`;
  }

  url(ref: InvitationRef): string {
    return `${this.publicUrl}/invite?token=${this.token(ref)}`;
  }

  verify(token: string): InvitationRef | undefined {
    const m = /^([A-Za-z0-9_-]{1,400})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!m || !safeEqual(this.sign(m[1]!), m[2]!)) return undefined;
    const parts = Buffer.from(m[1]!, 'base64url').toString().split(':');
    if (parts.length !== 4 || !/^\d+$/.test(parts[3]!)) return undefined;
    return { organizationId: parts[0]!, workspaceId: parts[1]!, invitationId: parts[2]!, linkVersion: Number(parts[3]) };
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.secret).update(payload).digest('base64url');
  }
}

export interface InvitationRef {
  organizationId: string;
  workspaceId: string;
  invitationId: string;
  linkVersion: number;
}

/**
 * Secrets a write hands out once (an organization's API key), derived from the server's secret and the write's
 * idempotency key: a retry of the write answers the same key again without it ever being stored in the data dir
 * (the stored answer leaves it out). Unguessable without the server's secret.
 */
export class DerivedSecrets {
  /** a KeyObject: an HMAC keyed with a string imports the key again on every call */
  private readonly fingerprintKey: KeyObject;
  private readonly recordedKeyKey: KeyObject;

  constructor(private readonly serverSecret: string) {
    this.fingerprintKey = createSecretKey(createHmac('sha256', serverSecret).update('request-fingerprint').digest());
    this.recordedKeyKey = createSecretKey(createHmac('sha256', serverSecret).update('recorded-idempotency-key').digest());
  }

  /**
   * A client's Idempotency-Key as the log records it (its events' `idempotencyKey` and `causationId`) and api.sqlite
   * keeps it: keyed, as the fingerprint is. A client may build its keys from what it is about (`invite:jane@acme.test`),
   * and the log keeps every event for good, where a deletion's erasure cannot reach (rule 12, docs/rules.md#rule-12;
   * docs/adr/0004, session 33). The scope stays readable: an organization's id, `system`, a link's hashed token.
   */
  recordedKey(scope: string, clientKey: string): string {
    return `${scope}:#${createHmac('sha256', this.recordedKeyKey).update(clientKey).digest('base64url')}`;
  }

  /**
   * The fingerprint of a request kept with its Idempotency-Key (api.sqlite, the metadata of its events): keyed, so
   * that it is no unsalted hash of the personal data in the body (an address can not be tested against it).
   */
  fingerprint(canonicalRequest: string): string {
    return createHmac('sha256', this.fingerprintKey).update(canonicalRequest).digest('base64url');
  }

  forWrite(purpose: string, idempotencyKey: string): string {
    return createHmac('sha256', this.serverSecret).update(`${purpose}\0${idempotencyKey}`).digest('base64url');
  }
}

/**
 * Email-confirmation links (docs/rules.md#rule-10): `<payload>.<signature>` where payload =
 * base64url(orgId:userId:version) and signature = HMAC-SHA256(secret, "email-confirmation:" + payload). The
 * version numbers the user's change requests, so only the latest link works; nothing secret is stored.
 */
export class EmailConfirmationLinks {
  constructor(
    private readonly secret: string,
    private readonly publicUrl: string,
  ) {}

  url(ref: EmailConfirmationRef): string {
    const payload = Buffer.from(`${ref.organizationId}:${ref.userId}:${ref.version}`).toString('base64url');
    return `${this.publicUrl}/confirm-email?token=${payload}.${this.sign(payload)}`;
  }

  verify(token: string): EmailConfirmationRef | undefined {
    const m = /^([A-Za-z0-9_-]{1,400})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!m || !safeEqual(this.sign(m[1]!), m[2]!)) return undefined;
    const parts = Buffer.from(m[1]!, 'base64url').toString().split(':');
    if (parts.length !== 3 || !/^\d+$/.test(parts[2]!)) return undefined;
    return { organizationId: parts[0]!, userId: parts[1]!, version: Number(parts[2]) };
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.secret).update(`email-confirmation:${payload}`).digest('base64url');
  }
}

export interface EmailConfirmationRef {
  organizationId: string;
  userId: string;
  version: number;
}
