import { eventStoreContract } from '../testing/event-store.contract';
import { KurrentDbEventStore } from './kurrentdb-event-store';

const url = process.env.EVENTSTORE_URL;

if (url) {
  eventStoreContract(`KurrentDbEventStore (${url})`, () => new KurrentDbEventStore(url));
} else {
  // Not a pass for the contract: without a server only the adapter's construction is checked here.
  it('EventStoreDB contract: EVENTSTORE_URL not set, run `EVENTSTORE_URL=esdb://localhost:2113?tls=false npm run test:esdb`', async () => {
    const store = new KurrentDbEventStore('esdb://localhost:2113?tls=false');
    expect(typeof store.append).toBe('function');
    expect(typeof store.client.appendToStream).toBe('function');
    await expect(store.close()).resolves.toBeUndefined();
  });
}
