import { mongoContractDatabase } from '../shared/testing/mongo-contract-database';
import { emailChangeMailsContract } from './testing/email-change-mails.contract';
import { MongoEmailChangeMails } from './mongo-email-change-mails';

// The contract against a MongoDB server: runs when MONGO_URL is set (none can be installed here; the wire fixture's
// tests, mongo-email-change-mails.spec.ts, pin the commands meanwhile). Each run uses a database of its own, dropped after.
const url = process.env.MONGO_URL;

if (url) {
  const withDb = mongoContractDatabase(url, 'email_change_mails_contract');
  emailChangeMailsContract('MongoDB', () => ({ one: new MongoEmailChangeMails(withDb()), other: new MongoEmailChangeMails(withDb()) }));
} else {
  // Without a server the contract cannot run; this checks what needs none (a store with no server refuses, which the
  // limit takes as "not checked": email-change-limit.spec.ts), and its name says how to run the contract.
  it('MongoDB email-change mails contract: MONGO_URL not set — run `MONGO_URL=mongodb://localhost:27017 npm run test:mongo`', async () => {
    const mails = new MongoEmailChangeMails('mongodb://127.0.0.1:9/none', { serverSelectionTimeoutMS: 100 });
    await expect(mails.take('o', 'u', 0, 0, 5)).rejects.toThrow();
    await mails.close();
  });
}
