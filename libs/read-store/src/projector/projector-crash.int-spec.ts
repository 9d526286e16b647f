import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PROJECTIONS, checkpointKey } from '../projections';
import { SimulatedTraffic, prng, randomStep } from '../projections/testing/simulated-traffic';
import { EventLog } from '../projections/testing/event-log';
import { SqliteReadStore } from '../store';
import { rebuild } from './rebuild';
import { countingProjection, type EventCountDoc } from './testing/counting-projection';
import { TempStores, dump } from './testing/temp-stores';

const root = join(__dirname, '..', '..', '..', '..');
const child = join(__dirname, 'testing', 'projector-child.ts');

/** runs the projector in a child process; SIGKILLs it once its checkpoint passed `killAt` (if given) */
async function runChild(eventsFile: string, readFile: string, killAt?: bigint): Promise<{ signal: string | null; lastCheckpoint: bigint; done: boolean }> {
  const proc = spawn(process.execPath, ['--no-experimental-strip-types', '-r', join(root, 'tools/register.cjs'), child, eventsFile, readFile, '200'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<string | null>((resolve) => proc.on('exit', (_code, signal) => resolve(signal)));
  let lastCheckpoint = -1n;
  let done = false;
  for await (const line of createInterface({ input: proc.stdout })) {
    const [kind, value] = line.split(' ');
    if (kind === 'done') done = true;
    if (kind !== 'checkpoint') continue;
    lastCheckpoint = BigInt(value!);
    if (killAt !== undefined && lastCheckpoint >= killAt) proc.kill('SIGKILL');
  }
  const signal = await exited;
  if (signal === null && !done) throw new Error(`projector child failed: ${stderr}`);
  return { signal, lastCheckpoint, done };
}

describe('Projector under kill -9', () => {
  it('loses no event and applies none twice when killed mid-batch and restarted', async () => {
    const stores = new TempStores();
    try {
      const activity = new SimulatedTraffic(new EventLog(false), { emailsPerOrg: 400 });
      for (let o = 0; o < 3; o++) activity.addOrganization(`org-${o}`);
      for (let w = 0; w < 12; w++) activity.addWorkspace(`org-${w % 3}`, `ws-${w}`, (['levels', 'studio', 'permissions'] as const)[w % 3]);
      const next = prng(42);
      while (activity.log.position < 15_000n) activity.step(randomStep(next, 12));
      await stores.append(activity.log.takeAppends());
      const head = await stores.events.headPosition();
      const readFile = join(stores.dir, 'crashed.sqlite');

      const killed = await runChild(stores.eventsFile, readFile, head / 3n);
      expect(killed.signal).toBe('SIGKILL');
      expect(killed.lastCheckpoint).toBeLessThan(head);
      const resumed = await runChild(stores.eventsFile, readFile);
      expect(resumed.done).toBe(true);

      const crashed = new SqliteReadStore({ path: readFile });
      const reference = stores.readStore('reference');
      await rebuild(stores.events, reference, [...PROJECTIONS, countingProjection], { logger: { info: () => undefined, error: () => undefined } });
      try {
        await crashed.init({ ...Object.fromEntries(PROJECTIONS.flatMap((p) => Object.entries(p.collections))), ...countingProjection.collections });
        const count = (await crashed.get<EventCountDoc>('event_count', 'count'))!.doc;
        expect(count.ranges).toEqual([[1, Number(head)]]);
        expect(count.n).toBe(Number(head));
        for (const p of [...PROJECTIONS, countingProjection]) expect(await crashed.checkpoint(checkpointKey(p))).toBe(head);
        expect(await dump(crashed, PROJECTIONS)).toEqual(await dump(reference, PROJECTIONS));
      } finally {
        await crashed.close();
      }
    } finally {
      await stores.close();
    }
  }, 120_000); // CPU-bound (a child projecting 15,000 events twice, a rebuild): ~11 s alone, 15-30 s beside another worker
});
