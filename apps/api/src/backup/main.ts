// The operator's backup of an embedded data dir, live: `npm run backup -- <destination>` (backup-data-dir.ts; ADR 0031).
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { DataDirProblem } from '@rollcall/event-store';
import { checkDataDir } from '../infrastructure/log-not-behind';
import { BackupProblem, backupDataDir, describeStep } from './backup-data-dir';

const USAGE = `npm run backup -- <destination> [--data-dir DIR]

  Copies the embedded data dir (--data-dir, else ROLLCALL_DATA_DIR, else ./data) to <destination>, a new path, while
  the service runs: each database as one consistent snapshot, in an order that keeps them consistent with each other
  (the event log after everything derived from it, the data keys after the log), checked as a start checks a data
  dir, then put in place whole. Restore: stop every process, put the backup where the data dir was, start.
  With EVENTSTORE_URL / MONGO_URL the events, keys and read models are on those servers: back them up there.`;

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { 'data-dir': { type: 'string' }, help: { type: 'boolean' } }, allowPositionals: true });
  } catch (error) {
    // an unknown option or one without its value: said with the usage, exit 64 (probe 116 F2: a stack, exit 1)
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 64;
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length !== 1) {
    (values.help ? process.stdout : process.stderr).write(`${USAGE}\n`);
    return values.help ? 0 : 64;
  }
  if (process.env.EVENTSTORE_URL?.trim() || process.env.MONGO_URL?.trim()) {
    process.stderr.write('EVENTSTORE_URL or MONGO_URL is set: the events, keys and read models are on those servers; back them up with their own tools (this copies an embedded data dir)\n');
    return 64;
  }
  const dataDir = resolve(values['data-dir'] ?? (process.env.ROLLCALL_DATA_DIR?.trim() || './data'));
  const destination = resolve(positionals[0]!);
  const started = performance.now();
  const { steps, lastPosition } = await backupDataDir(dataDir, destination, (copy) => checkDataDir({ dataDir: copy }), (step) => process.stdout.write(`copied ${describeStep(step)}\n`));
  const bytes = steps.reduce((sum, s) => sum + s.bytes, 0);
  // the position to tell auditors and consumers if this backup is ever restored (docs/replicas-and-faults.md)
  const log = lastPosition === undefined ? 'its log holds no event' : `its log ends at position ${lastPosition}`;
  process.stdout.write(`backup of ${dataDir} written to ${destination}: ${steps.length} files, ${bytes.toLocaleString('en-US')} bytes, checked, in ${Math.round(performance.now() - started)} ms; ${log}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    // a refusal is one sentence; anything else keeps its stack
    const known = error instanceof BackupProblem || error instanceof DataDirProblem;
    process.stderr.write(`backup failed: ${known ? (error as Error).message : ((error as Error).stack ?? String(error))}\n`);
    process.exit(known ? 78 : 1);
  },
);
