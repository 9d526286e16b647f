import { randomUUID } from 'node:crypto';
import { type EventStore, type NewEvent, type RecordedEvent, WrongExpectedRevisionError } from '../port';

/**
 * Part of the EventStore contract (registered by eventStoreContract): atomic multi-stream appends, and what a
 * retry after an unclear failure (AppendOutcomeUnknownError: timeout, reset connection) must do at the port:
 * the identical batch re-sent at the same expected revision writes nothing more and returns the same result.
 * `current()` gives the test's store and its unique stream prefix.
 */
/**
 * `replay` answers as `original` did: a store that tells a replay marks it (`replayed: true`, the embedded one), a store
 * that cannot (KurrentDB answers both alike) leaves it unset; an original is never marked.
 */
export function expectReplayOf(replay: { replayed?: boolean }, original: { replayed?: boolean }): void {
  expect(original.replayed).toBeUndefined();
  expect(replay).toEqual(replay.replayed === undefined ? original : { ...original, replayed: true });
}

export function appendManyContract(current: () => { store: EventStore; p: string }): void {
  const ev = (type: string, data: unknown = {}, metadata: Record<string, unknown> = {}): NewEvent => ({
    id: randomUUID(),
    type,
    data,
    metadata,
  });
  const collect = async (iterable: AsyncIterable<RecordedEvent>) => {
    const out: RecordedEvent[] = [];
    for await (const e of iterable) out.push(e);
    return out;
  };
  const readStream = (stream: string) => collect(current().store.readStream(stream));
  const readPrefix = () => collect(current().store.readAll({ filter: { streamPrefixes: [current().p] } }));

  describe('appendMany', () => {
    it('writes every part, returns each stream revision and the position of the last event', async () => {
      const { store, p } = current();
      await store.append(`${p}-org`, [ev('Created')], 'no_stream');
      const result = await store.appendMany([
        { stream: `${p}-org`, events: [ev('Joined', { n: 1 })], expected: 0n },
        {
          stream: `${p}-user`,
          events: [ev('Invited', { n: 2 }), ev('Invited', { n: 3 })],
          expected: 'no_stream',
        },
      ]);
      expect(result.streams).toEqual([
        { stream: `${p}-org`, nextRevision: 1n },
        { stream: `${p}-user`, nextRevision: 1n },
      ]);
      const log = await readPrefix();
      expect(log.map((e) => [e.stream, e.revision])).toEqual([
        [`${p}-org`, 0n],
        [`${p}-org`, 1n],
        [`${p}-user`, 0n],
        [`${p}-user`, 1n],
      ]);
      for (let i = 1; i < log.length; i++) expect(log[i]!.position).toBeGreaterThan(log[i - 1]!.position);
      expect(log[3]!.position).toBe(result.position);
      expect(await store.headPosition()).toBeGreaterThanOrEqual(result.position);
    });

    it('hands metadata back as it was given, whatever the value types', async () => {
      const { store, p } = current();
      const metadata = {
        schemaVersion: 2,
        actorId: 'u-1',
        looksLikeJson: '2',
        flag: false,
        tags: ['a'],
        none: null,
      };
      await store.appendMany([{ stream: `${p}-m`, events: [ev('M', {}, metadata)], expected: 'no_stream' }]);
      await store.append(`${p}-a`, [ev('M', {}, metadata)], 'no_stream');
      const [viaMany] = await readStream(`${p}-m`);
      const [viaAppend] = await readStream(`${p}-a`);
      expect(viaMany!.metadata).toEqual(metadata);
      expect(viaMany!.metadata).toEqual(viaAppend!.metadata);
    });

    it('is atomic: a conflicting part writes nothing of any part, and the error names its stream', async () => {
      const { store, p } = current();
      await store.append(`${p}-busy`, [ev('A'), ev('B')], 'no_stream');
      const error = await store
        .appendMany([
          { stream: `${p}-fresh`, events: [ev('X')], expected: 'no_stream' },
          { stream: `${p}-busy`, events: [ev('C')], expected: 0n },
          { stream: `${p}-other`, events: [ev('Y')], expected: 'any' },
        ])
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WrongExpectedRevisionError);
      expect(error).toMatchObject({ stream: `${p}-busy`, expected: 0n, actual: 1n });
      expect(await readStream(`${p}-fresh`)).toEqual([]);
      expect(await readStream(`${p}-other`)).toEqual([]);
      expect((await readStream(`${p}-busy`)).map((e) => e.type)).toEqual(['A', 'B']);
    });

    it('a part with no events only checks its stream: a match lets the others write, a mismatch stops them', async () => {
      const { store, p } = current();
      await store.append(`${p}-policy`, [ev('Set'), ev('Changed')], 'no_stream');
      const ok = await store.appendMany([
        { stream: `${p}-user`, events: [ev('Invited')], expected: 'no_stream' },
        { stream: `${p}-policy`, events: [], expected: 1n },
        { stream: `${p}-nothing`, events: [], expected: 'no_stream' },
      ]);
      expect(ok.streams).toEqual([
        { stream: `${p}-user`, nextRevision: 0n },
        { stream: `${p}-policy`, nextRevision: 1n },
        { stream: `${p}-nothing`, nextRevision: -1n },
      ]);

      await expect(
        store.appendMany([
          { stream: `${p}-user`, events: [ev('Resent')], expected: 0n },
          { stream: `${p}-policy`, events: [], expected: 0n },
        ]),
      ).rejects.toMatchObject({
        name: 'WrongExpectedRevisionError',
        stream: `${p}-policy`,
        expected: 0n,
        actual: 1n,
      });
      await expect(
        store.appendMany([
          { stream: `${p}-user`, events: [ev('Resent')], expected: 0n },
          { stream: `${p}-nothing`, events: [], expected: 0n },
        ]),
      ).rejects.toMatchObject({ stream: `${p}-nothing`, actual: 'no_stream' });
      expect((await readPrefix()).map((e) => e.type)).toEqual(['Set', 'Changed', 'Invited']);
      expect(await readStream(`${p}-nothing`)).toEqual([]);
    });

    it('refuses a batch without events, or naming a stream twice', async () => {
      const { store, p } = current();
      await expect(store.appendMany([])).rejects.toBeInstanceOf(RangeError);
      await expect(
        store.appendMany([{ stream: `${p}-a`, events: [], expected: 'any' }]),
      ).rejects.toBeInstanceOf(RangeError);
      await expect(
        store.appendMany([
          { stream: `${p}-a`, events: [ev('A')], expected: 'any' },
          { stream: `${p}-a`, events: [ev('B')], expected: 'any' },
        ]),
      ).rejects.toBeInstanceOf(RangeError);
      expect(await readPrefix()).toEqual([]);
    });

    it('re-appending the same multi-stream batch returns the original result and writes nothing', async () => {
      const { store, p } = current();
      await store.append(`${p}-org`, [ev('Created')], 'no_stream');
      await store.append(`${p}-policy`, [ev('Set')], 'no_stream');
      const batch = [
        { stream: `${p}-org`, events: [ev('Joined')], expected: 0n },
        { stream: `${p}-user`, events: [ev('Invited'), ev('Granted')], expected: 'no_stream' as const },
        { stream: `${p}-policy`, events: [], expected: 0n },
      ];
      const original = await store.appendMany(batch);
      const before = await readPrefix();

      expectReplayOf(await store.appendMany(batch), original);
      // and again after the streams moved on: the batch's expected revisions are now behind
      await store.append(`${p}-user`, [ev('Accepted')], 1n);
      expectReplayOf(await store.appendMany(batch), original);
      expect((await readPrefix()).map((e) => e.id)).toEqual([...before.map((e) => e.id), expect.any(String)]);
      expect((await readPrefix()).filter((e) => e.type === 'Joined')).toHaveLength(1);
    });
  });

  describe('retry after an unclear failure', () => {
    // The command side's rule after AppendOutcomeUnknownError: re-send the identical batch at the expected
    // revision it was decided against. Here the first attempt WAS written (the answer was lost): the re-send must
    // find it, not append it again at what is now the stream's new revision.
    it('append: the identical batch at the same expected revision writes nothing and returns the same result', async () => {
      const { store, p } = current();
      const s = `${p}-user`;
      const r = (await store.append(s, [ev('Invited')], 'no_stream')).nextRevision;
      const batch = [ev('AccessChanged', { n: 1 }), ev('GrantsChanged', { n: 2 })];
      const first = await store.append(s, batch, r);

      expectReplayOf(await store.append(s, batch, r), first);
      const events = await readStream(s);
      expect(events.map((e) => e.type)).toEqual(['Invited', 'AccessChanged', 'GrantsChanged']);
      expect(events[2]!.position).toBe(first.position);
    });

    it('append: the same holds for a stream created by the batch (expected no_stream)', async () => {
      const { store, p } = current();
      const batch = [ev('Created')];
      const first = await store.append(`${p}-org`, batch, 'no_stream');
      expectReplayOf(await store.append(`${p}-org`, batch, 'no_stream'), first);
      expect(await readStream(`${p}-org`)).toHaveLength(1);
    });

    it('appendMany: the identical batch at the same expected revisions writes nothing and returns the same result', async () => {
      const { store, p } = current();
      const r = (await store.append(`${p}-org`, [ev('Created')], 'no_stream')).nextRevision;
      const batch = [
        { stream: `${p}-org`, events: [ev('Joined')], expected: r },
        { stream: `${p}-user`, events: [ev('Invited')], expected: 'no_stream' as const },
      ];
      const first = await store.appendMany(batch);
      expectReplayOf(await store.appendMany(batch), first);
      expect((await readPrefix()).map((e) => e.type)).toEqual(['Created', 'Joined', 'Invited']);
    });
  });
}
