import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { WrongExpectedRevisionError, type RecordedEvent } from '../port';
import { SqliteEventStore } from '../sqlite/sqlite-event-store';
import { EmbeddedKeyStore } from './embedded-key-store';
import { FORGET_KEYS_WITH_EVENT, KEYS_FORGOTTEN_WITH_EVENT, KeyForgottenSinceSealedError, KeyTracesLeftError } from './erased-subjects';
import { SqliteKeyStore } from './key-store';
import { type PersonalDataPolicy, PersonalDataEventStore } from './personal-data-event-store';
import { keyTableOf, withAllKeysView } from '../testing/stored-keys';

// the policy of personal-data-event-store.int-spec.ts: `person` names the subject, `email` is personal
const policy: PersonalDataPolicy = (type, data) =>
  type === 'Personal' ? [{ subjectId: `u:${(data as { person: string }).person}`, paths: ['email'] }] : [];

const collect = async (it: AsyncIterable<RecordedEvent>) => {
  const out: RecordedEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
};

let n = 0;
const event = (person: string, email: string) => ({
  id: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
  type: 'Personal',
  data: { person, email },
  metadata: {},
});

/** the app's composition over a data dir (rollcall-event-store.ts), with the key store reachable */
async function open(dir: string) {
  const events = new SqliteEventStore(join(dir, 'events.sqlite'));
  const keys = await EmbeddedKeyStore.open(events, join(dir, 'keys.sqlite'));
  return { events, keys, store: new PersonalDataEventStore(events, keys, policy) };
}

const storedKeys = (dir: string, file = 'events.sqlite') => {
  const db = new DatabaseSync(join(dir, file), { readOnly: true });
  // events.sqlite spreads its keys over tables (key-buckets.ts); keys.sqlite keeps one
  const table = file === 'events.sqlite' ? 'all_subject_keys' : 'subject_keys';
  if (file === 'events.sqlite') withAllKeysView(db);
  try {
    return db.prepare(`SELECT subject, key FROM ${table} WHERE subject NOT LIKE '\\_\\_%' ESCAPE '\\' ORDER BY subject`).all() as { subject: string; key: Uint8Array }[];
  } finally {
    db.close();
  }
};

/** every file of the data dir whose bytes contain `bytes` */
const filesHolding = (dir: string, bytes: Uint8Array) => readdirSync(dir).filter((f) => readFileSync(join(dir, f)).includes(Buffer.from(bytes)));

describe('EmbeddedKeyStore: data keys written with the events that first need them', () => {
  let dir: string;
  let opened: Awaited<ReturnType<typeof open>>;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rollcall-embedded-keys-'));
    opened = await open(dir);
  });
  afterEach(async () => {
    await opened.store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores first-time subjects\' keys in the events\' own commit: one commit for a group, only a salt, none in keys.sqlite', async () => {
    const before = opened.events.commitSequence;
    await Promise.all(Array.from({ length: 20 }, (_, i) => opened.store.append(`s-${i}`, [event(`p${i}`, `p${i}@acme.test`)], 'no_stream')));
    expect(opened.events.commitSequence).toBe(before + 1);
    const keys = storedKeys(dir);
    expect(keys.map((k) => k.subject)).toEqual(Array.from({ length: 20 }, (_, i) => `u:p${i}`).sort());
    expect(storedKeys(dir, 'keys.sqlite')).toEqual([]);
    // a salt is stored, not the key: the key that opens the data is in no file of the data dir
    const raw = (await opened.keys.find(['u:p0'])).get('u:p0')!;
    expect(raw).toHaveLength(32);
    expect(keys[0]!.key).not.toEqual(new Uint8Array(raw));
    expect(filesHolding(dir, raw)).toEqual([]);
    // a fresh process reads everything back
    const fresh = await open(dir);
    const read = await collect(fresh.store.readAll());
    expect(read.map((e) => (e.data as { email: string }).email).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `p${i}@acme.test`).sort());
    await fresh.store.close();
  });

  it('a copy of events.sqlite without its keys.sqlite opens no personal data', async () => {
    await opened.store.append('s', [event('eve', 'eve@acme.test')], 'no_stream');
    await opened.store.close();
    const elsewhere = mkdtempSync(join(tmpdir(), 'rollcall-events-copy-'));
    try {
      // beside another data dir's keys.sqlite (a lost one is refused at open: keys-belong-to-log.int-spec.ts)
      await (await open(elsewhere)).store.close();
      for (const f of readdirSync(elsewhere).filter((n) => n.startsWith('events.sqlite'))) rmSync(join(elsewhere, f));
      for (const f of readdirSync(dir).filter((n) => n.startsWith('events.sqlite'))) copyFileSync(join(dir, f), join(elsewhere, f));
      const copy = await open(elsewhere);
      expect((await collect(copy.store.readStream('s'))).map((e) => (e.data as { email: unknown }).email)).toEqual([null]);
      await copy.store.close();
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
    opened = await open(dir);
    expect((await collect(opened.store.readStream('s'))).map((e) => (e.data as { email: unknown }).email)).toEqual(['eve@acme.test']);
  });

  it('stores no key when the append that carried it fails; the next append creates it', async () => {
    await opened.store.append('taken', [event('x', 'x@acme.test')], 'no_stream');
    await expect(opened.store.append('taken', [event('late', 'late@acme.test')], 'no_stream')).rejects.toBeInstanceOf(WrongExpectedRevisionError);
    expect(storedKeys(dir).map((k) => k.subject)).toEqual(['u:x']);
    await opened.store.append('taken', [event('late', 'late@acme.test')], 0n);
    expect(storedKeys(dir).map((k) => k.subject)).toEqual(['u:late', 'u:x']);
    expect((await collect(opened.store.readStream('taken'))).map((e) => (e.data as { email: string }).email)).toEqual(['x@acme.test', 'late@acme.test']);
  });

  it('a subject first seen by two appends in flight gets one key', async () => {
    await Promise.all([opened.store.append('a', [event('sam', 'one@acme.test')], 'no_stream'), opened.store.append('b', [event('sam', 'two@acme.test')], 'no_stream')]);
    expect(storedKeys(dir).map((k) => k.subject)).toEqual(['u:sam']);
    const fresh = await open(dir);
    expect((await collect(fresh.store.readAll())).map((e) => (e.data as { email: string }).email)).toEqual(['one@acme.test', 'two@acme.test']);
    await fresh.store.close();
  });

  it('when another process stores a key for the subject first, the append is sealed again with the stored key', async () => {
    const other = await open(dir);
    // this process looks the subject up (no key yet) and generates one; the other process commits its own meanwhile
    let otherWrote!: () => void;
    const gate = new Promise<void>((resolve) => (otherWrote = resolve));
    let lookups = 0;
    const racing = Object.assign(Object.create(opened.keys) as EmbeddedKeyStore, {
      findStored: async (ids: readonly string[]) => {
        lookups++;
        const found = await opened.keys.findStored(ids);
        await gate;
        return found;
      },
    });
    const store = new PersonalDataEventStore(opened.events, racing, policy);
    const mine = store.append('mine', [event('kim', 'mine@acme.test')], 'no_stream');
    await other.store.append('theirs', [event('kim', 'theirs@acme.test')], 'no_stream');
    otherWrote();
    await mine;
    // the first try was refused (another key was stored); the key was looked up again and the events sealed with it
    expect(lookups).toBe(2);
    expect(storedKeys(dir).map((k) => k.subject)).toEqual(['u:kim']);
    const fresh = await open(dir);
    expect((await collect(fresh.store.readAll())).map((e) => (e.data as { email: string }).email)).toEqual(['theirs@acme.test', 'mine@acme.test']);
    await fresh.store.close();
    await other.store.close();
  });

  it('the same batch written first by another process (one command sent to both): the replay keeps no key of its own, and reads the events in clear', async () => {
    const other = await open(dir);
    let otherWrote!: () => void;
    const gate = new Promise<void>((resolve) => (otherWrote = resolve));
    // this process looks the subject up before the other one writes (no key yet) and generates one
    const racing = Object.assign(Object.create(opened.keys) as EmbeddedKeyStore, {
      findStored: async (ids: readonly string[]) => {
        const found = await opened.keys.findStored(ids);
        await gate;
        return found;
      },
    });
    const store = new PersonalDataEventStore(opened.events, racing, policy);
    const batch = event('lee', 'lee@acme.test');
    const mine = store.append('s', [batch], 'no_stream');
    await other.store.append('s', [batch], 'no_stream');
    otherWrote();
    expect(await mine).toMatchObject({ nextRevision: 0n, replayed: true });
    expect(storedKeys(dir).map((k) => k.subject)).toEqual(['u:lee']);
    // a key this process made and never stored, kept in its cache, would read the stored event as erased (null)
    expect((await collect(store.readStream('s'))).map((e) => (e.data as { email: string | null }).email)).toEqual(['lee@acme.test']);
    await other.store.close();
  });

  it('rule 12: a deletion forgets its keys in its own commit; an append sealed with a forgotten key (by a process that had not heard of the deletion) writes nothing and is to be decided again, then gets a new key: nothing after the deletion in the log is erased by it', async () => {
    const other = await open(dir);
    // this process seals kim's address, and keeps the key in its cache
    await opened.store.append('before', [event('kim', 'before@acme.test')], 'no_stream');
    // another process deletes: its event asks for u:kim's key to be forgotten in the same transaction
    const deletion = { id: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`, type: 'Deleted', data: {}, metadata: { [FORGET_KEYS_WITH_EVENT]: ['u:kim'] } };
    await other.store.append('deletions', [deletion], 'no_stream');
    expect(storedKeys(dir)).toEqual([]);
    // this process still holds the forgotten key: its append is refused by the check in its transaction (what it was
    // decided on may hold data the deletion erased: the caller decides again, and sends what it decided then)
    await expect(opened.store.append('after', [event('kim', 'stale@acme.test')], 'no_stream')).rejects.toThrow(KeyForgottenSinceSealedError);
    expect(storedKeys(dir)).toEqual([]);
    await opened.store.append('after', [event('kim', 'after@acme.test')], 'no_stream');
    expect(storedKeys(dir).map((k) => k.subject)).toEqual(['u:kim']);
    // the deletion sent again (a retry after a lost answer) is a replay: it forgets nothing now
    expect(await other.store.append('deletions', [deletion], 'no_stream')).toMatchObject({ replayed: true });
    const fresh = await open(dir);
    const log = await collect(fresh.store.readAll());
    expect(log.map((e) => [e.stream, (e.data as { email?: unknown }).email ?? null])).toEqual([
      ['before', null],
      ['deletions', null],
      ['after', 'after@acme.test'],
    ]);
    // the log says the deletion's keys went with it (the start's erasure pass forgets none of them again)
    expect(log[1]!.metadata).toEqual({ [KEYS_FORGOTTEN_WITH_EVENT]: true });
    await fresh.store.close();
    await other.store.close();
  });

  it('rule 12: two appends in flight for a subject without a key, a deletion of it committing between them: the first is erased with it, the second (after it) keeps its data (each append makes its own key: a shared one was stored again by the second)', async () => {
    const deletion = (person: string) => ({ id: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`, type: 'Deleted', data: {}, metadata: { [FORGET_KEYS_WITH_EVENT]: [`u:${person}`] } });
    const orders = new Set<string>();
    for (let round = 0; round < 24; round++) {
      const person = `new-${round}`;
      const first = opened.store.append(`x-${round}`, [event(person, 'x@acme.test')], 'no_stream');
      for (let i = 0; i < round % 6; i++) await Promise.resolve();
      const deleted = opened.store.append(`d-${round}`, [deletion(person)], 'no_stream');
      for (let i = 0; i < Math.floor(round / 6); i++) await Promise.resolve();
      // a command sealed with a key forgotten since is decided again by its caller, as the command path does
      const second = opened.store
        .append(`y-${round}`, [event(person, 'y@acme.test')], 'no_stream')
        .catch((error: unknown) => (error instanceof KeyForgottenSinceSealedError ? opened.store.append(`y-${round}`, [event(person, 'y@acme.test')], 'no_stream') : Promise.reject(error)));
      const [x, d, y] = await Promise.all([first, deleted, second]);
      orders.add([['x', x.position], ['d', d.position], ['y', y.position]].sort((p, q) => (p[1]! < q[1]! ? -1 : 1)).map((p) => p[0]).join(''));
      const emailOf = async (stream: string) => ((await collect(opened.store.readStream(stream)))[0]!.data as { email: string | null }).email;
      expect({ round, x: await emailOf(`x-${round}`), y: await emailOf(`y-${round}`) }).toEqual({
        round,
        x: x.position > d.position ? 'x@acme.test' : null,
        y: y.position > d.position ? 'y@acme.test' : null,
      });
    }
    // the deletion landed between the two in some rounds
    expect(orders).toContain('xdy');
  });

  it('rule 12: a forgotten key leaves a tombstone at the log position of the first event of the deletion that forgot it (its latest), or at the head when forgotten on its own', async () => {
    const deletion = (person: string) => ({ id: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`, type: 'Deleted', data: {}, metadata: { [FORGET_KEYS_WITH_EVENT]: [`u:${person}`] } });
    await opened.store.append('s', [event('kim', 'kim@acme.test'), event('lee', 'lee@acme.test')], 'no_stream');
    expect(await opened.keys.forgottenAt(['u:kim', 'u:lee'])).toEqual(new Map());
    // a deletion of two streams: its tombstone is at its first event
    const { position } = await opened.store.appendMany([
      { stream: 'org', events: [deletion('kim')], expected: 'no_stream' },
      { stream: 'ws', events: [event('kim', 'gone@acme.test'), event('kim', 'gone@acme.test')].map((e) => ({ ...e, type: 'Other', metadata: { [FORGET_KEYS_WITH_EVENT]: ['u:kim'] } })), expected: 'no_stream' },
    ]);
    expect(position).toBe(5n);
    expect(await opened.keys.forgottenAt(['u:kim', 'u:lee'])).toEqual(new Map([['u:kim', 3n]]));
    // kim gets a key again, and a later deletion moves the tombstone; lee is forgotten on its own: at the head
    await opened.store.append('again', [event('kim', 'kim2@acme.test')], 'no_stream');
    await opened.store.append('later', [deletion('kim')], 'no_stream');
    await opened.store.forget(['u:lee']);
    expect(await opened.keys.forgottenAt(['u:kim', 'u:lee', 'u:none'])).toEqual(new Map([['u:kim', 7n], ['u:lee', 7n]]));
  });

  it('rule 12: a deletion whose keys went with its commit while readers keep the WAL busy: the keys are gone, and what is left (their traces) is told apart from a failed forgetting (KeyTracesLeftError)', async () => {
    await opened.store.close();
    const events = new SqliteEventStore(join(dir, 'events.sqlite'), { busyTimeoutMs: 50 });
    const keys = await EmbeddedKeyStore.open(events, join(dir, 'keys.sqlite'));
    opened = { events, keys, store: new PersonalDataEventStore(events, keys, policy) };
    await opened.store.append('s', [event('kim', 'kim@acme.test')], 'no_stream');
    const deletion = { id: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`, type: 'Deleted', data: {}, metadata: { [FORGET_KEYS_WITH_EVENT]: ['u:kim'] } };
    // another connection holds a read snapshot: the WAL cannot be copied back and truncated
    const reader = new DatabaseSync(join(dir, 'events.sqlite'));
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM events').get();
    try {
      await opened.store.append('deletions', [deletion], 'no_stream');
      const error = await opened.store.forgetAfterAppend(['u:kim']).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KeyTracesLeftError);
      expect((error as KeyTracesLeftError).subjectIds).toEqual(['u:kim']);
    } finally {
      reader.exec('ROLLBACK');
      reader.close();
    }
    expect(storedKeys(dir)).toEqual([]);
    await opened.store.forgottenWithEvent(['u:kim']);
    expect((await collect(opened.store.readStream('s'))).map((e) => (e.data as { email: unknown }).email)).toEqual([null]);
  });

  it('forgetting erases: the stored salt is gone from events.sqlite and its WAL, the data reads as null', async () => {
    await opened.store.append('s', [event('jane', 'jane@acme.test'), event('joe', 'joe@acme.test')], 'no_stream');
    const [jane] = storedKeys(dir);
    expect(jane!.subject).toBe('u:jane');
    expect(filesHolding(dir, jane!.key)).toEqual(['events.sqlite-wal']);
    await opened.store.forget(['u:jane']);
    expect(filesHolding(dir, jane!.key)).toEqual([]);
    const fresh = await open(dir);
    expect((await collect(fresh.store.readStream('s'))).map((e) => (e.data as { email: unknown }).email)).toEqual([null, 'joe@acme.test']);
    await fresh.store.close();
  });

  it('refuses a stored key of another format: an error, not an erased subject', async () => {
    await opened.store.append('s', [event('ann', 'ann@acme.test')], 'no_stream');
    const db = new DatabaseSync(join(dir, 'events.sqlite'));
    db.prepare(`UPDATE ${keyTableOf('u:ann')} SET key = zeroblob(61) WHERE subject = 'u:ann'`).run();
    db.close();
    const fresh = await open(dir);
    await expect(fresh.keys.find(['u:ann'])).rejects.toThrow(/u:ann/);
    await fresh.store.close();
  });
});

describe('EmbeddedKeyStore over a data dir written before (keys in keys.sqlite)', () => {
  it('reads the older keys, creates new ones in events.sqlite, and forgets older keys from keys.sqlite and its WAL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rollcall-older-keys-'));
    try {
      // as the store was composed before: a separate key store in keys.sqlite
      const before = new PersonalDataEventStore(new SqliteEventStore(join(dir, 'events.sqlite')), new SqliteKeyStore(join(dir, 'keys.sqlite')), policy);
      await before.append('s', [event('old', 'old@acme.test'), event('kept', 'kept@acme.test')], 'no_stream');
      await before.close();
      const older = storedKeys(dir, 'keys.sqlite');
      expect(older.map((k) => k.subject)).toEqual(['u:kept', 'u:old']);

      const now = await open(dir);
      await now.store.append('s', [event('old', 'again@acme.test'), event('new', 'new@acme.test')], 1n);
      expect(storedKeys(dir).map((k) => k.subject)).toEqual(['u:new']);
      expect((await collect(now.store.readStream('s'))).map((e) => (e.data as { email: string }).email)).toEqual([
        'old@acme.test',
        'kept@acme.test',
        'again@acme.test',
        'new@acme.test',
      ]);
      await now.store.forget(['u:old']);
      expect(filesHolding(dir, older.find((k) => k.subject === 'u:old')!.key)).toEqual([]);
      await now.store.close();

      const fresh = await open(dir);
      expect((await collect(fresh.store.readStream('s'))).map((e) => (e.data as { email: unknown }).email)).toEqual([null, 'kept@acme.test', null, 'new@acme.test']);
      await fresh.store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
