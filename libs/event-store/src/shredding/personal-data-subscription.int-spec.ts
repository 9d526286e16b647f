// Live events through the crypto-shredding store, as the projector thread reads them: a page at a time from the
// embedded store, its keys looked up once per page (personal-data-event-store.ts, openedByPage).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordedEvent, Subscription } from '../port';
import { SqliteEventStore } from '../sqlite/sqlite-event-store';
import { EmbeddedKeyStore } from './embedded-key-store';
import { type PersonalDataPolicy, PersonalDataEventStore } from './personal-data-event-store';

// the policy of personal-data-event-store.int-spec.ts: `person` names the subject, `email` is personal
const policy: PersonalDataPolicy = (type, data) =>
  type === 'Personal' ? [{ subjectId: `u:${(data as { person: string }).person}`, paths: ['email'] }] : [];

let n = 0;
const event = (person: string, email: string) => ({
  id: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
  type: 'Personal',
  data: { person, email },
  metadata: {},
});
const emailOf = (e: RecordedEvent) => (e.data as { email: string | null }).email;

/**
 * the app's composition over a data dir (rollcall-event-store.ts), its key cache its own; over a store opened already
 * (a subscription hears the commits of its own store: the projector thread's polls the head for the others')
 */
async function open(dir: string, over?: SqliteEventStore) {
  const events = over ?? new SqliteEventStore(join(dir, 'events.sqlite'));
  const keys = await EmbeddedKeyStore.open(events, join(dir, 'keys.sqlite'));
  return { events, keys, store: new PersonalDataEventStore(events, keys, policy) };
}

/** the next `count` events of a subscription (it stays open) */
async function take(events: AsyncIterator<RecordedEvent>, count: number): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  while (out.length < count) {
    const next = await events.next();
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

describe('PersonalDataEventStore: live events a page at a time', () => {
  let dir: string;
  let writer: Awaited<ReturnType<typeof open>>;
  let reader: Awaited<ReturnType<typeof open>>;
  let sub: Subscription | undefined;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rollcall-shred-pages-'));
    writer = await open(dir);
    reader = await open(dir, writer.events);
  });
  afterEach(async () => {
    await sub?.unsubscribe();
    sub = undefined;
    await reader.store.close();
    await writer.store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('looks the keys of a page of live events up at once: one lookup for the page, not one per event', async () => {
    const lookups: string[][] = [];
    const findStored = reader.keys.findStored.bind(reader.keys);
    reader.keys.findStored = async (ids) => {
      lookups.push([...ids]);
      return findStored(ids);
    };
    const people = Array.from({ length: 30 }, (_, i) => `p${i}`);
    await writer.store.append('s-1', people.map((p) => event(p, `${p}@acme.test`)), 'no_stream');
    sub = reader.store.subscribe({});
    const events = sub[Symbol.asyncIterator]();
    expect((await take(events, 30)).map(emailOf)).toEqual(people.map((p) => `${p}@acme.test`));
    expect(lookups).toEqual([people.map((p) => `u:${p}`)]);
    // live: the next append is the next page
    await writer.store.append('s-1', [event('q1', 'q1@acme.test'), event('p0', 'p0.again@acme.test'), event('q2', 'q2@acme.test')], 29n);
    expect((await take(events, 3)).map(emailOf)).toEqual(['q1@acme.test', 'p0.again@acme.test', 'q2@acme.test']);
    expect(lookups.slice(1)).toEqual([['u:q1', 'u:q2']]);
  });

  it("never opens an event with a key dropped from the cache while its page is handed on (a forgetting heard): it is looked up again", async () => {
    await writer.store.append('s-1', [event('sam', 'sam@acme.test'), event('kim', 'kim@acme.test'), event('sam', 'sam.second@acme.test')], 'no_stream');
    sub = reader.store.subscribe({});
    const events = sub[Symbol.asyncIterator]();
    expect((await take(events, 1)).map(emailOf)).toEqual(['sam@acme.test']);
    // the page's keys were looked up with its first event; now sam is deleted (by another process) and this one hears it
    await writer.store.forget(['u:sam']);
    reader.store.forgetCached(['u:sam']);
    expect((await take(events, 2)).map(emailOf)).toEqual(['kim@acme.test', null]);
  });

  it('in one page, what a forgotten key sealed reads as erased, and what the subject\'s new key sealed after it in clear', async () => {
    await writer.store.append('s-1', [event('sam', 'old@acme.test')], 'no_stream');
    await writer.store.forget(['u:sam']);
    await writer.store.append('s-1', [event('sam', 'new@acme.test')], 0n);
    sub = reader.store.subscribe({});
    expect((await take(sub[Symbol.asyncIterator](), 2)).map(emailOf)).toEqual([null, 'new@acme.test']);
  });

  it('a reader still holding a forgotten key (it has not heard of the deletion) opens a page sealed under the new key', async () => {
    await writer.store.append('s-1', [event('sam', 'old@acme.test')], 'no_stream');
    sub = reader.store.subscribe({});
    const events = sub[Symbol.asyncIterator]();
    expect((await take(events, 1)).map(emailOf)).toEqual(['old@acme.test']); // the old key cached
    await writer.store.forget(['u:sam']);
    // not heard by the reader: its cache holds the old key when the next page (sealed under a new key) comes
    await writer.store.append('s-1', [event('sam', 'new@acme.test'), event('sam', 'newer@acme.test')], 0n);
    expect((await take(events, 2)).map(emailOf)).toEqual(['new@acme.test', 'newer@acme.test']);
  });
});
