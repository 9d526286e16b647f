import { createHmac, createSecretKey } from 'node:crypto';
import { join } from 'node:path';
import { type DataSubject, type UserProfile, deletionSubjects, normalizeEmail, personalFieldsOf } from '@rollcall/domain';
import { type EventStoreConfig, createEventStore } from './create-event-store';
import type { EventStore } from './port';
import { SqliteEventStore } from './sqlite/sqlite-event-store';
import { EmbeddedKeyStore } from './shredding/embedded-key-store';
import { type KeyStore, MongoKeyStore, SqliteKeyStore } from './shredding/key-store';
import { PersonalDataEventStore } from './shredding/personal-data-event-store';
import { type SnapshotCipher, snapshotCipher } from './snapshots/snapshot-cipher';

/** Crypto-shredding of a user's personal data: which key subjects are theirs, and forgetting them. */
export interface PersonalData {
  /**
   * The subjects a deletion of the user forgets besides its invitations' own (subjectIdsOf): theirs, and those of
   * `knownEmails` in their organization (the API passes the addresses its invitations of sessions 24–40 went to); and
   * the subject every organization shares of `sharedEmails` (default: `knownEmails`), the addresses the organization's
   * invitations sent before session 24 went to (addressesSealedUnder; DataSubject)
   */
  subjectsOf(user: Pick<UserProfile, 'userId' | 'knownEmails'> & { sharedEmails?: readonly string[] }, organizationId: string): string[];
  /** the key subject ids of these data subjects (an address's erasure: addressSubjectsErased, erasedInvitationSubjects) */
  subjectIdsOf(subjects: readonly DataSubject[]): string[];
  /** `position`: the deletion's, kept as the subjects' tombstone by a key store that cannot know it (KeyStore.forget) */
  forget(subjectIds: string[], position?: bigint): Promise<void>;
  /**
   * After a deletion appended with FORGET_KEYS_WITH_EVENT naming these subjects, at log position `position`: the
   * embedded store forgot them in the deletion's transaction, and only their traces go now; another store forgets them
   * now, leaving tombstones at `position` (docs/adr/0003). `written: false`: the deletion answered was written before
   * (by another replica, or this request's first attempt): the embedded store's was written with its forgetting, so
   * only traces go (a key of these subjects now was made since: the address invited again, replicas e2e session 27).
   */
  forgetAfterDeletion(subjectIds: string[], position?: bigint, options?: { written: boolean }): Promise<void>;
  /** a deletion found at start whose events say its append forgot these keys: their traces go, no key is deleted */
  forgottenWithDeletion(subjectIds: string[]): Promise<void>;
  /** drops this process's cached keys of subjects that another replica forgot */
  forgetCached(subjectIds: string[]): void;
}
export const PERSONAL_DATA = Symbol('PersonalData');

/**
 * Keys for snapshots of decision states (docs/adr/0013-snapshots-sealed-per-snapshot.md): a snapshot is sealed under a
 * data key of its own, held in the key store under a snapshot subject; forgetting that subject (when a user the
 * snapshot may hold is erased) crypto-shreds it.
 */
export interface SnapshotSealing {
  /** the key subject of a user's profile (`{ kind: 'user' }`) or of an email address (`{ kind: 'email' }`) */
  subjectId(subject: DataSubject): string;
  /** ciphers under these subjects' keys, one batched lookup: a forgotten subject is absent */
  ciphers(subjectIds: readonly string[]): Promise<Map<string, SnapshotCipher>>;
  /** a cipher under the subject's key, created when missing if `create`; undefined: the subject has no key */
  cipher(subjectId: string, options: { create: boolean }): Promise<SnapshotCipher | undefined>;
  /**
   * Of these subjects, those a deletion forgot after log position `heard` (their key now, if any, was made after it),
   * with that deletion's position: a process that has not heard of it may hold what it erased (docs/adr/0003, "Erasure
   * and sealing race", points 7 and 11). Undefined: the key store keeps no tombstones, nothing can be told.
   */
  forgottenAfter(subjectIds: readonly string[], heard: bigint): Promise<Map<string, bigint> | undefined>;
  /** forgets these subjects' keys: what was sealed with them is unreadable from now on */
  shred(subjectIds: readonly string[]): Promise<void>;
  /** erasures seen by this process so far (a snapshot sealed while one happened is dropped) */
  erasures(): number;
}

/**
 * The event store as the application uses it: EventStoreDB or embedded SQLite, wrapped so that personal data
 * in events is encrypted per subject (docs/rules.md#crypto-shredding). Keys live in MongoDB when MONGO_URL is set (shared by every
 * replica; set it whenever EVENTSTORE_URL is set); else, with the embedded store, in events.sqlite, wrapped under a
 * key kept in `${dataDir}/keys.sqlite` (EmbeddedKeyStore); with EventStoreDB and no MongoDB, in keys.sqlite. Email
 * subjects are pseudonymous: an HMAC of the organization and the address with a secret kept in the key store.
 */
const closingOnFailure = async (keys: KeyStore, check: () => Promise<void>): Promise<void> => {
  try {
    await check();
  } catch (error) {
    await keys.close();
    throw error;
  }
};

export async function createRollcallEventStore(
  config: Pick<EventStoreConfig, 'eventstoreUrl' | 'dataDir' | 'durability' | 'checkpoints' | 'writer' | 'onKeysMoved' | 'onOrganizationIndexBuilt'> & { mongoUrl?: string },
): Promise<{ store: EventStore; personalData: PersonalData; sealing: SnapshotSealing }> {
  const inner = createEventStore(config);
  const keysFile = join(config.dataDir, 'keys.sqlite');
  // embedded: keys in events.sqlite, written with the events that first need them (docs/adr/0010-command-throughput.md)
  const keys: KeyStore = config.mongoUrl
    ? new MongoKeyStore(config.mongoUrl)
    : inner instanceof SqliteEventStore
      ? await EmbeddedKeyStore.open(inner, keysFile)
      : new SqliteKeyStore(keysFile);
  // keys.sqlite's pepper must be the log's: made anew, it would open nothing sealed so far (probe 33 F5)
  if (keys instanceof EmbeddedKeyStore || keys instanceof SqliteKeyStore) await closingOnFailure(keys, async () => keys.assertBelongsTo(await inner.headPosition(), keysFile));
  // a KeyObject: an HMAC keyed with a Buffer imports the key again on every call
  const pepper = createSecretKey(await keys.pepper());
  // an invitation's address (`i:`, since session 41: the name does not depend on the address, so no two invitations
  // share one and an erased address invited again leaves no link in the key store or the log: docs/adr/0024), an
  // address within an organization (`a:`, sessions 24–40), or shared by every organization (`e:`, before session 24)
  const hmac = (text: string) => createHmac('sha256', pepper).update(text).digest('base64url');
  const subjectId = (s: DataSubject) =>
    s.kind === 'user'
      ? `u:${s.userId}`
      : s.organizationId === undefined
        ? `e:${hmac(normalizeEmail(s.email))}`
        : s.invitationId === undefined
          ? `a:${hmac(`${s.organizationId}\0${normalizeEmail(s.email)}`)}`
          : `i:${hmac(`invitation\0${s.organizationId}\0${s.invitationId}`)}`;
  // the subject id is computed when asked for: a reader only needs the paths (a sealed value names its subject), and
  // the address of a stored event is sealed, nothing to hash
  const store = new PersonalDataEventStore(inner, keys, (type, data) =>
    personalFieldsOf(type, data).map((f) => {
      let id: string | undefined;
      return {
        get subjectId() {
          return (id ??= subjectId(f.subject));
        },
        paths: f.paths,
        ...(f.copied && { copied: true as const }),
      };
    }),
  );
  return {
    store,
    personalData: {
      subjectsOf: (user, organizationId) => deletionSubjects(user.userId, organizationId, user.knownEmails, user.sharedEmails ?? user.knownEmails).map(subjectId),
      subjectIdsOf: (subjects) => subjects.map(subjectId),
      forget: (ids, position) => store.forget(ids, position),
      forgetAfterDeletion: (ids, position, options) => store.forgetAfterAppend(ids, position, options?.written ?? true),
      forgottenWithDeletion: (ids) => store.forgottenWithEvent(ids),
      forgetCached: (ids) => store.forgetCached(ids),
    },
    sealing: {
      subjectId,
      ciphers: async (ids) => new Map([...(await keys.find(ids))].map(([id, raw]) => [id, snapshotCipher(id, createSecretKey(raw))])),
      cipher: async (id, { create }) => {
        const raw = (create ? await keys.ensure([id]) : await keys.find([id])).get(id);
        return raw && snapshotCipher(id, createSecretKey(raw));
      },
      forgottenAfter: async (ids, heard) => {
        if (!keys.forgottenAt) return undefined;
        return new Map([...(await keys.forgottenAt(ids))].filter(([, position]) => position > heard));
      },
      shred: (ids) => keys.forget(ids),
      erasures: () => store.erasures,
    },
  };
}
