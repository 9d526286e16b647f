import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '@rollcall/event-store';
import { StreamStates } from '../shared/stream-states';
import { ActivityRecorder } from './activity-recorder';
import { type ActivityMark, type ActivityStore, SqliteActivityStore } from './activity-store';

// docs/adr/0036 (probe 75 F3, F4): the last day a key was used and a user acted, beside the log
describe('activity: the last day a key was used, a user acted', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'rollcall-activity-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('the embedded store keeps the later day of each key or user, per organization and kind, shared by the processes of a data dir', async () => {
    const one = new SqliteActivityStore(dir);
    const other = new SqliteActivityStore(dir);
    const mark = (organizationId: string, kind: 'key' | 'user', id: string, on: string): ActivityMark => ({ organizationId, kind, id, on });
    await one.record([mark('o1', 'key', 'k1', '2026-12-05'), mark('o1', 'user', 'k1', '2026-11-01'), mark('o2', 'key', 'k1', '2026-10-01')]);
    // another process, a day behind (its clock, or a mark written late): the later day stays
    await other.record([mark('o1', 'key', 'k1', '2026-12-04'), mark('o1', 'user', 'u2', '2026-12-06')]);
    await one.record([mark('o1', 'user', 'k1', '2026-12-06')]);
    expect(await one.lastOn('o1', 'key', ['k1', 'nobody'])).toEqual(new Map([['k1', '2026-12-05']]));
    expect(await other.lastOn('o1', 'user', ['k1', 'u2'])).toEqual(new Map([['k1', '2026-12-06'], ['u2', '2026-12-06']]));
    expect(await one.lastOn('o2', 'key', ['k1'])).toEqual(new Map([['k1', '2026-10-01']]));
    // a page of more ids than one lookup binds
    const many = Array.from({ length: 1200 }, (_, i) => `u${i}`);
    await one.record(many.map((id) => mark('o3', 'user', id, '2026-12-01')));
    expect((await other.lastOn('o3', 'user', many)).size).toBe(1200);
    await one.close();
    await other.close();
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
