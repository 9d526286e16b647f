import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EVENT_ID_NAMESPACE,
  KurrentDbEventStore,
  SqliteEventStore,
  WrongExpectedRevisionError,
  createEventStore,
  eventIdFor,
  uuidV5,
} from '@rollcall/event-store';

describe('eventIdFor', () => {
  it('is a deterministic version 5 UUID of the idempotency key and the index', () => {
    const id = eventIdFor('cmd-123', 0);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(eventIdFor('cmd-123', 0)).toBe(id);
    expect(eventIdFor('cmd-123', 1)).not.toBe(id);
    expect(eventIdFor('cmd-124', 0)).not.toBe(id);
    expect(eventIdFor('cmd-123', 0)).toBe(uuidV5(EVENT_ID_NAMESPACE, 'cmd-123:0'));
  });

  it('implements RFC 9562 version 5 (known vector: DNS namespace, "www.example.com")', () => {
    expect(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
    expect(() => uuidV5('not-a-uuid', 'x')).toThrow(RangeError);
  });

  it('rejects an empty key and a bad index', () => {
    expect(() => eventIdFor('', 0)).toThrow(RangeError);
    expect(() => eventIdFor('k', -1)).toThrow(RangeError);
    expect(() => eventIdFor('k', 1.5)).toThrow(RangeError);
  });
});

describe('createEventStore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rollcall-es-factory-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('uses the embedded SQLite store in dataDir when no URL is given', async () => {
    const store = createEventStore({ dataDir: join(dir, 'data'), eventstoreUrl: '  ' });
    expect(store).toBeInstanceOf(SqliteEventStore);
    expect(existsSync(join(dir, 'data', 'events.sqlite'))).toBe(true);
    await store.append('s', [{ id: eventIdFor('k', 0), type: 'T', data: {}, metadata: {} }], 'no_stream');
    await expect(
      store.append('s', [{ id: eventIdFor('k2', 0), type: 'T', data: {}, metadata: {} }], 'no_stream'),
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
