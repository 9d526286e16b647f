import { randomBytes } from 'node:crypto';
import { BSON, Binary } from 'mongodb';
import { cursorReply } from '../../../read-store/src/store/mongo-wire/replies';
import { MongoWireFixture } from '../../../read-store/src/store/mongo-wire/wire-fixture';
import { KEY_BYTES, KeyDecodingError, MongoKeyStore, decodeSubjectKey } from './key-store';

/** a stored key document as the driver decodes it out of a larger reply (other fields around the key) */
const fromReply = (key: Buffer, promoteBuffers: boolean): unknown =>
  BSON.deserialize(
    BSON.serialize({ _id: 'subject-1', before: 'x'.repeat(200), key, after: 'y'.repeat(200) }),
    {
      promoteBuffers,
    },
  ).key;

describe('decodeSubjectKey (Mongo key store)', () => {
  const key = randomBytes(KEY_BYTES);

  it('reads a key the driver returned as Binary (the default)', () => {
    const stored = fromReply(key, false);
    expect(stored).toBeInstanceOf(Binary);
    expect(decodeSubjectKey('subject-1', stored)).toEqual(key);
  });

  it('reads a key the driver returned as a Buffer (promoteBuffers=true), whose .buffer is the whole reply', () => {
    const stored = fromReply(key, true) as Buffer;
    expect(Buffer.isBuffer(stored)).toBe(true);
    // what the old decoding read: the whole underlying memory, not the key
    expect(Buffer.from(stored.buffer).length).toBeGreaterThan(KEY_BYTES);
    expect(decodeSubjectKey('subject-1', stored)).toEqual(key);
  });

  it('reads only the content of a Binary whose buffer is larger than it', () => {
    const binary = new Binary();
    binary.write(key, 0);
    expect(binary.buffer.length).toBeGreaterThan(KEY_BYTES);
    expect(decodeSubjectKey('subject-1', binary)).toEqual(key);
  });

  it('returns a copy: the reply memory can be reused', () => {
    const stored = fromReply(key, true) as Buffer;
    const decoded = decodeSubjectKey('subject-1', stored);
    stored.fill(0);
    expect(decoded).toEqual(key);
  });

  it('refuses what is not a 32-byte BinData of subtype 0: an error, not a forgotten subject', () => {
    expect(() => decodeSubjectKey('s', new Binary(randomBytes(16)))).toThrow(
      new KeyDecodingError('key of subject s: 16 bytes, expected 32'),
    );
    expect(() => decodeSubjectKey('s', new Binary(key, Binary.SUBTYPE_UUID))).toThrow(
      /subtype 4, expected 0/,
    );
    expect(() => decodeSubjectKey('s', key.toString('base64'))).toThrow(/stored as string, not BinData/);
    expect(() => decodeSubjectKey('s', undefined)).toThrow(KeyDecodingError);
    expect(() => decodeSubjectKey('s', null)).toThrow(/stored as null/);
  });
});

describe('MongoKeyStore.find through the real driver (wire fixture, not a server)', () => {
  it('returns the stored keys with promoteBuffers=true in the connection string', async () => {
    const keys = { a: randomBytes(KEY_BYTES), b: randomBytes(KEY_BYTES) };
    const fixture = await MongoWireFixture.start((command) =>
      command.name === 'find'
        ? cursorReply('test.subject_keys', [
            { _id: 'a', key: new Binary(keys.a) },
            { _id: 'b', key: new Binary(keys.b) },
          ])
        : undefined,
    );
    const store = new MongoKeyStore(`${fixture.url}&promoteBuffers=true`);
    try {
      const found = await store.find(['a', 'b']);
      expect(found).toEqual(
        new Map([
          ['a', keys.a],
          ['b', keys.b],
        ]),
      );
      expect(fixture.sent('find')[0]!.body.filter).toEqual({ _id: { $in: ['a', 'b'] } });
    } finally {
      await store.close();
      await fixture.close();
    }
  });

  it('fails on a key it cannot decode instead of reporting the subject as forgotten', async () => {
    const fixture = await MongoWireFixture.start((command) =>
      command.name === 'find'
        ? cursorReply('test.subject_keys', [{ _id: 'a', key: new Binary(randomBytes(16)) }])
        : undefined,
    );
    const store = new MongoKeyStore(fixture.url);
    try {
      await expect(store.find(['a'])).rejects.toThrow(KeyDecodingError);
    } finally {
      await store.close();
      await fixture.close();
    }
  });
});
