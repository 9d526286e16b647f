// Child process of projector-crash.int-spec.ts: runs the projector over an embedded event store and read store,
// printing `checkpoint <position>` as it commits, until the parent kills it (or it reaches the head and exits).
import { PROJECTIONS } from '../../projections';
import { SqliteReadStore } from '../../store';
import { Projector } from '../projector';
import { countingProjection } from './counting-projection';
import { ReadAsSealedStore } from './temp-stores';

const [eventsFile, readFile, batchSize] = process.argv.slice(2);
if (!eventsFile || !readFile) throw new Error('usage: projector-child <events.sqlite> <read.sqlite> [batchSize]');

async function main(): Promise<void> {
  const eventStore = new ReadAsSealedStore(eventsFile!);
  const readStore = new SqliteReadStore({ path: readFile! });
  const projector = new Projector({
    eventStore,
    readStore,
    projections: [...PROJECTIONS, countingProjection],
    batchSize: Number(batchSize ?? 100),
  });
  await projector.start();
  const head = await eventStore.headPosition();
  let last = -1n;
  const timer = setInterval(() => {
    const checkpoint = projector.status().reduce((min, s) => ((s.checkpoint ?? -1n) < min ? (s.checkpoint ?? -1n) : min), head);
    if (checkpoint !== last) process.stdout.write(`checkpoint ${(last = checkpoint)}\n`);
  }, 2);
  await projector.waitFor(head, 60_000);
  clearInterval(timer);
  await projector.stop();
  process.stdout.write(`done ${head}\n`);
  await readStore.close();
  await eventStore.close();
}

void main();
