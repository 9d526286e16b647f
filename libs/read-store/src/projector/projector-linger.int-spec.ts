import type { Projection } from '../projections/projection';
import { LogScenario } from '../projections/testing/scenario';
import { Projector } from './projector';
import { TempStores } from './testing/temp-stores';

/** counts invitations: one document, so each commit's checkpoint says how far the projector got */
const counting: Projection = {
  name: 'counting',
  collections: { counting: { indexes: [] } },
  eventTypes: ['UserInvited'],
  apply: async (e, read) => {
    const counter = await read.get<{ _id: string; n: number }>('counting', 'count');
    return [{ kind: 'upsert', collection: 'counting', doc: { _id: 'count', n: (counter?.n ?? 0) + 1 } }];
  },
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** the projection's checkpoint once it reaches `position` (polled: a waitFor would hurry the projector) */
async function committedUpTo(stores: TempStores, read: ReturnType<TempStores['readStore']>, position: bigint, withinMs: number): Promise<boolean> {
  for (const deadline = Date.now() + withinMs; Date.now() < deadline; await sleep(20))
    if (((await read.checkpoint('counting')) ?? -1n) >= position) return true;
  return false;
}

/** Commit spacing while the log is busy (commit-linger.ts; ADR 0010 sixth pass). */
describe('Projector lingering before a commit', () => {
  let stores: TempStores;
  let projector: Projector | undefined;
  beforeEach(() => (stores = new TempStores()));
  afterEach(async () => {
    await projector?.stop();
    projector = undefined;
    stores.close();
  });

  /** a projector that lingers 60 s after a batch of 100 events or more */
  const lingering = async () => {
    const read = stores.readStore();
    projector = new Projector({ eventStore: stores.events, readStore: read, projections: [counting], lingerMs: 60_000, lingerAbove: 100, logger: { info: () => {}, error: () => {} } });
    await projector.start();
    return { read, projector };
  };

  const invite = async (s: LogScenario, count: number, tag: string): Promise<bigint> => {
    for (let i = 0; i < count; i++) s.invite(`${tag}-${i}@acme.test`);
    await stores.append(s.log.takeAppends());
    return stores.events.headPosition();
  };

  it('after a busy batch it waits for more events; a reader waiting for a position ends the wait', async () => {
    const s = new LogScenario();
    const busy = await invite(s, 150, 'busy');
    const { read, projector } = await lingering();
    // the first batch is committed at once (nothing before it was busy)
    expect(await committedUpTo(stores, read, busy, 10_000)).toBe(true);

    // that batch had 150 events: the next one lingers (60 s here)
    const next = await invite(s, 3, 'next');
    expect(await committedUpTo(stores, read, next, 500)).toBe(false);

    // a reader waiting for it (X-Min-Position) cuts the wait short
    expect(await projector.waitFor(next, 10_000)).toBe(true);
    expect((await read.get<{ _id: string; n: number }>('counting', 'count'))?.doc.n).toBe(153);
  });

  it('after a quiet batch it commits as soon as the log pauses (light traffic keeps its latency)', async () => {
    const s = new LogScenario();
    const first = await invite(s, 5, 'first');
    const { read } = await lingering();
    expect(await committedUpTo(stores, read, first, 10_000)).toBe(true);
    const second = await invite(s, 5, 'second');
    expect(await committedUpTo(stores, read, second, 10_000)).toBe(true);
  });

  it('a reader waiting for a position the subscription has not read yet: no lingering until a batch reaches it', async () => {
    const s = new LogScenario();
    const busy = await invite(s, 150, 'busy');
    const { read, projector } = await lingering();
    expect(await committedUpTo(stores, read, busy, 10_000)).toBe(true);
    // asked for before it exists: the hurry must outlive the batches cut before that position is read
    const waiting = projector.waitFor(busy + 120n, 10_000);
    await invite(s, 110, 'more');
    await sleep(100);
    const last = await invite(s, 10, 'last');
    expect(last).toBe(busy + 120n);
    expect(await waiting).toBe(true);
  });
});
