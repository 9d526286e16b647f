/**
 * MongoActivityStore through the real driver against the WIRE FIXTURE (not a server: see
 * libs/read-store/src/store/mongo-wire/wire-fixture.ts). The commands are pinned as the driver sends them; the
 * replies are written from MongoDB's documented formats.
 */
import type { Document } from 'mongodb';
import { cursorReply, writeReply } from '../../../../libs/read-store/src/store/mongo-wire/replies';
import { MongoWireFixture, type WireCommand } from '../../../../libs/read-store/src/store/mongo-wire/wire-fixture';
import { MongoActivityStore } from './mongo-activity-store';

const NS = 'test.activity';
const pinned = ({ body }: WireCommand): Document => {
  const { lsid: _lsid, ...rest } = body;
  return rest;
};

describe('MongoActivityStore over the wire fixture (the real driver; not a server test)', () => {
  let fixture: MongoWireFixture;
  let store: MongoActivityStore;

  beforeEach(async () => {
    fixture = await MongoWireFixture.start((command) =>
      command.name === 'update' ? writeReply({ n: 2, nModified: 1, upserted: [{ index: 1, _id: 'o1:user:u1' }] }) : command.name === 'find' ? cursorReply(NS, [{ _id: 'o1:key:k1', id: 'k1', lastOn: '2026-12-06' }]) : undefined,
    );
    store = new MongoActivityStore(fixture.url);
  });
  afterEach(async () => {
    await store.close();
    await fixture.close();
    expect(fixture.errors).toEqual([]);
  });

  it('upserts each mark with $max on its day (replicas marking the same key keep the later day), unordered', async () => {
    await store.record([
      { organizationId: 'o1', kind: 'key', id: 'k1', on: '2026-12-06' },
      { organizationId: 'o1', kind: 'user', id: 'u1', on: '2026-12-05' },
    ]);
    await store.record([]);
    expect(fixture.sent('update').map(pinned)).toEqual([
      {
        update: 'activity',
        ordered: false,
        $db: 'test',
        updates: [
          { q: { _id: 'o1:key:k1' }, u: { $max: { lastOn: '2026-12-06' }, $setOnInsert: { organizationId: 'o1', kind: 'key', id: 'k1' } }, upsert: true },
          { q: { _id: 'o1:user:u1' }, u: { $max: { lastOn: '2026-12-05' }, $setOnInsert: { organizationId: 'o1', kind: 'user', id: 'u1' } }, upsert: true },
        ],
      },
    ]);
  });

  it('reads the days of a page of ids by _id in one find', async () => {
    await expect(store.lastOn('o1', 'key', ['k1', 'k2'])).resolves.toEqual(new Map([['k1', '2026-12-06']]));
    await expect(store.lastOn('o1', 'key', [])).resolves.toEqual(new Map());
    expect(fixture.sent('find').map(pinned)).toEqual([{ find: 'activity', filter: { _id: { $in: ['o1:key:k1', 'o1:key:k2'] } }, projection: { id: 1, lastOn: 1 }, $db: 'test' }]);
  });
});
