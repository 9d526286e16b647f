/**
 * C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys, and the C2SP `tlog-checkpoint` body they
 * carry (https://c2sp.org/tlog-checkpoint). Ed25519 and SHA-256 come from node:crypto.
 *
 *   note      = text (non-empty, newline-terminated lines) + "\n" + signature lines
 *   signature = "— " name " " base64(key ID (4 bytes) || Ed25519 signature over the text) "\n"   (— is U+2014)
 *   key ID    = SHA-256(name || 0x0A || 0x01 || 32-byte public key)[0:4]
 *   verifier  = name "+" hex(key ID) "+" base64(0x01 || 32-byte public key)
 *   checkpoint text = origin "\n" tree size (decimal) "\n" base64(root hash) "\n" [extension lines]
 */
import { type KeyObject, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';

const ED25519 = 0x01;
const EM_DASH = '\u2014';
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export class NoteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoteError';
  }
}

/** A key name: non-empty, no Unicode space, no '+'. */
export function assertKeyName(name: string): void {
  if (name.length === 0 || /[\s+]/u.test(name)) throw new NoteError(`A note key name must be non-empty, without spaces or '+': ${JSON.stringify(name)}`);
}

export function keyId(name: string, publicKey: Uint8Array): Buffer {
  return createHash('sha256').update(name).update(Buffer.from([0x0a, ED25519])).update(publicKey).digest().subarray(0, 4);
}

export interface NoteVerifier {
  name: string;
  keyId: Buffer;
  publicKey: KeyObject;
  /** the raw 32-byte Ed25519 public key */
  rawPublicKey: Buffer;
  /** `<name>+<hex key id>+<base64 key>` */
  text: string;
}

export function verifierFromRawKey(name: string, rawPublicKey: Uint8Array): NoteVerifier {
  assertKeyName(name);
  if (rawPublicKey.length !== 32) throw new NoteError('An Ed25519 public key is 32 bytes');
  const raw = Buffer.from(rawPublicKey);
  const id = keyId(name, raw);
  return {
    name,
    keyId: id,
    rawPublicKey: raw,
    publicKey: createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' }),
    text: `${name}+${id.toString('hex')}+${Buffer.concat([Buffer.from([ED25519]), raw]).toString('base64')}`,
  };
}

/** Parses a verifier key (`name+hexid+base64`), checking that the key ID matches the name and key. */
export function parseVerifier(text: string): NoteVerifier {
  // base64 has '+' too: the name and the key ID are the first two fields, the key is the rest
  const m = /^([^+]+)\+([^+]+)\+(.+)$/s.exec(text.trim());
  if (!m) throw new NoteError('A verifier key is <name>+<hex key id>+<base64 key>');
  const [, name, hexId, b64] = m as unknown as [string, string, string, string];
  if (!/^[0-9a-f]{8}$/.test(hexId)) throw new NoteError('The key ID of a verifier key is 8 lower-case hex digits');
  const key = Buffer.from(b64, 'base64');
  if (key.length !== 33 || key[0] !== ED25519) throw new NoteError('Only Ed25519 verifier keys (type 0x01, 32 bytes) are supported');
  const verifier = verifierFromRawKey(name, key.subarray(1));
  if (verifier.keyId.toString('hex') !== hexId) throw new NoteError('The key ID does not match the name and key');
  return verifier;
}

export interface NoteSigner {
  verifier: NoteVerifier;
  sign(text: string): string;
}

/** A signer from a 32-byte Ed25519 seed (the private key). */
export function signerFromSeed(name: string, seed: Uint8Array): NoteSigner {
  if (seed.length !== 32) throw new NoteError('An Ed25519 private key (seed) is 32 bytes');
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const raw = createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519_PREFIX.length);
  const verifier = verifierFromRawKey(name, raw);
  return {
    verifier,
    sign: (text) => {
      assertNoteText(text);
      const signature = sign(null, Buffer.from(text, 'utf8'), privateKey);
      return `${text}\n${EM_DASH} ${name} ${Buffer.concat([verifier.keyId, signature]).toString('base64')}\n`;
    },
  };
}

export function generateSeed(): Buffer {
  const { privateKey } = generateKeyPairSync('ed25519');
  return privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_ED25519_PREFIX.length);
}

function assertNoteText(text: string): void {
  if (!text.endsWith('\n')) throw new NoteError('A note text ends with a newline');
  if (text.split('\n').slice(0, -1).some((line) => line.length === 0)) throw new NoteError('A note text has no empty line');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(text)) throw new NoteError('A note text has no control character but newline');
}

export interface OpenedNote {
  text: string;
  /** names whose signature by a known key verified */
  verifiedBy: string[];
}

/**
 * Splits a note and checks the signatures of the known keys (C2SP: signatures of unknown keys are ignored; a
 * known key whose signature fails rejects the note). Throws NoteError unless at least one known key signed.
 */
export function openNote(note: string, verifiers: NoteVerifier[]): OpenedNote {
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) throw new NoteError('A signed note is text, a blank line and signature lines');
  const text = note.slice(0, split + 1);
  assertNoteText(text);
  const lines = note.slice(split + 2, -1).split('\n');
  const verifiedBy: string[] = [];
  const signers: string[] = [];
  for (const line of lines) {
    const m = /^\u2014 (\S+) (\S+)$/u.exec(line);
    if (!m) throw new NoteError(`Malformed signature line: ${JSON.stringify(line)}`);
    const [, name, b64] = m as unknown as [string, string, string];
    const blob = Buffer.from(b64, 'base64');
    if (blob.length < 5) throw new NoteError('A signature is a key ID and a signature');
    const known = verifiers.find((v) => v.name === name && v.keyId.equals(blob.subarray(0, 4)));
    signers.push(`${name} (key id ${blob.subarray(0, 4).toString('hex')})`);
    if (!known) continue;
    if (!verify(null, Buffer.from(text, 'utf8'), known.publicKey, blob.subarray(4)))
      throw new NoteError(`The signature of ${name} does not verify`);
    verifiedBy.push(name);
  }
  // which keys did sign it: a log re-keyed by its operator reads as such, not as a damaged file (probe 44 F2)
  if (verifiedBy.length === 0)
    throw new NoteError(
      `The note is not signed by a known key: it is signed by ${signers.join(', ') || 'no key'}, the key trusted is ${verifiers.map((v) => `${v.name} (key id ${v.keyId.toString('hex')})`).join(', ')}`,
    );
  return { text, verifiedBy };
}

export interface Checkpoint {
  origin: string;
  size: number;
  root: Buffer;
  extensions: string[];
}

export function checkpointText(c: Pick<Checkpoint, 'origin' | 'size' | 'root'> & { extensions?: string[] }): string {
  if (c.origin.length === 0 || c.origin.includes('\n')) throw new NoteError('The origin is one non-empty line');
  if (!Number.isSafeInteger(c.size) || c.size < 0) throw new NoteError('The tree size is a non-negative integer');
  if (c.root.length !== 32) throw new NoteError('The root hash is 32 bytes');
  return `${c.origin}\n${c.size}\n${c.root.toString('base64')}\n${(c.extensions ?? []).map((e) => `${e}\n`).join('')}`;
}

export function parseCheckpointText(text: string): Checkpoint {
  const lines = text.split('\n');
  if (lines.length < 4 || lines.at(-1) !== '') throw new NoteError('A checkpoint is origin, size and root hash lines');
  const [origin, size, root, ...rest] = lines.slice(0, -1) as [string, string, string, ...string[]];
  if (!/^(?:0|[1-9]\d*)$/.test(size) || !Number.isSafeInteger(Number(size))) throw new NoteError(`Bad tree size line: ${JSON.stringify(size)}`);
  const hash = Buffer.from(root, 'base64');
  if (hash.length !== 32 || hash.toString('base64') !== root) throw new NoteError(`Bad root hash line: ${JSON.stringify(root)}`);
  return { origin, size: Number(size), root: hash, extensions: rest };
}

/** Opens a signed checkpoint: the signature of the verifier's key must verify and its origin be the key's name. */
export function openCheckpoint(note: string, verifier: NoteVerifier): Checkpoint {
  const { text } = openNote(note, [verifier]);
  const checkpoint = parseCheckpointText(text);
  if (checkpoint.origin !== verifier.name) throw new NoteError(`The checkpoint's origin ${checkpoint.origin} is not the key's name ${verifier.name}`);
  return checkpoint;
}
