import { type KeyObject, createSecretKey } from 'node:crypto';
import type { AppendResult, EventStore, ExpectedRevision, MultiAppendResult, NewEvent, ReadAllOptions, ReadStreamOptions, RecordedEvent, StreamAppend, SubscribeOptions, Subscription } from '../port';
import { SubjectKeyConflictError, type SubjectKeyChange } from '../sqlite/sqlite-event-store';
import { type KeysWrittenWithEvents, writesKeysWithEvents } from './embedded-key-store';
import { KeyForgottenSinceSealedError, KeyTracesLeftError, keysToForgetWith, markedForgotten } from './erased-subjects';
import type { KeyStore } from './key-store';
import { type Obj, type Sealed, UNOPENED, openWith, sealedFieldsOf, sealedParts, setPath } from './sealed-values';
export { openValue, sealValue } from './sealed-values';

/**
 * Where the personal data of an event is, and whose it is. `copied`: the values were copied from data sealed earlier
 * under the subject (not brought by the command): its key must exist, else the append fails with
 * KeyForgottenSinceSealedError (the data was erased; a new key would bring it back).
 */
export type PersonalDataPolicy = (type: string, data: unknown) => { subjectId: string; paths: string[]; copied?: true }[];

/** events decrypted per key lookup when reading a stream or the log (one `IN (…)` query per chunk) */
const CHUNK = 512;

/** a subject's key generated for an append, until it is stored (or the append failed) */
interface NewKey {
  key: KeyObject;
  stored: Uint8Array;
}

/** keys whose stored form this key store does not give (it does not check the keys an append was sealed with) */
const storedUnknown = (keys: Map<string, Buffer>) => new Map([...keys].map(([id, key]) => [id, { key, stored: undefined as Uint8Array | undefined }]));

/** events as pages of one (a subscription that does not read pages: each event is opened as it comes) */
async function* onePerPage(events: AsyncIterable<RecordedEvent>): AsyncGenerator<RecordedEvent[]> {
  for await (const e of events) yield [e];
}

/** how many times an append is sealed again because another writer stored a subject's key first (or one used is gone) */
const KEY_CONFLICT_ATTEMPTS = 4;

/**
 * Crypto-shredding around any EventStore: personal data (per the policy) is encrypted with its subject's key
 * before it is appended, and decrypted when read; a forgotten subject's fields read as null. The wrapped
 * store never sees personal data in clear; every reader (deciders, projectors, replay) goes through here.
 *
 * Keys are cached as KeyObjects (a bounded map; when full, the older half is dropped at once). Reading a
 * stream or the log looks keys up once per chunk of events; a subscription's live events once per page the store
 * read (the embedded store), else one at a time.
 * With the embedded store, a first-time subject's key is stored in the transaction of its first events
 * (EmbeddedKeyStore, docs/adr/0010-command-throughput.md).
 */
export class PersonalDataEventStore implements EventStore {
  /** subjectId → key, or null for a subject known to have no key (forgotten) */
  private cache = new Map<string, KeyObject | null>();
  /**
   * For a subject cached as null: the position of the log through which its sealed values are known erased (every
   * event up to it was read before the lookup that found no key). A later event may be sealed under a new key (the
   * address invited again after its owner was deleted, possibly by another process): it is looked up again.
   */
  private readonly erasedThrough = new Map<string, bigint>();
  private erasureCount = 0;
  /** the key store, when it stores new keys in the transaction of the events sealed with them */
  private readonly withEvents: KeysWrittenWithEvents | undefined;
  /**
   * The stored form of cached keys (embedded store), in base64 (a small string costs a quarter of a Uint8Array's
   * heap): an append sealed with one names it, and its transaction checks that it is still the subject's
   * (SubjectKeyChange 'sealed-with').
   */
  private readonly storedOf = new Map<string, string>();
  /** subjects an append forgot in its transaction, until forgetAfterAppend clears what is left of them */
  private readonly forgottenInAppends = new Set<string>();

  constructor(
    private readonly inner: EventStore,
    private readonly keys: KeyStore,
    private readonly policy: PersonalDataPolicy,
    private readonly cacheSize = 500_000,
  ) {
    this.withEvents = writesKeysWithEvents(keys) ? keys : undefined;
  }

  async append(stream: string, events: NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    return this.sealedAppend(
      [{ stream, events, expected }],
      ([part]) => this.inner.append(part!.stream, part!.events, part!.expected),
      (result) => ({ nextRevision: result.streams[0]!.nextRevision, position: result.position, ...(result.replayed && { replayed: true }) }),
    );
  }

  async appendMany(parts: StreamAppend[]): Promise<MultiAppendResult> {
    return this.sealedAppend(parts, (sealed) => this.inner.appendMany(sealed), (result) => result);
  }

  /**
   * Seals the parts and appends them. With a key store that writes keys with events (the embedded one), the append's
   * transaction also stores the new keys of first-time subjects, checks that the keys its events were sealed with are
   * still the subjects' (a deletion may have forgotten one since it was read), and forgets the keys its events ask to
   * forget (a deletion's: FORGET_KEYS_WITH_EVENT). When another writer stored a key for a subject first, nothing was
   * written and the events are sealed again with the stored key. When a key used is gone (a deletion forgot it since
   * it was read), nothing was written either, and KeyForgottenSinceSealedError tells the caller to decide again on
   * states read after the deletion: so an event after a deletion in the log is never sealed under a key that deletion
   * forgot, nor carries data it erased (docs/adr/0003, "Erasure and sealing race").
   */
  private async sealedAppend<T>(
    parts: StreamAppend[],
    write: (sealed: StreamAppend[]) => Promise<T>,
    withKeys: (result: MultiAppendResult) => T,
  ): Promise<T> {
    const forgotten = this.withEvents ? keysToForgetWith(parts.flatMap((p) => p.events)) : [];
    for (let attempt = 1; ; attempt++) {
      const created = new Map<string, NewKey>();
      const usedKeys = new Map<string, Uint8Array>();
      try {
        const sealed = markedForgotten(await this.seal(parts, created, usedKeys), forgotten);
        // a subject this append forgets and also seals under (none of the deletion's events do): its values go unread
        for (const id of forgotten) usedKeys.delete(id);
        const newKeys = [...created].filter(([id]) => !forgotten.includes(id));
        if (created.size === 0 && usedKeys.size === 0 && forgotten.length === 0) return await write(sealed);
        const erasures = this.erasureCount;
        const changes: SubjectKeyChange[] = [
          ...forgotten.map((subjectId) => ({ kind: 'forget' as const, subjectId })),
          ...[...usedKeys].map(([subjectId, stored]) => ({ kind: 'sealed-with' as const, subjectId, stored })),
          ...newKeys.map(([subjectId, k]) => ({ subjectId, stored: k.stored })),
        ];
        const result = await this.withEvents!.appendWithKeys(sealed, changes);
        if (forgotten.length > 0) {
          // forgotten by this append, or (a replay) by the one it repeats: either way no longer a key to seal with
          this.erasureCount++;
          for (const id of forgotten) {
            this.forgottenInAppends.add(id);
            this.remember(id, null);
          }
        }
        // stored now; unless an erasure ran meanwhile, which the next lookup must see instead. A replayed batch (another
        // process wrote the same command first, sealed under the key it made) stored none of them: the stored key is
        // looked up when needed (a cached key that is not the stored one would read those events as erased)
        if (this.erasureCount === erasures && !result.replayed) for (const [id, k] of newKeys) this.remember(id, k.key, undefined, k.stored);
        return withKeys(result);
      } catch (error) {
        if (!(error instanceof SubjectKeyConflictError)) throw error;
        // a key used that is gone or replaced, or another writer's first key: looked up again
        for (const id of error.subjectIds) this.uncache(id);
        // sealed with a key a deletion forgot since: the caller decides again (not sealed again here: see the error)
        if (error.gone.length > 0) throw new KeyForgottenSinceSealedError(error.gone);
        if (attempt >= KEY_CONFLICT_ATTEMPTS) throw error;
      }
    }
  }

  /** The parts sealed under their subjects' keys (made when missing); `usedKeys`: stored keys used, for the commit's check. */
  private async seal(parts: StreamAppend[], created: Map<string, NewKey>, usedKeys: Map<string, Uint8Array>): Promise<StreamAppend[]> {
    const plans = parts.map((p) => p.events.map((e) => this.policy(e.type, e.data)));
    const subjects = [...new Set(plans.flat(2).map((p) => p.subjectId))];
    if (subjects.length === 0) return parts;
    // a subject only copied from earlier data (no event of the append brings it anew) must have a key still
    const brought = new Set(plans.flat(2).filter((p) => !p.copied).map((p) => p.subjectId));
    const keys = await this.keysToSeal(subjects, created, (id) => !brought.has(id));
    for (const id of subjects) {
      const stored = created.has(id) ? undefined : this.storedOf.get(id);
      if (stored) usedKeys.set(id, Buffer.from(stored, 'base64'));
    }
    return sealedParts(parts, plans, keys);
  }

  /**
   * Each subject's key: cached, stored, or new. New keys are created by the key store right away (durably), or, when
   * it writes keys with events, generated here and added to `created` to be stored with the append; of two appends in
   * flight that generate one for the same subject, the second to commit is sealed again with the first's key.
   */
  private async keysToSeal(subjects: string[], created: Map<string, NewKey>, copiedOnly: (subjectId: string) => boolean): Promise<Map<string, KeyObject>> {
    const keys = new Map<string, KeyObject>();
    for (const id of subjects) {
      const cached = this.cache.get(id);
      if (cached) keys.set(id, cached);
    }
    const missing = subjects.filter((id) => !keys.has(id));
    if (missing.length === 0) return keys;
    const found = this.withEvents ? await this.withEvents.findStored(missing) : storedUnknown(await this.keys.find(missing));
    // data copied from a subject without a key was erased (its key forgotten since it was read): decided again
    const erased = missing.filter((id) => !found.has(id) && copiedOnly(id));
    if (erased.length > 0) throw new KeyForgottenSinceSealedError(erased);
    const toCreate = this.withEvents ? [] : missing.filter((id) => !found.has(id));
    // a key store of its own (MongoDB, keys.sqlite) creates them now, durably
    if (toCreate.length > 0) for (const [id, key] of storedUnknown(await this.keys.ensure(toCreate))) found.set(id, key);
    for (const id of missing) {
      const raw = found.get(id);
      if (raw) {
        const key = createSecretKey(raw.key);
        keys.set(id, key);
        this.remember(id, key, undefined, raw.stored);
        continue;
      }
      // each append its own: a key shared with another append in flight could be stored again by it after a
      // deletion forgot it (the first append committed before the deletion, the second after: review, session 17)
      const generated = this.withEvents!.generate(id);
      const fresh = { key: createSecretKey(generated.key), stored: generated.stored };
      created.set(id, fresh);
      keys.set(id, fresh.key);
    }
    return keys;
  }

  readStream = (stream: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent> =>
    options?.personalData === 'sealed' ? this.inner.readStream(stream, options) : this.openedInChunks(this.inner.readStream(stream, options));

  readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent> {
    return options?.personalData === 'sealed' ? this.inner.readAll(options) : this.openedInChunks(this.inner.readAll(options));
  }

  subscribe(options?: SubscribeOptions): Subscription {
    const inner = this.inner.subscribe(options); // (as it is: with personal fields sealed, if asked)
    if (options?.personalData === 'sealed') return inner;
    const iterable = this.openedByPage(inner.pages ? inner.pages() : onePerPage(inner));
    return { [Symbol.asyncIterator]: () => iterable, unsubscribe: () => inner.unsubscribe() };
  }

  /** Erasures this process saw (forget, forgetCached): a snapshot sealed while one happened is not stored. */
  get erasures(): number {
    return this.erasureCount;
  }

  /** Erases subjects (their data reads as null from now on); `position`: the deletion's, for tombstones (TombstoneAt). */
  async forget(subjectIds: readonly string[], position?: bigint): Promise<void> {
    this.erasureCount++;
    await this.keys.forget(subjectIds, position === undefined ? undefined : { position, headAfter: () => this.inner.headPosition() });
    for (const id of subjectIds) this.remember(id, null);
  }

  /**
   * After an append whose events asked to forget these subjects' keys in its transaction (FORGET_KEYS_WITH_EVENT, a
   * user's deletion). With the embedded key store it did: the rest of their traces go now, and no key is deleted (one
   * stored now was made after the deletion). With another key store the keys are forgotten now, after the append: an
   * event sealed under one of them and appended in between is erased with them (docs/adr/0003).
   */
  async forgetAfterAppend(subjectIds: readonly string[], position?: bigint, written = true): Promise<void> {
    // a subject no append forgot (another key store; the marker lost on the way) is forgotten now, as before; but of a
    // deletion written before (`written` false), with keys written with events, its own transaction forgot them
    const notYet = subjectIds.filter((id) => !this.forgottenInAppends.delete(id) && (written || !this.withEvents));
    if (notYet.length > 0) await this.forget(notYet, position);
    const withAppend = subjectIds.filter((id) => !notYet.includes(id));
    if (withAppend.length === 0) return;
    try {
      await this.withEvents?.forgotten(withAppend);
    } catch (error) {
      // the keys went with the append's commit: only traces are left (the WAL's earlier page images), not a key
      throw new KeyTracesLeftError(withAppend, error);
    }
  }

  /**
   * A deletion whose events say their append forgot these keys (KEYS_FORGOTTEN_WITH_EVENT), found by the erasure pass
   * at start: only their traces go (the WAL; keys.sqlite of data dirs written before). No key is deleted, whatever
   * this process remembers: a key of these subjects now was made after the deletion (an address invited again).
   */
  async forgottenWithEvent(subjectIds: readonly string[]): Promise<void> {
    await this.withEvents?.forgotten(subjectIds);
  }

  /** Drops cached keys of subjects another replica may have forgotten (seen in the log): the next read asks the store. */
  forgetCached(subjectIds: readonly string[]): void {
    this.erasureCount++;
    for (const id of subjectIds) this.uncache(id);
  }

  // the inner store's, as they are
  headPosition = (): Promise<bigint> => this.inner.headPosition();
  requestBegins = (): void => this.inner.requestBegins?.();
  othersEpoch = (): number | undefined => this.inner.othersEpoch?.();
  indexesOrganizations = (): boolean => this.inner.indexesOrganizations?.() ?? false;
  othersMayWrite = (may: boolean): void => this.inner.othersMayWrite?.(may);
  ping = (): Promise<void> => this.inner.ping();

  async close(): Promise<void> {
    await this.inner.close();
    await this.keys.close();
  }

  /**
   * Live events, a page of the store's at a time (else one by one): the keys of a page's subjects are looked up at
   * once (one `IN (…)` query where each new subject cost one), then each event is opened as it is handed on, through
   * the cache: a key dropped from it meanwhile (a forgetting heard: forgetCached) is looked up again, not used.
   */
  private async *openedByPage(pages: AsyncIterable<RecordedEvent[]>): AsyncGenerator<RecordedEvent> {
    for await (const page of pages) {
      const sealed = page.map((e) => sealedFieldsOf(this.policy, e));
      const subjects = sealed.flatMap((fields) => fields.map((f) => f.subject));
      // every event of the page was read before this lookup (a subscription's pages are in log order)
      if (subjects.length > 1) await this.keysFor(subjects, page[page.length - 1]!.position);
      for (let i = 0; i < page.length; i++) {
        const e = page[i]!;
        if (sealed[i]!.length > 0) await this.openAll([{ e, sealed: sealed[i]! }], e.position);
        yield e;
      }
    }
  }

  /** Finite reads: decrypt a chunk of events per key lookup. Event data read from the store is ours to change. */
  private async *openedInChunks(events: AsyncIterable<RecordedEvent>): AsyncGenerator<RecordedEvent> {
    let chunk: { e: RecordedEvent; sealed: Sealed[] }[] = [];
    const flush = async () => {
      await this.openAll(chunk, chunk.reduce((max, c) => (c.e.position > max ? c.e.position : max), -1n));
      const out = chunk.map((c) => c.e);
      chunk = [];
      return out;
    };
    for await (const e of events) {
      chunk.push({ e, sealed: sealedFieldsOf(this.policy, e) });
      if (chunk.length >= CHUNK) yield* await flush();
    }
    if (chunk.length > 0) yield* await flush();
  }

  /**
   * Sets each sealed field of `e` to its value (null when erased); the subjects whose cached key did not open a value
   * are added to `stale`: that key may be one the subject had before it was forgotten and got a new one.
   */
  private open(e: RecordedEvent, sealed: Sealed[], keys: Map<string, KeyObject | null>, stale?: Set<string>): void {
    const under: Record<string, string> = {};
    for (const { path, parts, value, subject } of sealed) {
      under[path] = subject;
      const key = keys.get(subject);
      let opened = key ? openWith(value, key) : null;
      if (opened === UNOPENED) {
        stale?.add(subject);
        opened = null;
      }
      setPath(e.data as Obj, parts, opened);
    }
    e.sealedUnder = under;
  }

  /**
   * Opens a batch of events read up to `through`. A cached key that does not open a value is dropped and the key
   * looked up again, then those events opened again: another process may have forgotten the subject and sealed
   * newer events under a new key before this one heard of the deletion (an address invited again at once).
   */
  private async openAll(batch: { e: RecordedEvent; sealed: Sealed[] }[], through: bigint): Promise<void> {
    const subjects = (b: { sealed: Sealed[] }[]) => b.flatMap((c) => c.sealed.map((s) => s.subject));
    const stale = new Set<string>();
    const keys = await this.keysFor(subjects(batch), through);
    for (const c of batch) if (c.sealed.length > 0) this.open(c.e, c.sealed, keys, stale);
    if (stale.size === 0) return;
    for (const id of stale) this.uncache(id);
    const again = batch.filter((c) => c.sealed.some((s) => stale.has(s.subject)));
    const fresh = await this.keysFor(subjects(again), through);
    for (const c of again) this.open(c.e, c.sealed, fresh);
  }

  /** the subject's key is no longer cached: the next read or append looks it up */
  private uncache(id: string): void {
    this.cache.delete(id);
    this.storedOf.delete(id);
    this.erasedThrough.delete(id);
  }

  /** `erasedThrough`: for a null key, the position through which the subject's values are known erased */
  private remember(id: string, key: KeyObject | null, erasedThrough?: bigint, stored?: Uint8Array): void {
    // once full, the oldest subject cached (Maps iterate in insertion order) makes room for each new one: halving the
    // cache at once copied 250,000 entries in one turn (~100 ms of `/health`'s wait in a cold replay; session 34)
    const oldest = this.cache.size >= this.cacheSize && !this.cache.has(id) ? this.cache.keys().next().value : undefined;
    if (oldest !== undefined) this.uncache(oldest);
    this.cache.set(id, key);
    if (key !== null && stored !== undefined) this.storedOf.set(id, Buffer.from(stored).toString('base64'));
    else this.storedOf.delete(id);
    if (key === null && erasedThrough !== undefined) this.erasedThrough.set(id, erasedThrough);
    else this.erasedThrough.delete(id);
  }

  /**
   * The keys of the subjects of events read up to position `through`: cached, or looked up. A subject cached as
   * erased is looked up again for events past the position it is known erased through (docs/rules.md#crypto-shredding:
   * an address can be invited again, and its new data is readable).
   */
  private async keysFor(subjectIds: string[], through: bigint): Promise<Map<string, KeyObject | null>> {
    const known = (id: string) => {
      const key = this.cache.get(id);
      return key !== undefined && (key !== null || (this.erasedThrough.get(id) ?? -1n) >= through);
    };
    const keys = new Map<string, KeyObject | null>();
    for (;;) {
      const missing = [...new Set(subjectIds.filter((id) => !keys.has(id) && !known(id)))];
      if (missing.length > 0) {
        const found = this.withEvents ? await this.withEvents.findStored(missing) : storedUnknown(await this.keys.find(missing));
        for (const id of missing) {
          const raw = found.get(id);
          const key = raw ? createSecretKey(raw.key) : null;
          // every event up to `through` was read before this lookup: a key stored for any of them would be found
          this.remember(id, key, through, raw?.stored);
          keys.set(id, key);
        }
      }
      // A key known before the lookup may have left the cache during it (forgetCached): absent is not erased, it is
      // looked up next round (taken for null, a replica kept a valid invitation's address as erased: session 27).
      let absent = false;
      for (const id of subjectIds) {
        if (keys.has(id)) continue;
        const key = this.cache.get(id);
        if (key === undefined) absent = true;
        else keys.set(id, key);
      }
      if (!absent) return keys;
    }
  }
}
