import type { DomainEvent } from '@rollcall/domain';
import type { Doc } from '../port';
import type { ProjectedEvent, Projection, ProjectionWrite } from '../projections/projection';
import type { DocSource } from './batch';
import { ProjectionFold } from './fold';

const event = (position: bigint): ProjectedEvent => ({
  event: { type: 'OrganizationCreated', version: 1, data: { organizationId: 'o', name: 'O', createdAt: 'x' } } as DomainEvent,
  eventId: `e${position}`,
  stream: 'organization-o',
  position,
  metadata: {},
});

/** a projection that writes what the test hands it for each position */
const scripted = (script: Map<bigint, ProjectionWrite[]>): Projection => ({
  name: 'scripted',
  collections: { things: { indexes: ['owner'] } },
  eventTypes: ['OrganizationCreated'],
  apply: async (e) => script.get(e.position) ?? [],
});

const up = (doc: Doc): ProjectionWrite => ({ kind: 'upsert', collection: 'things', doc });
const del = (id: string): ProjectionWrite => ({ kind: 'delete', collection: 'things', id });

/** a source that must not be asked (a rebuild starts from emptied collections) */
const untouchable: DocSource = {
  get: () => Promise.reject(new Error('read from the store')),
  findBy: () => Promise.reject(new Error('read from the store')),
};

async function folded(writes: ProjectionWrite[][], source = untouchable): Promise<ProjectionFold> {
  const fold = new ProjectionFold(scripted(new Map(writes.map((w, i) => [BigInt(i + 1), w]))), source);
  for (let i = 0; i < writes.length; i++) await fold.apply(event(BigInt(i + 1)));
  return fold;
}

describe('ProjectionFold (a rebuild folds the log in memory)', () => {
  it('reads back its own writes as the store would give them, and knows absent documents without asking the store', async () => {
    const fold = await folded([[up({ _id: 'a', owner: 'ann' })], [up({ _id: 'a', owner: 'ann', v: 2 })]]);
    const read = await fold.reader.get('things', 'a');
    expect(read).toEqual({ _id: 'a', owner: 'ann', v: 2 });
    read!.v = 3; // a copy: what a projection does with what it read does not change what is held
    expect(await fold.reader.get('things', 'a')).toEqual({ _id: 'a', owner: 'ann', v: 2 });
    expect(await fold.reader.get('things', 'nobody')).toBeUndefined();
    expect(await fold.reader.findBy('things', 'owner', 'bob')).toEqual([]);
  });

  it('writes out each changed document once, in its last version with the position of its last write; only what changed since the last write-out', async () => {
    const fold = await folded([
      [up({ _id: 'a', owner: 'ann', tags: ['x'] }), up({ _id: 'b', owner: 'bob' })],
      [up({ _id: 'a', owner: 'ann', tags: ['x', 'y'] }), up({ _id: 'tmp', owner: 'cy' })],
      [del('tmp'), del('never')],
    ]);
    expect(fold.writeOut()).toEqual([
      {
        collection: 'things',
        writes: [
          { id: 'a', position: 2n, json: '{"_id":"a","owner":"ann","tags":["x","y"]}' },
          { id: 'b', position: 1n, json: '{"_id":"b","owner":"bob"}' },
        ],
        arrayFields: ['tags'],
      },
    ]);
    expect(fold.writeOut()).toEqual([]);
    // after a write-out: a delete must reach the store; a document created and deleted in between never does
    const script = new Map<bigint, ProjectionWrite[]>([
      [4n, [up({ _id: 'b', owner: 'bo' }), up({ _id: 'c', owner: 'cy' })]],
      [5n, [del('a'), del('c')]],
    ]);
    const more = new ProjectionFold(scripted(script), untouchable);
    await more.apply(event(4n));
    more.writeOut();
    await more.apply(event(5n));
    expect(more.writeOut()).toEqual([{ collection: 'things', writes: [{ id: 'c', position: 5n, json: null }], arrayFields: [] }]);
    // what changed since the last write-out: the documents the event writes again
    await fold.apply(event(1n));
    expect(fold.writeOut()[0]!.writes.map((w) => w.id)).toEqual(['a', 'b']);
  });

  it('finds by field among the held documents (strings and elements of arrays), following changes and deletes', async () => {
    const ids = async (fold: ProjectionFold, owner: string) => (await fold.reader.findBy('things', 'owner', owner)).map((d) => d._id).sort();
    const fold = await folded([[up({ _id: 'a', owner: 'ann' }), up({ _id: 'b', owner: ['ann', 'bob'] })]]);
    expect(await ids(fold, 'ann')).toEqual(['a', 'b']);
    const script = new Map<bigint, ProjectionWrite[]>([
      [2n, [up({ _id: 'a', owner: 'cy' }), del('b'), up({ _id: 'd', owner: 'ann' })]],
    ]);
    const later = new ProjectionFold(scripted(script), untouchable);
    await later.apply(event(2n));
    expect(await ids(later, 'ann')).toEqual(['d']);
    expect(await ids(later, 'cy')).toEqual(['a']);
  });

  it('after letting its documents go, reads what it no longer holds from the store, and deletes reach it', async () => {
    const stored: Doc[] = [
      { _id: 'a', owner: 'ann', v: 1 },
      { _id: 'b', owner: 'ann', v: 1 },
    ];
    const source: DocSource = {
      get: async (_c, id) => stored.find((d) => d._id === id),
      findBy: async (_c, field, value) => stored.filter((d) => d[field] === value),
    };
    const script = new Map<bigint, ProjectionWrite[]>([
      [1n, [up({ _id: 'a', owner: 'ann', v: 1 }), up({ _id: 'b', owner: 'ann', v: 1 })]],
      [2n, [up({ _id: 'c', owner: 'ann', v: 1 })]],
      [3n, [up({ _id: 'b', owner: 'bob', v: 2 }), del('a')]],
    ]);
    const fold = new ProjectionFold(scripted(script), source);
    await fold.apply(event(1n));
    fold.writeOut();
    await fold.apply(event(2n));
    expect(() => fold.evict()).toThrow('not written out yet');
    fold.writeOut();
    expect(fold.evict()).toEqual(new Map([['things', ['a', 'b', 'c']]]));
    expect(fold.size).toBe(0);
    expect(await fold.reader.get('things', 'a')).toEqual({ _id: 'a', owner: 'ann', v: 1 });
    await fold.apply(event(3n));
    // held versions win over the stored ones; the deleted one is gone
    expect(await fold.reader.get('things', 'a')).toBeUndefined();
    expect((await fold.reader.findBy('things', 'owner', 'ann')).map((d) => d._id)).toEqual([]);
    expect((await fold.reader.findBy('things', 'owner', 'bob')).map((d) => d._id)).toEqual(['b']);
    expect(fold.writeOut()[0]!.writes).toEqual([
      { id: 'b', position: 3n, json: '{"_id":"b","owner":"bob","v":2}' },
      { id: 'a', position: 3n, json: null },
    ]);
  });

  it('holds the documents of a collection read back as often as written in the objects written until written out (as a live batch does), as text once written out', async () => {
    let last: Doc | undefined;
    const counter: Projection = {
      name: 'counter',
      collections: { things: { indexes: [] } },
      eventTypes: ['OrganizationCreated'],
      apply: async (_e, read) => {
        const current = await read.get<Doc & { n: number }>('things', 'a');
        last = { _id: 'a', n: (current?.n ?? 0) + 1 };
        return [up(last)];
      },
    };
    const fold = new ProjectionFold(counter, untouchable);
    for (let i = 1; i <= 1001; i++) await fold.apply(event(BigInt(i)));
    // the first thousand writes were serialized; from then on, read and written as much: the object is held
    expect(await fold.reader.get('things', 'a')).toBe(last);
    expect(fold.writeOut()[0]!.writes).toEqual([{ id: 'a', position: 1001n, json: '{"_id":"a","n":1001}' }]);
    const read = await fold.reader.get('things', 'a');
    expect(read).toEqual(last);
    expect(read).not.toBe(last);

    // written once and not read back: held as text from the first write
    const once = await folded(Array.from({ length: 1001 }, (_, i) => [up({ _id: `d${i}`, owner: 'o' })]));
    const doc = await once.reader.get('things', 'd1000');
    expect(doc).toEqual({ _id: 'd1000', owner: 'o' });
    doc!.owner = 'changed';
    expect(await once.reader.get('things', 'd1000')).toEqual({ _id: 'd1000', owner: 'o' });
  });

  it('reads back and writes out the documents held as text in their latest versions, thousands of them (their texts joined into large strings)', async () => {
    // 5,000 documents written once (more than two of the arena's chunks of 2,048 texts), a few of them rewritten or
    // deleted, one changed field found through the field index
    const writes: ProjectionWrite[][] = Array.from({ length: 5000 }, (_, i) => [up({ _id: `d${i}`, owner: `o${i % 3}`, n: i })]);
    writes.push([up({ _id: 'd10', owner: 'zed', n: -10 })], [del('d20')], [up({ _id: 'd4999', owner: 'o0', n: -4999 })]);
    const fold = await folded(writes);
    expect(await fold.reader.get('things', 'd0')).toEqual({ _id: 'd0', owner: 'o0', n: 0 });
    expect(await fold.reader.get('things', 'd10')).toEqual({ _id: 'd10', owner: 'zed', n: -10 });
    expect(await fold.reader.get('things', 'd20')).toBeUndefined();
    expect(await fold.reader.get('things', 'd3000')).toEqual({ _id: 'd3000', owner: 'o0', n: 3000 });
    expect(await fold.reader.findBy('things', 'owner', 'zed')).toEqual([{ _id: 'd10', owner: 'zed', n: -10 }]);
    expect((await fold.reader.findBy('things', 'owner', 'o1')).length).toBe(1665);
    const [out] = fold.writeOut();
    expect(out!.writes.length).toBe(4999);
    const byId = new Map(out!.writes.map((w) => [w.id, w]));
    expect(byId.get('d4097')).toEqual({ id: 'd4097', position: 4098n, json: '{"_id":"d4097","owner":"o2","n":4097}' });
    expect(byId.get('d10')).toEqual({ id: 'd10', position: 5001n, json: '{"_id":"d10","owner":"zed","n":-10}' });
    expect(byId.get('d4999')).toEqual({ id: 'd4999', position: 5003n, json: '{"_id":"d4999","owner":"o0","n":-4999}' });
    expect(byId.has('d20')).toBe(false);
    // written out, still read back the same
    expect(await fold.reader.get('things', 'd2048')).toEqual({ _id: 'd2048', owner: 'o2', n: 2048 });
  });

  it('reads what is held now after the document it last looked up was created, deleted or created again (the last lookup is remembered)', async () => {
    // each event reads `a` first, then writes: the write finds the entry the read looked up
    const reads: (Doc | undefined)[] = [];
    const script: ProjectionWrite[][] = [[up({ _id: 'a', n: 1 })], [del('a')], [up({ _id: 'a', n: 2 })], [up({ _id: 'b', n: 1 }), del('a')], []];
    const readThenWrite: Projection = {
      ...scripted(new Map()),
      apply: async (e, read) => {
        reads.push(await read.get('things', 'a'));
        return script[Number(e.position) - 1]!;
      },
    };
    const fold = new ProjectionFold(readThenWrite, untouchable);
    for (let i = 1; i <= script.length; i++) await fold.apply(event(BigInt(i)));
    expect(reads).toEqual([undefined, { _id: 'a', n: 1 }, undefined, { _id: 'a', n: 2 }, undefined]);
    // never written out, `a` left nothing to delete; b is written at the position of its write
    expect([fold.size, fold.writeOut()[0]!.writes]).toEqual([1, [{ id: 'b', position: 4n, json: '{"_id":"b","n":1}' }]]);
  });

  it('refuses writes the store would refuse, or to a collection the projection does not own, keeping nothing of that event', async () => {
    for (const [writes, message] of [
      [[up({ _id: 'x' }), { kind: 'delete', collection: 'members', id: 'y' }], 'projection scripted wrote to members, which it does not own'],
      [[up({ _id: 'x' }), up({ _id: '' })], '_id must be a non-empty string'],
      [[up({ _id: 'x', _position: 3 })], 'field _position is reserved'],
    ] as [ProjectionWrite[], string][]) {
      const fold = new ProjectionFold(scripted(new Map([[1n, writes]])), untouchable);
      await expect(fold.apply(event(1n))).rejects.toThrow(message);
      expect([fold.size, fold.writeOut()]).toEqual([0, []]);
    }
  });
});
