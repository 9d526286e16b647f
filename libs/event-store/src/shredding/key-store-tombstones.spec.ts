import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Long } from 'mongodb';
import { cursorReply, writeReply } from '../../../read-store/src/store/mongo-wire/replies';
import { MongoWireFixture, type WireCommand } from '../../../read-store/src/store/mongo-wire/wire-fixture';
import { MongoKeyStore, SqliteKeyStore, type TombstoneAt } from './key-store';

/** a deletion's tombstones: at `position`, then at the log's head read after the keys went (`head`) */
const at = (position: bigint, head = position): TombstoneAt => ({ position, headAfter: async () => head });

// Tombstones in the key stores that cannot write them in a deletion's own transaction (keys.sqlite, used with
// EventStoreDB without MongoDB; MongoDB): the deletion hands its position to `forget` (docs/adr/0003, point 11).

describe('SqliteKeyStore (keys.sqlite): tombstones', () => {
  let dir: string;
  let keys: SqliteKeyStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rollcall-key-tombstones-'));
    keys = new SqliteKeyStore(join(dir, 'keys.sqlite'));
  });
  afterEach(async () => {
    await keys.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('rule 12: a forget at a deletion\'s position leaves each subject a tombstone there, the latest deletion\'s kept', async () => {
    await keys.ensure(['e:ann', 'u:ann', 'e:bob']);
    await keys.forget(['e:ann', 'u:ann'], at(40n));
    expect(await keys.find(['e:ann', 'u:ann', 'e:bob'])).toEqual(new Map([['e:bob', expect.any(Buffer)]]));
    expect(await keys.forgottenAt(['e:ann', 'u:ann', 'e:bob'])).toEqual(new Map([['e:ann', 40n], ['u:ann', 40n]]));
    // the address invited again (a new key), then erased again by a later deletion: the later position; an earlier one
    // arriving late (the pass at start finishing an old deletion) does not move it back
    await keys.ensure(['e:ann']);
    await keys.forget(['e:ann'], at(90n));
    await keys.forget(['e:ann'], at(40n));
    expect(await keys.forgottenAt(['e:ann'])).toEqual(new Map([['e:ann', 90n]]));
  });

  it('rule 12: the tombstone is raised to the log\'s head read once the keys are gone (what was sealed under them meanwhile is erased too)', async () => {
    await keys.ensure(['e:ann']);
    const keysWhenHeadRead: number[] = [];
    await keys.forget(['e:ann'], {
      position: 40n,
      headAfter: async () => {
        keysWhenHeadRead.push((await keys.find(['e:ann'])).size);
        expect(await keys.forgottenAt(['e:ann'])).toEqual(new Map([['e:ann', 40n]])); // the deletion's, meanwhile
        return 57n;
      },
    });
    expect(keysWhenHeadRead).toEqual([0]);
    expect(await keys.forgottenAt(['e:ann'])).toEqual(new Map([['e:ann', 57n]]));
  });

  it('a forget without a position (a snapshot\'s key shredded) leaves no tombstone', async () => {
    await keys.ensure(['s:org-1:1']);
    await keys.forget(['s:org-1:1']);
    expect(await keys.find(['s:org-1:1'])).toEqual(new Map());
    expect(await keys.forgottenAt(['s:org-1:1'])).toEqual(new Map());
  });

  it('tombstones outlive the store: a new process reads them', async () => {
    await keys.ensure(['e:ann']);
    await keys.forget(['e:ann'], at(7n));
    await keys.close();
    keys = new SqliteKeyStore(join(dir, 'keys.sqlite'));
    expect(await keys.forgottenAt(['e:ann'])).toEqual(new Map([['e:ann', 7n]]));
  });
});

describe('MongoKeyStore: tombstones through the real driver (wire fixture, not a server)', () => {
  /** the writes the store sent, in order (the driver's own commands, e.g. endSessions, left out) */
  const writes = (fixture: MongoWireFixture) => fixture.commands.filter((c) => c.name === 'update' || c.name === 'delete');
  const ok = (command: WireCommand) => {
    if (command.name === 'update') return writeReply({ n: (command.body.updates as unknown[]).length, nModified: 0, upserted: [] });
    if (command.name === 'delete') return { n: 2, ok: 1 };
    return undefined;
  };

  it('rule 12: forget stamps the tombstones at the deletion\'s position ($max of an Int64, majority, journaled), deletes the keys, then stamps the head read after', async () => {
    const fixture = await MongoWireFixture.start(ok);
    const store = new MongoKeyStore(fixture.url);
    try {
      // past 2^53: a double would round them
      const position = 2n ** 60n + 3n;
      const head = 2n ** 60n + 9n;
      const sentWhenHeadRead: string[] = [];
      await store.forget(['e:ann', 'u:ann'], {
        position,
        headAfter: async () => {
          sentWhenHeadRead.push(...writes(fixture).map((c) => c.name));
          return head;
        },
      });
      const sent = writes(fixture).map((c) => `${c.name} ${String(c.body[c.name])}`);
      expect(sent).toEqual(['update subject_tombstones', 'delete subject_keys', 'update subject_tombstones']);
      expect(sentWhenHeadRead).toEqual(['update', 'delete']);
      const [first, second] = fixture.sent('update').map((c) => c.body);
      for (const update of [first!, second!]) {
        expect(update.writeConcern).toEqual({ w: 'majority', j: true });
        expect(update.ordered).toBe(false);
      }
      const stamps = (p: bigint) => ['e:ann', 'u:ann'].map((id) => ({ q: { _id: id }, u: { $max: { position: Long.fromBigInt(p) } }, upsert: true }));
      expect(first!.updates).toEqual(stamps(position));
      expect(second!.updates).toEqual(stamps(head));
    } finally {
      await store.close();
      await fixture.close();
    }
  });

  it('forget without a position writes no tombstone', async () => {
    const fixture = await MongoWireFixture.start(ok);
    const store = new MongoKeyStore(fixture.url);
    try {
      await store.forget(['s:org-1:1']);
      expect(writes(fixture).map((c) => c.name)).toEqual(['delete']);
    } finally {
      await store.close();
      await fixture.close();
    }
  });

  it('forgottenAt reads the tombstones of the subjects asked for, positions exact past 2^53 and small ones alike', async () => {
    const position = 2n ** 60n + 3n;
    const fixture = await MongoWireFixture.start((command) =>
      command.name === 'find'
        ? cursorReply('test.subject_tombstones', [
            { _id: 'e:ann', position: Long.fromBigInt(position) },
            { _id: 'u:ann', position: Long.fromBigInt(7n) },
          ])
        : undefined,
    );
    const store = new MongoKeyStore(fixture.url);
    try {
      expect(await store.forgottenAt(['e:ann', 'u:ann', 'e:bob'])).toEqual(new Map([['e:ann', position], ['u:ann', 7n]]));
      const find = fixture.sent('find')[0]!.body;
      expect(find.find).toBe('subject_tombstones');
      expect(find.filter).toEqual({ _id: { $in: ['e:ann', 'u:ann', 'e:bob'] } });
    } finally {
      await store.close();
      await fixture.close();
    }
  });
});
