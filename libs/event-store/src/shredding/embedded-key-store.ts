import { type KeyObject, createHmac, createSecretKey } from 'node:crypto';
import { DataDirProblem } from '../data-dir-problem';
import type { MultiAppendResult, StreamAppend } from '../port';
import type { SqliteEventStore, SubjectKeyChange } from '../sqlite/sqlite-event-store';
import { KeyDecodingError, type KeyStore, SqliteKeyStore } from './key-store';
import { randomPooled } from './random-pool';

/**
 * A key store that writes a subject's first key in the same transaction as the first events sealed with it (one
 * fsync where a separate key store needs two). PersonalDataEventStore uses it when its key store has it.
 */
export interface KeysWrittenWithEvents {
  /** a new key for the subject, not stored yet, and the form appendWithKeys stores it in */
  generate(subjectId: string): { key: Buffer; stored: Uint8Array };
  /**
   * appendMany, and its key changes in the same transaction (new keys stored, keys forgotten, the keys its events were
   * sealed with checked: SubjectKeyChange). SubjectKeyConflictError (nothing written) when another writer stored a key
   * for one of the subjects first, or a key the events were sealed with is gone: seal again (`findStored`).
   */
  appendWithKeys(parts: StreamAppend[], keys: readonly SubjectKeyChange[]): Promise<MultiAppendResult>;
  /**
   * Keys and their stored form (what a 'sealed-with' change names). A key without a stored form (kept in keys.sqlite
   * by data dirs written before) cannot be checked in the append's transaction.
   */
  findStored(subjectIds: readonly string[]): Promise<Map<string, { key: Buffer; stored?: Uint8Array }>>;
  /**
   * After an append that forgot these subjects' keys in its transaction: what remains of them is let go (copies SQLite
   * left in the unused space of the table's pages, by writing the table anew; the WAL's earlier page images truncated;
   * keys a data dir written before keeps in keys.sqlite forgotten). Never deletes a key of events.sqlite: one there now
   * was made after the deletion (the address invited again), and is not the deletion's.
   */
  forgotten(subjectIds: readonly string[]): Promise<void>;
}

export const writesKeysWithEvents = (keys: KeyStore): keys is KeyStore & KeysWrittenWithEvents =>
  typeof (keys as Partial<KeysWrittenWithEvents>).appendWithKeys === 'function';

/** the key store's own secrets in keys.sqlite: the pepper (SqliteKeyStore.pepper) and the key-derivation key */
const DERIVATION_KEY = '__derivation_key__';
const SECRETS = ['__pepper__', DERIVATION_KEY];
/** what events.sqlite stores of a data key: 2 | a random 32-byte salt (the key is derived from it, see derive) */
const STORED_V2 = 2;
const SALT_BYTES = 32;
const STORED_BYTES = 1 + SALT_BYTES;
/** SP 800-108 counter mode, one block: [i]_32 = 1 ‖ Label ‖ 0x00 ‖ Context ‖ [L]_32 = 256 */
const KDF_PREFIX = Buffer.concat([Buffer.of(0, 0, 0, 1), Buffer.from('rollcall subject key', 'utf8'), Buffer.of(0)]);
const KDF_LENGTH = Buffer.of(0, 0, 1, 0);

/**
 * The embedded store's data keys (docs/adr/0010-command-throughput.md): tables `subject_keys_00` … `_ff` in
 * events.sqlite (sqlite/key-buckets.ts), so that new keys commit with the events that need them. What is stored of a key is a random salt; the key is derived
 * from it, the subject id and a key-derivation key kept in keys.sqlite with the pepper (NIST SP 800-108 KDF in
 * counter mode, HMAC-SHA-256). A copy of events.sqlite alone (handed to an auditor, say) therefore opens no personal
 * data, and a cold load of 200,000 subjects pays one HMAC per key. Forgetting deletes the salt with secure_delete,
 * writes its table anew (no copy left in a page's unused space: KeyBuckets.rewrite) and truncates the WAL: the key
 * cannot be derived again.
 *
 * Data dirs written before keep their keys in keys.sqlite (`subject_keys` there, the keys themselves): they are read
 * from there when events.sqlite has none for the subject, and forgotten in both files. No key is moved between the
 * files (a move that a crash interrupts could leave a copy behind; within events.sqlite, one transaction moves the
 * keys of a file written before session 42 into their tables: moveKeysIntoBuckets).
 */
export class EmbeddedKeyStore implements KeyStore, KeysWrittenWithEvents {
  private constructor(
    private readonly events: SqliteEventStore,
    /** keys.sqlite: the pepper, the key-derivation key, and the keys of data dirs written before */
    private readonly secrets: SqliteKeyStore,
    private readonly derivationKey: KeyObject,
    private readonly olderKeys: boolean,
  ) {}

  static async open(events: SqliteEventStore, keysFile: string): Promise<EmbeddedKeyStore> {
    const secrets = new SqliteKeyStore(keysFile);
    try {
      // the salts in events.sqlite derive their keys under this one: made anew, none of them opens (probe 33 F5). A
      // keys.sqlite with its pepper and no derivation key is a data dir from before ADR 0010: its keys are there
      if (!(await secrets.find([DERIVATION_KEY])).has(DERIVATION_KEY) && events.holdsSubjectKeys())
        throw new DataDirProblem(
          `${keysFile} holds no key-derivation key while the event log holds the salts of subjects' keys: they open only with the keys.sqlite written with them. Restore keys.sqlite from the same backup as the event log`,
        );
      const derivationKey = createSecretKey((await secrets.ensure([DERIVATION_KEY])).get(DERIVATION_KEY)!);
      return new EmbeddedKeyStore(events, secrets, derivationKey, await secrets.holdsSubjectsBesides(SECRETS));
    } catch (error) {
      await secrets.close();
      throw error;
    }
  }

  /** keys.sqlite's pepper must be the log's (SqliteKeyStore.assertBelongsTo) */
  assertBelongsTo(logHead: bigint, file: string): Promise<void> {
    return this.secrets.assertBelongsTo(logHead, file);
  }

  generate(subjectId: string): { key: Buffer; stored: Uint8Array } {
    // one call into the CSPRNG serves many salts (random-pool.ts): a new subject comes with nearly every invitation
    const stored = Buffer.concat([Buffer.of(STORED_V2), randomPooled(SALT_BYTES)]);
    return { key: this.derive(subjectId, stored), stored };
  }

  appendWithKeys(parts: StreamAppend[], keys: readonly SubjectKeyChange[]): Promise<MultiAppendResult> {
    return this.events.appendWithKeys(parts, keys);
  }

  async findStored(subjectIds: readonly string[]): Promise<Map<string, { key: Buffer; stored?: Uint8Array }>> {
    const found = new Map<string, { key: Buffer; stored?: Uint8Array }>();
    for (const [id, stored] of this.events.findSubjectKeys(subjectIds)) found.set(id, { key: this.derive(id, stored), stored });
    const elsewhere = this.olderKeys ? subjectIds.filter((id) => !found.has(id)) : [];
    if (elsewhere.length > 0) for (const [id, key] of await this.secrets.find(elsewhere)) found.set(id, { key });
    return found;
  }

  /** Keys created on their own (the append path creates them with its events instead). */
  async ensure(subjectIds: readonly string[]): Promise<Map<string, Buffer>> {
    const known = await this.find(subjectIds);
    const missing = [...new Set(subjectIds.filter((id) => !known.has(id)))];
    if (missing.length > 0) this.events.storeSubjectKeys(missing.map((id) => ({ subjectId: id, stored: this.generate(id).stored })));
    return this.find(subjectIds);
  }

  async find(subjectIds: readonly string[]): Promise<Map<string, Buffer>> {
    return new Map([...(await this.findStored(subjectIds))].map(([id, { key }]) => [id, key]));
  }

  async forgottenAt(subjectIds: readonly string[]): Promise<Map<string, bigint>> {
    return this.events.subjectKeysForgottenAt(subjectIds);
  }

  async forgotten(subjectIds: readonly string[]): Promise<void> {
    await this.events.forgetSubjectKeys([], subjectIds);
    if (this.olderKeys) await this.secrets.forget(subjectIds);
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

  /** The subject's key from its stored salt. What is not a salt of this format is an error, never a forgotten subject. */
  private derive(subjectId: string, stored: Uint8Array): Buffer {
    if (stored.byteLength !== STORED_BYTES || stored[0] !== STORED_V2)
      throw new KeyDecodingError(`key of subject ${subjectId}: ${stored.byteLength} bytes of format ${stored[0]}, expected ${STORED_BYTES} of format ${STORED_V2}`);
    // Context = subject id ‖ salt (the salt's length is fixed: no two contexts read alike); HMAC-SHA-256 gives KEY_BYTES
    return createHmac('sha256', this.derivationKey).update(KDF_PREFIX).update(subjectId, 'utf8').update(stored.subarray(1)).update(KDF_LENGTH).digest();
  }
}
