/**
 * MongoEmailChangeMails through the real driver against the WIRE FIXTURE (not a server: see
 * libs/read-store/src/store/mongo-wire/wire-fixture.ts). The commands are pinned as the driver sends them; the
 * replies are written from MongoDB's documented formats. The server's behaviour is the contract's
 * (email-change-mails.mongo.int-spec.ts, with MONGO_URL).
 */
import { type Document, ObjectId } from 'mongodb';
import { commandError, cursorReply, writeReply } from '../../../../libs/read-store/src/store/mongo-wire/replies';
import { MongoWireFixture, type WireCommand } from '../../../../libs/read-store/src/store/mongo-wire/wire-fixture';
import { MongoEmailChangeMails } from './mongo-email-change-mails';

const NS = 'test.email_change_mails';
const T = Date.parse('2026-12-07T10:00:00Z');
const SINCE = T - 3_600_000;
const pinned = ({ body }: WireCommand): Document => {
  const { lsid: _lsid, ...rest } = body;
  return rest;
};
const EARLIER = new ObjectId('000000000000000000000001');

describe('MongoEmailChangeMails over the wire fixture (the real driver; not a server test)', () => {
  let fixture: MongoWireFixture;
  let mails: MongoEmailChangeMails;
  let indexFailures = 0;
  /** the slots the fixture answers the find with, besides the one inserted */
  let others: Document[] = [];

  beforeEach(async () => {
    indexFailures = 0;
    others = [];
    let inserted: Document | undefined;
    fixture = await MongoWireFixture.start((command) => {
      if (command.name === 'createIndexes') return indexFailures-- > 0 ? commandError(91, 'ShutdownInProgress', 'shutting down') : { ok: 1, numIndexesBefore: 1, numIndexesAfter: 2 };
      if (command.name === 'insert') {
        inserted = (command.body.documents as Document[])[0];
        return writeReply({ n: 1 });
      }
      if (command.name === 'find') return cursorReply(NS, [...others, ...(inserted ? [{ _id: inserted._id, mailedAt: inserted.mailedAt, ...(inserted.requestKey && { requestKey: inserted.requestKey }) }] : [])]);
      if (command.name === 'delete') return writeReply({ n: 1 });
      return undefined;
    });
    mails = new MongoEmailChangeMails(fixture.url, { serverSelectionTimeoutMS: 2000 });
  });
  afterEach(async () => {
    await mails.close();
    await fixture.close();
  });

  it("makes its two indexes once (the TTL one forgets a slot two hours on), inserts the slot, then reads the user's slots of the hour in order: standing among the first `limit`, it is taken", async () => {
    others = [{ _id: EARLIER, mailedAt: new Date(T - 1000) }];
    const took = await mails.take('o1', 'ann', T, SINCE, 2);
    expect(took).toEqual({ slot: expect.stringMatching(/^[0-9a-f]{24}$/) });
    // (made together: in either order)
    expect(fixture.sent('createIndexes').map(pinned).sort((a, b) => String(a.indexes[0].name).localeCompare(String(b.indexes[0].name)))).toEqual([
      { createIndexes: 'email_change_mails', indexes: [{ name: 'by_user', key: { organizationId: 1, userId: 1, mailedAt: 1 } }], $db: 'test' },
      { createIndexes: 'email_change_mails', indexes: [{ name: 'forgotten', key: { mailedAt: 1 }, expireAfterSeconds: 7200 }], $db: 'test' },
    ]);
    const [insert] = fixture.sent('insert').map(pinned);
    expect(insert).toMatchObject({ insert: 'email_change_mails', documents: [{ organizationId: 'o1', userId: 'ann', mailedAt: new Date(T) }], $db: 'test' });
    expect(fixture.sent('find').map(pinned)).toEqual([
      { find: 'email_change_mails', filter: { organizationId: 'o1', userId: 'ann', mailedAt: { $gte: new Date(SINCE) } }, sort: { mailedAt: 1, _id: 1 }, projection: { mailedAt: 1, requestKey: 1 }, $db: 'test' },
    ]);
    expect(fixture.sent('delete')).toEqual([]);
    // given back: deleted by its id
    await mails.giveBack((took as { slot: string }).slot);
    expect(fixture.sent('delete').map(pinned)).toEqual([{ delete: 'email_change_mails', deletes: [{ q: { _id: new ObjectId((took as { slot: string }).slot) }, limit: 1 }], ordered: true, $db: 'test' }]);
  });

  it('a slot past the first `limit` (another replica took the last one first) is deleted again and refused with the times of those standing', async () => {
    others = [
      { _id: EARLIER, mailedAt: new Date(T - 2000) },
      { _id: new ObjectId('000000000000000000000002'), mailedAt: new Date(T - 1000) },
    ];
    await expect(mails.take('o1', 'ann', T, SINCE, 2)).resolves.toEqual({ taken: [T - 2000, T - 1000] });
    const [insert] = fixture.sent('insert').map(pinned);
    expect(fixture.sent('delete').map(pinned)).toEqual([{ delete: 'email_change_mails', deletes: [{ q: { _id: insert!.documents[0]._id }, limit: 1 }], ordered: true, $db: 'test' }]);
  });

  it("a slot taken for a request's key after one of the same key that stands (its twin on another replica) is deleted again: the same request, no slot taken and none refused", async () => {
    others = [
      { _id: EARLIER, mailedAt: new Date(T - 2000), requestKey: 'k-1' },
      { _id: new ObjectId('000000000000000000000002'), mailedAt: new Date(T - 1000) },
    ];
    await expect(mails.take('o1', 'ann', T, SINCE, 2, 'k-1')).resolves.toEqual({ sameRequest: true });
    const [insert] = fixture.sent('insert').map(pinned);
    expect(insert).toMatchObject({ documents: [{ organizationId: 'o1', userId: 'ann', mailedAt: new Date(T), requestKey: 'k-1' }] });
    expect(fixture.sent('delete').map(pinned)).toEqual([{ delete: 'email_change_mails', deletes: [{ q: { _id: insert!.documents[0]._id }, limit: 1 }], ordered: true, $db: 'test' }]);
    // another key at the limit is refused as before
    await expect(mails.take('o1', 'ann', T, SINCE, 2, 'k-2')).resolves.toEqual({ taken: [T - 2000, T - 1000] });
  });

  it('an index that could not be made is asked for again at the next call, not kept failed', async () => {
    indexFailures = 2;
    await expect(mails.take('o1', 'ann', T, SINCE, 5)).rejects.toThrow('shutting down');
    await expect(mails.take('o1', 'ann', T, SINCE, 5)).resolves.toEqual({ slot: expect.any(String) });
    expect(fixture.sent('createIndexes').length).toBeGreaterThanOrEqual(3);
  });
});
