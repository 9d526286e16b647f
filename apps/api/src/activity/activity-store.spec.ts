import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '@rollcall/event-store';
import { StreamStates } from '../shared/command-path/stream-states';
import { ActivityRecorder } from './activity-recorder';
import { type ActivityMark, type ActivityStore, SqliteActivityStore } from './activity-store';
import { activityStoreContract } from './testing/activity-store.contract';

// docs/adr/0036 (probe 75 F3, F4): the last day a key was used and a user acted, beside the log
describe('activity: the last day a key was used, a user acted', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'rollcall-activity-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  activityStoreContract('the embedded store (two processes of a data dir)', () => {
    const one = new SqliteActivityStore(dir);
    return { one, other: new SqliteActivityStore(dir) };
  });

  it('a write its disk refuses (full) fails naming that, not a failed rollback (probe 96 F8); the store writes again after', async () => {
    const store = new SqliteActivityStore(dir);
    const db = (store as unknown as { db: import('node:sqlite').DatabaseSync }).db;
    const pages = (db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count;
    // the file may grow no more: SQLite's answer to a full disk (SQLITE_FULL)
    db.exec(`PRAGMA max_page_count = ${pages}`);
    const marks = (n: number): ActivityMark[] => Array.from({ length: n }, (_, i) => ({ organizationId: 'o1', kind: 'user', id: `user-${i}-${'x'.repeat(100)}`, on: '2026-12-07' }));
    await expect(store.record(marks(2000))).rejects.toThrow(/full/);
    db.exec('PRAGMA max_page_count = 4294967294');
    await store.record(marks(3));
    expect((await store.lastOn('o1', 'user', [marks(1)[0]!.id])).get(marks(1)[0]!.id)).toBe('2026-12-07');
    await store.close();
  });

  it('the recorder writes a key or user once a day per process, keeps only users of the organization, and marks again after a failed write', async () => {
    const events = new SqliteEventStore(join(dir, 'events.sqlite'), { durability: 'normal' });
    const states = new StreamStates(events);
    const written: ActivityMark[][] = [];
    let fail = false;
    const store: ActivityStore = {
      record: async (marks) => {
        if (fail) throw new Error('disk full');
        written.push([...marks]);
      },
      lastOn: async () => new Map(),
      close: async () => undefined,
    };
    const recorder = new ActivityRecorder(store, states);
    // no organization in the log: no user of it (a made-up X-Actor-Id marks nobody); a key is marked as it authenticated
    recorder.keyUsed('o1', 'k1');
    recorder.keyUsed('o1', 'k1');
    recorder.userActed('o1', 'made-up');
    recorder.userActed('o1', 'jane@acme.test');
    await recorder.flush();
    expect(written).toEqual([[{ organizationId: 'o1', kind: 'key', id: 'k1', on: new Date().toISOString().slice(0, 10) }]]);
    recorder.keyUsed('o1', 'k1');
    await recorder.flush();
    expect(written).toHaveLength(1);
    fail = true;
    recorder.keyUsed('o1', 'k2');
    await recorder.flush();
    fail = false;
    recorder.keyUsed('o1', 'k2');
    await recorder.flush();
    expect(written.at(-1)!.map((m) => m.id)).toEqual(['k2']);
    await recorder.onApplicationShutdown();
    await events.close();
  });
});
