// The organization's changes over a long stream: a filter of a rare kind looks through a bounded part of it per page
// (organization-changes.ts SCAN_PER_PAGE) and says where to go on, in both directions.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '@rollcall/event-store';
import { OrganizationChanges } from './organization-changes';
import type { OrganizationReads } from './organization-reads';

const ORG = 'org-1';
const JOINS = 6000;
const DAYS = 'org-days';

describe("the organization's changes over a long stream", () => {
  let dir: string;
  let store: SqliteEventStore;
  let changes: OrganizationChanges;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'org-changes-'));
    store = new SqliteEventStore(join(dir, 'events.sqlite'), { durability: 'normal' });
    const at = '2026-03-01T09:00:00.000Z';
    const meta = { actorId: 'ada', occurredAt: at };
    await store.append(`organization-${ORG}`, [{ id: crypto.randomUUID(), type: 'ApiKeyIssued', data: { organizationId: ORG, keyId: 'k-1', secretHash: 'x', issuedAt: at }, metadata: meta }], 'no_stream');
    for (let i = 0; i < JOINS; i += 500)
      await store.append(
        `organization-${ORG}`,
        Array.from({ length: 500 }, (_, j) => ({
          id: crypto.randomUUID(),
          type: 'UserJoinedOrganization',
          data: { organizationId: ORG, userId: `u-${i + j}`, email: `u${i + j}@acme.test`, displayName: 'U', orgAdmin: false, joinedAt: at },
          metadata: meta,
        })),
        'any',
      );
    await store.append(`organization-${ORG}`, [{ id: crypto.randomUUID(), type: 'ApiKeyRevoked', data: { organizationId: ORG, keyId: 'k-1', revokedAt: at }, metadata: meta }], 'any');
    // the org admin check stands in for the organization's state: the stream's last revision
    // a second organization whose five changes are a day apart each (the range test below)
    for (let day = 1; day <= 5; day++)
      await store.append(
        `organization-${DAYS}`,
        [{ id: crypto.randomUUID(), type: 'OrgAdminChanged', data: { organizationId: DAYS, userId: `u-${day}`, orgAdmin: true, changedAt: `2026-03-0${day}T12:00:00.000Z` }, metadata: { actorId: 'ada', occurredAt: `2026-03-0${day}T12:00:00.000Z` } }],
        'any',
      );
    const reads = { orgAdminReading: async (org: string) => (org === ORG ? BigInt(JOINS + 1) : 4n) } as unknown as OrganizationReads;
    changes = new OrganizationChanges(reads, store);
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a rare kind: a page looks through 5,000 changes at most, answers what it found and where to go on; the next page finds the rest', async () => {
    const first = await changes.list(ORG, 'ada', { limit: 50, change: ['api_key_revoked'] });
    expect(first.items).toEqual([]);
    expect(first.next).toBe('4999');
    const second = await changes.list(ORG, 'ada', { limit: 50, change: ['api_key_revoked'], after: first.next! });
    expect(second.items.map((c) => [c.change, c.keyId, c.revision])).toEqual([['api_key_revoked', 'k-1', String(JOINS + 1)]]);
    expect(second.next).toBeNull();
  });

  it('latest first: the same bound, and the cursor goes on backwards to the stream\'s start', async () => {
    const first = await changes.list(ORG, 'ada', { limit: 50, change: ['api_key_issued', 'api_key_revoked'], direction: 'desc' });
    expect(first.items.map((c) => c.change)).toEqual(['api_key_revoked']);
    expect(first.next).toBe(String(JOINS + 2 - 5000));
    const second = await changes.list(ORG, 'ada', { limit: 50, change: ['api_key_issued', 'api_key_revoked'], direction: 'desc', after: first.next! });
    expect(second.items.map((c) => [c.change, c.revision])).toEqual([['api_key_issued', '0']]);
    expect(second.next).toBeNull();
  });

  it('latest first from past the stream\'s end starts at its last change, and goes on (probe 72 F2: it answered nothing and the same cursor, for ever)', async () => {
    const page = await changes.list(ORG, 'ada', { limit: 2, direction: 'desc', after: String(JOINS + 10_000) });
    expect(page.items.map((c) => c.revision)).toEqual([String(JOINS + 1), String(JOINS)]);
    expect(page.next).toBe(String(JOINS));
  });

  it('a cursor past what a revision holds is refused naming the field, not a failure of the store (probe 72 F1)', async () => {
    await expect(changes.list(ORG, 'ada', { limit: 2, direction: 'desc', after: '9999999999999999999' })).rejects.toMatchObject({ problem: { code: 'VALIDATION_FAILED', errors: [{ field: 'after' }] } });
  });

  it('a time range, both ends inclusive, a date as `to` through its end; the walk stops past the far end (probe 75 F6)', async () => {
    const users = (page: { items: { userId: string | null }[] }) => page.items.map((c) => c.userId);
    const asc = await changes.list(DAYS, 'ada', { limit: 50, from: '2026-03-02T12:00:00.000Z', to: '2026-03-04' });
    expect([users(asc), asc.next]).toEqual([['u-2', 'u-3', 'u-4'], null]);
    const desc = await changes.list(DAYS, 'ada', { limit: 50, direction: 'desc', from: '2026-03-03' });
    expect([users(desc), desc.next]).toEqual([['u-5', 'u-4', 'u-3'], null]);
    const paged = await changes.list(DAYS, 'ada', { limit: 1, from: '2026-03-02' });
    expect([users(paged), paged.next]).toEqual([['u-2'], '1']);
    await expect(changes.list(DAYS, 'ada', { limit: 5, from: '2026-03-04', to: '2026-03-02' })).rejects.toThrow('from must not be after to');
  });

  it('without a filter, pages of `limit` in order, the last one with no next', async () => {
    const page = await changes.list(ORG, 'ada', { limit: 500, after: String(JOINS - 400) });
    expect(page.items.map((c) => Number(c.revision))).toEqual(Array.from({ length: 401 }, (_, i) => JOINS - 399 + i));
    expect(page.items.at(-1)!.change).toBe('api_key_revoked');
    expect(page.next).toBeNull();
    // nothing personal: joins name the user, not their address
    expect(JSON.stringify(page.items)).not.toContain('@acme.test');
  });
});
