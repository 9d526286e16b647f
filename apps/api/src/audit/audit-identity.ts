import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteTreeStore, createdOnce, holdsTree, loadOrCreateOrigin, loadOrCreateSigningKey, openCheckpoint, parseSigningKey, readSigningKey, signerFromSeed, signingKeyFile } from '@rollcall/audit';
import type { Config } from '../config';
import { ConfigError } from '../settings';

/** The notary's name for the log and its signing key (the seed), as the data dir records them. */
export interface AuditIdentity {
  origin: string;
  seed: Buffer;
}

/** Where the public half of the signing key is recorded (a configured key's private half stays in the environment). */
export const publicKeyFile = (dataDir: string) => join(dataDir, 'audit-public-key');

const NO_ROTATION =
  'the log keeps one name and one key for good: its earlier checkpoints (and an auditor\'s kept ones) verify under no other (to move the notary to a new key, a leaked one: docs/verifiable-history.md, "A new signing key")';

/**
 * The log's name and signing key, checked against what the data dir recorded at its first start, and recorded there
 * when it recorded nothing yet: `audit-origin` (the name, configured or not), `audit-public-key` (the key's public
 * half, configured or not) and `audit-signing-key` (a generated key). A name or key that differs stops the start (ConfigError): taken
 * silently, the notary signed on under it and `audit verify` failed an untouched log (probe 32 F3). Replicas started
 * with the same values all pass; two started together with different ones cannot both pass, as each records its own
 * value before it checks the other's. Called before the app is built (app.module.ts), so the refusal is one sentence
 * and exit 78 (main.ts).
 */
export function loadAuditIdentity(config: Pick<Config, 'dataDir' | 'audit'>): AuditIdentity {
  const { dataDir, audit } = config;
  const problems: string[] = [];
  // a signed tree names the log (its checkpoints' first line): a data dir that lost `audit-origin` records that name
  const signed = latestSignedNote(dataDir);
  const origin = loadOrCreateOrigin(dataDir, signed?.slice(0, signed.indexOf('\n')) ?? audit.origin);
  if (audit.originConfigured && origin !== audit.origin)
    problems.push(
      `ROLLCALL_AUDIT_ORIGIN is "${audit.origin}", but this data dir's log is signed under "${origin}" (kept in ${join(dataDir, 'audit-origin')}): ` +
        `set it to that, or leave it unset; ${NO_ROTATION}`,
    );
  // the notary's tree is the key's (checked before a key is made or recorded: a refused start leaves no key behind)
  if (signed) {
    const seed = audit.signingKey ? parseSigningKey(audit.signingKey) : readSigningKey(dataDir);
    if (seed) signedTreeCheck(dataDir, origin, seed, signed, audit.signingKey !== undefined, problems);
    else if (!existsSync(publicKeyFile(dataDir)))
      problems.push(`the notary's tree in ${treeFile(dataDir)} is signed, but this data dir has no key (${signingKeyFile(dataDir)}, ${publicKeyFile(dataDir)}): ${RESTORE}`);
    if (problems.length > 0) throw new ConfigError(problems);
  }
  const seed = audit.signingKey ? configuredKey(dataDir, parseSigningKey(audit.signingKey), problems) : generatedKey(dataDir, problems);
  if (problems.length > 0 || !seed) throw new ConfigError(problems);
  return { origin, seed };
}

const treeFile = (dataDir: string) => join(dataDir, 'audit.sqlite');
const RESTORE = `its key files were replaced or removed: restore them (or set ROLLCALL_AUDIT_SIGNING_KEY to the key that signed it); ${NO_ROTATION}`;

/** the notary's latest signed checkpoint in the data dir, if any */
function latestSignedNote(dataDir: string): string | undefined {
  if (!holdsTree(treeFile(dataDir))) return undefined;
  const tree = new SqliteTreeStore(treeFile(dataDir), { readOnly: true });
  try {
    return tree.latestCheckpoint()?.note;
  } finally {
    tree.close();
  }
}

/**
 * The notary's tree must be the key's: its latest signed checkpoint verifies under it. Deleting `audit-signing-key`
 * and `audit-public-key` had the next start make a new key and sign on into the same tree, which then verified under
 * neither key (probe 44 F3). A data dir without a tree (or none signed yet) starts a new one, with a warning (the
 * notary's).
 */
function signedTreeCheck(dataDir: string, origin: string, seed: Buffer, note: string, configured: boolean, problems: string[]): void {
  const signedUnder = note.slice(0, note.indexOf('\n'));
  if (signedUnder !== origin) {
    problems.push(`the notary's tree in ${treeFile(dataDir)} is signed under the name "${signedUnder}", but ${join(dataDir, 'audit-origin')} says "${origin}": restore it; ${NO_ROTATION}`);
    return;
  }
  const verifier = signerFromSeed(origin, seed).verifier;
  try {
    openCheckpoint(note, verifier);
  } catch (error) {
    // the note's error names the key ids that signed it and the one tried (note.ts)
    const why = (error as Error).message;
    problems.push(
      configured
        ? `ROLLCALL_AUDIT_SIGNING_KEY is not the key that signed the notary's tree in ${treeFile(dataDir)} (${why}): set it to that key; ${NO_ROTATION}`
        : `the notary's tree in ${treeFile(dataDir)} is signed by another key than this data dir's (${why}): ${RESTORE}`,
    );
  }
}
const publicKeyOf = (seed: Buffer) => signerFromSeed('key', seed).verifier.rawPublicKey.toString('base64');

/**
 * The public half of the data dir's key, recorded at its first start with this check (`proposed` then). A data dir
 * from before it that has a generated key records that key's, whatever is configured now: it signed the log so far.
 */
function recordedPublicKey(dataDir: string, proposed: string): string {
  const generated = existsSync(publicKeyFile(dataDir)) ? undefined : readSigningKey(dataDir);
  return createdOnce(publicKeyFile(dataDir), dataDir, () => `${generated ? publicKeyOf(generated) : proposed}\n`).trim();
}

function configuredKey(dataDir: string, seed: Buffer, problems: string[]): Buffer {
  const recorded = recordedPublicKey(dataDir, publicKeyOf(seed));
  if (recorded === publicKeyOf(seed)) return seed;
  const generated = readSigningKey(dataDir);
  problems.push(
    generated && publicKeyOf(generated) === recorded
      ? `ROLLCALL_AUDIT_SIGNING_KEY is not the key this data dir's log is signed with (generated into ${signingKeyFile(dataDir)}): ` +
          `set it to that file's content, or leave it unset; ${NO_ROTATION}`
      : `ROLLCALL_AUDIT_SIGNING_KEY is not the key this data dir's log is signed with (its public key ${recorded} is kept in ${publicKeyFile(dataDir)}): ` +
          `set it to that key; ${NO_ROTATION}`,
  );
  return seed;
}

function generatedKey(dataDir: string, problems: string[]): Buffer | undefined {
  const file = publicKeyFile(dataDir);
  const configuredBefore = `ROLLCALL_AUDIT_SIGNING_KEY is not set, but this data dir's log is signed with a configured key`;
  // checked before a key is generated: a key file left by a refused start would stand for the data dir's key
  if (existsSync(file) && !existsSync(signingKeyFile(dataDir))) {
    problems.push(`${configuredBefore} (its public key ${readFileSync(file, 'utf8').trim()} is kept in ${file}): set it again; ${NO_ROTATION}`);
    return undefined;
  }
  const seed = loadOrCreateSigningKey(dataDir);
  // a replica started at the same moment with a key configured recorded it first: this key never signs
  const recorded = recordedPublicKey(dataDir, publicKeyOf(seed));
  if (recorded !== publicKeyOf(seed)) problems.push(`${configuredBefore} (its public key ${recorded} is kept in ${file}): set it again; ${NO_ROTATION}`);
  return seed;
}
