/**
 * MongoEmailChangeMails through the real driver against the WIRE FIXTURE (not a server: see
 * libs/read-store/src/store/mongo-wire/wire-fixture.ts). The commands are pinned as the driver sends them; the
 * replies are written from MongoDB's documented formats. The server's behaviour is the contract's
 * (email-change-mails.mongo.int-spec.ts, with MONGO_URL).
 */
import type { Document } from 'mongodb';
import { commandError, cursorReply, writeReply } from '../../../../libs/read-store/src/store/mongo-wire/replies';
import { MongoWireFixture, type WireCommand } from '../../../../libs/read-store/src/store/mongo-wire/wire-fixture';
import { MongoEmailChangeMails } from './mongo-email-change-mails';

const NS = 'test.email_change_mails';
const T = Date.parse('2026-12-07T10:00:00Z');
const pinned = ({ body }: WireCommand): Document => {
  const { lsid: _lsid, ...rest } = body;
  return rest;
};

describe('MongoEmailChangeMails over the wire fixture (the real driver; not a server test)', () => {
  let fixture: MongoWireFixture;
  let mails: MongoEmailChangeMails;
  let indexFailures = 0;

  beforeEach(async () => {
    indexFailures = 0;
    fixture = await MongoWireFixture.start((command) => {
      if (command.name === 'createIndexes') return indexFailures-- > 0 ? commandError(91, 'ShutdownInProgress', 'shutting down') : { ok: 1, numIndexesBefore: 1, numIndexesAfter: 2 };
      if (command.name === 'insert') return writeReply({ n: 1 });
      if (command.name === 'find') return cursorReply(NS, [{ mailedAt: new Date(T) }, { mailedAt: new Date(T + 1000) }]);
      return undefined;
    });
    mails = new MongoEmailChangeMails(fixture.url, { serverSelectionTimeoutMS: 2000 });
  });
  afterEach(async () => {
    await mails.close();
    await fixture.close();
  });

  it('makes its two indexes once (the TTL one removes a mail two hours on), inserts one document a mail, reads a user\'s from a time on, oldest first', async () => {
    await mails.mailed('o1', 'ann', T, T - 3_600_000);
    await expect(mails.since('o1', 'ann', T - 3_600_000)).resolves.toEqual([T, T + 1000]);
    // (made together: in either order)
    expect(fixture.sent('createIndexes').map(pinned).sort((a, b) => String(a.indexes[0].name).localeCompare(String(b.indexes[0].name)))).toEqual([
      { createIndexes: 'email_change_mails', indexes: [{ name: 'by_user', key: { organizationId: 1, userId: 1, mailedAt: 1 } }], $db: 'test' },
      { createIndexes: 'email_change_mails', indexes: [{ name: 'forgotten', key: { mailedAt: 1 }, expireAfterSeconds: 7200 }], $db: 'test' },
    ]);
    const [insert] = fixture.sent('insert').map(pinned);
    expect(insert).toMatchObject({ insert: 'email_change_mails', documents: [{ organizationId: 'o1', userId: 'ann', mailedAt: new Date(T) }], $db: 'test' });
    expect(fixture.sent('find').map(pinned)).toEqual([
      { find: 'email_change_mails', filter: { organizationId: 'o1', userId: 'ann', mailedAt: { $gte: new Date(T - 3_600_000) } }, sort: { mailedAt: 1 }, projection: { _id: 0, mailedAt: 1 }, $db: 'test' },
    ]);
  });

  it('an index that could not be made is asked for again at the next call, not kept failed', async () => {
    indexFailures = 2;
    await expect(mails.since('o1', 'ann', T)).rejects.toThrow('shutting down');
    await expect(mails.since('o1', 'ann', T)).resolves.toEqual([T, T + 1000]);
    expect(fixture.sent('createIndexes').length).toBeGreaterThanOrEqual(3);
  });
});
