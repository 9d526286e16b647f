// The embedded log indexed by organization (organization-index.ts; ADR 0021 "Session 63"): a read with the filter's
// `organizationId` hint answers that organization's events alone — by the metadata, the stream's name or the data —
// after the last event that names none; before it, every event (the caller keeps its own); where the indexes cannot be
// built, reads go without them.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { NewEvent, ReadAllOptions } from '../port';
import { createOrganizationIndexes, indexedAfter } from './organization-index';
import { SqliteEventStore } from './sqlite-event-store';

const dir = mkdtempSync(join(tmpdir(), 'rollcall-organization-index-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshFile = () => join(dir, `log-${++files}.sqlite`);

const ev = (n: number, metadata: Record<string, unknown> = {}, data: Record<string, unknown> = {}): NewEvent => ({ id: randomUUID(), type: 'E', data: { n, ...data }, metadata });
const ns = async (store: SqliteEventStore, options: ReadAllOptions) => {
  const out: unknown[] = [];
  for await (const e of store.readAll(options)) out.push((e.data as { n: number }).n);
  return out;
};
const ofA = (after?: bigint): ReadAllOptions => ({ ...(after !== undefined && { fromPosition: after }), filter: { organizationId: 'org-a' } });

describe('the embedded log indexed by organization', () => {
  it("an organization's events by its metadata, its stream's name or its data; every event up to the last that names none", async () => {
    const store = new SqliteEventStore(freshFile());
    try {
      await store.append('workspace-w1', [ev(1, {}, {})], 'any'); // names no organization (before session 58)
      await store.append('workspace-w1', [ev(2, { organizationId: 'org-a' })], 'any');
      await store.append('workspace-w2', [ev(3, { organizationId: 'org-b' })], 'any');
      await store.append('organization-org-a', [ev(4)], 'any');
      await store.append('mail-org-b', [ev(5)], 'any');
      await store.append('presence-w1-u1', [ev(6, {}, { organizationId: 'org-a' })], 'any');
      // after the unnamed one (position 1): A's alone, by the index
      expect(await ns(store, ofA(1n))).toEqual([2, 4, 6]);
      // from the start: the log up to it is every event's (the caller keeps its own), then A's
      expect(await ns(store, ofA())).toEqual([1, 2, 3, 4, 5, 6]);
      // an unnamed event appended now moves the boundary: nothing after 1 is left out
      await store.append('workspace-w2', [ev(7)], 'any');
      expect(await ns(store, ofA(1n))).toEqual([2, 3, 4, 5, 6, 7]);
      expect(await ns(store, ofA(7n))).toEqual([]);
      // without the hint, as before
      expect(await ns(store, { fromPosition: 5n })).toEqual([6, 7]);
    } finally {
      await store.close();
    }
  });

  it('a row that is not JSON neither stops the index nor is stopped by it (an auditor forging a damaged log: json_valid first); where the indexes cannot be built, reads go without them, with a warning', () => {
    const db = new DatabaseSync(':memory:');
    db.exec('CREATE TABLE events (position INTEGER PRIMARY KEY, stream TEXT, data TEXT, metadata TEXT)');
    db.exec(`INSERT INTO events (stream, data, metadata) VALUES ('workspace-w9', '{}', 'not json')`);
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      createOrganizationIndexes(db);
      expect(warn).not.toHaveBeenCalled();
      db.exec(`UPDATE events SET data = '{"a":' WHERE position = 1`);
      expect(indexedAfter(db, 1n)).toBe(true);
      expect(indexedAfter(db, 0n)).toBe(false);
      // a connection that may not write, over a log without the indexes
      const readOnly = new DatabaseSync(':memory:');
      readOnly.exec('CREATE TABLE events (position INTEGER PRIMARY KEY, stream TEXT, data TEXT, metadata TEXT); PRAGMA query_only = ON');
      createOrganizationIndexes(readOnly);
      expect(warn.mock.calls.map(([message]) => String(message))).toEqual([expect.stringMatching(/not indexed by organization .*readonly/i)]);
      expect(indexedAfter(readOnly, 10n)).toBe(false);
      readOnly.close();
    } finally {
      warn.mockRestore();
      db.close();
    }
  });

  it('the first open of a log written before the indexes builds them and says how long it took; a new log or a later open says nothing (probe 107 F4)', async () => {
    const file = freshFile();
    const built: number[] = [];
    const onOrganizationIndexBuilt = (ms: number) => built.push(ms);
    const first = new SqliteEventStore(file, { onOrganizationIndexBuilt });
    await first.append('workspace-w1', [ev(1, { organizationId: 'org-a' })], 'any');
    await first.close();
    expect(built).toEqual([]);
    const raw = new DatabaseSync(file);
    raw.exec('DROP INDEX events_by_organization; DROP INDEX events_of_no_organization');
    raw.close();
    const upgraded = new SqliteEventStore(file, { onOrganizationIndexBuilt });
    expect(await ns(upgraded, ofA(0n))).toEqual([1]);
    await upgraded.close();
    expect(built).toEqual([expect.any(Number)]);
    await new SqliteEventStore(file, { onOrganizationIndexBuilt }).close();
    expect(built).toHaveLength(1);
  });
});

