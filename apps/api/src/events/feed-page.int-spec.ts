// An organization's feed (organization-events.controller.ts) over a real embedded log holding two organizations'
// events: a page reads at most its scan budget of the log, so it can end with fewer items than `limit` — even none —
// before the head; followed from `next` until `next` is `head`, it gives every event of the organization once, in
// order, and none of the other's. Events written before session 58 name no organization in their metadata: a
// workspace's is the organization's when the workspace is (belongsTo).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOMAIN_STREAM_PREFIXES, type DomainEvent, type OrganizationState, initialOrganizationState, toStored } from '@rollcall/domain';
import { type EventStore, createRollcallEventStore, newEventId } from '@rollcall/event-store';
import { MAX_ORGANIZATION_STREAMS, organizationStreams, readFeedPage } from './feed-page';
import { belongsTo } from './organization-events.controller';

let dir: string;
let store: EventStore;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-feed-page-'));
  ({ store } = await createRollcallEventStore({ dataDir: dir, durability: 'normal' }));
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const teamCreated = (workspaceId: string, n: number): DomainEvent =>
  ({ type: 'TeamCreated', version: 1, data: { workspaceId, teamId: `team-${n}`, name: `Team ${n}`, createdAt: '2026-12-06T10:00:00.000Z' } }) as DomainEvent;

/** appends a team's creation to the workspace's stream, its metadata naming the organization or (before session 58) not */
async function append(workspaceId: string, n: number, organizationId?: string): Promise<void> {
  const metadata = { actorId: 'system', correlationId: `r-${n}`, causationId: `r-${n}`, idempotencyKey: `r-${n}`, occurredAt: '2026-12-06T10:00:00.000Z', ...(organizationId && { organizationId }) };
  await store.append(`workspace-${workspaceId}`, [{ id: newEventId(), ...toStored(teamCreated(workspaceId, n), metadata) }], 'any');
}

/** the store as one that does not index the log by organization sees it (KurrentDB): the filter's hint left out */
const scanning = (inner: EventStore): EventStore =>
  new Proxy(inner, {
    get: (target, key) =>
      key === 'readAll'
        ? (options: Parameters<EventStore['readAll']>[0] = {}) => {
            const { organizationId: _hint, ...filter } = options.filter ?? {};
            return target.readAll({ ...options, filter });
          }
        : key === 'indexesOrganizations'
          ? undefined
          : Reflect.get(target, key, target),
  });

/** A's 3 events among 2,000 of B's: one before session 58 (its metadata names no organization), two after */
async function threeAmongTwoThousand(): Promise<void> {
    await append('ws-b', 0, 'org-b');
    await append('ws-a', 1);
    for (let n = 2; n < 1000; n++) await append('ws-b', n, 'org-b');
    await append('ws-a', 1000, 'org-a');
    for (let n = 1001; n < 2000; n++) await append('ws-b', n, 'org-b');
    await append('ws-a', 2000, 'org-a');
}

const organization = (organizationId: string, workspaces: string[]): OrganizationState => ({
  ...initialOrganizationState(),
  exists: true,
  organizationId,
  workspaces: new Map(workspaces.map((w) => [w, { workspaceId: w } as never])),
});

describe("an organization's feed (probe 87 F2)", () => {
  it('pages of at most the scan budget read, followed from `next` until it is `head`: every event of the organization once, in order, none of the other\'s', async () => {
    // 3 of A's events among 20 of B's: A's at 2 (before session 58: no organizationId in the metadata), 9 and 21
    for (let n = 0; n < 23; n++) {
      if (n === 2) await append('ws-a', n);
      else if (n === 9 || n === 21) await append('ws-a', n, 'org-a');
      else await append('ws-b', n, 'org-b');
    }
    const only = { belongs: belongsTo(organization('org-a', ['ws-a'])), scanned: 4, organizationId: 'org-a' };
    const pages: { items: string[]; next: string | null; head: string }[] = [];
    const named: (string | undefined)[] = [];
    let after: string | undefined;
    for (let guard = 0; guard < 20; guard++) {
      // (a store without the organization index: the embedded store's own reads are the next test's)
      const page = await readFeedPage(scanning(store), { after, limit: 2, only });
      pages.push({ items: page.items.map((e) => (e.data as { teamId: string }).teamId), next: page.next, head: page.head });
      named.push(...page.items.map((e) => e.organizationId));
      if (page.next === page.head) break;
      after = page.next!;
    }
    expect(pages.flatMap((p) => p.items)).toEqual(['team-2', 'team-9', 'team-21']);
    // every item names the organization, the one written before session 58 too (probe 93 F5)
    expect(named).toEqual(['org-a', 'org-a', 'org-a']);
    // a page reads at most 4 events of the log: 23 events take 6 pages, some of them empty but not at the head
    expect(pages).toHaveLength(6);
    expect(pages.some((p) => p.items.length === 0 && p.next !== p.head)).toBe(true);
    // `next` only moves forward, and the last is the head
    const nexts = pages.map((p) => BigInt(p.next!));
    expect(nexts).toEqual([...nexts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(new Set(nexts).size).toBe(nexts.length);
    // the other organization's feed: its 20 events, never A's (also A's that name no organization)
    const other = await readFeedPage(store, { after: undefined, limit: 100, only: { belongs: belongsTo(organization('org-b', ['ws-b'])), scanned: 100, organizationId: 'org-b' } });
    expect(other.items).toHaveLength(20);
    expect(other.items.every((e) => e.organizationId === 'org-b')).toBe(true);
    expect(other.next).toBe(other.head);
  });

  it('a page that fills `limit` goes on from its last item; the operator\'s feed (no scan budget) pages as before', async () => {
    for (let n = 0; n < 6; n++) await append('ws-a', n, 'org-a');
    const only = { belongs: belongsTo(organization('org-a', ['ws-a'])), scanned: 1000, organizationId: 'org-a' };
    const first = await readFeedPage(store, { after: undefined, limit: 4, only });
    expect(first.items).toHaveLength(4);
    expect(first.next).toBe(first.items[3]!.position);
    const rest = await readFeedPage(store, { after: first.next!, limit: 4, only });
    expect(rest.items.map((e) => (e.data as { teamId: string }).teamId)).toEqual(['team-4', 'team-5']);
    expect(rest.next).toBe(rest.head);
    const operator = await readFeedPage(store, { after: undefined, limit: 4 });
    expect(operator.items.map((e) => e.position)).toEqual(first.items.map((e) => e.position));
  });

  it("a store that ignores the organization hint (KurrentDB) is asked for the organization's streams alone: a page of `limit` of its events, however many of the others' come between (session 64)", async () => {
    await threeAmongTwoThousand();
    const read = jest.fn(store.readAll.bind(store));
    const watched = new Proxy(store, { get: (target, key) => (key === 'readAll' ? read : Reflect.get(target, key, target)) });
    const kurrentLike = scanning(watched);
    const only = { belongs: belongsTo(organization('org-a', ['ws-a'])), scanned: 100, organizationId: 'org-a', streams: organizationStreams('org-a', ['ws-a']) };
    const page = await readFeedPage(kurrentLike, { after: undefined, limit: 10, only });
    expect(page.items.map((e) => [(e.data as { teamId: string }).teamId, e.organizationId])).toEqual([['team-1', 'org-a'], ['team-1000', 'org-a'], ['team-2000', 'org-a']]);
    expect(page.next).toBe(page.head);
    // the read named A's streams (the server filters them: KurrentDB's streamNameFilter), not every domain stream
    expect(read.mock.calls.map(([options]) => options?.filter?.streamPrefixes)).toEqual([['organization-org-a', 'mail-org-a', 'workspace-ws-a', 'presence-ws-a-']]);
    // a page that fills `limit` goes on from its last item
    const first = await readFeedPage(kurrentLike, { after: undefined, limit: 2, only });
    expect([first.items.length, first.next]).toEqual([2, first.items[1]!.position]);
    // the embedded store reads by its index (the hint; up to its unnamed event, the scan), not narrowed by the streams
    read.mockClear();
    expect((await readFeedPage(watched, { after: undefined, limit: 10, only })).items.map((e) => (e.data as { teamId: string }).teamId)).toEqual(['team-1']);
    expect(read.mock.calls.map(([options]) => options?.filter)).toEqual([{ streamPrefixes: [...DOMAIN_STREAM_PREFIXES], organizationId: 'org-a' }]);
  });

  it('an organization of more workspaces than a read can name is read by the scan', () => {
    expect(organizationStreams('org-a', ['ws-1'])).toHaveLength(4);
    const many = Array.from({ length: MAX_ORGANIZATION_STREAMS / 2 }, (_, i) => `ws-${i}`);
    expect(organizationStreams('org-a', many)).toBeUndefined();
    expect(organizationStreams('org-a', many.slice(1))).toHaveLength(MAX_ORGANIZATION_STREAMS);
  });

  it("the embedded store reads an organization's events by its index after the last event that names no organization: a page of `limit` of them, however many of the others' come between (session 63)", async () => {
    await threeAmongTwoThousand();
    const only = { belongs: belongsTo(organization('org-a', ['ws-a'])), scanned: 100, organizationId: 'org-a' };
    // before the unnamed one: the log is read, at most `scanned` events a page
    const first = await readFeedPage(store, { after: undefined, limit: 10, only });
    expect([first.items.map((e) => (e.data as { teamId: string }).teamId), first.next]).toEqual([['team-1'], '100']);
    // after it: by the index, both at once, and caught up (the store without the index took 20 pages of 100)
    const second = await readFeedPage(store, { after: first.next!, limit: 10, only });
    expect(second.items.map((e) => [(e.data as { teamId: string }).teamId, e.organizationId])).toEqual([['team-1000', 'org-a'], ['team-2000', 'org-a']]);
    expect(second.next).toBe(second.head);
    // an unnamed event appended now moves the boundary: read from before it, the page reads the log again
    await append('ws-a', 2001);
    const third = await readFeedPage(store, { after: first.next!, limit: 10, only });
    expect(third.items.map((e) => (e.data as { teamId: string }).teamId)).toEqual([]);
    expect(third.next).toBe('200');
    const caughtUp = await readFeedPage(store, { after: String(BigInt(third.head) - 1n), limit: 10, only });
    expect(caughtUp.items.map((e) => (e.data as { teamId: string }).teamId)).toEqual(['team-2001']);
  });
});
