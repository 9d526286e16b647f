// APPEND_AFTER: an append that must follow one given event (the command path's pipelining, docs/adr/0010 third pass),
// with the group commit on the caller's thread and on the commit thread.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { type NewEvent, type RecordedEvent, WrongExpectedRevisionError } from '../port';
import { APPEND_AFTER, type AppendAfter } from './group-commit';
import { SqliteEventStore } from './sqlite-event-store';

let dir: string;
let store: SqliteEventStore;

const ev = (type = 'E'): NewEvent => ({ id: randomUUID(), type, data: { type }, metadata: { k: type } });
/** an event whose metadata carries the precondition: follow the event `id` */
const following = (id: string | undefined, type = 'F'): { event: NewEvent; marker: AppendAfter } => {
  const marker: AppendAfter = id === undefined ? {} : { id };
  const event = ev(type);
  (event.metadata as Record<symbol, unknown>)[APPEND_AFTER] = marker;
  return { event, marker };
};
const read = async (stream: string) => {
  const out: RecordedEvent[] = [];
  for await (const e of store.readStream(stream)) out.push(e);
  return out;
};

describe.each(['inline', 'thread'] as const)('GroupCommit (%s writer): an append that must follow a given event (APPEND_AFTER)', (writer) => {
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rollcall-group-commit-'));
    store = new SqliteEventStore(join(dir, 'events.sqlite'), { durability: 'normal', writer });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is written when the event at its expected revision is that event; the store marks it checked and stores no trace of it', async () => {
    const a = ev('A');
    await store.append('s', [a], 'no_stream');
    const { event, marker } = following(a.id);
    await store.append('s', [event], 0n);
    expect(marker.checked).toBe(true);
    const db = new DatabaseSync(join(dir, 'events.sqlite'));
    const stored = db.prepare('SELECT metadata FROM events WHERE id = ?').get(event.id) as { metadata: string };
    db.close();
    expect(JSON.parse(stored.metadata)).toEqual({ k: 'F' });
    expect((await read('s')).map((e) => e.type)).toEqual(['A', 'F']);
  });

  it('fails when another event holds that revision (the revision alone would match): nothing of it is written', async () => {
    await store.append('s', [ev('A')], 'no_stream');
    const { event } = following(randomUUID());
    await expect(store.append('s', [event], 0n)).rejects.toBeInstanceOf(WrongExpectedRevisionError);
    expect((await read('s')).map((e) => e.type)).toEqual(['A']);
  });

  it('is written in the same commit as the event it follows when both are queued in that order, and fails with it', async () => {
    await store.append('s', [ev('A')], 'no_stream');
    const before = store.commitSequence;
    const b = ev('B');
    const { event: c } = following(b.id, 'C');
    await Promise.all([store.append('s', [b], 0n), store.append('s', [c], 1n)]);
    expect(store.commitSequence).toBe(before + 1);
    expect((await read('s')).map((e) => e.type)).toEqual(['A', 'B', 'C']);

    // the one it follows conflicts (expected 0 again), but this one's revision alone would match another's event
    const d = ev('D');
    const { event: e } = following(d.id, 'E');
    const results = await Promise.allSettled([store.append('s', [ev('X')], 2n), store.append('s', [d], 2n), store.append('s', [e], 3n)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    expect((await read('s')).map((e) => e.type)).toEqual(['A', 'B', 'C', 'X']);
  });

  it('a re-sent batch already written answers where it is (idempotent), precondition and all', async () => {
    const a = ev('A');
    await store.append('s', [a], 'no_stream');
    const { event } = following(a.id);
    const first = await store.append('s', [event], 0n);
    await store.append('s', [ev('Z')], 1n);
    expect(await store.append('s', [event], 0n)).toEqual({ ...first, replayed: true });
  });

  it('fails after a batch answered as a replay: the follower was decided on that batch as its sender decided it, not as stored', async () => {
    // a batch under ids another batch was stored with (the command side draws ids per decision, so only a caller
    // reusing ids could): its re-append is a replay, and an append decided on its version must not be written
    await store.append('s', [ev('A')], 'no_stream');
    const mine = { id: randomUUID(), type: 'B', data: { by: 'this process' }, metadata: {} };
    const theirs = { ...mine, data: { by: 'another process' } };
    await store.append('s', [theirs], 0n);
    expect(await store.append('s', [mine], 0n)).toMatchObject({ nextRevision: 1n, replayed: true });
    const { event } = following(mine.id, 'C');
    await expect(store.append('s', [event], 1n)).rejects.toBeInstanceOf(WrongExpectedRevisionError);
    expect((await read('s')).map((e) => e.type)).toEqual(['A', 'B']);
  });

  it('without an id it only asks whether the store checks: an ordinary append, marked checked', async () => {
    const { event, marker } = following(undefined);
    await store.append('s', [event], 'no_stream');
    expect(marker.checked).toBe(true);
    expect((await read('s')).map((e) => e.type)).toEqual(['F']);
  });
});
