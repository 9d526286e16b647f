import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../sqlite/sqlite-event-store';
import type { RecordedEvent } from '../port';
import { SqliteKeyStore } from './key-store';
import { type PersonalDataPolicy, PersonalDataEventStore } from './personal-data-event-store';

// a policy like the domain's: `person` names the subject, `email` and `profile.name` are personal
const policy: PersonalDataPolicy = (type, data) =>
  type === 'Personal' ? [{ subjectId: `u:${(data as { person: string }).person}`, paths: ['email', 'profile.name'] }] : [];

const collect = async (it: AsyncIterable<RecordedEvent>) => {
  const out: RecordedEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
};

describe('PersonalDataEventStore (crypto-shredding)', () => {
  let dir: string;
  let inner: SqliteEventStore;
  let store: PersonalDataEventStore;
  let keys: SqliteKeyStore;
  let n = 0;
  const event = (person: string, email: string | null, name = 'Jane Doe') => ({
    id: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
    type: 'Personal',
    data: { person, email, profile: { name, role: 'agent' }, untouched: 'visible' },
    metadata: {},
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rollcall-shred-'));
    inner = new SqliteEventStore(join(dir, 'events.sqlite'));
    keys = new SqliteKeyStore(join(dir, 'keys.sqlite'));
    store = new PersonalDataEventStore(inner, keys, policy);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores personal fields encrypted and reads them back in clear', async () => {
    await store.append('s-1', [event('jane', 'jane@acme.test'), { id: '10000000-0000-4000-8000-000000000001', type: 'Other', data: { email: 'not-personal@x.io' }, metadata: {} }], 'no_stream');
    const raw = await collect(inner.readStream('s-1'));
    expect(JSON.stringify(raw[0]!.data)).not.toMatch(/jane@acme\.test|Jane Doe/);
    expect(raw[0]!.data).toMatchObject({ person: 'jane', email: expect.stringMatching(/^enc:v1:u:jane:/), profile: { role: 'agent' }, untouched: 'visible' });
    expect(raw[1]!.data).toEqual({ email: 'not-personal@x.io' });
    for (const file of ['events.sqlite', 'events.sqlite-wal'])
      expect(existsSync(join(dir, file)) && readFileSync(join(dir, file)).includes(Buffer.from('jane@acme.test'))).toBe(false);
    expect(readFileSync(join(dir, 'events.sqlite-wal')).includes(Buffer.from('not-personal@x.io'))).toBe(true);
    const read = await collect(store.readStream('s-1'));
    expect(read[0]!.data).toEqual({ person: 'jane', email: 'jane@acme.test', profile: { name: 'Jane Doe', role: 'agent' }, untouched: 'visible' });
  });

  it('reads the log with personal fields left sealed when asked (a reader of ids, as the mail dispatcher): no key looked up', async () => {
    await store.append('s-2', [event('kim', 'kim@acme.test')], 'no_stream');
    const lookups = jest.spyOn(keys, 'find');
    const [sealed] = await collect(store.readAll({ filter: { streamPrefixes: ['s-2'] }, personalData: 'sealed' }));
    expect(sealed!.data).toMatchObject({ person: 'kim', email: expect.stringMatching(/^enc:v1:u:kim:/), untouched: 'visible' });
    expect(lookups).not.toHaveBeenCalled();
    expect((await collect(store.readAll({ filter: { streamPrefixes: ['s-2'] } })))[0]!.data).toMatchObject({ email: 'kim@acme.test' });
    const subscription = store.subscribe({ filter: { streamPrefixes: ['s-2'] }, personalData: 'sealed' });
    for await (const e of subscription) {
      expect(e.data).toMatchObject({ email: expect.stringMatching(/^enc:v1:u:kim:/) });
      break;
    }
    await subscription.unsubscribe();
    expect(lookups).not.toHaveBeenCalled();
  });

  it('seals values padded to blocks: the log tells no exact length of an address or a name (probe 40 F5)', async () => {
    const emails = ['al@acme.test', 'alexandra@acme.test', 'a-much-longer-address@acme.test'];
    await store.append('s-pad', emails.map((email, i) => event(`p${i}`, email, 'X'.repeat(i + 1))), 'no_stream');
    const sealedLength = (v: string) => Buffer.from(v.slice(v.lastIndexOf(':') + 1), 'base64url').length;
    const raw = await collect(inner.readStream('s-pad'));
    // 12 (iv) + 16 (tag) + 32: JSON of 14, 21 and 33 bytes: the first two one block, the third two
    expect(raw.map((e) => sealedLength((e.data as { email: string }).email))).toEqual([60, 60, 92]);
    expect(new Set(raw.map((e) => sealedLength((e.data as { profile: { name: string } }).profile.name))).size).toBe(1);
    expect((await collect(store.readStream('s-pad'))).map((e) => (e.data as { email: string }).email)).toEqual(emails);
  });

  it("leaves the caller's events in clear, nested objects included", async () => {
    const mine = event('ida', 'ida@acme.test', 'Ida');
    const profile = mine.data.profile;
    await store.append('s-0', [mine], 'no_stream');
    expect(mine.data).toEqual({ person: 'ida', email: 'ida@acme.test', profile: { name: 'Ida', role: 'agent' }, untouched: 'visible' });
    expect(mine.data.profile).toBe(profile);
    expect((await collect(inner.readStream('s-0')))[0]!.data).toMatchObject({ profile: { name: expect.stringMatching(/^enc:v1:u:ida:/), role: 'agent' } });
  });

  it('forgetting a subject erases its data everywhere, the events stay valid, others are untouched', async () => {
    await store.append('s-1', [event('jane', 'jane@acme.test'), event('joe', 'joe@acme.test', 'Joe')], 'no_stream');
    await store.forget(['u:jane']);
    const [jane, joe] = await collect(store.readAll());
    expect(jane!.data).toEqual({ person: 'jane', email: null, profile: { name: null, role: 'agent' }, untouched: 'visible' });
    expect(joe!.data).toMatchObject({ email: 'joe@acme.test', profile: { name: 'Joe' } });
    // each read says which subject each personal field was sealed under, erased or not (a projection keys erasure on it)
    expect([jane!.sealedUnder, joe!.sealedUnder]).toEqual([{ email: 'u:jane', 'profile.name': 'u:jane' }, { email: 'u:joe', 'profile.name': 'u:joe' }]);
    // a fresh store (no cache) sees the same: the key is gone from disk
    const fresh = new PersonalDataEventStore(new SqliteEventStore(join(dir, 'events.sqlite')), new SqliteKeyStore(join(dir, 'keys.sqlite')), policy);
    expect((await collect(fresh.readStream('s-1')))[0]!.data).toMatchObject({ email: null });
    await fresh.close();
  });

  it('a subject seen again after being forgotten gets a new key: new data readable, old data still erased', async () => {
    await store.append('s-1', [event('sam', 'old@acme.test')], 'no_stream');
    await store.forget(['u:sam']);
    await store.append('s-1', [event('sam', 'new@acme.test')], 0n);
    const [before, after] = await collect(store.readStream('s-1'));
    expect(before!.data).toMatchObject({ email: null });
    expect(after!.data).toMatchObject({ email: 'new@acme.test' });
  });

  it('another reader that saw the subject erased reads its new data once it has a new key (chunked reads and subscriptions)', async () => {
    // the projector's own store over the same files: it read the erased data (null cached) before the address was invited again
    const reader = new PersonalDataEventStore(new SqliteEventStore(join(dir, 'events.sqlite')), new SqliteKeyStore(join(dir, 'keys.sqlite')), policy);
    try {
      await store.append('s-1', [event('sam', 'old@acme.test')], 'no_stream');
      await store.forget(['u:sam']);
      expect((await collect(reader.readAll()))[0]!.data).toMatchObject({ email: null });
      const sub = reader.subscribe({});
      await store.append('s-1', [event('sam', 'new@acme.test', 'Sam')], 0n);
      const live: unknown[] = [];
      for await (const e of sub) {
        live.push(e.data);
        if (live.length === 2) break;
      }
      await sub.unsubscribe();
      expect(live).toMatchObject([{ email: null }, { email: 'new@acme.test', profile: { name: 'Sam' } }]);
      const [before, after] = await collect(reader.readStream('s-1'));
      expect(before!.data).toMatchObject({ email: null, profile: { name: null } });
      expect(after!.data).toMatchObject({ email: 'new@acme.test', profile: { name: 'Sam' } });
    } finally {
      await reader.close();
    }
  });

  it('a reader still holding the old key (it has not heard of the deletion yet) reads what was sealed under the new key', async () => {
    const reader = new PersonalDataEventStore(new SqliteEventStore(join(dir, 'events.sqlite')), new SqliteKeyStore(join(dir, 'keys.sqlite')), policy);
    try {
      await store.append('s-1', [event('sam', 'old@acme.test')], 'no_stream');
      const [first] = await collect(reader.readAll());
      expect(first!.data).toMatchObject({ email: 'old@acme.test' }); // the old key cached
      const sub = reader.subscribe({ fromPosition: first!.position });
      await store.forget(['u:sam']);
      await store.append('s-1', [event('sam', 'new@acme.test', 'Sam')], 0n);
      for await (const e of sub) {
        expect(e.data).toMatchObject({ email: 'new@acme.test', profile: { name: 'Sam' } });
        break;
      }
      await sub.unsubscribe();
      const [before, after] = await collect(reader.readStream('s-1'));
      expect(before!.data).toMatchObject({ email: null, profile: { name: null } });
      expect(after!.data).toMatchObject({ email: 'new@acme.test' });
    } finally {
      await reader.close();
    }
  });

  it('rule 12: a cached key dropped while other keys are looked up (a deletion of another process heard meanwhile) is looked up again, never read as erased', async () => {
    // replicas e2e with deletions, session 27: a replica read a valid invitation's address as null (its state then
    // lacked it: no ALREADY_INVITED, no resend) because the key it had cached went from the cache during the await
    await store.append('s-1', [event('jane', 'jane@acme.test')], 'no_stream');
    const other = new PersonalDataEventStore(inner, keys, policy);
    await other.append('s-1', [event('bob', 'bob@acme.test')], 0n); // bob's key is not in `store`'s cache
    const find = keys.find.bind(keys);
    jest.spyOn(keys, 'find').mockImplementation(async (ids) => {
      // heard during the lookup: drop what may be stale (AddressErasure.erased → forgetCached); jane's key stays stored
      store.forgetCached(['u:jane']);
      return find(ids);
    });
    const [jane, bob] = await collect(store.readStream('s-1'));
    expect(jane!.data).toMatchObject({ email: 'jane@acme.test' });
    expect(bob!.data).toMatchObject({ email: 'bob@acme.test' });
  });

  it('subscriptions decrypt too, and null values stay null', async () => {
    const sub = store.subscribe({});
    await store.append('s-2', [event('kim', null)], 'no_stream');
    await store.append('s-2', [event('kim', 'kim@acme.test')], 0n);
    const seen: unknown[] = [];
    for await (const e of sub) {
      seen.push((e.data as { email: unknown }).email);
      if (seen.length === 2) break;
    }
    await sub.unsubscribe();
    expect(seen).toEqual([null, 'kim@acme.test']);
  });

  it('rule 12: a deletion forgotten after its append (keys.sqlite, as with EventStoreDB) stamps its tombstone past what was sealed under the key in between (docs/adr/0003 point 11)', async () => {
    await store.append('s-jane', [event('jane', 'jane@acme.test')], 'no_stream');
    const deletion = (await store.append('deletions', [{ id: '20000000-0000-4000-8000-000000000001', type: 'Deleted', data: { person: 'jane' }, metadata: {} }], 'no_stream')).position;
    // another replica, not told yet: sealed under jane's key, which the deletion has not forgotten yet
    const between = (await store.append('s-jane', [event('jane', 'jane@acme.test')], 0n)).position;
    expect(between).toBeGreaterThan(deletion);
    await store.forget(['u:jane'], deletion);
    // erased with the key
    expect((await collect(store.readStream('s-jane'))).map((e) => (e.data as { email: unknown }).email)).toEqual([null, null]);
    // and after no tombstone: a check at its position (as the mailer's, AddressErasure.erasedAfter) sees the erasure
    const tombstone = (await keys.forgottenAt(['u:jane'])).get('u:jane');
    expect(tombstone).toBeGreaterThanOrEqual(between);
  });

  it('a full key cache drops only its oldest subject for each new one (not half of it at once): the oldest is looked up again when read, the others are not', async () => {
    const small = new PersonalDataEventStore(inner, keys, policy, 4);
    for (const person of ['a', 'b', 'c', 'd', 'e']) await small.append(`c-${person}`, [event(person, `${person}@acme.test`)], 'no_stream');
    const find = jest.spyOn(keys, 'find');
    const emailOf = async (person: string) => ((await collect(small.readStream(`c-${person}`)))[0]!.data as { email: string }).email;
    for (const person of ['e', 'd', 'c', 'b']) expect(await emailOf(person)).toBe(`${person}@acme.test`);
    expect(find).not.toHaveBeenCalled();
    expect(await emailOf('a')).toBe('a@acme.test');
    expect(find.mock.calls.map(([ids]) => [...ids])).toEqual([['u:a']]);
    find.mockRestore();
  });

  it('concurrent first-time subjects are created in one batch and all readable', async () => {
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.append(`p-${i}`, [event(`p${i}`, `p${i}@acme.test`)], 'no_stream')));
    const all = await collect(store.readAll());
    expect(all.map((e) => (e.data as { email: string }).email).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `p${i}@acme.test`).sort());
  });
});
