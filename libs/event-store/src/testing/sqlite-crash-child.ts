// Child process of sqlite-crash.int-spec.ts: appends events as fast as it can, from several
// concurrent writers, and prints one line per acknowledged append: `ack <position> <stream> <revision> <id>`.
// It never stops on its own before `maxEvents`; the parent kills it with SIGKILL mid-burst.
import { randomUUID } from 'node:crypto';
import { SqliteEventStore } from '../sqlite/sqlite-event-store';

const [file, maxEventsArg] = process.argv.slice(2);
if (!file) throw new Error('usage: sqlite-crash-child <file> [maxEvents]');
const maxEvents = Number(maxEventsArg ?? 100_000);
const store = new SqliteEventStore(file, { durability: 'full' });
let written = 0;

async function writer(w: number): Promise<void> {
  const stream = `crash-${w}`;
  let expected: bigint | 'no_stream' = 'no_stream';
  while (written < maxEvents) {
    written++;
    const id = randomUUID();
    const result = await store.append(
      stream,
      [{ id, type: 'Burst', data: { w, pad: 'x'.repeat(200) }, metadata: {} }],
      expected,
    );
    expected = result.nextRevision;
    // stdout to a pipe is synchronous on Linux: once this returns, the parent can read the line
    process.stdout.write(`ack ${result.position} ${stream} ${result.nextRevision} ${id}\n`);
  }
}

process.stdout.write('ready\n');
void Promise.all(Array.from({ length: 8 }, (_, w) => writer(w))).then(() => store.close());
