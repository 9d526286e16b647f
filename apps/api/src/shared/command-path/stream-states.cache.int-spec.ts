// StreamStates keeps at most `maxCachedSingles` (and `maxCached`) states; the least recently loaded goes first.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DomainEvent } from '@rollcall/domain';
import { type ReadStreamOptions, type RecordedEvent, SqliteEventStore } from '@rollcall/event-store';
import { StreamStates } from './stream-states';

/** The embedded store, counting the reads of a stream from its start (a state not cached) */
class CountingStore extends SqliteEventStore {
  readonly cold: string[] = [];
  override readStream(stream: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent> {
    if ((options?.fromRevision ?? 0n) === 0n) this.cold.push(stream);
    return super.readStream(stream, options);
  }
}

/** a state of its own kind (its events are none the domain knows: nothing is folded, only the revision moves) */
const counter = { initial: () => 0, evolve: (n: number, _e: DomainEvent) => n + 1 };

let dir: string;
let store: CountingStore;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-states-cache-'));
  store = new CountingStore(join(dir, 'events.sqlite'), { durability: 'normal' });
  for (const s of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'])
    await store.append(s, [{ id: randomUUID(), type: 'Counted', data: {}, metadata: {} }], 'no_stream');
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('StreamStates: the cache of states', () => {
  it('drops the least recently loaded state first, also for states loaded again while the cache was less than half full', async () => {
    const states = new StreamStates(store, { maxCachedSingles: 6 });
    const load = async (...streams: string[]) => {
      for (const s of streams) expect((await states.single(s, counter)).expected).toBe(0n);
    };
    // a is loaded again while the cache is below half (1 and 2 of 6), b once; then the cache fills up
    await load('a', 'b', 'a', 'c', 'd', 'a', 'e', 'f');
    expect(store.cold).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    // two more: b and c, the least recently loaded, go (a was loaded after them)
    await load('g', 'h');
    store.cold.length = 0;
    await load('a', 'd', 'e', 'f', 'g', 'h');
    expect(store.cold).toEqual([]);
    await load('b');
    expect(store.cold).toEqual(['b']);
    // b took the place of the least recently loaded one: a (loaded before d… in the line above)
    store.cold.length = 0;
    await load('d', 'e', 'f', 'g', 'h', 'b', 'a');
    expect(store.cold).toEqual(['a']);
  });
});
