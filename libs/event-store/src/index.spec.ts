import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  KurrentDbEventStore,
  SqliteEventStore,
  WrongExpectedRevisionError,
  createEventStore,
  newEventId,
  uuidV5,
} from '@rollcall/event-store';

describe('event ids', () => {
  it("newEventId: a fresh version 7 UUID each time (a decision's own ids: docs/adr/0004 point 3), in the order drawn", () => {
    const before = Date.now();
    const ids = Array.from({ length: 1000 }, () => newEventId());
    const after = Date.now();
    expect(new Set(ids).size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // time-ordered as text: the embedded store's index on ids grows at its end
    expect([...ids].sort()).toEqual(ids);
    // its time is when it was drawn (a busy CI machine stalled 5 s between drawing and a wall-clock check once): the
    // generator may run ahead of the clock by a little within a millisecond, never behind
    const ms = parseInt(ids[0]!.replaceAll('-', '').slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(after + 1_000);
  });

  it('uuidV5 implements RFC 9562 version 5 (known vector: DNS namespace, "www.example.com")', () => {
    expect(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
    expect(() => uuidV5('not-a-uuid', 'x')).toThrow(RangeError);
  });
});

describe('createEventStore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rollcall-es-factory-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('uses the embedded SQLite store in dataDir when no URL is given', async () => {
    const store = createEventStore({ dataDir: join(dir, 'data'), eventstoreUrl: '  ' });
    expect(store).toBeInstanceOf(SqliteEventStore);
    expect(existsSync(join(dir, 'data', 'events.sqlite'))).toBe(true);
    await store.append('s', [{ id: newEventId(), type: 'T', data: {}, metadata: {} }], 'no_stream');
    await expect(
      store.append('s', [{ id: newEventId(), type: 'T', data: {}, metadata: {} }], 'no_stream'),
    ).rejects.toBeInstanceOf(WrongExpectedRevisionError);
    await store.close();
  });

  it('uses KurrentDB when EVENTSTORE_URL is given, with either scheme', async () => {
    for (const url of ['esdb://localhost:2113?tls=false', 'kurrentdb://localhost:2113?tls=false']) {
      const store = createEventStore({ dataDir: dir, eventstoreUrl: url });
      expect(store).toBeInstanceOf(KurrentDbEventStore);
      await store.close();
    }
  });
});
