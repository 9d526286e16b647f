import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { RecordedEvent } from '../port';
import { SqliteEventStore } from '../sqlite/sqlite-event-store';
import { plantInPageGap } from '../testing/page-gaps';
import { keyTableOf, withAllKeysView } from '../testing/stored-keys';
import { EmbeddedKeyStore } from './embedded-key-store';
import { FORGET_KEYS_WITH_EVENT } from './erased-subjects';
import { SqliteKeyStore } from './key-store';
import { type PersonalDataPolicy, PersonalDataEventStore } from './personal-data-event-store';

// SQLite leaves copies of cells in a b-tree page's unused space when a split or a merge rebuilds the page
// (btree.c rebuildPage), where secure_delete never reaches them: a stress of the key store's own statements (session
// 32) found whole salts of forgotten subjects so, now and then. No workload of a test makes one on purpose: each test
// plants the copy (plantInPageGap) while the subject is live, as SQLite would have, then forgets the subject.

const policy: PersonalDataPolicy = (type, data) =>
  type === 'Personal' ? [{ subjectId: `u:${(data as { person: string }).person}`, paths: ['email'] }] : [];

let n = 0;
const id = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
const event = (person: string) => ({ id: id(), type: 'Personal', data: { person, email: `${person}@acme.test` }, metadata: {} });
/** 300 subjects whose keys come in no order: pages split in the middle, with unused space */
const persons = Array.from({ length: 300 }, (_, i) => `p-${(i * 7919) % 1000}`);

async function open(dir: string) {
  const events = new SqliteEventStore(join(dir, 'events.sqlite'));
  const keys = await EmbeddedKeyStore.open(events, join(dir, 'keys.sqlite'));
  return { events, keys, store: new PersonalDataEventStore(events, keys, policy) };
}

/** events.sqlite's keys, across their tables (key-buckets.ts); keys.sqlite's in its one table */
const rows = (file: string, table = 'all_subject_keys') => {
  const db = withAllKeysView(new DatabaseSync(file, { readOnly: true }));
  try {
    return {
      keys: db.prepare(`SELECT subject, key FROM ${table} ORDER BY subject`).all() as { subject: string; key: Uint8Array }[],
      integrity: (db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check,
    };
  } finally {
    db.close();
  }
};

const filesHolding = (dir: string, bytes: Uint8Array) => readdirSync(dir).filter((f) => readFileSync(join(dir, f)).includes(Buffer.from(bytes)));

const collect = async (it: AsyncIterable<RecordedEvent>) => {
  const out: RecordedEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
};

describe('forgetting leaves no copy of the key in a page\'s unused space', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rollcall-key-copies-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('events.sqlite: a deletion that forgets a salt in its commit leaves no copy of it, also one SQLite left in a page gap; every other key is kept', async () => {
    let opened = await open(dir);
    for (let i = 0; i < persons.length; i += 30) await opened.store.append(`s-${i}`, persons.slice(i, i + 30).map(event), 'no_stream');
    await opened.store.close();
    const file = join(dir, 'events.sqlite');
    const before = rows(file).keys;
    const gone = before.find((k) => k.subject === `u:${persons[5]}`)!;
    // the cell's bytes: the subject id, then its stored salt
    plantInPageGap(file, keyTableOf(gone.subject), Buffer.concat([Buffer.from(gone.subject, 'utf8'), gone.key]));

    opened = await open(dir);
    // a user's deletion, as the command path sends it: forgotten in the append's commit, then what is left let go
    await opened.store.append('deletions', [{ id: id(), type: 'Deleted', data: {}, metadata: { [FORGET_KEYS_WITH_EVENT]: [gone.subject] } }], 'no_stream');
    await opened.store.forgetAfterAppend([gone.subject]);
    expect(filesHolding(dir, gone.key)).toEqual([]);
    await opened.store.close();

    expect(filesHolding(dir, gone.key)).toEqual([]);
    const after = rows(file);
    expect(after.integrity).toBe('ok');
    expect(after.keys).toEqual(before.filter((k) => k !== gone));
    const fresh = await open(dir);
    const emails = (await collect(fresh.store.readAll({ filter: { eventTypes: ['Personal'] } }))).map((e) => (e.data as { email: string | null }).email);
    expect(emails.filter((e) => e === null)).toHaveLength(1);
    expect(emails).toHaveLength(persons.length);
    await fresh.store.close();
  });

  it('events.sqlite written before session 42 (every key in one table): its keys move into their tables, and a copy of a salt forgotten before goes with the old table', async () => {
    let opened = await open(dir);
    await opened.store.append('s', persons.slice(0, 120).map(event), 'no_stream');
    await opened.store.close();
    const file = join(dir, 'events.sqlite');
    const before = rows(file).keys;
    // the file as an earlier version left it: one table, a salt forgotten (its row deleted with secure_delete) whose
    // copy SQLite left in a page gap
    const db = withAllKeysView(new DatabaseSync(file));
    db.exec(`PRAGMA secure_delete = ON;
      CREATE TABLE subject_keys (subject TEXT PRIMARY KEY, key BLOB NOT NULL) WITHOUT ROWID;
      INSERT INTO subject_keys SELECT subject, key FROM all_subject_keys`);
    for (const { subject } of before) db.prepare(`DELETE FROM ${keyTableOf(subject)} WHERE subject = ?`).run(subject);
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    db.close();
    const earlier = before.find((k) => k.subject === `u:${persons[7]}`)!;
    plantInPageGap(file, 'subject_keys', Buffer.concat([Buffer.from(earlier.subject, 'utf8'), earlier.key]));
    const old = new DatabaseSync(file);
    old.exec('PRAGMA secure_delete = ON');
    old.prepare('DELETE FROM subject_keys WHERE subject = ?').run(earlier.subject);
    old.close();
    expect(filesHolding(dir, earlier.key)).toEqual(['events.sqlite']);
    expect(rows(file).keys).toEqual([]);

    opened = await open(dir);
    const emails = (await collect(opened.store.readAll({ filter: { eventTypes: ['Personal'] } }))).map((e) => (e.data as { email: string | null }).email);
    await opened.store.close();
    expect(emails.filter((e) => e === null)).toEqual([null]);
    expect(filesHolding(dir, earlier.key)).toEqual([]);
    const after = rows(file);
    expect(after.keys).toEqual(before.filter((k) => k !== earlier));
    expect(after.integrity).toBe('ok');
    const check = new DatabaseSync(file, { readOnly: true });
    expect(check.prepare("SELECT name FROM sqlite_schema WHERE name = 'subject_keys'").all()).toEqual([]);
    check.close();
  });

  it('events.sqlite written before session 42: the move is told (how many keys, how long); a subject with another key in its table already is refused, nothing moved (probe 42b F2: one was dropped silently)', async () => {
    let opened = await open(dir);
    await opened.store.append('s', persons.slice(0, 50).map(event), 'no_stream');
    await opened.store.close();
    const file = join(dir, 'events.sqlite');
    const before = rows(file).keys;
    // an earlier version's table beside the tables: the keys copied into it, one of them different
    const db = withAllKeysView(new DatabaseSync(file));
    db.exec(`CREATE TABLE subject_keys (subject TEXT PRIMARY KEY, key BLOB NOT NULL) WITHOUT ROWID;
      INSERT INTO subject_keys SELECT subject, key FROM all_subject_keys`);
    const other = before[4]!;
    db.prepare('UPDATE subject_keys SET key = zeroblob(33) WHERE subject = ?').run(other.subject);
    db.close();
    expect(() => new SqliteEventStore(file)).toThrow(new RegExp(`two different data keys for 1 subject\\(s\\) \\(${other.subject}\\)`));
    const untouched = new DatabaseSync(file, { readOnly: true });
    expect((untouched.prepare('SELECT count(*) AS n FROM subject_keys').get() as { n: number }).n).toBe(before.length);
    untouched.close();
    expect(rows(file).keys).toEqual(before);

    // the same keys (a move a crash interrupted after copying them, say): moved, and told
    const fix = new DatabaseSync(file);
    fix.prepare('UPDATE subject_keys SET key = ? WHERE subject = ?').run(other.key, other.subject);
    fix.close();
    const told: number[] = [];
    const events = new SqliteEventStore(file, { onKeysMoved: (count) => told.push(count) });
    await events.close();
    expect(told).toEqual([before.length]);
    expect(rows(file).keys).toEqual(before);
  });

  it('keys.sqlite (the key store beside KurrentDB, and older data dirs): forgetting a key leaves no copy of it, also one SQLite left in a page gap', async () => {
    const file = join(dir, 'keys.sqlite');
    const ids = persons.map((p) => `u:${p}`);
    const keys = new SqliteKeyStore(file);
    for (let i = 0; i < ids.length; i += 30) await keys.ensure(ids.slice(i, i + 30));
    const all = await keys.find(ids);
    await keys.close();
    const gone = ids[5]!;
    plantInPageGap(file, 'subject_keys', Buffer.concat([Buffer.from(gone, 'utf8'), all.get(gone)!]));

    const again = new SqliteKeyStore(file);
    await again.forget([gone]);
    const kept = await again.find(ids);
    await again.close();
    expect(filesHolding(dir, all.get(gone)!)).toEqual([]);
    expect(kept.size).toBe(ids.length - 1);
    for (const [subject, key] of kept) expect(key).toEqual(all.get(subject));
    expect(rows(file, 'subject_keys').integrity).toBe('ok');
  });
});
