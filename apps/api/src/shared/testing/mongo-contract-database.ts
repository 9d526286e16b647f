import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';

/**
 * For a contract suite run against a MongoDB server (MONGO_URL): a database of the run's own, `<prefix>_<8 hex>`, dropped
 * after the file's tests; answers `url` with that database in its path, for each store the suite opens.
 */
export function mongoContractDatabase(url: string, prefix: string): () => string {
  const database = `${prefix}_${randomUUID().slice(0, 8)}`;
  afterAll(async () => {
    const client = await MongoClient.connect(url);
    try {
      await client.db(database).dropDatabase();
    } finally {
      await client.close();
    }
  });
  return () => {
    const u = new URL(url);
    u.pathname = `/${database}`;
    return u.toString();
  };
}
