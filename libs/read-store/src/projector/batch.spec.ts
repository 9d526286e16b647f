import type { DomainEvent } from '@rollcall/domain';
import type { Doc } from '../port';
import type { ProjectedEvent, Projection, ProjectionWrite } from '../projections/projection';
import { ProjectionBatch } from './batch';

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

const stored: Doc[] = [
  { _id: 'a', owner: 'ann' },
  { _id: 'b', owner: 'ann' },
  { _id: 'c', owner: 'bob' },
];
const source = {
  get: async (_c: string, id: string) => stored.find((d) => d._id === id),
  findBy: async (_c: string, field: string, value: string) => stored.filter((d) => d[field] === value),
};

describe('ProjectionBatch', () => {
  it('folds writes per document (the last wins, stamped with its event position) and reads its own writes first', async () => {
    const script = new Map<bigint, ProjectionWrite[]>([
      [5n, [{ kind: 'upsert', collection: 'things', doc: { _id: 'a', owner: 'ann', v: 1 } }]],
      [6n, [{ kind: 'upsert', collection: 'things', doc: { _id: 'a', owner: 'ann', v: 2 } }, { kind: 'delete', collection: 'things', id: 'c' }]],
    ]);
    const batch = new ProjectionBatch(scripted(script), source);
    await batch.apply(event(5n));
    expect(await batch.reader.get('things', 'a')).toEqual({ _id: 'a', owner: 'ann', v: 1 });
    await batch.apply(event(6n));
    batch.skip(7n);
    expect(await batch.reader.get('things', 'c')).toBeUndefined();
    expect(await batch.reader.get('things', 'b')).toEqual({ _id: 'b', owner: 'ann' });
    expect(batch.writes()).toEqual([
      { kind: 'upsert', collection: 'things', doc: { _id: 'a', owner: 'ann', v: 2 }, position: 6n },
      { kind: 'delete', collection: 'things', id: 'c', position: 6n },
    ]);
    expect([batch.lastPosition, batch.events]).toEqual([7n, 3]);
  });

  it('finds by field over the stored documents and its own writes', async () => {
    const script = new Map<bigint, ProjectionWrite[]>([
      [1n, [{ kind: 'upsert', collection: 'things', doc: { _id: 'd', owner: 'ann' } }]],
      [2n, [{ kind: 'upsert', collection: 'things', doc: { _id: 'b', owner: 'bob' } }]],
      [3n, [{ kind: 'delete', collection: 'things', id: 'a' }, { kind: 'upsert', collection: 'things', doc: { _id: 'e', owner: 'ann' } }]],
      [4n, [{ kind: 'upsert', collection: 'things', doc: { _id: 'd', owner: 'cy' } }]],
    ]);
    const batch = new ProjectionBatch(scripted(script), source);
    const ids = async (owner: string) => (await batch.reader.findBy('things', 'owner', owner)).map((d) => d._id).sort();
    await batch.apply(event(1n));
    await batch.apply(event(2n));
    expect(await ids('ann')).toEqual(['a', 'd']);
    await batch.apply(event(3n));
    await batch.apply(event(4n));
    expect(await ids('ann')).toEqual(['e']);
    expect(await ids('bob')).toEqual(['b', 'c']);
    expect(await ids('cy')).toEqual(['d']);
  });

  it('refuses writes to a collection the projection does not own, keeping nothing of that event', async () => {
    const script = new Map<bigint, ProjectionWrite[]>([
      [1n, [{ kind: 'upsert', collection: 'things', doc: { _id: 'x' } }, { kind: 'delete', collection: 'members', id: 'y' }]],
    ]);
    const batch = new ProjectionBatch(scripted(script), source);
    await expect(batch.apply(event(1n))).rejects.toThrow('projection scripted wrote to members, which it does not own');
    expect(batch.writes()).toEqual([]);
    expect(batch.lastPosition).toBeUndefined();
  });
});
