/**
 * The MongoDB read store through the real driver, against the WIRE FIXTURE (not a server: see
 * mongo-wire/wire-fixture.ts). These tests pin the commands the adapter puts on the wire and feed it replies
 * written from MongoDB's documented formats (mongo-wire/replies.ts): they show what the adapter sends and how
 * it reads what a server answers, not what a server would do with the commands.
 */
import { type Document, Long, MongoBulkWriteError, MongoClient, Timestamp } from 'mongodb';
import { CommitTooLargeError, type DocWrite } from '../port';
import { IncompleteWriteError } from './mongo-queries';
import { MongoReadStore } from './mongo-read-store';
import {
  commandError,
  cursorReply,
  duplicateKeyError,
  validationError,
  writeConcernTimeout,
  writeReply,
} from './mongo-wire/replies';
import { simulatedIndexes } from './mongo-wire/simulated-indexes';
import { MongoWireFixture, type WireCommand } from './mongo-wire/wire-fixture';

const upsert = (id: string, position: bigint): DocWrite => ({
  kind: 'upsert',
  collection: 'members',
  doc: { _id: id, v: Number(position) },
  position,
});
/** the guarded pipeline upsert of `doc` at `position`: replaces the stored document only if it is older */
const newer = (position: bigint, doc: Document) => [
  { $replaceWith: { $cond: [{ $lt: [{ $ifNull: ['$_position', Long.fromNumber(-1)] }, Long.fromBigInt(position)] }, { $literal: doc }, '$$ROOT'] } },
];
const INDEX_COMMANDS = new Set(['listIndexes', 'createIndexes', 'dropIndexes']);
/** per collection, its index catalog as the fixture simulates it (mongo-wire/simulated-indexes.ts): none exists yet */
function indexCatalogs() {
  const catalogs = new Map<string, ReturnType<typeof simulatedIndexes>>();
  const of = (collection: string) => {
    if (!catalogs.has(collection)) catalogs.set(collection, simulatedIndexes(`rs.${collection}`));
    return catalogs.get(collection)!;
  };
  const respond = (command: WireCommand) => (INDEX_COMMANDS.has(command.name) ? of(String(command.body[command.name])).responder(command) : undefined);
  return { catalogs, of, respond };
}
/** the body as pinned: without the session id, which the driver draws at random */
const pinned = ({ body }: WireCommand): Document => {
  const { lsid: _lsid, ...rest } = body;
  return rest;
};

describe('MongoReadStore over the wire fixture (the real driver; not a server test)', () => {
  let fixture: MongoWireFixture;
  let store: MongoReadStore;
  /** the reply to the `update` of the members collection */
  let membersReply: (command: WireCommand) => Document;
  let checkpointReply: Document;
  let indexes: ReturnType<typeof indexCatalogs>;

  beforeEach(async () => {
    membersReply = (command) => writeReply({ n: command.body.updates.length, nModified: 0 });
    checkpointReply = writeReply({ n: 1, nModified: 1 });
    indexes = indexCatalogs();
    fixture = await MongoWireFixture.start((command) => {
      if (INDEX_COMMANDS.has(command.name)) return indexes.respond(command);
      if (command.name === 'update') {
        return command.body.update === 'members' ? membersReply(command) : checkpointReply;
      }
      if (command.name === 'find') return cursorReply('rs.members', []);
      if (command.name === 'delete') return { n: 0, ok: 1 };
      return undefined;
    });
    store = await MongoReadStore.connect(`${fixture.url}&w=majority&wtimeoutMS=5000`, { dbName: 'rs' });
    await store.init({ members: { indexes: ['orgId'] } });
  });
  afterEach(async () => {
    await store.close();
    await fixture.close();
    expect(fixture.errors).toEqual([]);
  });

  const checkpointUpdates = () =>
    fixture.sent('update').filter((c) => c.body.update === 'read_store_checkpoints');

  it('sends one unordered update of guarded pipeline upserts on the _id alone with Int64 positions, then the $max checkpoint', async () => {
    await store.commit(
      'p',
      [upsert('a', 5n), { kind: 'delete', collection: 'members', id: 'b', position: 2n ** 62n }],
      9n,
    );
    const [members, checkpoint] = fixture.sent('update');
    expect(members.sequences).toEqual(['updates']);
    expect(pinned(members)).toEqual({
      update: 'members',
      ordered: false,
      writeConcern: { w: 'majority', wtimeout: 5000 },
      $db: 'rs',
      updates: [
        { q: { _id: 'a' }, u: newer(5n, { _id: 'a', v: 5, _position: Long.fromBigInt(5n) }), upsert: true },
        { q: { _id: 'b' }, u: newer(2n ** 62n, { _id: 'b', _position: Long.fromBigInt(2n ** 62n), _deleted: true }), upsert: true },
      ],
    });
    expect(pinned(checkpoint)).toEqual({
      update: 'read_store_checkpoints',
      updates: [{ q: { _id: 'p' }, u: { $max: { position: Long.fromBigInt(9n) } }, upsert: true }],
      ordered: true,
      writeConcern: { w: 'majority', wtimeout: 5000 },
      $db: 'rs',
    });
    expect(fixture.sent('createIndexes').map(pinned)).toEqual([
      {
        createIndexes: 'members',
        indexes: [{ name: 'rs_orgId', key: { orgId: 1, _id: 1 } }],
        writeConcern: { w: 'majority', wtimeout: 5000 },
        $db: 'rs',
      },
    ]);
  });

  it('writes the documents and the checkpoint at majority whatever the connection string says, its wtimeoutMS kept', async () => {
    const lax = await MongoReadStore.connect(`${fixture.url}&w=1&wtimeoutMS=3000`, { dbName: 'rs' });
    try {
      await lax.init({ members: { indexes: ['orgId'] } });
      const before = fixture.sent('update').length;
      await lax.commit('p', [upsert('a', 5n)], 5n);
      const concerns = fixture.sent('update').slice(before).map((c) => c.body.writeConcern);
      expect(concerns).toEqual([{ w: 'majority', wtimeout: 3000 }, { w: 'majority', wtimeout: 3000 }]);
    } finally {
      await lax.close();
    }
  });

  it('leaves out a field holding undefined, as JSON does (the embedded store), instead of writing null', async () => {
    await store.commit('p', [{ kind: 'upsert', collection: 'members', doc: { _id: 'a', alias: undefined, name: null }, position: 5n }], 5n);
    const [members] = fixture.sent('update');
    expect(members!.body.updates[0].u).toEqual(newer(5n, { _id: 'a', name: null, _position: Long.fromBigInt(5n) }));
  });

  it('getMany asks for at most 10,000 ids per find (one $in of a huge roster is a command over the 16 MB limit)', async () => {
    const ids = Array.from({ length: 25_000 }, (_, i) => `member-${i}`);
    await store.getMany('members', ids);
    const finds = fixture.sent('find');
    expect(finds.map((c) => c.body.filter._id.$in.length)).toEqual([10_000, 10_000, 5_000]);
    expect(finds.flatMap((c) => c.body.filter._id.$in)).toEqual(ids);
  });

  describe('a batch mixing a stale write with newer ones: [a stale, b newer (stored), c newer (new)]', () => {
    const batch = [upsert('a', 3n), upsert('b', 7n), upsert('c', 8n)];

    it('is applied when every statement is accounted for: 2 matched (the stale one left as it was) + 1 upserted', async () => {
      membersReply = () => writeReply({ n: 3, nModified: 1, upserted: [{ index: 2, _id: 'c' }] });
      await store.commit('p', batch, 8n);
      expect(checkpointUpdates()).toHaveLength(1);
    });

    it('fails on a duplicate key error, checkpoint not written: two projectors racing to insert one document, not retried by the server (review, session 25: taken as a stale write, it let a newer write be lost)', async () => {
      membersReply = () =>
        writeReply({ n: 2, nModified: 1, upserted: [{ index: 2, _id: 'c' }], writeErrors: [duplicateKeyError(0, 'rs.members', 'a')] });
      await expect(store.commit('p', batch, 8n)).rejects.toThrow(MongoBulkWriteError);
      expect(checkpointUpdates()).toHaveLength(0);
    });

    it('fails when a reply without any error reports fewer statements than sent', async () => {
      membersReply = () => writeReply({ n: 2, nModified: 2 });
      await expect(store.commit('p', batch, 8n)).rejects.toThrow(IncompleteWriteError);
      await expect(store.commit('p', batch, 8n)).rejects.toThrow(/3 writes sent, 2 matched \+ 0 upserted/);
      expect(checkpointUpdates()).toHaveLength(0);
    });

    it('fails on any write error', async () => {
      membersReply = () => writeReply({ n: 2, upserted: [{ index: 2, _id: 'c' }], writeErrors: [validationError(1)] });
      const failure = await store.commit('p', batch, 8n).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(MongoBulkWriteError);
      expect((failure as MongoBulkWriteError).writeErrors).toHaveLength(1);
      expect(checkpointUpdates()).toHaveLength(0);
    });

    it('fails on a write concern error even when every statement is accounted for', async () => {
      membersReply = () => writeReply({ n: 3, nModified: 2, upserted: [{ index: 2, _id: 'c' }], writeConcernError: writeConcernTimeout() });
      await expect(store.commit('p', batch, 8n)).rejects.toThrow(MongoBulkWriteError);
      await expect(store.commit('p', batch, 8n)).rejects.toThrow(/waiting for replication timed out/);
      expect(checkpointUpdates()).toHaveLength(0);
    });

    it('fails on a command error (ok: 0)', async () => {
      membersReply = () => commandError(13, 'Unauthorized', 'not authorized on rs to execute command');
      await expect(store.commit('p', batch, 8n)).rejects.toThrow(/not authorized/);
      expect(checkpointUpdates()).toHaveLength(0);
    });
  });

  it('fails when the checkpoint update reports nothing matched or upserted', async () => {
    checkpointReply = writeReply({ n: 0, nModified: 0 });
    await expect(store.commit('p', [upsert('a', 5n)], 5n)).rejects.toThrow(IncompleteWriteError);
  });

  it('readTogether on a standalone server (no snapshots there) reads one query after the other, without a read concern', async () => {
    expect(await store.readTogether([{ collection: 'members', query: { where: { orgId: 'o' } } }, { collection: 'members', query: {} }])).toEqual([[], []]);
    const finds = fixture.commands.filter((c) => c.name === 'find');
    expect(finds.map((c) => c.body.readConcern)).toEqual([undefined, undefined]);
  });

  it('sends a search for a text holding NUL as \\x00, never a NUL byte', async () => {
    await store.find('members', { search: { text: 'a\u0000b', fields: ['name'] } });
    const [find] = fixture.sent('find');
    expect(find.body.filter).toEqual({
      $and: [{ _deleted: { $ne: true } }, { $or: [{ name: { $regex: 'a\\x00b', $options: 'i' } }] }],
    });
  });

  it('ping gives up after pingTimeoutMs when the server does not answer', async () => {
    const hanging = await MongoWireFixture.start((command) =>
      command.name === 'ping' ? new Promise<Document>(() => undefined) : undefined,
    );
    const slow = await MongoReadStore.connect(hanging.url, { dbName: 'rs', pingTimeoutMs: 300 });
    try {
      const started = Date.now();
      await expect(slow.ping()).rejects.toThrow('MongoDB did not answer a ping within 300 ms');
      expect(Date.now() - started).toBeLessThan(1500);
      expect(hanging.sent('ping')).toHaveLength(1);
    } finally {
      await slow.close();
      await hanging.close();
    }
  });

  it('ping gives up after 2 s by default when no server can be selected (not after the 30 s selection timeout)', async () => {
    const silent = await MongoWireFixture.start(() => undefined, { silent: true });
    const client = new MongoClient(silent.url); // serverSelectionTimeoutMS: the driver's default, 30 s
    const unreachable = new MongoReadStore(client.db('rs'), client);
    try {
      const started = Date.now();
      await expect(unreachable.ping()).rejects.toThrow('MongoDB did not answer a ping within 2000 ms');
      expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
      expect(Date.now() - started).toBeLessThan(3500);
    } finally {
      await unreachable.close();
      await silent.close();
    }
  });

  describe('init and the indexes a projection version no longer declares (members v6: lastSeenAt replaced by seenOrder)', () => {
    const MEMBERS = { indexes: ['userId'], compound: [['workspaceId', 'seenOrder']] };
    /** a store starting over `members` as the catalog holds it now; what it logs */
    const start = async (existing: Document[]) => {
      indexes.catalogs.set('members', simulatedIndexes('rs.members', existing));
      const warnings: string[] = [];
      const started = await MongoReadStore.connect(`${fixture.url}&w=majority&wtimeoutMS=5000`, { dbName: 'rs', warn: (m) => warnings.push(m) });
      const before = fixture.commands.length;
      const commands = () => fixture.commands.slice(before).filter((c) => INDEX_COMMANDS.has(c.name));
      return { started, warnings, commands };
    };
    const names = () => indexes.of('members').catalog.indexes!.map((index) => index.name as string);

    it('drops, before creating the declared ones, the store\'s (rs_) index no declaration has; keeps _id_, the declared and an index it did not create', async () => {
      const { started, warnings, commands } = await start([
        { key: { userId: 1, _id: 1 }, name: 'rs_userId' },
        { key: { workspaceId: 1, lastSeenAt: 1, _id: 1 }, name: 'rs_workspaceId+lastSeenAt' },
        { key: { workspaceId: 1, lastSeenAt: 1 }, name: 'workspaceId_1_lastSeenAt_1' },
      ]);
      try {
        await started.init({ members: MEMBERS });
        expect(commands().map((c) => c.name)).toEqual(['listIndexes', 'dropIndexes', 'createIndexes']);
        expect(pinned(commands()[1]!)).toEqual({ dropIndexes: 'members', index: 'rs_workspaceId+lastSeenAt', writeConcern: { w: 'majority', wtimeout: 5000 }, $db: 'rs' });
        expect(names()).toEqual(['_id_', 'rs_userId', 'workspaceId_1_lastSeenAt_1', 'rs_workspaceId+seenOrder']);
        expect(warnings).toEqual([expect.stringMatching(/^MongoDB read store: dropped index rs_workspaceId\+lastSeenAt of members: no longer declared/)]);
        // started again: nothing left to drop
        await started.init({ members: MEMBERS });
        expect(fixture.sent('dropIndexes')).toHaveLength(1);
      } finally {
        await started.close();
      }
    });

    it('replaces an index declared otherwise under the same name (another key, another option): dropped, then created as declared', async () => {
      // without the drop, createIndexes is refused (IndexKeySpecsConflict) and the store does not start
      const { started, warnings } = await start([
        { key: { userId: 1 }, name: 'rs_userId' },
        { key: { workspaceId: 1, seenOrder: 1, _id: 1 }, name: 'rs_workspaceId+seenOrder', collation: { locale: 'en', strength: 2 } },
      ]);
      try {
        await started.init({ members: MEMBERS });
        expect(fixture.sent('dropIndexes').map((c) => c.body.index)).toEqual(['rs_userId', 'rs_workspaceId+seenOrder']);
        expect(indexes.of('members').catalog.indexes).toEqual([
          { v: 2, key: { _id: 1 }, name: '_id_' },
          { v: 2, key: { userId: 1, _id: 1 }, name: 'rs_userId' },
          { v: 2, key: { workspaceId: 1, seenOrder: 1, _id: 1 }, name: 'rs_workspaceId+seenOrder' },
        ]);
        expect(warnings).toEqual([
          expect.stringContaining('dropped index rs_userId of members: declared otherwise'),
          expect.stringContaining('dropped index rs_workspaceId+seenOrder of members: declared otherwise'),
        ]);
      } finally {
        await started.close();
      }
    });

    it('an index another process dropped first (IndexNotFound) is no failure, and not said as dropped here', async () => {
      const { started, warnings } = await start([{ key: { workspaceId: 1, lastSeenAt: 1, _id: 1 }, name: 'rs_workspaceId+lastSeenAt' }]);
      try {
        const catalog = indexes.of('members');
        indexes.catalogs.set('members', {
          ...catalog,
          // the other process's drop lands between this one's listIndexes and its dropIndexes
          responder: (command) => {
            if (command.name === 'dropIndexes') catalog.responder(command);
            return catalog.responder(command);
          },
        });
        await started.init({ members: MEMBERS });
        expect(fixture.sent('dropIndexes')).toHaveLength(1);
        expect(names()).toEqual(['_id_', 'rs_userId', 'rs_workspaceId+seenOrder']);
        expect(warnings).toEqual([]);
      } finally {
        await started.close();
      }
    });
  });

  it('reset marks the checkpoint as resetting, empties the collections, then removes it', async () => {
    await store.reset('p', ['members']);
    const steps = fixture.commands.filter((c) => c.name === 'update' || c.name === 'delete').map(pinned);
    expect(steps).toEqual([
      expect.objectContaining({ update: 'read_store_checkpoints', updates: [{ q: { _id: 'p' }, u: { resetting: ['members'] }, upsert: true }] }),
      expect.objectContaining({ delete: 'members', deletes: [{ q: {}, limit: 0 }] }),
      expect.objectContaining({ delete: 'read_store_checkpoints', deletes: [{ q: { _id: 'p' }, limit: 1 }] }),
    ]);
  });
});

describe('MongoReadStore on a replica set, over the wire fixture (the real driver; not a server test)', () => {
  let fixture: MongoWireFixture;
  let store: MongoReadStore;
  /** per command name, the replies still to give (then `{ ok: 1, n: statements }`) */
  let scripted: Record<string, Document[]>;
  let stored: Document[];

  beforeEach(async () => {
    scripted = {};
    stored = [];
    const indexes = indexCatalogs();
    fixture = await MongoWireFixture.start(
      (command) => {
        const next = scripted[command.name]?.shift();
        if (next) return next;
        if (INDEX_COMMANDS.has(command.name)) return indexes.respond(command);
        if (command.name === 'update') return writeReply({ n: command.body.updates.length, nModified: command.body.updates.length });
        if (command.name === 'delete') return { n: 1, ok: 1 };
        if (command.name === 'find') return cursorReply(`rs.${command.body.find}`, stored);
        if (command.name === 'commitTransaction' || command.name === 'abortTransaction') return { ok: 1 };
        return undefined;
      },
      { replicaSet: 'rs0' },
    );
    store = await MongoReadStore.connect(`${fixture.url}&w=majority`, { dbName: 'rs' });
    await store.init({ members: { indexes: ['orgId'] } });
  });
  afterEach(async () => {
    await store.close();
    await fixture.close();
    expect(fixture.errors).toEqual([]);
  });

  const transactionOf = () => fixture.commands.filter((c) => ['update', 'commitTransaction', 'abortTransaction'].includes(c.name));

  it('commits the documents and the checkpoint in one transaction: guarded pipeline upserts that never fail on a stale write, then commitTransaction', async () => {
    await store.commit('p', [upsert('a', 5n), { kind: 'delete', collection: 'members', id: 'b', position: 6n }], 9n);
    const [members, checkpoint, commit, ...rest] = transactionOf();
    expect(rest).toEqual([]);
    const txnNumber = members!.body.txnNumber;
    // (the driver reads a directly connected replica set member with primaryPreferred: what it sends, not ours)
    const readPreference = { $readPreference: { mode: 'primaryPreferred' } };
    expect(pinned(members!)).toEqual({
      update: 'members',
      ordered: true,
      $db: 'rs',
      ...readPreference,
      txnNumber,
      startTransaction: true,
      autocommit: false,
      updates: [
        { q: { _id: 'a' }, u: newer(5n, { _id: 'a', v: 5, _position: Long.fromBigInt(5n) }), upsert: true },
        { q: { _id: 'b' }, u: newer(6n, { _id: 'b', _position: Long.fromBigInt(6n), _deleted: true }), upsert: true },
      ],
    });
    expect(pinned(checkpoint!)).toEqual({
      update: 'read_store_checkpoints',
      ordered: true,
      $db: 'rs',
      ...readPreference,
      txnNumber,
      autocommit: false,
      updates: [{ q: { _id: 'p' }, u: { $max: { position: Long.fromBigInt(9n) } }, upsert: true }],
    });
    expect(pinned(commit!)).toMatchObject({ commitTransaction: 1, $db: 'admin', txnNumber, autocommit: false, writeConcern: { w: 'majority' } });
  });

  it('readTogether reads in one snapshot session: the first find at readConcern snapshot, the next at the atClusterTime it answered', async () => {
    await store.init({ presence_daily: { indexes: ['workspaceId'] }, presence_open: { indexes: ['workspaceId'] } });
    const at = new Timestamp({ t: 1_767_000_000, i: 7 });
    const first = cursorReply('rs.presence_daily', [{ _id: 'd1', v: 1 }]);
    scripted.find = [{ ...first, cursor: { ...first.cursor, atClusterTime: at } }, cursorReply('rs.presence_open', [{ _id: 'o1', v: 2 }])];
    const [daily, open] = await store.readTogether([
      { collection: 'presence_daily', query: { where: { workspaceId: 'w' } } },
      { collection: 'presence_open', query: { where: { workspaceId: 'w' } } },
    ]);
    expect([daily, open]).toEqual([[{ _id: 'd1', v: 1 }], [{ _id: 'o1', v: 2 }]]);
    const finds = fixture.commands.filter((c) => c.name === 'find');
    expect(finds.map((c) => [c.body.find, c.body.readConcern])).toEqual([
      ['presence_daily', { level: 'snapshot' }],
      ['presence_open', { level: 'snapshot', atClusterTime: at }],
    ]);
    expect(finds[0]!.body.lsid).toEqual(finds[1]!.body.lsid);
  });

  it('commits the transaction at majority when the connection string names no write concern', async () => {
    const lax = await MongoReadStore.connect(fixture.url, { dbName: 'rs' });
    try {
      await lax.init({ members: { indexes: ['orgId'] } });
      const before = fixture.commands.length;
      await lax.commit('p', [upsert('a', 5n)], 5n);
      const commit = fixture.commands.slice(before).find((c) => c.name === 'commitTransaction');
      expect(commit?.body.writeConcern).toMatchObject({ w: 'majority' });
    } finally {
      await lax.close();
    }
  });

  it('a transient error runs the whole transaction again (the same writes), and commits it once', async () => {
    scripted.update = [{ ok: 0, code: 112, codeName: 'WriteConflict', errmsg: 'write conflict', errorLabels: ['TransientTransactionError'] }];
    await store.commit('p', [upsert('a', 5n)], 5n);
    const names = transactionOf().map((c) => `${c.name}${c.body.update ? `:${c.body.update}` : ''}`);
    expect(names).toEqual(['update:members', 'abortTransaction', 'update:members', 'update:read_store_checkpoints', 'commitTransaction']);
    const [first, , again] = transactionOf();
    expect(again!.body.updates).toEqual(first!.body.updates);
  });

  describe('a transaction the server will never take (not retried by the driver): CommitTooLargeError, nothing written without one', () => {
    const names = () => transactionOf().map((c) => `${c.name}${c.body.update ? `:${c.body.update}` : ''}${c.body.autocommit === false ? ' (txn)' : ''}`);
    const refused = ['update:members (txn)', 'abortTransaction (txn)'];
    // inside a transaction the server answers a write's failure as a write error of the bulk (the driver keeps its code)
    const tooLargeForCache = writeReply({ n: 0, writeErrors: [{ index: 0, code: 388, errmsg: 'transaction is too large and will not fit in the storage engine cache' }] });

    it('too large for the cache (TransactionTooLargeForCache, a write error): several events, or one', async () => {
      scripted.update = [tooLargeForCache];
      await expect(store.commit('p', [upsert('a', 5n), upsert('b', 6n)], 6n)).rejects.toThrow(CommitTooLargeError);
      expect(names()).toEqual(refused);
      scripted.update = [tooLargeForCache];
      await expect(store.commit('p', [upsert('a', 5n), upsert('b', 5n)], 5n)).rejects.toThrow(CommitTooLargeError);
      expect(names()).toEqual([...refused, ...refused]);
    });

    it('past its lifetime: the operation the reaper interrupted (by name), or the next one finding no transaction after the lifetime', async () => {
      scripted.update = [commandError(290, 'TransactionExceededLifetimeLimitSeconds', 'operation was interrupted')];
      await expect(store.commit('p', [upsert('a', 5n)], 5n)).rejects.toThrow(CommitTooLargeError);
      const aged = await MongoReadStore.connect(`${fixture.url}&w=majority`, { dbName: 'rs', transactionLifetimeMs: 0 });
      try {
        await aged.init({ members: { indexes: ['orgId'] } });
        scripted.update = [commandError(251, 'NoSuchTransaction', 'Transaction with { txnNumber: 2 } has been aborted.')];
        await expect(aged.commit('p', [upsert('a', 5n)], 5n)).rejects.toThrow(CommitTooLargeError);
      } finally {
        await aged.close();
      }
      // before the lifetime, NoSuchTransaction is what it is (a failover, say): not CommitTooLargeError
      scripted.update = [commandError(251, 'NoSuchTransaction', 'Transaction with { txnNumber: 3 } has been aborted.')];
      const failure = await store.commit('p', [upsert('a', 5n)], 5n).catch((error: unknown) => error);
      expect(failure).not.toBeInstanceOf(CommitTooLargeError);
    });

    it("a rebuild's write-out (no checkpoint) goes without a transaction, whatever its size", async () => {
      await store.commit('p', [upsert('a', 5n), upsert('b', 6n)], undefined);
      expect(names()).toEqual(['update:members']);
    });
  });

  it('a live commit of more than 20,000 documents (one fan-out event) is one transaction too, never written in parts', async () => {
    // review, session 25: above 20,000 writes the commit went without a transaction; a failure between two
    // collections' bulks left one written, and the replay folded onto it (a deletion's erasures read back as none)
    const writes = Array.from({ length: 20_001 }, (_, i) => upsert(`m${i}`, 100n));
    await store.commit('p', writes, 100n);
    const updates = fixture.commands.filter((c) => c.name === 'update');
    expect(updates[0]!.body.startTransaction).toBe(true);
    const txnNumber = updates[0]!.body.txnNumber;
    for (const update of updates) expect(update.body).toMatchObject({ txnNumber, autocommit: false });
    expect(updates.at(-1)!.body.update).toBe('read_store_checkpoints');
    expect(fixture.commands.filter((c) => c.name === 'commitTransaction')).toHaveLength(1);
  });

  it('a failure that is not transient aborts the transaction: nothing committed, the commit fails', async () => {
    scripted.update = [writeReply({ n: 1 }), commandError(13, 'Unauthorized', 'not authorized on rs to execute command')];
    await expect(store.commit('p', [upsert('a', 5n)], 5n)).rejects.toThrow(/not authorized/);
    expect(transactionOf().map((c) => c.name)).toEqual(['update', 'update', 'abortTransaction']);
  });

  it('a checkpoint left marked by a reset that died reads as none, and reading it changes nothing (readers poll it)', async () => {
    stored = [{ _id: 'p', resetting: ['members'] }];
    expect(await store.checkpoint('p')).toBeUndefined();
    expect(fixture.sent('delete')).toEqual([]);
  });
});
