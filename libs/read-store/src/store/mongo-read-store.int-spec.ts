import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { buildFilter } from './mongo-queries';
import { MongoReadStore } from './mongo-read-store';
import { readStoreContract } from './testing/read-store.contract';

const url = process.env.MONGO_URL;

if (url) {
  const databases: string[] = [];
  afterAll(async () => {
    const client = await MongoClient.connect(url);
    try {
      for (const name of databases) await client.db(name).dropDatabase();
    } finally {
      await client.close();
    }
  });
  readStoreContract('MongoDB', async () => {
    const dbName = `rs_contract_${randomUUID().slice(0, 8)}`;
    databases.push(dbName);
    return MongoReadStore.connect(url, { dbName });
  });
} else {
  // Without a server the contract cannot run; this test still checks something real (the adapter's filter),
  // and its name says how to run the contract.
  it('MongoDB contract: MONGO_URL not set — run `MONGO_URL=mongodb://localhost:27017 npm run test:mongo`', () => {
    expect(
      buildFilter({
        where: { orgId: 'o1', roles: ['owner', 'admin'] },
        search: { text: 'a.b', fields: ['name'] },
      }),
    ).toEqual({
      $and: [
        { _deleted: { $ne: true } },
        { orgId: 'o1' },
        { roles: { $in: ['owner', 'admin'] } },
        { $or: [{ name: { $regex: 'a\\.b', $options: 'i' } }] },
      ],
    });
  });
}
