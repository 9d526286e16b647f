// Child process of sqlite-crash.int-spec.ts: commits batches to a SqliteReadStore as fast as it can and prints
// `ack <k>` after batch k was committed (50 documents at positions k*100+j, checkpoint k). It never stops on its
// own; the parent kills it with SIGKILL mid-burst.
import { SqliteReadStore } from '../sqlite-read-store';

async function main(file: string) {
  const store = new SqliteReadStore({ path: file });
  await store.init({ docs: { indexes: ['batch'], search: ['text'] } });
  for (let k = 1; ; k++) {
    const writes = Array.from({ length: 50 }, (_, j) => ({
      kind: 'upsert' as const,
      collection: 'docs',
      doc: { _id: `${k}-${j}`, batch: k, text: `batch ${k} doc ${j}` },
      position: BigInt(k * 100 + j),
    }));
    await store.commit('crash', writes, BigInt(k));
    process.stdout.write(`ack ${k}\n`);
  }
}

void main(process.argv[2]);
