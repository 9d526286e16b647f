import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Idempotency, IdempotencyKeyErasedError, IdempotencyKeyReusedError, type RequestAbout, SqliteIdempotencyStore } from './idempotency';
import { countLoopTurns } from '../testing/loop-turns';

describe('SqliteIdempotencyStore', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'rollcall-idempotency-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('stores the answers still queued when it is closed (a stopping API closes it in the same turn as the last put)', async () => {
    const store = new SqliteIdempotencyStore(dir);
    const put = store.put('key-1', { requestHash: 'h', status: 201, body: { id: 1 } });
    await store.close();
    expect(await put).toEqual({ requestHash: 'h', status: 201, body: { id: 1 } });
    const reopened = new SqliteIdempotencyStore(dir);
    try {
      expect(await reopened.get('key-1')).toEqual({ requestHash: 'h', status: 201, body: { id: 1 } });
    } finally {
      await reopened.close();
    }
  });

  it('keeps an answer for the retention (7 days) and drops it after: as it opens, and hourly while it runs (probe 43 F4: the table only grew)', async () => {
    let now = Date.parse('2026-12-01T00:00:00Z');
    const clock = () => now;
    const DAY = 24 * 3600 * 1000;
    const store = new SqliteIdempotencyStore(dir, undefined, clock);
    await store.put('old', { requestHash: 'h', status: 201, body: { id: 1 } });
    now += 6 * DAY;
    await store.put('newer', { requestHash: 'h', status: 201, body: { id: 2 } });
    expect(await store.get('old')).toBeDefined();
    // a day and an hour later: the next write's flush drops what is past 7 days
    now += DAY + 3600 * 1000;
    await store.put('latest', { requestHash: 'h', status: 201, body: { id: 3 } });
    await store.pruned();
    expect(await store.get('old')).toBeUndefined();
    expect(await store.get('newer')).toBeDefined();
    await store.close();
    // opened 7 days after 'newer': dropped at once, 'latest' kept
    now += 6 * DAY;
    const reopened = new SqliteIdempotencyStore(dir, undefined, clock);
    try {
      await reopened.pruned();
      expect(await reopened.get('newer')).toBeUndefined();
      expect(await reopened.get('latest')).toEqual({ requestHash: 'h', status: 201, body: { id: 3 } });
    } finally {
      await reopened.close();
    }
  });

  it('drops many expired answers a batch per turn of the event loop, not in one statement that holds every request (probe 43b F1)', async () => {
    let now = Date.parse('2026-12-01T00:00:00Z');
    const store = new SqliteIdempotencyStore(dir, undefined, () => now);
    for (let i = 0; i < 5_000; i++) void store.put(`k${i}`, { requestHash: 'h', status: 201, body: null });
    await store.put('last', { requestHash: 'h', status: 201, body: null });
    await store.close();
    now += 8 * 24 * 3600 * 1000;
    const turns = countLoopTurns();
    const reopened = new SqliteIdempotencyStore(dir, undefined, () => now);
    try {
      await reopened.pruned();
      const counted = turns.stop();
      expect(await reopened.get('k0')).toBeUndefined();
      expect(await reopened.get('last')).toBeUndefined();
      // 5,001 rows in batches of 2,000: the loop turned between them
      expect(counted).toBeGreaterThanOrEqual(3);
    } finally {
      await reopened.close();
    }
  });

  it('keeps what an answer was about (its events, the users it named), also in a table written before (the column added as it opens)', async () => {
    const before = new DatabaseSync(join(dir, 'api.sqlite'));
    before.exec(`CREATE TABLE idempotency (key TEXT PRIMARY KEY, request_hash TEXT NOT NULL, status INTEGER NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL);
      INSERT INTO idempotency VALUES ('old', 'h', 201, '{"id":0}', '${new Date().toISOString()}')`);
    before.close();
    const store = new SqliteIdempotencyStore(dir);
    try {
      const about: RequestAbout = { spans: [{ stream: 'workspace-w1', fromRevision: '7', count: 2 }], users: ['u1'] };
      await store.put('new', { requestHash: 'h', status: 201, body: { id: 1 }, about });
      expect(await store.get('new')).toEqual({ requestHash: 'h', status: 201, body: { id: 1 }, about });
      expect(await store.get('old')).toEqual({ requestHash: 'h', status: 201, body: { id: 0 } });
    } finally {
      await store.close();
    }
  });
});

describe('Idempotency: a stored answer whose events the log does not hold (probe 62 F1: a data dir restored with later answers)', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'rollcall-idempotency-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is dropped and the request decided again; its new answer is kept and replayed after', async () => {
    const store = new SqliteIdempotencyStore(dir);
    const lost = new Set<string>();
    const keysAsked: string[][] = [];
    const idempotency = new Idempotency(store, async ({ spans }, keys) => {
      keysAsked.push([...keys]);
      return spans.some((s) => lost.has(`${s.stream}@${s.fromRevision}`)) ? 'lost' : 'kept';
    });
    let runs = 0;
    const write = (fromRevision: string) => async () => {
      runs++;
      return { status: 200, body: { fromRevision }, stored: { fromRevision }, about: { spans: [{ stream: 'organization-o', fromRevision, count: 1 }], users: [] } };
    };
    try {
      expect(await idempotency.run({ key: 'recorded', clearKey: 'org:clear', requestHash: 'h1' }, write('7'))).toEqual({ replayed: false, body: { fromRevision: '7' } });
      lost.add('organization-o@7');
      // decided again: a new answer (the write lands elsewhere in the restored log), not the one of the lost host
      expect(await idempotency.run({ key: 'recorded', clearKey: 'org:clear', requestHash: 'h1' }, write('3'))).toEqual({ replayed: false, body: { fromRevision: '3' } });
      expect(runs).toBe(2);
      expect(await idempotency.run({ key: 'recorded', clearKey: 'org:clear', requestHash: 'h1' }, write('never'))).toEqual({ replayed: true, body: { fromRevision: '3' } });
      expect(runs).toBe(2);
      // both forms of the key are the events' to carry
      expect(keysAsked[0]).toEqual(['recorded', 'org:clear']);
    } finally {
      await store.close();
    }
  });
});

describe('Idempotency: a stored answer whose events an erasure reached (probe 40 F4)', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'rollcall-idempotency-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('rule 12: answers IdempotencyKeyErasedError to the same request and to another alike, asking before comparing; an answer no erasure reached (or kept without spans) as before', async () => {
    const store = new SqliteIdempotencyStore(dir);
    const erased = new Set<string>();
    const asked: string[] = [];
    const idempotency = new Idempotency(store, async ({ spans }) => {
      asked.push(...spans.map((s) => s.stream));
      return spans.some((s) => erased.has(s.stream)) ? 'erased' : 'kept';
    });
    const write = (stream: string) => async () => ({ status: 201, body: { stream }, stored: { stream }, about: { spans: [{ stream, fromRevision: '0', count: 1 }], users: [] } });
    try {
      await idempotency.run({ key: 'k1', requestHash: 'h1' }, write('workspace-a'));
      await idempotency.run({ key: 'k2', requestHash: 'h1' }, write('workspace-b'));
      await store.put('k3', { requestHash: 'h1', status: 201, body: { stream: 'kept before' } });
      erased.add('workspace-a');
      for (const requestHash of ['h1', 'h2']) await expect(idempotency.run({ key: 'k1', requestHash }, write('workspace-a'))).rejects.toBeInstanceOf(IdempotencyKeyErasedError);
      expect(await idempotency.run({ key: 'k2', requestHash: 'h1' }, write('workspace-b'))).toEqual({ replayed: true, body: { stream: 'workspace-b' } });
      await expect(idempotency.run({ key: 'k2', requestHash: 'h2' }, write('workspace-b'))).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
      expect(await idempotency.run({ key: 'k3', requestHash: 'h1' }, write('never'))).toEqual({ replayed: true, body: { stream: 'kept before' } });
      expect(asked).toEqual(['workspace-a', 'workspace-a', 'workspace-b', 'workspace-b']);
    } finally {
      await store.close();
    }
  });
});

describe('Idempotency: an answer kept under the key in clear (versions before session 33)', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'rollcall-idempotency-clear-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('probe 57 F1: is found when the recorded form is not, replayed to the same request and refused to another; the recorded form first', async () => {
    const store = new SqliteIdempotencyStore(dir);
    try {
      await store.put('system:org-1', { requestHash: 'h', status: 0, body: { organizationId: 'org-of-before' } });
      const idempotency = new Idempotency(store);
      let ran = 0;
      const write = async () => ({ status: 0, body: { organizationId: `org-${++ran}` }, stored: { organizationId: `org-${ran}` } });
      expect(await idempotency.run({ key: 'system:#recorded-1', clearKey: 'system:org-1', requestHash: 'h' }, write)).toEqual({ replayed: true, body: { organizationId: 'org-of-before' } });
      await expect(idempotency.run({ key: 'system:#recorded-1', clearKey: 'system:org-1', requestHash: 'other' }, write)).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
      expect(ran).toBe(0);
      // a key with an answer under its recorded form answers that one
      await store.put('system:#recorded-2', { requestHash: 'h', status: 0, body: { organizationId: 'org-recorded' } });
      await store.put('system:org-2', { requestHash: 'h', status: 0, body: { organizationId: 'org-clear' } });
      expect(await idempotency.run({ key: 'system:#recorded-2', clearKey: 'system:org-2', requestHash: 'h' }, write)).toEqual({ replayed: true, body: { organizationId: 'org-recorded' } });
      // under neither: runs, and is kept under the recorded form only
      expect(await idempotency.run({ key: 'system:#recorded-3', clearKey: 'system:org-3', requestHash: 'h' }, write)).toEqual({ replayed: false, body: { organizationId: 'org-1' } });
      expect([await store.get('system:#recorded-3'), await store.get('system:org-3')]).toEqual([expect.objectContaining({ body: { organizationId: 'org-1' } }), undefined]);
    } finally {
      await store.close();
    }
  });
});
