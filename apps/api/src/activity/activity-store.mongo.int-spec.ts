import { mongoContractDatabase } from '../shared/testing/mongo-contract-database';
import { activityStoreContract } from './testing/activity-store.contract';
import { MongoActivityStore } from './mongo-activity-store';

// The contract against a MongoDB server: runs when MONGO_URL is set (none can be installed here; the wire fixture's
// tests, mongo-activity-store.spec.ts, pin the commands meanwhile). Each run uses a database of its own, dropped after.
const url = process.env.MONGO_URL;

if (url) {
  const withDb = mongoContractDatabase(url, 'activity_contract');
  activityStoreContract('MongoDB', () => ({ one: new MongoActivityStore(withDb()), other: new MongoActivityStore(withDb()) }));
} else {
  // Without a server the contract cannot run; this still checks what needs no server (an empty write or lookup sends
  // nothing), and its name says how to run the contract.
  it('MongoDB activity contract: MONGO_URL not set — run `MONGO_URL=mongodb://localhost:27017 npm run test:mongo`', async () => {
    const store = new MongoActivityStore('mongodb://127.0.0.1:9/none', { serverSelectionTimeoutMS: 100 });
    await expect(store.record([])).resolves.toBeUndefined();
    await expect(store.lastOn('o', 'key', [])).resolves.toEqual(new Map());
    await store.close();
  });
}
