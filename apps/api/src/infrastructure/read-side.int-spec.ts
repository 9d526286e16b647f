import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createRollcallEventStore } from '@rollcall/event-store';
import { PROJECTIONS, checkpointKey } from '@rollcall/read-store';
import { loadConfig } from '../config';
import { Metrics } from './metrics';
import { createReadSide } from './read-side.factory';
import type { ReadSide } from './read-side';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The in-process projector thread lingers while the log is busy (ROLLCALL_PROJECTOR_LINGER_MS; commit-linger.ts);
 * a read with X-Min-Position must not wait for that, on this process (its `waitFor` tells the thread) nor on another
 * one over the same data dir that stands by (it leaves the position in the projector's lease file for the leader).
 */
describe('the read side\'s projector thread', () => {
  let dataDir: string;
  let store: Awaited<ReturnType<typeof createRollcallEventStore>>['store'];
  let sides: ReadSide[];
  let n = 0;
  const t0 = Date.parse('2026-03-01T10:00:00Z');

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'rollcall-read-side-'));
    ({ store } = await createRollcallEventStore({ dataDir, durability: 'normal' }));
    sides = [];
  });
  afterEach(async () => {
    for (const side of sides) await side.close().catch(() => undefined);
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** `count` presence changes in one append (one batch for a projector that polls the log); the last's position */
  const presence = async (count: number): Promise<bigint> => {
    const events = Array.from({ length: count }, () => {
      const status = n % 2 === 0 ? 'online' : 'offline';
      const data = { workspaceId: 'w', organizationId: 'o', userId: 'u', status, previous: status === 'online' ? 'offline' : 'online', reason: 'heartbeat', lastSeenAt: null, changedAt: new Date(t0 + n * 1000).toISOString() };
      return { id: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`, type: 'PresenceChanged', data, metadata: { schemaVersion: 1 } };
    });
    return (await store.append('presence-w-u', events, 'any')).position;
  };
  const readSide = async (env: Record<string, string> = {}) => {
    const config = loadConfig({ ROLLCALL_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent', ROLLCALL_PROJECTOR_LINGER_MS: '60000', ...env });
    const side = await createReadSide(config, new Metrics(), pino({ enabled: false }));
    sides.push(side);
    return side;
  };
  /** polled, not waited for: `waitFor` is what hurries the projector */
  const committed = async (side: ReadSide, position: bigint) =>
    (await Promise.all(PROJECTIONS.map((p) => side.store.checkpoint(checkpointKey(p))))).every((c) => c !== undefined && c >= position);
  /** a busy log (the projector's first batch has 150 events), projected; then two more events, left lingering */
  const lingering = async (side: ReadSide): Promise<bigint> => {
    const busy = await presence(150);
    for (let i = 0; i < 200 && !(await committed(side, busy)); i++) await sleep(50);
    expect(await committed(side, busy)).toBe(true);
    const next = await presence(2);
    await sleep(500);
    expect(await committed(side, next)).toBe(false); // lingering: 60 s here
    return next;
  };

  it('a read waiting for a position (X-Min-Position) on this process cuts its projector thread\'s lingering short', async () => {
    const side = await readSide();
    await side.start();
    const next = await lingering(side);
    // within 10 s where the projector lingers 60 s
    expect(await side.waitFor(next, 10_000)).toBe(true);
  }, 30_000);

  it('a read waiting for a position on a process that stands by cuts the leading process\'s lingering short', async () => {
    const [a, b] = [await readSide(), await readSide()];
    await a.start();
    await b.start();
    // which one projects: its thread's status reports (every 250 ms; later on a loaded machine) say so
    for (let i = 0; i < 200 && ![a, b].some((side) => side.projections().length > 0); i++) await sleep(50);
    await sleep(600); // and a report from the other, which must say it stands by
    const projecting = [a, b].map((side) => side.projections().length > 0);
    expect(projecting.filter(Boolean)).toHaveLength(1);
    const [leader, standby] = projecting[0] ? [a, b] : [b, a];
    const next = await lingering(leader);
    expect(await standby.waitFor(next, 10_000)).toBe(true);
  }, 30_000);

  it('the projector thread yields the CPU to command handling: it runs at ROLLCALL_PROJECTOR_NICE, this thread as before', async () => {
    /** the nice value of each thread of this process (field 19 of its stat), by thread id, with the name its OS thread carries */
    const threads = () =>
      readdirSync('/proc/self/task')
        .map(Number)
        .sort((a, b) => a - b)
        .map((tid) => {
          const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
          return { tid, name: readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim(), nice: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]) };
        });
    const mine = getPriority();
    const before = new Set(threads().map((t) => t.tid));
    const side = await readSide({ ROLLCALL_PROJECTOR_NICE: '7' });
    await side.start();
    // of the threads started since, the first of that name is the worker's own (threads it starts inherit its name;
    // under jest the transpiler's, started while the worker loads its modules, keep the priority they began with)
    const started = threads().filter((t) => !before.has(t.tid) && t.name === 'projector');
    expect(started[0]).toMatchObject({ name: 'projector', nice: 7 });
    expect(getPriority()).toBe(mine);
  });
});
