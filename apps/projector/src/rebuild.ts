// `npm run rebuild -- <projection> [<projection>…] | all`: drops those read models (or all) and rebuilds them from the whole log,
// with a progress bar; prints events/s at the end. Stop the projectors that run it first (the embedded API or
// apps/projector): a rebuild must be the only writer of its collections. Over an embedded data dir it holds the
// projector's lease while it runs, and refuses to start while another process holds it.
import { SingleBar, Presets } from 'cli-progress';
import { DataDirProblem, createRollcallEventStore } from '@rollcall/event-store';
import { PROJECTIONS, type Projection, projectionNamed } from '../../../libs/read-store/src/projections';
import { unreachableStore } from '../../api/src/infrastructure/unreachable-store';
import { rebuild } from '../../../libs/read-store/src/projector';
import { createReadStore } from '../../../libs/read-store/src/store-factory';
import { Lease } from '../../api/src/infrastructure/lease';
import { claimDataDir, releaseDataDir } from '../../api/src/infrastructure/data-format';
import { exitOnProblems, missingEventLog, projectorConfig, protectUsedDataDir } from './config';

/**
 * The projections named (`all`, or one name or more): every name is read (probe 116 F4: only the first was, and
 * `rebuild -- members teams` rebuilt members alone and exited 0); undefined for arguments that name none or another.
 */
function projectionsNamed(args: string[]): readonly Projection[] | undefined {
  if (args.length === 1 && args[0] === 'all') return PROJECTIONS;
  const named = args.map(projectionNamed);
  if (named.length === 0 || named.some((p) => p === undefined)) return undefined;
  return [...new Set(named as Projection[])];
}

/** the stores' URLs, for the failure's sentence */
let storeUrls: { eventstoreUrl?: string; mongoUrl?: string } | undefined;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const projections = projectionsNamed(args);
  if (!projections) {
    const unknown = args.filter((a) => a !== 'all' && !projectionNamed(a));
    console.error(
      `${unknown.length > 0 ? `not a projection: ${unknown.join(', ')}\n` : args.includes('all') ? '`all` stands alone\n' : ''}` +
        `usage: npm run rebuild -- <projection> [<projection>…] | all\nprojections: ${PROJECTIONS.map((p) => p.name).join(', ')}`,
    );
    process.exit(2);
  }
  const name = args.includes('all') ? 'all' : projections.map((p) => p.name).join(', ');
  const problems: string[] = [];
  const config = projectorConfig(process.env, problems);
  storeUrls = config;
  exitOnProblems(problems);
  // a mistyped data dir would be created empty and "rebuilt" from nothing (black-box probe 8)
  const noLog = missingEventLog(config);
  if (noLog) {
    console.error(noLog);
    process.exit(2);
  }
  protectUsedDataDir(config);
  // no process of another version serves the data dir, and none later wrote it (docs/adr/0020)
  try {
    claimDataDir(config.dataDir, 'rebuild');
    // forgotten as it ends: a registration left is a process that did not stop (the API's start says so)
    process.once('exit', () => releaseDataDir(config.dataDir));
  } catch (error) {
    if (!(error instanceof DataDirProblem)) throw error;
    console.error(error.message);
    process.exit(2);
  }
  const lease = config.mongoUrl ? undefined : new Lease(config.dataDir, 'projector');
  if (lease && !lease.tryAcquire()) {
    console.error('Another process projects this data dir (it holds the projector lease): stop it, then rebuild.');
    lease.close();
    // EX_TEMPFAIL: the same command succeeds once that process stopped (README; probe 95 F11: exit 1, undocumented)
    process.exit(75);
  }
  // renewed while the rebuild runs (also from its progress: the fold may hold the event loop longer than a timer
  // waits), so that a process starting meanwhile stands by; lost all the same, the rebuild stops
  let renewedAt = Date.now();
  const renewLease = () => {
    if (!lease || Date.now() - renewedAt < 1000) return;
    renewedAt = Date.now();
    if (!lease.tryAcquire()) throw new Error('Another process took the projector lease during the rebuild: stopped; stop it, then rebuild again.');
  };
  const renew = lease && setInterval(() => {
    try {
      renewLease();
    } catch {
      // reported by the next progress callback, which stops the rebuild
    }
  }, 1000);
  // the application's event store: personal fields are decrypted as read (and read as null once shredded)
  const { store: eventStore } = await createRollcallEventStore({ eventstoreUrl: config.eventstoreUrl, mongoUrl: config.mongoUrl, dataDir: config.dataDir });
  const readStore = await createReadStore({ mongoUrl: config.mongoUrl, dataDir: config.dataDir, warn: (m) => console.warn(m) });
  const bar = new SingleBar({ format: `${name} [{bar}] {percentage}% | {value}/{total} | {events} events` }, Presets.shades_classic);
  let started = false;
  try {
    const result = await rebuild(eventStore, readStore, projections, {
      onProgress: ({ position, target, events }) => {
        renewLease();
        if (!started) {
          bar.start(Number(target < 0n ? 0n : target), 0, { events });
          started = true;
        }
        bar.update(Number(position), { events });
      },
    });
    bar.stop();
    const { foldMs, writeMs, finishMs } = result.phases;
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    console.log(
      `rebuilt ${projections.map((p) => p.name).join(', ')}: ${result.events} events in ${s(result.ms)}, ${result.eventsPerSec} events/s ` +
        `(log read and folded in ${s(foldMs)}, last writes ${s(writeMs)}, indexes ${s(finishMs)}; documents let go of memory ${result.evictions} times)`,
    );
  } finally {
    if (started) bar.stop();
    if (renew) clearInterval(renew);
    lease?.release();
    lease?.close();
    await readStore.close();
    await eventStore.close();
  }
}

main().catch((error: unknown) => {
  // a store that cannot be reached: one sentence naming the setting, exit 69, as the API and the worker say it
  // (probe 116 F5: a bare `connect ECONNREFUSED …`, exit 1)
  const unreachable = storeUrls && unreachableStore(error, storeUrls);
  console.error(unreachable ?? (error instanceof Error ? error.message : error));
  process.exit(unreachable ? 69 : 1);
});
