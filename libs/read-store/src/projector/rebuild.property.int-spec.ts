import fc from 'fast-check';
import { DOMAIN_EVENT_TYPES } from '@rollcall/domain';
import type { RecordedEvent } from '@rollcall/event-store';
import type { ReadStore } from '../port';
import { PROJECTIONS } from '../projections';
import { Activity, OP_COUNT, prng, randomStep, type Step } from '../projections/testing/activity';
import { EventLog } from '../projections/testing/event-log';
import { ProjectionBatch, toProjectedEvent } from './batch';
import { Projector } from './projector';
import { rebuild } from './rebuild';
import { StoreSource } from './store-source';
import { TempStores, dump } from './testing/temp-stores';

const silent = { info: () => undefined, error: () => undefined };

function activityOf(steps: Step[]): Activity {
  const activity = new Activity(new EventLog(), { emailsPerOrg: 8 });
  activity.addOrganization('org-a');
  activity.addOrganization('org-b');
  activity.addWorkspace('org-a', 'ws-a1', 'levels', 'advanced');
  activity.addWorkspace('org-a', 'ws-a2', 'studio');
  activity.addWorkspace('org-b', 'ws-b1', 'permissions');
  for (const step of steps) activity.step(step);
  return activity;
}

/** applies each chunk of events twice (reading what the first pass wrote), then the whole log once more */
async function applyEverythingTwice(store: ReadStore, events: RecordedEvent[], chunk: number): Promise<void> {
  await store.init(Projector.collectionsOf(PROJECTIONS));
  // one source (and its cache) for every pass, as in the projector: re-applied writes must not poison it
  const source = new StoreSource(store, 64);
  const pass = async (slice: RecordedEvent[]) => {
    for (const projection of PROJECTIONS) {
      const batch = new ProjectionBatch(projection, source);
      for (const recorded of slice) {
        const e = toProjectedEvent(recorded);
        if (e && projection.eventTypes.includes(e.event.type)) await batch.apply(e);
        else batch.skip(recorded.position);
      }
      const writes = batch.writes();
      await store.commit(projection.name, writes, batch.lastPosition!);
      source.committed(writes);
    }
  };
  for (let i = 0; i < events.length; i += chunk) {
    await pass(events.slice(i, i + chunk));
    await pass(events.slice(i, i + chunk));
  }
  for (let i = 0; i < events.length; i += chunk) await pass(events.slice(i, i + chunk));
}

const stepArb = fc.record({ op: fc.nat(OP_COUNT - 1), a: fc.nat(30), b: fc.nat(60), c: fc.nat(300) });

describe('read models: incremental == rebuilt == every event applied twice (SPEC §6)', () => {
  it('the activity generator reaches every domain event type', () => {
    const next = prng(7);
    const steps = Array.from({ length: 1500 }, () => randomStep(next, 3));
    const types = new Set(activityOf(steps).log.events.map((e) => e.type));
    expect([...types].sort()).toEqual([...DOMAIN_EVENT_TYPES].sort());
  });

  it('builds identical documents in every collection', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(stepArb, { minLength: 5, maxLength: 150 }),
        fc.array(fc.integer({ min: 1, max: 25 }), { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 1, max: 50 }),
        async (steps, chunkSizes, batchSize) => {
          const appends = activityOf(steps).log.takeAppends();
          const stores = new TempStores();
          try {
            // incremental: the log arrives in small random chunks while the projector runs, small batches
            const incremental = stores.readStore('incremental');
            const projector = new Projector({ eventStore: stores.events, readStore: incremental, projections: PROJECTIONS, batchSize, logger: silent });
            await projector.start();
            for (let i = 0, k = 0; i < appends.length; k++) {
              const size = chunkSizes[k % chunkSizes.length]!;
              await stores.append(appends.slice(i, i + size));
              i += size;
              expect(await projector.waitFor(await stores.events.headPosition(), 5000)).toBe(true);
            }
            await projector.stop();

            // rebuilt from zero in one go
            const rebuilt = stores.readStore('rebuilt');
            await rebuild(stores.events, rebuilt, PROJECTIONS, { batchSize: 100_000, logger: silent });

            // every event applied twice, then the whole log again, over what is already there
            const events: RecordedEvent[] = [];
            for await (const e of stores.events.readAll()) events.push(e);
            const twice = stores.readStore('twice');
            await applyEverythingTwice(twice, events, batchSize);

            const expected = await dump(incremental, PROJECTIONS);
            expect(await dump(rebuilt, PROJECTIONS)).toEqual(expected);
            expect(await dump(twice, PROJECTIONS)).toEqual(expected);
          } finally {
            await stores.close();
          }
        },
      ),
      { numRuns: 30 },
    );
  }, 30_000);
});
