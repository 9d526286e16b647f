import type { DomainEvent } from '@rollcall/domain';
import { type Doc, type ProjectedEvent, type ProjectionReader, documentProjection } from './projection';

interface Counter extends Doc {
  renames: number;
  name: string;
}

/** one document per workspace: counts its renames; a rename to '' deletes it; a rename to its own name changes nothing */
const counters = documentProjection<Counter, 'WorkspaceCreated'>({
  collection: 'counters',
  spec: { indexes: [] },
  eventTypes: ['WorkspaceCreated'],
  id: (event) => event.data.workspaceId,
  evolve: (current, event) => {
    if (event.data.name === '') return null;
    if (current?.name === event.data.name) return undefined;
    return { _id: event.data.workspaceId, name: event.data.name, renames: current ? current.renames + 1 : 0 };
  },
});

const created = (workspaceId: string, name: string, position = 1n): ProjectedEvent => ({
  event: {
    type: 'WorkspaceCreated',
    data: {
      organizationId: 'o',
      workspaceId,
      name,
      plan: 'advanced',
      accessModel: 'levels',
      ownerUserId: 'u',
      createdAt: 't',
    },
  } as DomainEvent,
  eventId: `e${position}`,
  stream: `workspace-${workspaceId}`,
  position,
  metadata: {},
});

const reader = (docs: Doc[]): ProjectionReader & { reads: string[] } => {
  const reads: string[] = [];
  return {
    reads,
    get: async <T extends Doc>(collection: string, id: string) => {
      reads.push(`${collection}/${id}`);
      return docs.find((doc) => doc._id === id) as T | undefined;
    },
    findBy: async () => [],
  };
};

describe('documentProjection', () => {
  it('owns one collection named after it, and reads the document an event is about', async () => {
    expect(counters.name).toBe('counters');
    expect(Object.keys(counters.collections)).toEqual(['counters']);
    const read = reader([]);
    expect(await counters.apply(created('w1', 'One'), read)).toEqual([
      { kind: 'upsert', collection: 'counters', doc: { _id: 'w1', name: 'One', renames: 0 } },
    ]);
    expect(read.reads).toEqual(['counters/w1']);
  });

  it('evolves the current document: a new state is an upsert, null a delete, undefined no write', async () => {
    const read = reader([{ _id: 'w1', name: 'One', renames: 2 }]);
    expect(await counters.apply(created('w1', 'Uno'), read)).toEqual([
      { kind: 'upsert', collection: 'counters', doc: { _id: 'w1', name: 'Uno', renames: 3 } },
    ]);
    expect(await counters.apply(created('w1', 'One'), read)).toEqual([]);
    expect(await counters.apply(created('w1', ''), read)).toEqual([
      { kind: 'delete', collection: 'counters', id: 'w1' },
    ]);
  });

  it('ignores other event types and refuses a document of another id', async () => {
    const other = {
      ...created('w1', 'x'),
      event: { type: 'UserDeleted', data: {} } as unknown as DomainEvent,
    };
    expect(await counters.apply(other, reader([]))).toEqual([]);
    const wrongId = documentProjection<Counter, 'WorkspaceCreated'>({
      collection: 'counters',
      spec: { indexes: [] },
      eventTypes: ['WorkspaceCreated'],
      id: (event) => event.data.workspaceId,
      evolve: () => ({ _id: 'elsewhere', name: 'x', renames: 0 }),
    });
    await expect(wrongId.apply(created('w1', 'x'), reader([]))).rejects.toThrow(/elsewhere/);
  });
});
