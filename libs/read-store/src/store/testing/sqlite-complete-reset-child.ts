// Child process of sqlite-complete-reset.int-spec.ts: a projector's replay in short. Resets `people`, commits `count`
// documents into the bare table, prints `filled`, then builds what the reset deferred (`completeReset`, as the
// projector does once its replay reached the head) and prints `built`. The parent reads meanwhile, from another
// process: both may build, and neither may fail.
import { SqliteReadStore } from '../sqlite-read-store';
import { COMPLETE_RESET_SPEC, person } from './complete-reset-fixture';

async function main(file: string, count: number) {
  const store = new SqliteReadStore({ path: file });
  await store.init(COMPLETE_RESET_SPEC);
  await store.reset('p', ['people']);
  const writes = Array.from({ length: count }, (_, i) => ({ kind: 'upsert' as const, collection: 'people', doc: person(i), position: BigInt(i + 1) }));
  await store.commit('p', writes, BigInt(count));
  process.stdout.write('filled\n');
  await store.completeReset(['people']);
  process.stdout.write('built\n');
  await store.close();
}

void main(process.argv[2]!, Number(process.argv[3]));
