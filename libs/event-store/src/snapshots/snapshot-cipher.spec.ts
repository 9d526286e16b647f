import { createSecretKey, randomBytes } from 'node:crypto';
import { snapshotCipher } from './snapshot-cipher';

const cipherOf = (subjectId = 'snapshot:org-1:0') => snapshotCipher(subjectId, createSecretKey(randomBytes(32)));

describe('snapshotCipher (AES-256-GCM of a snapshot chunk under the snapshot key)', () => {
  it('opens what it sealed, with the same additional data; nothing of the text is in clear', () => {
    const cipher = cipherOf();
    const sealed = cipher.seal('{"email":"ada@example.test","name":"Ada — ü"}', 'workspace-1\n7\n0/3');
    expect(Buffer.from(sealed).toString('latin1')).not.toContain('ada@example.test');
    expect(cipher.open(sealed, 'workspace-1\n7\n0/3')).toBe('{"email":"ada@example.test","name":"Ada — ü"}');
    expect(cipher.subjectId).toBe('snapshot:org-1:0');
  });

  it('a fresh IV per chunk: the same text sealed twice gives different bytes', () => {
    const cipher = cipherOf();
    expect(Buffer.from(cipher.seal('same', 'a')).equals(Buffer.from(cipher.seal('same', 'a')))).toBe(false);
  });

  it('another key, other additional data (another snapshot or place), or a changed byte: undefined, never a wrong text', () => {
    const cipher = cipherOf();
    const sealed = cipher.seal('the state', 'workspace-1\n7\n1/3');
    expect(cipherOf().open(sealed, 'workspace-1\n7\n1/3')).toBeUndefined();
    expect(cipher.open(sealed, 'workspace-1\n7\n2/3')).toBeUndefined();
    expect(cipher.open(sealed, 'workspace-2\n7\n1/3')).toBeUndefined();
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1]! ^= 1;
    expect(cipher.open(tampered, 'workspace-1\n7\n1/3')).toBeUndefined();
    expect(cipher.open(Buffer.from('not sealed'), 'workspace-1\n7\n1/3')).toBeUndefined();
    expect(cipher.open(new Uint8Array(0), '')).toBeUndefined();
  });

  it('opens a chunk that is a view into a larger buffer (as a store may hand it)', () => {
    const cipher = cipherOf();
    const sealed = cipher.seal('in a view', 'x');
    const larger = Buffer.concat([Buffer.from('junk'), sealed, Buffer.from('more junk')]);
    expect(cipher.open(new Uint8Array(larger.buffer, larger.byteOffset + 4, sealed.length), 'x')).toBe('in a view');
  });
});
