/**
 * The publisher's lease and checkpoint in MongoDB (EventStoreDB + MongoDB replicas), and the projector's lease over a
 * MongoDB read store, through the real driver against
 * the WIRE FIXTURE (not a server: libs/read-store/src/store/mongo-wire/wire-fixture.ts) whose responder applies the
 * driver's commands to one collection in memory with `mingo`, refusing a second `_id` as a server does
 * (simulated-collection.ts). It shows what the commands mean; a server's timing is not shown.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClientProxy, ClientProxyFactory } from '@nestjs/microservices';
import { of } from 'rxjs';
import type { EventStore, RecordedEvent, SubscribeOptions, Subscription } from '@rollcall/event-store';
import { simulatedCollection } from '../../../../libs/read-store/src/store/mongo-wire/simulated-collection';
import { MongoWireFixture } from '../../../../libs/read-store/src/store/mongo-wire/wire-fixture';
import type { Config } from '../config';
import { IntegrationEvents } from './integration-events';
import type { Projector } from '@rollcall/read-store';
import { LEASE_TTL_MS } from './lease';
import { LeasedProjector } from './leased-projector';
import { Metrics } from './metrics';
import { MongoJobLease, MongoPublisherCoordination } from './mongo-job-lease';
import { recorded, waitUntil } from './testing/integration-events-fakes';

let fixture: MongoWireFixture;
let collection: ReturnType<typeof simulatedCollection>;
const opened: MongoPublisherCoordination[] = [];
beforeEach(async () => {
  collection = simulatedCollection('test.job_leases');
  fixture = await MongoWireFixture.start(collection.responder);
});
afterEach(async () => {
  for (const c of opened.splice(0)) await c.close();
  await fixture.close();
});
/** another replica's view of the lease (its own connection) */
const replica = () => {
  const c = new MongoPublisherCoordination(fixture.url.replace("/?", "/test?"), 'publisher', (error) => {
    throw error;
  });
  opened.push(c);
  return c;
};

describe('MongoPublisherCoordination (the publisher lease of EventStoreDB + MongoDB replicas)', () => {
  it('one replica holds the lease; the others stand by until it lets it go, then one takes over from its checkpoint', async () => {
    const [a, b] = [replica(), replica()];
    await a.start();
    await b.start();
    expect([a.leads(), b.leads()]).toEqual([true, false]);
    await a.writeCheckpoint(7n);
    expect(await b.readCheckpoint()).toBe(7n);
    await b.renew();
    expect(b.leads()).toBe(false);
    await a.release();
    await b.renew();
    expect([a.leads(), b.leads()]).toEqual([false, true]);
    expect(await b.readCheckpoint()).toBe(7n);
  });

  it("a lease that ran out (its holder killed, or cut off) is taken over; the old holder's checkpoint writes then move nothing, and it stops", async () => {
    const [a, b] = [replica(), replica()];
    const now = Date.now();
    expect(await a.tryAcquire(now)).toBe(true);
    expect(await b.tryAcquire(now + 1_000)).toBe(false);
    expect(await b.tryAcquire(now + LEASE_TTL_MS)).toBe(true);
    await b.writeCheckpoint(10n);
    // `a` does not know yet: it still acts until a second before its lease's end, and writes what it published
    expect(a.leads(now + 100)).toBe(true);
    await a.writeCheckpoint(12n, now + 1_000);
    expect(await b.readCheckpoint()).toBe(10n);
    expect(a.leads(now + 100)).toBe(false);
  });

  it('a holder that lost its lease and takes it again does not write what it published before over the newer checkpoint', async () => {
    // session 14's review: A's last write was held back by the 250 ms throttle; B took over, went further, let go
    const [a, b] = [replica(), replica()];
    const now = Date.now();
    await a.tryAcquire(now);
    await a.writeCheckpoint(5n, now);
    await a.writeCheckpoint(9n, now + 10);
    expect(await b.tryAcquire(now + LEASE_TTL_MS)).toBe(true);
    await b.writeCheckpoint(20n, now + LEASE_TTL_MS);
    await b.release();
    expect(await a.tryAcquire(now + LEASE_TTL_MS + 100)).toBe(true);
    expect(await a.readCheckpoint()).toBe(20n);
  });

  it('without a checkpoint in MongoDB yet (replicas upgraded from one each in their data dir), it resumes from its own earlier one', async () => {
    const upgraded = new MongoPublisherCoordination(fixture.url.replace('/?', '/test?'), 'publisher', undefined, async () => 2n);
    opened.push(upgraded);
    expect(await upgraded.readCheckpoint()).toBe(2n);
    await upgraded.tryAcquire();
    await upgraded.writeCheckpoint(3n);
    expect(await upgraded.readCheckpoint()).toBe(3n);
  });

  it("the TCP transport's first start resumes from the checkpoint both transports shared (the `publisher` document), then keeps its own (ADR 0022)", async () => {
    const nats = replica();
    await nats.tryAcquire();
    await nats.writeCheckpoint(11n);
    await nats.release();
    const tcp = new MongoPublisherCoordination(fixture.url.replace('/?', '/test?'), 'publisher_tcp', undefined, async () => 2n, 'publisher');
    opened.push(tcp);
    expect(await tcp.readCheckpoint()).toBe(11n);
    await tcp.tryAcquire();
    await tcp.writeCheckpoint(12n);
    expect(await tcp.readCheckpoint()).toBe(12n);
    // NATS's lease is another document: it stays where it was
    expect(await nats.readCheckpoint()).toBe(11n);
  });

  it('acts only until a second before the end of its lease (clocks within a second of each other never see two holders act)', async () => {
    const a = replica();
    const now = Date.now();
    await a.tryAcquire(now);
    expect(a.leads(now + LEASE_TTL_MS - 1_001)).toBe(true);
    expect(a.leads(now + LEASE_TTL_MS - 1_000)).toBe(false);
  });

  it('writes the checkpoint at most every 250 ms while publishing, the rest at the next renewal or when it lets go', async () => {
    const a = replica();
    const now = Date.now();
    await a.tryAcquire(now);
    await a.writeCheckpoint(1n, now);
    await a.writeCheckpoint(2n, now + 10);
    expect(await a.readCheckpoint()).toBe(1n);
    await a.writeCheckpoint(3n, now + 260);
    expect(await a.readCheckpoint()).toBe(3n);
    await a.writeCheckpoint(4n, now + 270);
    await a.tryAcquire(now + 500);
    expect(await a.readCheckpoint()).toBe(4n);
    await a.writeCheckpoint(5n, now + 510);
    await a.release();
    expect(await replica().readCheckpoint()).toBe(5n);
  });
});

describe('IntegrationEvents over EventStoreDB + MongoDB: one publisher among replicas', () => {
  /** a log the replicas share: subscriptions deliver what is there from a position, then what is appended */
  function sharedLog() {
    const events: RecordedEvent[] = [];
    const waiting = new Set<() => void>();
    const subscribe = ({ fromPosition }: SubscribeOptions): Subscription => {
      let closed = false;
      async function* follow(): AsyncGenerator<RecordedEvent> {
        let next = fromPosition ?? -1n;
        while (!closed) {
          const e = events.find((x) => x.position > next);
          if (e) {
            next = e.position;
            yield e;
          } else await new Promise<void>((resolve) => waiting.add(resolve));
        }
      }
      const iterator = follow();
      return {
        [Symbol.asyncIterator]: () => iterator,
        unsubscribe: async () => {
          closed = true;
          for (const wake of waiting) wake();
        },
      };
    };
    const store = { subscribe, headPosition: async () => events.at(-1)?.position ?? -1n } as unknown as EventStore;
    const append = (position: bigint) => {
      events.push(recorded(position));
      for (const wake of waiting) wake();
      waiting.clear();
    };
    return { store, append };
  }

  it('each event is published by one replica; when it stops, another goes on from the shared checkpoint', async () => {
    const dirs = [mkdtempSync(join(tmpdir(), 'rollcall-ie-a-')), mkdtempSync(join(tmpdir(), 'rollcall-ie-b-'))];
    const emitted: string[] = [];
    jest.spyOn(ClientProxyFactory, 'create').mockImplementation(
      // (unwrap: the NATS connection the publisher confirms each event with, whose flush answers at once)
      () => ({ emit: (_: string, e: { position: string }) => (emitted.push(e.position), of(undefined)), close: () => undefined, unwrap: () => ({ flush: async () => undefined }) }) as unknown as ClientProxy,
    );
    const log = sharedLog();
    log.append(1n);
    const publisher = (dataDir: string) =>
      new IntegrationEvents({ dataDir, natsUrl: 'nats://localhost:4222', eventstoreUrl: 'kurrentdb://localhost:2113', mongoUrl: fixture.url.replace("/?", "/test?") } as Config, log.store, new Metrics());
    const [a, b] = dirs.map(publisher);
    try {
      await a!.start();
      await b!.start();
      await waitUntil(() => a!.status().state === 'running' && b!.status().state === 'standby');
      for (const p of [2n, 3n, 4n]) log.append(p);
      // (the checkpoint follows the transport's confirmation, a turn of the event loop after the send)
      await waitUntil(() => emitted.length === 3 && a!.status().checkpoint === '4');
      await a!.onApplicationShutdown();
      for (const p of [5n, 6n]) log.append(p);
      await waitUntil(() => emitted.length === 5 && b!.status().checkpoint === '6', 10_000);
      expect(emitted).toEqual(['2', '3', '4', '5', '6']);
      expect(b!.status()).toMatchObject({ state: 'running', checkpoint: '6' });
    } finally {
      await a!.onApplicationShutdown();
      await b!.onApplicationShutdown();
      jest.restoreAllMocks();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('LeasedProjector over a MongoDB read store: one projector among replicas on several hosts', () => {
  it('one replica projects, the other stands by (no data dir shared) and takes over when the first stops', async () => {
    const runs: string[] = [];
    const projectorOf = (name: string) => () =>
      ({ start: async () => void runs.push(`${name} starts`), stop: async () => void runs.push(`${name} stops`) }) as unknown as Projector;
    const silent = { info: () => undefined, error: (m: string) => runs.push(m) };
    const url = fixture.url.replace('/?', '/test?');
    // each its own data dir: before, each replica took its own dir's lease and both projected the one MongoDB
    const dirs = [mkdtempSync(join(tmpdir(), 'rollcall-lp-a-')), mkdtempSync(join(tmpdir(), 'rollcall-lp-b-'))];
    const a = new LeasedProjector(projectorOf('a'), { dataDir: dirs[0]!, mongoUrl: url }, silent);
    const b = new LeasedProjector(projectorOf('b'), { dataDir: dirs[1]!, mongoUrl: url }, silent);
    try {
      await a.start();
      await b.start();
      expect([a.current !== undefined, b.current !== undefined]).toEqual([true, false]);
      expect(collection.docs.find((d) => d._id === 'projector')).toMatchObject({ holder: expect.any(String), expires: expect.any(Date) });
      await a.stop();
      await waitUntil(() => b.current !== undefined, 5_000);
      expect(runs).toEqual(['a starts', 'a stops', 'b starts']);
    } finally {
      await a.stop();
      await b.stop();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('MongoJobLease when MongoDB is away', () => {
  it('a projector cut off from MongoDB stops projecting before its lease ends (another may take it then), and its stop does not hang', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rollcall-lp-cut-'));
    const stopped: number[] = [];
    const projector = { start: async () => undefined, stop: async () => void stopped.push(Date.now()) } as unknown as Projector;
    const a = new LeasedProjector(() => projector, { dataDir: dir, mongoUrl: fixture.url.replace('/?', '/test?') }, { info: () => undefined, error: () => undefined });
    try {
      await a.start();
      expect(a.current).toBeDefined();
      const cut = Date.now();
      await fixture.close();
      await waitUntil(() => a.current === undefined, 8_000);
      // its last renewal was at most a second before the cut: its lease ends 5 s after it, it stopped a second before
      expect(stopped[0]! - cut).toBeLessThan(LEASE_TTL_MS - 500);
      const stopping = Date.now();
      await a.stop();
      expect(Date.now() - stopping).toBeLessThan(10_000);
    } finally {
      await a.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('a lease whose first connection failed takes the lease once MongoDB is back (the driver closes such a client for good)', async () => {
    const port = Number(new URL(fixture.url).port);
    await fixture.close();
    const errors: string[] = [];
    const lease = new MongoJobLease(`mongodb://127.0.0.1:${port}/test?directConnection=true`, 'projector', (error) => errors.push((error as Error).name));
    try {
      await lease.renew();
      expect(lease.leads()).toBe(false);
      fixture = await MongoWireFixture.start(collection.responder, { port });
      for (let i = 0; i < 3 && !lease.leads(); i++) await lease.renew();
      expect(lease.leads()).toBe(true);
      expect(errors[0]).toBe('MongoServerSelectionError');
    } finally {
      await lease.close();
    }
  }, 20_000);

  it('standing down lets another replica take the lease before this one asks again', async () => {
    const [a, b] = [new MongoJobLease(fixture.url.replace('/?', '/test?'), 'projector'), new MongoJobLease(fixture.url.replace('/?', '/test?'), 'projector')];
    try {
      await a.renew();
      await b.renew();
      expect([a.leads(), b.leads()]).toEqual([true, false]);
      await a.standDown();
      await a.renew(); // quiet: asks nothing
      await b.renew();
      expect([a.leads(), b.leads()]).toEqual([false, true]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
