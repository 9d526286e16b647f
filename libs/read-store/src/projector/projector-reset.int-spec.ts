/**
 * A projector's reset and replay over the SQLite store (reset.ts): the replay writes bare tables, and the projector
 * builds their indexes and search rows itself once it reaches the head, so that no reader's first query has to (on
 * the API's thread) and the live writes after it maintain them, as in steady state.
 */
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { PROJECTIONS } from '../projections';
import { LogScenario } from '../projections/testing/scenario';
import { Projector, type ProjectorLogger } from './projector';
import { TempStores } from './testing/temp-stores';

const quiet = (): ProjectorLogger => ({ info: () => undefined, error: () => undefined });

/** per collection of the app's projections: ready, with the indexes its spec lists (schema.ts names them) */
const expected = Object.fromEntries(
  PROJECTIONS.flatMap((p) => Object.entries(p.collections)).map(([name, spec]) => [
    name,
    {
      ready: 1,
      indexes: [
        ...spec.indexes.map((field) => `rs_idx_${name}__${field}`),
        ...(spec.compound ?? []).map((fields) => `rs_idx_${name}__${fields.join('+')}`),
      ].sort(),
    },
  ]),
);

/** the same, as the file holds it: read by a connection of its own, never through the store (a read would build) */
function readiness(file: string) {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return Object.fromEntries(
      Object.keys(expected).map((name) => [
        name,
        {
          ready: db.prepare('SELECT ready FROM rs_collections WHERE name = ?').get(name)?.ready,
          indexes: db
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = ? AND name GLOB 'rs_idx_*' ORDER BY name")
            .all(`rs_doc_${name}`)
            .map((row) => row.name),
        },
      ]),
    );
  } finally {
    db.close();
  }
}

/** members' search rows and documents: as many (each written with its search row, or built), and how many */
function membersSearched(file: string) {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const searchRows = db.prepare('SELECT count(*) AS n FROM rs_search_members').get()?.n;
    const documents = db.prepare('SELECT count(*) AS n FROM rs_doc_members WHERE doc IS NOT NULL').get()?.n;
    expect(searchRows).toBe(documents);
    return documents;
  } finally {
    db.close();
  }
}

describe('Projector after a reset', () => {
  let stores: TempStores;
  beforeEach(() => (stores = new TempStores()));
  afterEach(() => stores.close());

  it('builds the indexes of every collection it reset once its replay reaches the head, without a read; live writes maintain them', async () => {
    const s = new LogScenario().member('bob').member('cy').member('dee');
    s.advance(60).change('bob', { roles: ['manager'] });
    s.invite('eve@acme.test');
    s.revoke('cy');
    await stores.append(s.log.takeAppends());
    const file = join(stores.dir, 'read.sqlite');
    const read = stores.readStore();
    // batches of 2: the replay takes several commits, and only the last one reaches the head
    const projector = new Projector({ eventStore: stores.events, readStore: read, projections: PROJECTIONS, batchSize: 2, logger: quiet() });
    try {
      await projector.start();
      expect(await projector.waitFor(await stores.events.headPosition(), 5000)).toBe(true);
      // built before the checkpoint reached the head: whoever waits for it finds them
      expect(readiness(file)).toEqual(expected);
      const replayed = membersSearched(file);
      expect(replayed).toBeGreaterThan(3);

      s.member('fay');
      s.revoke('dee');
      await stores.append(s.log.takeAppends());
      expect(await projector.waitFor(await stores.events.headPosition(), 5000)).toBe(true);
      expect(readiness(file)).toEqual(expected);
      expect(membersSearched(file)).toBe(Number(replayed) + 1);
    } finally {
      await projector.stop();
    }
  });

  it('over an empty log, builds them at its start (nothing to replay): the first events find them', async () => {
    const file = join(stores.dir, 'read.sqlite');
    const read = stores.readStore();
    const projector = new Projector({ eventStore: stores.events, readStore: read, projections: PROJECTIONS, logger: quiet() });
    try {
      await projector.start();
      expect(readiness(file)).toEqual(expected);
      const s = new LogScenario().member('bob');
      await stores.append(s.log.takeAppends());
      expect(await projector.waitFor(await stores.events.headPosition(), 5000)).toBe(true);
      expect(membersSearched(file)).toBe(2);
    } finally {
      await projector.stop();
    }
  });
});
