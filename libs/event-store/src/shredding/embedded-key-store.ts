import { type KeyObject, createCipheriv, createDecipheriv, createSecretKey, randomBytes } from 'node:crypto';
import type { MultiAppendResult, StreamAppend } from '../port';
import type { NewSubjectKey, SqliteEventStore } from '../sqlite/sqlite-event-store';
import { KEY_BYTES, KeyDecodingError, type KeyStore, SqliteKeyStore } from './key-store';
import { randomIv } from './random-iv';

/**
 * A key store that writes a subject's first key in the same transaction as the first events sealed with it (one
 * fsync where a separate key store needs two). PersonalDataEventStore uses it when its key store has it.
 */
export interface KeysWrittenWithEvents {
  /** a new key for the subject, not stored yet, and the form appendWithKeys stores it in */
  generate(subjectId: string): { key: Buffer; stored: Uint8Array };
  /**
   * appendMany, and the keys stored in the same transaction. SubjectKeyConflictError (nothing written) when another
   * writer stored a key for one of the subjects first: seal again with the stored key (`find`).
   */
  appendWithKeys(parts: StreamAppend[], keys: readonly NewSubjectKey[]): Promise<MultiAppendResult>;
}

export const writesKeysWithEvents = (keys: KeyStore): keys is KeyStore & KeysWrittenWithEvents =>
  typeof (keys as Partial<KeysWrittenWithEvents>).appendWithKeys === 'function';

/** the key store's own secrets in keys.sqlite: the pepper (SqliteKeyStore.pepper) and the key-wrapping key */
const WRAPPING_KEY = '__wrapping_key__';
const SECRETS = ['__pepper__', WRAPPING_KEY];
/** format of a wrapped key: 1 | IV (12) | GCM tag (16) | AES-256-GCM of the key (32), the subject id as AAD */
const WRAPPED_V1 = 1;
const WRAPPED_BYTES = 1 + 12 + 16 + KEY_BYTES;

/**
 * The embedded store's data keys (docs/adr/0010-command-throughput.md): a table `subject_keys` in events.sqlite, so
 * that new keys commit with the events that need them. Each key is stored wrapped (AES-256-GCM) under a key-wrapping
 * key kept in keys.sqlite with the pepper: a copy of events.sqlite alone (handed to an auditor, say) holds no usable
 * key. Forgetting deletes the wrapped key with secure_delete and truncates the WAL.
 *
 * Data dirs written before keep their keys in keys.sqlite (`subject_keys` there, unwrapped): they are read from there
 * when events.sqlite has none for the subject, and forgotten in both files. No key is moved (a move that a crash
 * interrupts could leave a copy behind).
 */
export class EmbeddedKeyStore implements KeyStore, KeysWrittenWithEvents {
  private constructor(
    private readonly events: SqliteEventStore,
    /** keys.sqlite: the pepper, the wrapping key, and the keys of data dirs written before */
    private readonly secrets: SqliteKeyStore,
    private readonly wrappingKey: KeyObject,
    private readonly olderKeys: boolean,
  ) {}

  static async open(events: SqliteEventStore, keysFile: string): Promise<EmbeddedKeyStore> {
    const secrets = new SqliteKeyStore(keysFile);
    try {
      const wrappingKey = createSecretKey((await secrets.ensure([WRAPPING_KEY])).get(WRAPPING_KEY)!);
      return new EmbeddedKeyStore(events, secrets, wrappingKey, await secrets.holdsSubjectsBesides(SECRETS));
    } catch (error) {
      await secrets.close();
      throw error;
    }
  }

  generate(subjectId: string): { key: Buffer; stored: Uint8Array } {
    const key = randomBytes(KEY_BYTES);
    return { key, stored: this.wrap(subjectId, key) };
  }

  appendWithKeys(parts: StreamAppend[], keys: readonly NewSubjectKey[]): Promise<MultiAppendResult> {
    return this.events.appendWithKeys(parts, keys);
  }

  /** Keys created on their own (the append path creates them with its events instead). */
  async ensure(subjectIds: readonly string[]): Promise<Map<string, Buffer>> {
    const known = await this.find(subjectIds);
    const missing = [...new Set(subjectIds.filter((id) => !known.has(id)))];
    if (missing.length > 0) this.events.storeSubjectKeys(missing.map((id) => ({ subjectId: id, stored: this.generate(id).stored })));
    return this.find(subjectIds);
  }

  async find(subjectIds: readonly string[]): Promise<Map<string, Buffer>> {
    const found = new Map<string, Buffer>();
    for (const [id, stored] of this.events.findSubjectKeys(subjectIds)) found.set(id, this.unwrap(id, stored));
    const elsewhere = this.olderKeys ? subjectIds.filter((id) => !found.has(id)) : [];
    if (elsewhere.length > 0) for (const [id, key] of await this.secrets.find(elsewhere)) found.set(id, key);
    return found;
  }

  async forget(subjectIds: readonly string[]): Promise<void> {
    await this.events.forgetSubjectKeys(subjectIds);
    if (this.olderKeys) await this.secrets.forget(subjectIds);
  }

  pepper(): Promise<Buffer> {
    return this.secrets.pepper();
  }

  /** keys.sqlite only: the event store is closed by its owner */
  close(): Promise<void> {
    return this.secrets.close();
  }

  private wrap(subjectId: string, key: Buffer): Uint8Array {
    const iv = randomIv();
    const cipher = createCipheriv('aes-256-gcm', this.wrappingKey, iv);
    cipher.setAAD(Buffer.from(subjectId, 'utf8'));
    const body = Buffer.concat([cipher.update(key), cipher.final()]);
    return Buffer.concat([Buffer.of(WRAPPED_V1), iv, cipher.getAuthTag(), body]);
  }

  /** A wrapped key that does not open is an error (another wrapping key, a damaged file), never a forgotten subject. */
  private unwrap(subjectId: string, stored: Uint8Array): Buffer {
    const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
    if (bytes.length !== WRAPPED_BYTES || bytes[0] !== WRAPPED_V1)
      throw new KeyDecodingError(`key of subject ${subjectId}: ${bytes.length} bytes of format ${bytes[0]}, expected ${WRAPPED_BYTES} of format ${WRAPPED_V1}`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.wrappingKey, bytes.subarray(1, 13));
      decipher.setAAD(Buffer.from(subjectId, 'utf8'));
      decipher.setAuthTag(bytes.subarray(13, 29));
      return Buffer.concat([decipher.update(bytes.subarray(29)), decipher.final()]);
    } catch {
      throw new KeyDecodingError(`key of subject ${subjectId}: does not open with the key-wrapping key of keys.sqlite`);
    }
  }
}
