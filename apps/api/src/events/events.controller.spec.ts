import type { EventStore, RecordedEvent } from '@rollcall/event-store';
import { ProblemException } from '../shared/http/problem';
import { WorkspaceDirectory } from '../teams/workspace-directory';
import { EventsController } from './events.controller';

/** a log of `head + 1` events of one type (positions 0 … head); `changed` replaces some of them */
function logOf(head: number, changed: Record<number, Partial<RecordedEvent>> = {}): EventStore {
  const events: RecordedEvent[] = Array.from({ length: head + 1 }, (_, i) => ({
    id: `e${i}`,
    stream: 'organization-o',
    type: 'OrganizationCreated',
    revision: BigInt(i),
    position: BigInt(i),
    data: { organizationId: 'o', name: 'Acme', createdAt: '2026-03-01T09:00:00.000Z' },
    metadata: { actorId: 'system', occurredAt: '2026-03-01T09:00:00.000Z' },
    created: new Date('2026-03-01T09:00:00.000Z'),
    ...changed[i],
  }));
  return {
    headPosition: async () => BigInt(head),
    async *readAll({ fromPosition = -1n, maxCount = Infinity }: { fromPosition?: bigint; maxCount?: number } = {}) {
      for (const e of events.filter((x) => x.position > fromPosition).slice(0, maxCount)) yield e;
    },
  } as unknown as EventStore;
}

const controllerOf = (log: EventStore) => new EventsController(log, new WorkspaceDirectory(log));

const refusal = async (page: Promise<unknown>) => ((await page.catch((e: unknown) => e)) as ProblemException).problem;

describe('GET /v1/events: an after past the head (probe 47 F4)', () => {
  it('is refused, naming after, on an empty log too: there after=0 would skip the first event, and the sentence says to leave it out', async () => {
    const empty = await refusal(controllerOf(logOf(-1)).list({ after: '0' }));
    expect(empty).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', errors: [{ field: 'after', message: 'is beyond the end of the event log' }] });
    expect(empty.detail).toContain('leave after out to read from the start');
    expect(await controllerOf(logOf(-1)).list({})).toEqual({ items: [], next: null, head: '-1' });
  });

  it('answers after = head with an empty page whose next is the head, and refuses head + 1', async () => {
    const controller = controllerOf(logOf(4));
    expect(await controller.list({ after: '4' })).toEqual({ items: [], next: '4', head: '4' });
    expect((await refusal(controller.list({ after: '5' }))).detail).toContain('its head is 4');
    expect((await controller.list({ after: '3' })).items.map((e) => e.position)).toEqual(['4']);
  });
});

describe('GET /v1/events: an event a later version of Rollcall wrote (probe 67 F4, docs/adr/0020 point 4)', () => {
  const later = { type: 'MemberSuspended' };
  const newerSchema = { type: 'OrganizationCreated', metadata: { actorId: 'system', occurredAt: '2026-03-01T09:00:00.000Z', schemaVersion: 2 } };

  it.each([['a type it does not know', later], ['a schema version newer than it reads', newerSchema]])(
    'with %s: the page ends before it and next stays there; with nothing before it, the read is refused (503 WRITTEN_BY_LATER_VERSION)',
    async (_, event) => {
      const controller = controllerOf(logOf(4, { 2: event }));
      const page = await controller.list({});
      expect(page.items.map((e) => e.position)).toEqual(['0', '1']);
      expect(page.next).toBe('1');
      await expect(controller.list({ after: '1' })).rejects.toMatchObject({ name: 'EventFromLaterVersion', code: 'WRITTEN_BY_LATER_VERSION' });
      // past it (an upgraded process read it): the rest as usual
      expect((await controller.list({ after: '2' })).items.map((e) => e.position)).toEqual(['3', '4']);
    },
  );

  it('every item says the schema version of its data', async () => {
    const page = await controllerOf(logOf(1)).list({});
    expect(page.items.map((e) => e.schemaVersion)).toEqual([1, 1]);
  });
});


describe('GET /v1/events: an event written before session 58 that names no organization (probe 87 F4)', () => {
  it("is named from its workspace, as the log's WorkspaceCreated says (an operator fanning the feed out per organization needed a call back)", async () => {
    const log = logOf(3, {
      1: { stream: 'organization-o', type: 'WorkspaceCreated', data: { organizationId: 'o', workspaceId: 'w', name: 'Support', plan: 'advanced', accessModel: 'levels', ownerUserId: 'u', createdAt: '2026-03-01T09:00:00.000Z' } },
      // an access change of before session 58: neither its data nor its metadata names the organization
      2: { stream: 'workspace-w', type: 'AccessLevelChanged', data: { workspaceId: 'w', userId: 'u2', before: ['agent'], after: ['manager'], changedAt: '2026-03-01T09:00:00.000Z' } },
      // one of a workspace the log does not hold: left without
      3: { stream: 'workspace-gone', type: 'AccessLevelChanged', data: { workspaceId: 'gone', userId: 'u3', before: ['agent'], after: ['manager'], changedAt: '2026-03-01T09:00:00.000Z' } },
    });
    const page = await controllerOf(log).list({});
    expect(page.items.map((e) => [e.position, e.organizationId])).toEqual([['0', 'o'], ['1', 'o'], ['2', 'o'], ['3', undefined]]);
  });
});
