import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { type DataSubject, type UserProfile, normalizeEmail, personalFieldsOf } from '@rollcall/domain';
import { createEventStore } from './create-event-store';
import type { EventStore } from './port';
import type { Durability } from './sqlite/sqlite-event-store';
import { type KeyStore, MongoKeyStore, SqliteKeyStore } from './shredding/key-store';
import { PersonalDataEventStore } from './shredding/personal-data-event-store';

/** Crypto-shredding of a user's personal data: which key subjects are theirs, and forgetting them. */
export interface PersonalData {
  subjectsOf(user: Pick<UserProfile, 'userId' | 'knownEmails'>): string[];
  forget(subjectIds: string[]): Promise<void>;
  /** drops this process's cached keys of subjects that another replica forgot */
  forgetCached(subjectIds: string[]): void;
}
export const PERSONAL_DATA = Symbol('PersonalData');

/**
 * The event store as the application uses it: EventStoreDB or embedded SQLite, wrapped so that personal data
 * in events is encrypted per subject (docs/rules.md#crypto-shredding). Keys live in MongoDB when MONGO_URL is set (shared by every
 * replica; set it whenever EVENTSTORE_URL is set), else in `${dataDir}/keys.sqlite`. Email subjects are
 * pseudonymous: an HMAC of the address with a secret kept in the key store.
 */
export async function createRollcallEventStore(
  config: { eventstoreUrl?: string; mongoUrl?: string; dataDir: string; durability?: Durability },
): Promise<{ store: EventStore; personalData: PersonalData }> {
  const inner = createEventStore({ eventstoreUrl: config.eventstoreUrl, dataDir: config.dataDir, durability: config.durability });
  const keys: KeyStore = config.mongoUrl ? new MongoKeyStore(config.mongoUrl) : new SqliteKeyStore(join(config.dataDir, 'keys.sqlite'));
  const pepper = await keys.pepper();
  const subjectId = (s: DataSubject) =>
    s.kind === 'user' ? `u:${s.userId}` : `e:${createHmac('sha256', pepper).update(normalizeEmail(s.email)).digest('base64url')}`;
  const store = new PersonalDataEventStore(inner, keys, (type, data) =>
    personalFieldsOf(type, data).map((f) => ({ subjectId: subjectId(f.subject), paths: f.paths })),
  );
  return {
    store,
    personalData: {
      subjectsOf: (user) => [subjectId({ kind: 'user', userId: user.userId }), ...user.knownEmails.map((email) => subjectId({ kind: 'email', email }))],
      forget: (ids) => store.forget(ids),
      forgetCached: (ids) => store.forgetCached(ids),
    },
  };
}
