/**
 * The lease port (docs/rules.md#presence-details) over both backends, with one contract: the embedded one on a data
 * dir, and MongoLeaseBackend through the real driver against the WIRE FIXTURE (not a server: see
 * libs/read-store/src/store/mongo-wire/wire-fixture.ts) whose responder evaluates the driver's commands with `mingo`
 * (an in-memory implementation of MongoDB's query and update language) over one simulated collection. The
 * responder shows that the commands mean what the adapter intends; only a server shows index use.
 */
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { simulatedCollection } from '../../../../libs/read-store/src/store/mongo-wire/simulated-collection';
import { MongoWireFixture } from '../../../../libs/read-store/src/store/mongo-wire/wire-fixture';
import { BufferedLeaseStore, type Lease, type LeaseBackend, SqliteLeaseBackend } from './leases';
import { MongoLeaseBackend } from './mongo-leases';

const NS = 'test.presence_leases';

interface Backends {
  /** a new connection to the same shared leases (another replica's) */
  connect(): LeaseBackend;
  close(): Promise<void>;
}

const backends: [string, () => Promise<Backends>][] = [
  [
    'embedded (presence.sqlite in the data dir)',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'rollcall-leases-'));
      return { connect: () => new SqliteLeaseBackend(dir), close: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  ],
  [
    'MongoDB (presence_leases, real driver over the wire fixture)',
    async () => {
      const collection = simulatedCollection(NS);
      const fixture = await MongoWireFixture.start(collection.responder);
      return {
        connect: () => new MongoLeaseBackend(fixture.url),
        close: async () => {
          await fixture.close();
          expect(fixture.errors).toEqual([]);
        },
      };
    },
  ],
];

const lease = (userId: string, lastSeenAt: number, workspaceId = 'ws-1'): Lease => ({ workspaceId, organizationId: 'org-1', userId, lastSeenAt });

describe.each(backends)('rule 13: leases, %s', (_name, make) => {
  let shared: Backends;
  const open: BufferedLeaseStore[] = [];
  /** a replica's lease store; flushed by hand (no timer in the way) */
  const replica = () => {
    const store = new BufferedLeaseStore(shared.connect(), 3_600_000);
    open.push(store);
    return store;
  };
  beforeEach(async () => {
    shared = await make();
  });
  afterEach(async () => {
    for (const store of open.splice(0)) await store.close();
    await shared.close();
  });

  it('a heartbeat renews the lease in memory; the flush saves it where the other replicas see it', async () => {
    const a = replica();
    const b = replica();
    a.touch(lease('u1', 1000));
    expect(await a.get('ws-1', 'u1')).toEqual(lease('u1', 1000));
    expect(await b.get('ws-1', 'u1')).toBeUndefined();
    await a.flush();
    expect(await b.get('ws-1', 'u1')).toEqual(lease('u1', 1000));
  });

  it('persist saves at once (before a transition is appended)', async () => {
    const a = replica();
    await a.persist(lease('u1', 1000));
    expect(await replica().get('ws-1', 'u1')).toEqual(lease('u1', 1000));
  });

  it('keeps the later last-seen time whichever replica saves last', async () => {
    const a = replica();
    const b = replica();
    b.touch(lease('u1', 5000));
    await b.flush();
    a.touch(lease('u1', 3000));
    await a.flush();
    expect(await replica().get('ws-1', 'u1')).toEqual(lease('u1', 5000));
  });

  it('lists lapsed leases oldest first, up to the limit, after saving what is in memory', async () => {
    const a = replica();
    for (const [u, t] of [['u1', 3000], ['u2', 1000], ['u3', 2000], ['u4', 9000]] as const) a.touch(lease(u, t));
    const other = replica();
    expect((await other.lapsed(5000, 10)).map((l) => l.userId)).toEqual([]);
    expect((await a.lapsed(5000, 10)).map((l) => l.userId)).toEqual(['u2', 'u3', 'u1']);
    expect((await other.lapsed(5000, 2)).map((l) => l.userId)).toEqual(['u2', 'u3']);
  });

  it('a lease renewed after the lapse it ended is kept by release; otherwise release removes it', async () => {
    const a = replica();
    const b = replica();
    a.touch(lease('u1', 1000));
    a.touch(lease('u2', 1000));
    await a.flush();
    b.touch(lease('u1', 4000));
    await b.flush();
    await a.release('ws-1', 'u1', 1000);
    await a.release('ws-1', 'u2', 1000);
    expect(await replica().get('ws-1', 'u1')).toEqual(lease('u1', 4000));
    expect(await replica().get('ws-1', 'u2')).toBeUndefined();
    expect(await a.lapsed(10_000, 10)).toEqual([lease('u1', 4000)]);
  });

  it("a page of members' leases at once: the later of this process's and the stored one, users without one left out", async () => {
    const a = replica();
    const b = replica();
    b.touch(lease('u1', 5000));
    b.touch(lease('u2', 1000));
    b.touch(lease('u1', 9000, 'ws-2'));
    await b.flush();
    a.touch(lease('u2', 3000)); // renewed here, not flushed yet
    a.touch(lease('u1', 4000)); // older than the stored one
    expect(await a.getMany('ws-1', ['u1', 'u2', 'nobody'])).toEqual([lease('u1', 5000), lease('u2', 3000)]);
    expect(await a.getMany('ws-1', [])).toEqual([]);
  });

  it('keeps workspaces apart', async () => {
    const a = replica();
    a.touch(lease('u1', 1000, 'ws-1'));
    a.touch(lease('u1', 2000, 'ws-2'));
    await a.flush();
    expect(await replica().get('ws-2', 'u1')).toEqual(lease('u1', 2000, 'ws-2'));
    expect(await replica().get('ws-1', 'u1')).toEqual(lease('u1', 1000, 'ws-1'));
  });
});

/** leases in memory, recording each save; `failNext` makes the next save fail (a busy or unreachable backend) */
class RecordingBackend implements LeaseBackend {
  readonly saved = new Map<string, Lease>();
  readonly saves: number[] = [];
  failNext = false;
  async save(leases: readonly Lease[]): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('database is locked');
    }
    this.saves.push(leases.length);
    for (const l of leases) this.saved.set(`${l.workspaceId}:${l.userId}`, l);
  }
  async get(workspaceId: string, userId: string) {
    return this.saved.get(`${workspaceId}:${userId}`);
  }
  async getMany(workspaceId: string, userIds: readonly string[]) {
    return userIds.flatMap((userId) => this.saved.get(`${workspaceId}:${userId}`) ?? []);
  }
  async lapsed() {
    return [];
  }
  async release() {}
  async pullBack(after: number, to: number) {
    let n = 0;
    for (const [id, l] of this.saved)
      if (l.lastSeenAt > after) {
        this.saved.set(id, { ...l, lastSeenAt: to });
        n++;
      }
    return n;
  }
  async close() {}
}

describe('rule 13: the lease buffer (BufferedLeaseStore)', () => {
  it('a flush that failed keeps its leases, and the next flush saves them', async () => {
    const backend = new RecordingBackend();
    const store = new BufferedLeaseStore(backend, 3_600_000);
    store.touch(lease('u1', 1000));
    backend.failNext = true;
    await expect(store.flush()).rejects.toThrow('database is locked');
    store.touch(lease('u2', 2000));
    await store.flush();
    expect([...backend.saved.values()].sort((a, b) => a.lastSeenAt - b.lastSeenAt)).toEqual([lease('u1', 1000), lease('u2', 2000)]);
    await store.close();
  });

  it('saves a flush in slices of at most 128 leases (one transaction each, the event loop free between them)', async () => {
    const backend = new RecordingBackend();
    const store = new BufferedLeaseStore(backend, 3_600_000);
    for (let i = 0; i < 600; i++) store.touch(lease(`u${i}`, 1000 + i));
    await store.flush();
    expect(backend.saves).toEqual([128, 128, 128, 128, 88]);
    expect(backend.saved.size).toBe(600);
    await store.close();
  });
});

describe('rule 13: the embedded lease file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rollcall-leases-wal-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * leases in presence.sqlite itself, not counting its WAL: what checkpoints have copied there. The file is copied
   * while the checkpoint thread may be writing it: a copy taken in the middle of a checkpoint can be torn ("database
   * disk image is malformed", seen once in a clean-clone CI run), so such a copy is taken again.
   */
  const inDatabaseFile = (): number => {
    for (let attempt = 1; ; attempt++) {
      copyFileSync(join(dir, 'presence.sqlite'), join(dir, 'copy.sqlite'));
      const db = new DatabaseSync(join(dir, 'copy.sqlite'));
      try {
        const table = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'leases'").get();
        return table ? Number((db.prepare('SELECT COUNT(*) AS n FROM leases').get() as { n: number }).n) : 0;
      } catch (error) {
        if (attempt >= 5 || !/malformed/.test(String((error as Error).message))) throw error;
      } finally {
        db.close();
      }
    }
  };
  const many = (n: number) => Array.from({ length: n }, (_, i) => lease(`user-${i}-${'x'.repeat(40)}`, 1000 + i));

  it('the connection that saves never checkpoints the WAL, even past 1,000 pages (the fsyncs stay off the event loop)', async () => {
    const backend = new SqliteLeaseBackend(dir, { checkpointMs: 3_600_000 });
    try {
      await backend.save(many(40_000));
      expect(statSync(join(dir, 'presence.sqlite-wal')).size / 4096).toBeGreaterThan(1000);
      expect(inDatabaseFile()).toBe(0);
    } finally {
      await backend.close();
    }
    // closing checkpoints what is left
    expect(inDatabaseFile()).toBe(40_000);
  });

  it('its checkpoint thread copies the saved leases into the database file', async () => {
    const backend = new SqliteLeaseBackend(dir, { checkpointMs: 20 });
    try {
      await backend.save(many(100));
      for (let i = 0; i < 200 && inDatabaseFile() < 100; i++) await new Promise((r) => setTimeout(r, 10));
      expect(inDatabaseFile()).toBe(100);
    } finally {
      await backend.close();
    }
  });
});

describe('rule 13: MongoLeaseBackend commands as the driver sends them', () => {
  it('upserts with $max (never back in time) in an unordered bulk, sweeps on the lastSeenAt index', async () => {
    const collection = simulatedCollection(NS);
    const fixture = await MongoWireFixture.start(collection.responder);
    const backend = new MongoLeaseBackend(fixture.url);
    try {
      await backend.save([lease('u1', 1000), lease('u2', 2000)]);
      await backend.lapsed(5000, 7);
      await backend.release('ws-1', 'u1', 1000);
      const body = (name: string) => {
        const { lsid: _lsid, $db: _db, ...rest } = fixture.sent(name)[0]!.body;
        return rest;
      };
      expect(body('createIndexes')).toEqual({ createIndexes: 'presence_leases', indexes: [{ name: 'presence_leases_last_seen', key: { lastSeenAt: 1 } }] });
      expect(body('update')).toEqual({
        update: 'presence_leases',
        ordered: false,
        updates: [
          { q: { _id: 'ws-1:u1' }, u: { $max: { lastSeenAt: new Date(1000) }, $setOnInsert: { workspaceId: 'ws-1', organizationId: 'org-1', userId: 'u1' } }, upsert: true },
          { q: { _id: 'ws-1:u2' }, u: { $max: { lastSeenAt: new Date(2000) }, $setOnInsert: { workspaceId: 'ws-1', organizationId: 'org-1', userId: 'u2' } }, upsert: true },
        ],
      });
      expect(body('find')).toMatchObject({ find: 'presence_leases', filter: { lastSeenAt: { $lt: new Date(5000) } }, sort: { lastSeenAt: 1 }, limit: 7 });
      expect(body('delete')).toMatchObject({ delete: 'presence_leases', deletes: [{ q: { _id: 'ws-1:u1', lastSeenAt: { $lte: new Date(1000) } }, limit: 1 }] });
    } finally {
      await backend.close();
      await fixture.close();
    }
    expect(fixture.errors).toEqual([]);
  });
});
