// The presence fan-out (docs/adr/0006, "Streaming"): every subscriber gets every message of its workspace once and in
// order; what arrives while a subscriber waits for its turn shares its next write; the writes go out in slices, with
// the event loop free between them (requests are answered during a fan-out to many subscribers).
import { type PresenceBatch, PresenceFanout, type PresenceMessage } from './fanout';

const message = (position: number, workspaceId = 'ws-1'): PresenceMessage => ({
  position: BigInt(position),
  workspaceId,
  frame: Buffer.from(`id: ${position}\ndata: {}\n\n`),
});
const nextTurn = () => new Promise((r) => setImmediate(r));
/**
 * The fan-out's clock in these specs: each socket write and each request moves it by as long as it would take on a
 * busy machine, so that how many writes fit in a slice does not depend on how this machine is loaded (a slice timed by
 * the real clock ended early whenever the process was descheduled: fanout.spec failed once under load).
 */
const virtualClock = () => {
  let ms = 0;
  return { now: () => ms, spend: (elapsed: number) => void (ms += elapsed) };
};
/** until every queued write went out */
const drained = async (fanout: PresenceFanout, writes: number) => {
  for (let i = 0; i < 1000 && fanout.stats.writes < writes; i++) await nextTurn();
};

describe('rule 13: the presence fan-out', () => {
  it('gives each subscriber of the workspace every message once, in order; messages of one turn share one write', async () => {
    const fanout = new PresenceFanout();
    const got = new Map<string, PresenceBatch[]>();
    for (const name of ['a', 'b', 'c']) fanout.listen('ws-1', (batch) => got.set(name, [...(got.get(name) ?? []), batch]));
    const other: PresenceBatch[] = [];
    fanout.listen('ws-2', (batch) => other.push(batch));
    fanout.publish(message(1));
    fanout.publish(message(2));
    fanout.publish(message(3, 'ws-3'));
    await drained(fanout, 3);
    for (const name of ['a', 'b', 'c']) {
      expect(got.get(name)!.map((b) => b.messages.map((m) => Number(m.position)))).toEqual([[1, 2]]);
      expect(got.get(name)![0]!.frames.toString()).toBe('id: 1\ndata: {}\n\nid: 2\ndata: {}\n\n');
    }
    expect(other).toEqual([]);
    expect(fanout.stats).toMatchObject({ writes: 3, messages: 6 });
  });

  it('writes in slices with the event loop free between them; a subscriber not yet written gets later messages in the same write', async () => {
    const clock = virtualClock();
    const fanout = new PresenceFanout({ sliceMs: 1, now: clock.now });
    const got: number[][][] = Array.from({ length: 200 }, () => []);
    for (const batches of got)
      fanout.listen('ws-1', (batch) => {
        batches.push(batch.messages.map((m) => Number(m.position)));
        // a socket write on a busy machine: 0.125 ms each (exact in binary), 25 ms for all
        clock.spend(0.125);
      });
    fanout.publish(message(1));
    let writtenBeforeTheNextTurn = -1;
    // queued after the fan-out's first slice: it runs between slices, not after all 200 writes
    setImmediate(() => {
      writtenBeforeTheNextTurn = fanout.stats.writes;
      fanout.publish(message(2));
    });
    await nextTurn();
    // every subscriber once, and again those written before message 2 came
    await drained(fanout, 200 + writtenBeforeTheNextTurn);
    // the first slice: 1 ms of 0.125 ms writes
    expect(writtenBeforeTheNextTurn).toBe(8);
    got.forEach((batches, i) => {
      expect(batches.flat()).toEqual([1, 2]);
      // written before message 2 came: two writes; after: one with both
      expect(batches).toEqual(i < writtenBeforeTheNextTurn ? [[1], [2]] : [[1, 2]]);
    });
  });

  it('on a busy event loop, takes about as long a slice as the rest of each turn (it does not fall behind)', async () => {
    const clock = virtualClock();
    const fanout = new PresenceFanout({ sliceMs: 1, maxSliceMs: 10, now: clock.now });
    for (let i = 0; i < 200; i++) fanout.listen('ws-1', () => clock.spend(0.125));
    // requests keep every turn of the event loop busy for 5 ms
    let busy = true;
    let turns = 0;
    const requests = () => {
      if (!busy) return;
      turns++;
      clock.spend(5);
      setImmediate(requests);
    };
    setImmediate(requests);
    fanout.publish(message(1));
    await drained(fanout, 200);
    busy = false;
    // 25 ms of writes: 1 ms slices would take 25 turns; slices as long as the 5 ms of requests: one of 1 ms, then 5 ms each
    expect(fanout.stats.slices).toBe(6);
    expect(turns).toBeLessThanOrEqual(7);
  });

  it('an unsubscribed subscriber gets nothing more, even what was queued for it', async () => {
    const fanout = new PresenceFanout();
    const got: PresenceBatch[] = [];
    const unlisten = fanout.listen('ws-1', (batch) => got.push(batch));
    fanout.publish(message(1));
    unlisten();
    await nextTurn();
    await nextTurn();
    expect(got).toEqual([]);
    expect(fanout.has('ws-1')).toBe(false);
    expect(fanout.subscribers).toBe(0);
  });

  it('a failing subscriber does not keep the others from their messages', async () => {
    const fanout = new PresenceFanout();
    const got: number[] = [];
    fanout.listen('ws-1', () => {
      throw new Error('socket gone');
    });
    fanout.listen('ws-1', (batch) => got.push(...batch.messages.map((m) => Number(m.position))));
    fanout.publish(message(1));
    await drained(fanout, 2);
    expect(got).toEqual([1]);
  });
});
