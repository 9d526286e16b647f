import { type KeyObject, createCipheriv, createDecipheriv } from 'node:crypto';
import { randomIv } from '../shredding/random-pool';

/**
 * AES-256-GCM of a snapshot's chunks under the snapshot's own data key (docs/adr/0013-snapshots-sealed-per-snapshot.md):
 * one key lookup per snapshot, one open per chunk. Forgetting the key (crypto-shredding) makes every chunk sealed
 * with it unreadable. The additional data binds a chunk to its snapshot and place (stream, revision, position), so
 * chunks cannot be swapped between snapshots or reordered unnoticed.
 *
 * A sealed chunk: FORMAT (1 byte) | IV (12) | tag (16) | ciphertext.
 */
export interface SnapshotCipher {
  /** the key store subject whose key this is */
  readonly subjectId: string;
  seal(plain: string, additionalData: string): Buffer;
  /** the plain text, or undefined when the chunk was not sealed with this key and these additional data */
  open(sealed: Uint8Array, additionalData: string): string | undefined;
  /** the plain text's UTF-8 bytes, as `open` (kept off V8's heap: a cold load keeps most chunks unparsed, ADR 0013) */
  openBytes(sealed: Uint8Array, additionalData: string): Buffer | undefined;
}

const FORMAT = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + IV_BYTES + TAG_BYTES;

export function snapshotCipher(subjectId: string, key: KeyObject): SnapshotCipher {
  return {
    subjectId,
    seal(plain, additionalData) {
      const iv = randomIv();
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(additionalData, 'utf8'));
      const body = [cipher.update(plain, 'utf8'), cipher.final()];
      return Buffer.concat([Buffer.of(FORMAT), iv, cipher.getAuthTag(), ...body]);
    },
    open(sealed, additionalData) {
      return this.openBytes(sealed, additionalData)?.toString('utf8');
    },
    openBytes(sealed, additionalData) {
      if (sealed.byteLength < HEADER_BYTES || sealed[0] !== FORMAT) return undefined;
      const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(1, 1 + IV_BYTES));
        decipher.setAuthTag(bytes.subarray(1 + IV_BYTES, HEADER_BYTES));
        decipher.setAAD(Buffer.from(additionalData, 'utf8'));
        const head = decipher.update(bytes.subarray(HEADER_BYTES));
        const tail = decipher.final();
        return tail.length === 0 ? head : Buffer.concat([head, tail]);
      } catch {
        return undefined;
      }
    },
  };
}
