import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { writeFileDurably } from '@rollcall/event-store';
import { join } from 'node:path';
import { NoteError, generateSeed } from './note';

/** Where the notary keeps its generated signing key (when ROLLCALL_AUDIT_SIGNING_KEY is not set). */
export const signingKeyFile = (dataDir: string) => join(dataDir, 'audit-signing-key');

/**
 * An Ed25519 private key (the 32-byte seed) as configured: base64 or hex of the seed, or a Go-style note signer key
 * `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>` (its name is ignored: the origin names the log).
 */
export function parseSigningKey(text: string): Buffer {
  const value = text.trim();
  if (value.startsWith('PRIVATE+KEY+')) {
    const parts = /^PRIVATE\+KEY\+[^+]+\+[0-9a-f]{8}\+(.+)$/s.exec(value);
    const key = Buffer.from(parts?.[1] ?? '', 'base64');
    if (!parts || key.length !== 33 || key[0] !== 0x01) throw new NoteError('A PRIVATE+KEY signer key is PRIVATE+KEY+<name>+<hex id>+<base64 of 0x01 and the 32-byte key>');
    return key.subarray(1);
  }
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  const b64 = Buffer.from(value, value.includes('-') || value.includes('_') ? 'base64url' : 'base64');
  if (b64.length === 32 && /^[A-Za-z0-9+/_-]{43}=?$/.test(value)) return b64;
  throw new NoteError('The audit signing key is 32 bytes (an Ed25519 seed) in base64 or hex, or a PRIVATE+KEY+… note signer key');
}

/**
 * The file's content; written first when missing: whole under a temporary name, then linked into place only if no
 * other process (a replica starting on the same data dir at the same moment) did it first, so that every process
 * reads the one content the file holds.
 */
export function createdOnce(file: string, dataDir: string, content: () => string): string {
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    // flushed to the disk before it is used (probe 51 F2: a key file empty after a host crash)
    writeFileDurably(file, content(), { mode: 0o600, replace: false });
    chmodSync(file, 0o600);
  }
  return readFileSync(file, 'utf8');
}

/** The configured key, else the one generated once into the data dir (0600). */
export function loadOrCreateSigningKey(dataDir: string, configured?: string): Buffer {
  if (configured) return parseSigningKey(configured);
  return parseSigningKey(createdOnce(signingKeyFile(dataDir), dataDir, () => `${generateSeed().toString('base64')}\n`));
}

/**
 * The log's name when none is configured: the one the data dir was given at its first start (`proposed` then), kept
 * in `audit-origin`. Derived anew at each start from the public URL (whose default names the process's port), two
 * replicas over one data dir signed the one log under two names, and a takeover of the notary renamed it: every
 * earlier checkpoint then failed to verify under the key the API published.
 */
export function loadOrCreateOrigin(dataDir: string, proposed: string): string {
  return createdOnce(join(dataDir, 'audit-origin'), dataDir, () => `${proposed}\n`).trim();
}

/** The data dir's key, if the notary generated one there (the audit CLI's default verifier). */
export function readSigningKey(dataDir: string): Buffer | undefined {
  const file = signingKeyFile(dataDir);
  return existsSync(file) ? parseSigningKey(readFileSync(file, 'utf8')) : undefined;
}

/**
 * The default origin (and key name) from the public URL: host and path without the scheme, plus `/audit`, as C2SP
 * recommends (`example.com/log`).
 */
export function originFromPublicUrl(publicUrl: string): string {
  const url = new URL(publicUrl);
  return `${url.host}${url.pathname.replace(/\/+$/, '')}/audit`;
}
