/**
 * MongoIdempotencyStore through the real driver against the WIRE FIXTURE (not a server: see
 * libs/read-store/src/store/mongo-wire/wire-fixture.ts). The commands are pinned as the driver sends them; the
 * replies are written from MongoDB's documented formats.
 */
import { type Document, MongoServerError, MongoWriteConcernError } from 'mongodb';
import {
  commandError,
  cursorReply,
  duplicateKeyError,
  writeConcernTimeout,
  writeReply,
} from '../../../../libs/read-store/src/store/mongo-wire/replies';
import {
  MongoWireFixture,
  type WireCommand,
} from '../../../../libs/read-store/src/store/mongo-wire/wire-fixture';
import { IdempotencyKeyReusedError, type StoredAnswer } from '../shared/command-path/idempotency';
import { MongoIdempotencyStore } from './mongo-idempotency-store';

const NS = 'test.idempotency';
const pinned = ({ body }: WireCommand): Document => {
  const { lsid: _lsid, ...rest } = body;
  return rest;
};
const ours: StoredAnswer = { requestHash: 'h1', status: 201, body: { id: 'ours' } };
const winner = { _id: 'k1', requestHash: 'h1', status: 201, body: { id: 'winner' }, createdAt: new Date(0) };

describe('MongoIdempotencyStore over the wire fixture (the real driver; not a server test)', () => {
  let fixture: MongoWireFixture;
  let replies: Record<string, (command: WireCommand) => Document | undefined>;
  const stores: MongoIdempotencyStore[] = [];
  const open = (options?: ConstructorParameters<typeof MongoIdempotencyStore>[1]) => {
    const store = new MongoIdempotencyStore(fixture.url, options);
    stores.push(store);
    return store;
  };

  beforeEach(async () => {
    replies = {
      createIndexes: () => ({
        createdCollectionAutomatically: true,
        numIndexesBefore: 1,
        numIndexesAfter: 2,
        ok: 1,
      }),
      insert: () => writeReply({ n: 1 }),
      find: () => cursorReply(NS, []),
    };
    fixture = await MongoWireFixture.start((command) => replies[command.name]?.(command));
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    await fixture.close();
    expect(fixture.errors).toEqual([]);
  });

  it('creates the TTL index (7 days) before the first insert, then inserts with w: majority', async () => {
    const store = open();
    await expect(store.insertOrRead('k1', ours)).resolves.toBe(ours);
    await store.put('k2', { ...ours, requestHash: 'h2' });
    expect(fixture.commands.map((c) => c.name)).toEqual(['createIndexes', 'insert', 'insert']);
    expect(pinned(fixture.sent('createIndexes')[0]!)).toEqual({
      createIndexes: 'idempotency',
      indexes: [{ name: 'idempotency_ttl', key: { createdAt: 1 }, expireAfterSeconds: 7 * 24 * 3600 }],
      $db: 'test',
    });
    expect(pinned(fixture.sent('insert')[0]!)).toEqual({
      insert: 'idempotency',
      ordered: true,
      writeConcern: { w: 'majority' },
      $db: 'test',
      documents: [
        { _id: 'k1', requestHash: 'h1', status: 201, body: { id: 'ours' }, createdAt: expect.any(Date) },
      ],
    });
  });

  it('keeps what the answer was about (its events, the users it named) and reads it back: a replay asks whether an erasure reached it', async () => {
    const store = open();
    const about = { spans: [{ stream: 'workspace-w1', fromRevision: '4', count: 2 }], users: ['u1'] };
    await store.put('k3', { ...ours, about });
    expect(pinned(fixture.sent('insert')[0]!).documents).toEqual([{ _id: 'k3', requestHash: 'h1', status: 201, body: { id: 'ours' }, createdAt: expect.any(Date), about }]);
    replies.find = () => cursorReply(NS, [{ ...winner, _id: 'k3', about }]);
    await expect(store.get('k3')).resolves.toEqual({ requestHash: 'h1', status: 201, body: { id: 'winner' }, about });
    // an answer kept before session 44 has none
    replies.find = () => cursorReply(NS, [winner]);
    await expect(store.get('k1')).resolves.toEqual({ requestHash: 'h1', status: 201, body: { id: 'winner' } });
  });

  it('takes the retention from its options, and applies a changed one to the existing index with collMod', async () => {
    replies.createIndexes = () =>
      commandError(
        85,
        'IndexOptionsConflict',
        'An equivalent index already exists with the same name but different options. Requested index: { v: 2, key: { createdAt: 1 }, name: "idempotency_ttl", expireAfterSeconds: 3600 }, existing index: { v: 2, key: { createdAt: 1 }, name: "idempotency_ttl", expireAfterSeconds: 604800 }',
      );
    replies.collMod = () => ({ expireAfterSeconds_old: 604800, expireAfterSeconds_new: 3600, ok: 1 });
    await open({ retentionSeconds: 3600 }).init();
    expect(fixture.sent('createIndexes')[0]!.body.indexes).toEqual([
      { name: 'idempotency_ttl', key: { createdAt: 1 }, expireAfterSeconds: 3600 },
    ]);
    expect(fixture.sent('collMod').map(pinned)).toEqual([
      { collMod: 'idempotency', index: { name: 'idempotency_ttl', expireAfterSeconds: 3600 }, $db: 'test' },
    ]);
    expect(() => new MongoIdempotencyStore(fixture.url, { retentionSeconds: 0 })).toThrow(RangeError);
  });

  it('retries the index creation on the next put after it failed', async () => {
    replies.createIndexes = () =>
      commandError(13, 'Unauthorized', 'not authorized on test to execute command');
    const store = open();
    await expect(store.put('k1', ours)).rejects.toThrow(/not authorized/);
    expect(fixture.sent('insert')).toHaveLength(0);
    replies.createIndexes = () => ({ numIndexesBefore: 1, numIndexesAfter: 2, ok: 1 });
    await store.put('k1', ours);
    expect(fixture.commands.map((c) => c.name)).toEqual(['createIndexes', 'createIndexes', 'insert']);
  });

  it('losing the race (E11000) returns the stored answer, read back, not its own', async () => {
    replies.insert = () => writeReply({ n: 0, writeErrors: [duplicateKeyError(0, NS, 'k1')] });
    replies.find = () => cursorReply(NS, [winner]);
    const store = open();
    await expect(store.insertOrRead('k1', ours)).resolves.toEqual({
      requestHash: 'h1',
      status: 201,
      body: { id: 'winner' },
    });
    await expect(store.put('k1', ours)).resolves.toEqual({ requestHash: 'h1', status: 201, body: { id: 'winner' } });
    expect(fixture.sent('find')[0]!.body).toMatchObject({
      find: 'idempotency',
      filter: { _id: 'k1' },
      limit: 1,
    });
  });

  it('losing the race to another request under the same key throws IdempotencyKeyReusedError', async () => {
    replies.insert = () => writeReply({ n: 0, writeErrors: [duplicateKeyError(0, NS, 'k1')] });
    replies.find = () => cursorReply(NS, [{ ...winner, requestHash: 'other' }]);
    const store = open();
    await expect(store.insertOrRead('k1', ours)).rejects.toThrow(IdempotencyKeyReusedError);
    await expect(store.put('k1', ours)).rejects.toThrow(IdempotencyKeyReusedError);
  });

  it('an E11000 whose answer is gone when read back (expired meanwhile) is rethrown', async () => {
    replies.insert = () => writeReply({ n: 0, writeErrors: [duplicateKeyError(0, NS, 'k1')] });
    const failure = await open()
      .insertOrRead('k1', ours)
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(MongoServerError);
    expect((failure as MongoServerError).code).toBe(11000);
  });

  it('any other failure of the insert is an error (a write concern error included)', async () => {
    replies.insert = () => writeReply({ n: 1, writeConcernError: writeConcernTimeout() });
    await expect(open().put('k1', ours)).rejects.toThrow(MongoWriteConcernError);
    expect(fixture.sent('find')).toHaveLength(0);
  });
});
