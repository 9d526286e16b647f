import { PROJECTIONS } from '../projections';
import { MEMBERS, type MemberDoc, membersProjection } from '../projections/members';
import { type Projection, checkpointKey } from '../projections/projection';
import { LogScenario } from '../projections/testing/scenario';
import { workspacesProjection } from '../projections/workspaces';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { SqliteEventStore } from '@rollcall/event-store';
import { Projector, type ProjectorLogger } from './projector';
import { TempStores, dump } from './testing/temp-stores';

const quiet = (): ProjectorLogger & { lines: string[] } => {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), error: (m) => lines.push(m) };
};

/** a projection that counts invitations, and throws on the one to `explode@acme.test` while `broken` */
const fragile = (state: { broken: boolean }): Projection => ({
  name: 'fragile',
  collections: { fragile: { indexes: [] } },
  eventTypes: ['UserInvited'],
  apply: async (e, read) => {
    if (e.event.type !== 'UserInvited') return [];
    if (state.broken && e.event.data.email === 'explode@acme.test') throw new Error('cannot digest this invitation');
    const counter = await read.get<{ _id: string; n: number }>('fragile', 'count');
    return [{ kind: 'upsert', collection: 'fragile', doc: { _id: 'count', n: (counter?.n ?? 0) + 1 } }];
  },
});

describe('Projector', () => {
  let stores: TempStores;
  beforeEach(() => (stores = new TempStores()));
  afterEach(() => stores.close());

  it('catches up from the start, follows live appends, and commits its checkpoint with the documents', async () => {
    const s = new LogScenario().member('bob');
    await stores.append(s.log.takeAppends());
    const read = stores.readStore();
    const projector = new Projector({ eventStore: stores.events, readStore: read, projections: PROJECTIONS, batchSize: 3, logger: quiet() });
    await projector.start();
    const head = await stores.events.headPosition();
    expect(await projector.waitFor(head, 5000)).toBe(true);
    expect((await read.get<MemberDoc>(MEMBERS, 'ws-1:bob'))?.doc.status).toBe('active');

    s.revoke('bob');
    await stores.append(s.log.takeAppends());
    const later = await stores.events.headPosition();
    expect(await projector.waitFor(later, 5000, ['members'])).toBe(true);
    expect((await read.get<MemberDoc>(MEMBERS, 'ws-1:bob'))?.doc.status).toBe('revoked');
    expect(await projector.waitFor(later + 1n, 50)).toBe(false);
    await projector.stop();

    for (const p of PROJECTIONS) expect(await read.checkpoint(checkpointKey(p))).toBe(later);
    expect(projector.status()).toEqual(
      PROJECTIONS.map((p) => ({ name: p.name, checkpoint: later, lag: 0n, processed: Number(later), state: 'stopped' })),
    );
  });

  it('replays members with its indexes from the start of a reset (readyAtReset): no list request has to build them', async () => {
    const s = new LogScenario().member('bob').member('cy');
    await stores.append(s.log.takeAppends());
    const read = stores.readStore();
    const projector = new Projector({ eventStore: stores.events, readStore: read, projections: [membersProjection], logger: quiet() });
    await projector.start();
    expect(await projector.waitFor(await stores.events.headPosition(), 5000)).toBe(true);
    await projector.stop();
    const db = new DatabaseSync(join(stores.dir, 'read.sqlite'), { readOnly: true });
    try {
      const ready = db.prepare('SELECT ready FROM rs_collections WHERE name = ?').get(MEMBERS);
      const indexes = db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'rs_doc_members' AND name LIKE 'rs_idx_%'").get();
      const searchRows = db.prepare('SELECT count(*) AS n FROM rs_search_members').get();
      expect({ ready: ready?.ready, indexes: indexes?.n, searchRows: searchRows?.n }).toEqual({ ready: 1, indexes: 6, searchRows: 3 });
    } finally {
      db.close();
    }
  });

  it('resumes from its checkpoint after a restart, without applying anything twice', async () => {
    const s = new LogScenario();
    s.invite('a@acme.test');
    await stores.append(s.log.takeAppends());
    const read = stores.readStore();
    const state = { broken: false };
    const first = new Projector({ eventStore: stores.events, readStore: read, projections: [fragile(state)], logger: quiet() });
    await first.start();
    expect(await first.waitFor(await stores.events.headPosition(), 5000)).toBe(true);
    await first.stop();

    s.invite('b@acme.test');
    await stores.append(s.log.takeAppends());
    const second = new Projector({ eventStore: stores.events, readStore: read, projections: [fragile(state)], logger: quiet() });
    await second.start();
    expect(await second.waitFor(await stores.events.headPosition(), 5000)).toBe(true);
    await second.stop();
    expect((await read.get('fragile', 'count'))?.doc).toEqual({ _id: 'count', n: 2 });
    expect(second.status()[0]!.processed).toBe(1);
  });

  it('a projection without a checkpoint starts from empty collections: what a reset that died left is not folded onto', async () => {
    const s = new LogScenario();
    s.invite('a@acme.test');
    await stores.append(s.log.takeAppends());
    const read = stores.readStore();
    await read.init({ fragile: { indexes: [] } });
    // left by a reset that died half-way: documents, no checkpoint
    await read.commit('leftover', [{ kind: 'upsert', collection: 'fragile', doc: { _id: 'count', n: 41 }, position: 99n }], 99n);
    expect(await read.checkpoint('fragile')).toBeUndefined();
    const projector = new Projector({ eventStore: stores.events, readStore: read, projections: [fragile({ broken: false })], logger: quiet() });
    await projector.start();
    expect(await projector.waitFor(await stores.events.headPosition(), 5000)).toBe(true);
    await projector.stop();
    expect((await read.get('fragile', 'count'))?.doc).toEqual({ _id: 'count', n: 1 });
  });

  it('a projection of a new version replays the log at its start: what the earlier version wrote is not kept', async () => {
    const s = new LogScenario();
    s.invite('a@acme.test');
    s.invite('b@acme.test');
    await stores.append(s.log.takeAppends());
    const head = await stores.events.headPosition();
    const read = stores.readStore();
    const run = async (projection: Projection) => {
      const projector = new Projector({ eventStore: stores.events, readStore: read, projections: [projection], logger: quiet() });
      await projector.start();
      expect(await projector.waitFor(head, 5000)).toBe(true);
      await projector.stop();
      return projector.status()[0]!.processed;
    };
    // version 1 counted by one; version 2 counts by ten: the same log, other documents
    const byTen: Projection = {
      ...fragile({ broken: false }),
      version: 2,
      apply: async (e, r) => {
        const counter = await r.get<{ _id: string; n: number }>('fragile', 'count');
        return e.event.type === 'UserInvited' ? [{ kind: 'upsert', collection: 'fragile', doc: { _id: 'count', n: (counter?.n ?? 0) + 10 } }] : [];
      },
    };
    expect(await run(fragile({ broken: false }))).toBe(Number(head));
    expect(await run(fragile({ broken: false }))).toBe(0);
    expect(await run(byTen)).toBe(Number(head));
    expect((await read.get('fragile', 'count'))?.doc).toEqual({ _id: 'count', n: 20 });
    expect(await read.checkpoint('fragile@2')).toBe(head);
    expect(await read.checkpoint('fragile')).toBeUndefined();
    expect(await run(byTen)).toBe(0);
    // going back to version 1 replays it too: its old checkpoint went with the reset
    expect(await run(fragile({ broken: false }))).toBe(Number(head));
    expect((await read.get('fragile', 'count'))?.doc).toEqual({ _id: 'count', n: 2 });
    // and forward again: version 1 projected after version 2's checkpoint, over its documents: replayed, not resumed
    expect(await run(byTen)).toBe(Number(head));
    expect((await read.get('fragile', 'count'))?.doc).toEqual({ _id: 'count', n: 20 });
    expect(await read.checkpoint('fragile')).toBeUndefined();
  });

  it('stops only the projection that throws, logs it once, keeps its event for a restart', async () => {
    const s = new LogScenario();
    s.invite('a@acme.test');
    s.invite('explode@acme.test');
    s.invite('c@acme.test');
    await stores.append(s.log.takeAppends());
    const explodeAt = (await stores.events.headPosition()) - 1n;
    const read = stores.readStore();
    const state = { broken: true };
    const logger = quiet();
    const projector = new Projector({
      eventStore: stores.events,
      readStore: read,
      projections: [fragile(state), membersProjection, workspacesProjection],
      logger,
    });
    await projector.start();
    const head = await stores.events.headPosition();
    expect(await projector.waitFor(head, 5000, ['members', 'workspaces'])).toBe(true);
    expect(await projector.waitFor(head, 1000)).toBe(false);
    const failed = projector.status().find((st) => st.name === 'fragile')!;
    expect(failed).toMatchObject({ state: 'failed', checkpoint: explodeAt - 1n, lag: head - explodeAt + 1n });
    expect(failed.error).toMatch(/at \d+: cannot digest this invitation/);
    expect(logger.lines).toEqual([
      expect.stringMatching(/^projection fragile failed on event evt-\S+ \(UserInvited, position \d+\): cannot digest this invitation/),
    ]);
    expect(await read.checkpoint('fragile')).toBe(explodeAt - 1n);
    expect((await read.get('fragile', 'count'))?.doc).toEqual({ _id: 'count', n: 1 });
    await projector.stop();

    state.broken = false;
    const restarted = new Projector({ eventStore: stores.events, readStore: read, projections: [fragile(state)], logger: quiet() });
    await restarted.start();
    expect(await restarted.waitFor(head, 5000)).toBe(true);
    await restarted.stop();
    expect((await read.get('fragile', 'count'))?.doc).toEqual({ _id: 'count', n: 3 });
  });

  it('stops every projection before an event a later version wrote, on a stream of the domain; passes others (ADR 0020 point 4)', async () => {
    const s = new LogScenario().member('bob');
    await stores.append(s.log.takeAppends());
    // the application's own records and a foreign stream's types are not the domain's: passed
    await stores.events.append('erasures-org-1', [{ id: '00000000-0000-4000-8000-000000000001', type: 'PersonalDataErased', data: {}, metadata: {} }], 'any');
    await stores.events.append('rollcall-snapshot-workspace-ws-1', [{ id: '00000000-0000-4000-8000-000000000002', type: 'SnapshotChunk', data: {}, metadata: {} }], 'any');
    const passed = await stores.events.headPosition();
    // a type this version does not know, on a workspace's stream
    await stores.events.append('workspace-ws-1', [{ id: '00000000-0000-4000-8000-000000000003', type: 'TeamArchived', data: { workspaceId: 'ws-1' }, metadata: { schemaVersion: 1 } }], 'any');
    s.revoke('bob');
    await stores.append(s.log.takeAppends());
    const head = await stores.events.headPosition();
    const read = stores.readStore();
    const logger = quiet();
    const projector = new Projector({ eventStore: stores.events, readStore: read, projections: PROJECTIONS, logger });
    await projector.start();
    expect(await projector.waitFor(head, 2000)).toBe(false);
    await projector.stop();
    for (const p of PROJECTIONS) expect(await read.checkpoint(checkpointKey(p))).toBe(passed);
    expect(projector.status().every((st) => st.state === 'failed' && st.error!.endsWith('(TeamArchived, schema version 1): a later version wrote it; upgrade this process'))).toBe(true);
    // bob's revocation, after it, was not projected as if the event had not happened
    expect((await read.get<MemberDoc>(MEMBERS, 'ws-1:bob'))?.doc.status).toBe('active');
    expect(logger.lines).toEqual([expect.stringMatching(/^projector: workspace-ws-1 holds an event this version of Rollcall cannot read \(TeamArchived.*stopped before it: upgrade this process$/)]);

    // a known type in a newer schema version than this code reads stops it the same way
    const stores2 = new TempStores();
    try {
      await stores2.append(new LogScenario().member('cy').log.takeAppends());
      await stores2.events.append('workspace-ws-1', [{ id: '00000000-0000-4000-8000-000000000004', type: 'AccessLevelChanged', data: {}, metadata: { schemaVersion: 2 } }], 'any');
      const newer = new Projector({ eventStore: stores2.events, readStore: stores2.readStore(), projections: [membersProjection], logger: quiet() });
      await newer.start();
      expect(await newer.waitFor(await stores2.events.headPosition(), 1000)).toBe(false);
      await newer.stop();
      expect(newer.status()[0]!.error).toMatch(/\(AccessLevelChanged, schema version 2\)/);
    } finally {
      stores2.close();
    }
  });

  it('builds the same read models in one batch as in batches of one event', async () => {
    const s = new LogScenario(['ws-1', 'ws-2']).member('bob').member('cy', {}, 'ws-2');
    s.profile('bob', { displayName: 'Robert' }).revoke('cy', 'ws-2').deleteUser('bob');
    await stores.append(s.log.takeAppends());
    const head = await stores.events.headPosition();
    const models = [];
    for (const [name, batchSize] of [['big', 10_000], ['small', 1]] as const) {
      const read = stores.readStore(name);
      const projector = new Projector({ eventStore: stores.events, readStore: read, projections: PROJECTIONS, batchSize, logger: quiet() });
      await projector.start();
      await projector.waitFor(head, 5000);
      await projector.stop();
      models.push(await dump(read, PROJECTIONS));
    }
    expect(models[0]).toEqual(models[1]);
    expect(models[0]!.members!.length).toBeGreaterThan(0);
  });

  it('sees appends made by another process when polling (embedded store read by a separate projector)', async () => {
    const s = new LogScenario();
    await stores.append(s.log.takeAppends());
    const own = new SqliteEventStore(stores.eventsFile, { durability: 'normal' });
    const read = stores.readStore();
    const projector = new Projector({ eventStore: own, readStore: read, projections: [membersProjection], pollIntervalMs: 20, logger: quiet() });
    try {
      await projector.start();
      expect(await projector.waitFor(await own.headPosition(), 5000)).toBe(true);
      s.member('bob');
      await stores.append(s.log.takeAppends()); // through the other connection: `own` hears nothing of it
      expect(await projector.waitFor(await stores.events.headPosition(), 5000)).toBe(true);
      expect((await read.get<MemberDoc>(MEMBERS, 'ws-1:bob'))?.doc.status).toBe('active');
    } finally {
      await projector.stop();
      await own.close();
    }
  });
});
