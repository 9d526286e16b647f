import { MongoInvalidArgumentError } from 'mongodb';
import { Registry } from 'prom-client';
import { CommitTooLargeError, type ReadStore } from '../port';
import { membersProjection } from '../projections/members';
import { checkpointKey } from '../projections/projection';
import { LogScenario } from '../projections/testing/scenario';
import { workspacesProjection } from '../projections/workspaces';
import { registerProjectorMetrics } from './metrics';
import { type ProjectionStatus, Projector, type ProjectorLogger } from './projector';
import { TempStores } from './testing/temp-stores';

const quiet = (): ProjectorLogger & { lines: string[] } => {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), error: (m) => lines.push(m) };
};

/** the store, except that `commit` of the projections in `refused` throws what the driver throws for a >16 MB document */
function refusingCommits(inner: ReadStore, refused: Set<string>, attempts: Map<string, number>): ReadStore {
  return checkingCommits(inner, (key) => {
    // a commit names the projection's checkpoint key (`members@2`): counted by projection name
    const projection = key.split('@')[0]!;
    attempts.set(projection, (attempts.get(projection) ?? 0) + 1);
    if (refused.has(projection)) throw new MongoInvalidArgumentError('Document is larger than the maximum size 16777216');
  });
}

/** the store, except that each commit is shown to `before` first, which may refuse it by throwing */
function checkingCommits(inner: ReadStore, before: (...args: Parameters<ReadStore['commit']>) => void): ReadStore {
  return new Proxy(inner, {
    get(target, property) {
      if (property === 'commit')
        return async (...args: Parameters<ReadStore['commit']>) => {
          before(...args);
          return target.commit(...args);
        };
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('Projector: commits the read store keeps refusing', () => {
  let stores: TempStores;
  beforeEach(() => (stores = new TempStores()));
  afterEach(() => stores.close());

  it('reports the projection degraded (status, metric, one log line), keeps its checkpoint, recovers', async () => {
    const s = new LogScenario().member('bob');
    await stores.append(s.log.takeAppends());
    const head = await stores.events.headPosition();
    const read = stores.readStore();
    const refused = new Set(['members']);
    const attempts = new Map<string, number>();
    const logger = quiet();
    const projector = new Projector({
      eventStore: stores.events,
      readStore: refusingCommits(read, refused, attempts),
      projections: [membersProjection, workspacesProjection],
      retryDelayMs: 5,
      degradedAfter: 3,
      logger,
    });
    const registry = new Registry();
    registerProjectorMetrics(projector, registry);
    const members = (): ProjectionStatus => projector.status().find((p) => p.name === 'members')!;
    await projector.start();
    try {
      expect(await projector.waitFor(head, 5000, ['workspaces'])).toBe(true);
      await until(() => members().state === 'degraded', 'members to be degraded');
      expect(members()).toMatchObject({
        state: 'degraded',
        checkpoint: undefined,
        lag: head,
        commitError: 'Document is larger than the maximum size 16777216',
      });
      expect(members().commitFailures).toBeGreaterThanOrEqual(3);
      expect(members().error).toBeUndefined();
      expect(projector.status().find((p) => p.name === 'workspaces')).toMatchObject({
        state: 'running',
        checkpoint: head,
      });
      expect(await read.checkpoint(checkpointKey(membersProjection))).toBeUndefined();
      expect(await projector.waitFor(head, 50, ['members'])).toBe(false);

      const metrics = await registry.metrics();
      expect(metrics).toContain('rollcall_projection_degraded{projection="members"} 1');
      expect(metrics).toContain('rollcall_projection_degraded{projection="workspaces"} 0');
      expect(metrics).toContain('rollcall_projection_failed{projection="members"} 0');
      expect(metrics).toMatch(/rollcall_projection_commit_failures\{projection="members"\} ([3-9]|\d\d+)\n/);

      await until(() => (attempts.get('members') ?? 0) >= 6, 'more retries');
      const degradedLines = logger.lines.filter((line) => line.startsWith('projection members degraded'));
      expect(degradedLines).toEqual([
        'projection members degraded: 3 commits in a row failed (last: Document is larger than the maximum size 16777216); its checkpoint stays at none, the projector keeps retrying',
      ]);

      refused.clear();
      expect(await projector.waitFor(head, 5000)).toBe(true);
      expect(members()).toEqual({
        name: 'members',
        checkpoint: head,
        lag: 0n,
        processed: Number(head),
        state: 'running',
      });
      expect(await read.checkpoint(checkpointKey(membersProjection))).toBe(head);
      expect(logger.lines).toContainEqual(
        expect.stringMatching(/^projection members commits again \(after \d+ failed\)$/),
      );
      expect(await registry.metrics()).toContain(
        'rollcall_projection_commit_failures{projection="members"} 0',
      );
    } finally {
      await projector.stop();
    }
  });

  it('a commit failing fewer times than degradedAfter is retried without reporting degraded', async () => {
    const s = new LogScenario().member('bob');
    await stores.append(s.log.takeAppends());
    const head = await stores.events.headPosition();
    const refused = new Set(['members']);
    const attempts = new Map<string, number>();
    const logger = quiet();
    const states = new Set<string>();
    const readStore = refusingCommits(stores.readStore(), refused, attempts);
    const projector = new Projector({
      eventStore: stores.events,
      readStore,
      projections: [membersProjection],
      retryDelayMs: 20,
      degradedAfter: 3,
      logger,
    });
    await projector.start();
    try {
      await until(() => {
        states.add(projector.status()[0]!.state);
        return (attempts.get('members') ?? 0) >= 2;
      }, 'two failed commits');
      expect(projector.status()[0]).toMatchObject({ state: 'running', commitFailures: 2 });
      refused.clear();
      expect(await projector.waitFor(head, 5000)).toBe(true);
      expect(states).toEqual(new Set(['running']));
      expect(projector.status()[0]!.commitFailures).toBeUndefined();
      expect(logger.lines.some((line) => line.includes('degraded'))).toBe(false);
    } finally {
      await projector.stop();
    }
  });

  it('a batch the store refuses for its size (CommitTooLargeError) is committed in halved ones until they go', async () => {
    const s = new LogScenario();
    for (let i = 0; i < 12; i++) s.member(`user-${i}`);
    await stores.append(s.log.takeAppends());
    const head = await stores.events.headPosition();
    const inner = stores.readStore();
    /** the events (distinct positions) of each commit tried, and whether it was refused */
    const tried: { events: number; refused: boolean }[] = [];
    const tooLarge = (events: number) => events > 3;
    const readStore = checkingCommits(inner, (_key, writes) => {
      const events = new Set(writes.map((w) => w.position)).size;
      tried.push({ events, refused: tooLarge(events) });
      if (tooLarge(events)) throw new CommitTooLargeError(`a transaction of ${events} events is too large for the cache`);
    });
    const logger = quiet();
    const projector = new Projector({ eventStore: stores.events, readStore, projections: [membersProjection], batchSize: 32, retryDelayMs: 5, degradedAfter: 2, logger });
    await projector.start();
    try {
      expect(await projector.waitFor(head, 10_000)).toBe(true);
    } finally {
      await projector.stop();
    }
    expect(await inner.checkpoint(checkpointKey(membersProjection))).toBe(head);
    // halved after each refusal (32 → 16 → 8 → 4 → 2 events per batch), doubled back after 16 commits in a row
    const refusals = tried.filter((t) => t.refused).length;
    expect(refusals).toBeGreaterThanOrEqual(4);
    expect(refusals).toBeLessThanOrEqual(6);
    expect(Math.max(...tried.filter((t) => !t.refused).map((t) => t.events))).toBeLessThanOrEqual(3);
    // adapting is not degrading: no projection reported degraded on the way
    expect(logger.lines.filter((line) => line.includes('degraded'))).toEqual([]);
    expect(logger.lines.filter((line) => line.includes('refused for their size')).length).toBe(refusals);
  });

  it('a full batch whose commit fails while the log is idle is retried at once, not when the next event comes; a failure other than the size leaves the batch size alone', async () => {
    const s = new LogScenario();
    for (let i = 0; i < 12; i++) s.member(`user-${i}`);
    await stores.append(s.log.takeAppends());
    const head = await stores.events.headPosition();
    expect(head % 8n).toBe(0n); // the last batch is a full one: committed while the projector waits for the next event
    const inner = stores.readStore();
    /** the checkpoint of each commit tried */
    const tried: bigint[] = [];
    let failOnce = true;
    const readStore = checkingCommits(inner, (_key, _writes, checkpoint) => {
      tried.push(checkpoint!);
      if (checkpoint === head && failOnce) {
        failOnce = false;
        throw new Error('connection reset');
      }
    });
    const projector = new Projector({ eventStore: stores.events, readStore, projections: [membersProjection], batchSize: 8, retryDelayMs: 5, logger: quiet() });
    await projector.start();
    try {
      expect(await projector.waitFor(head, 5000)).toBe(true);
    } finally {
      await projector.stop();
    }
    expect(failOnce).toBe(false);
    // every commit, the retry too, a batch of 8 events (positions 1…head, one event each)
    expect(tried).toEqual([...Array.from({ length: Number(head / 8n) }, (_, i) => BigInt(8 * (i + 1))), head]);
  });
});

