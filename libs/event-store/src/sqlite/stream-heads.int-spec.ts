// SqliteEventStore answers a read of a stream that has not moved from memory (the heads it knows, valid while no
// other writer committed: PRAGMA data_version inline; with the commit thread, the log's last position and the
// thread's count of other connections' commits; looked at once per turn of the event loop). These specs prove the
// reads stay exact from the next turn, and that the memory is used, with either writer.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync, StatementSync } from 'node:sqlite';
import { type NewEvent, type RecordedEvent, WrongExpectedRevisionError } from '../port';
import { SqliteEventStore, type SqliteEventStoreOptions } from './sqlite-event-store';

const dir = mkdtempSync(join(tmpdir(), 'rollcall-stream-heads-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshFile = () => join(dir, `heads-${++files}.sqlite`);

const ev = (type = 'E'): NewEvent => ({ id: randomUUID(), type, data: { type }, metadata: {} });
const read = async (store: SqliteEventStore, stream: string, fromRevision?: bigint) => {
  const out: RecordedEvent[] = [];
  for await (const e of store.readStream(stream, fromRevision === undefined ? {} : { fromRevision })) out.push(e);
  return out.map((e) => `${e.revision}:${e.type}`);
};

/** counts the runs of `method` on this connection's statements whose SQL matches `sql` while `body` runs */
async function statementRuns(method: 'all' | 'get', sql: RegExp, body: () => Promise<unknown>): Promise<number> {
  const original = StatementSync.prototype[method] as (...a: unknown[]) => unknown;
  let runs = 0;
  (StatementSync.prototype as unknown as Record<string, unknown>)[method] = function (this: StatementSync, ...args: unknown[]) {
    if (sql.test(this.sourceSQL)) runs++;
    return original.apply(this, args);
  };
  try {
    await body();
  } finally {
    (StatementSync.prototype as unknown as Record<string, unknown>)[method] = original;
  }
  return runs;
}

/** counts the queries of a stream's events (the statement readStream runs) while `body` runs */
const streamQueries = (body: () => Promise<void>) => statementRuns('all', /FROM events WHERE stream = \?/, body);
/** counts the looks at `PRAGMA data_version` (whether another connection committed) while `body` runs */
const dataVersionLooks = (body: () => Promise<void>) => statementRuns('get', /PRAGMA data_version/, body);
/** counts the group commit's queries of a stream's head while `body` runs */
const headQueries = (body: () => Promise<unknown>) =>
  statementRuns('get', /SELECT revision FROM events WHERE stream = \? ORDER BY revision DESC/, body);

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** another process's connection to `file`: `commit` writes events of type R at [stream, revision], in one transaction */
function otherProcess(file: string) {
  // waits (synchronously, the turn still held) for a lock the store's commit thread may hold a moment after its commit
  // is visible (CI: "database is locked")
  const raw = new DatabaseSync(file, { timeout: 5_000 });
  const insert = raw.prepare("INSERT INTO events (id, stream, revision, type, data, metadata, created) VALUES (?, ?, ?, 'R', '{}', '{}', 0)");
  return {
    commit: (...rows: [stream: string, revision: number][]) => {
      raw.exec('BEGIN');
      for (const [stream, revision] of rows) insert.run(randomUUID(), stream, revision);
      raw.exec('COMMIT');
    },
    close: () => raw.close(),
  };
}

describe.each(['inline', 'thread'] as const)('SqliteEventStore (%s writer): reads of streams that have not moved', (writer) => {
  const open = (file: string, options: SqliteEventStoreOptions = {}) => new SqliteEventStore(file, { ...options, writer });

  it('answers from memory after a read to the end or its own append, and queries when the stream may have moved', async () => {
    const store = open(freshFile());
    await store.append('s', [ev('A'), ev('B'), ev('C')], 'no_stream');
    expect(await streamQueries(async () => expect(await read(store, 's', 3n)).toEqual([]))).toBe(0); // its own append
    expect(await streamQueries(async () => expect(await read(store, 'unknown', 0n)).toEqual([]))).toBe(1);
    expect(await streamQueries(async () => expect(await read(store, 'unknown', 0n)).toEqual([]))).toBe(0);
    await store.append('s', [ev('D')], 2n);
    expect(await streamQueries(async () => expect(await read(store, 's', 3n)).toEqual(['3:D']))).toBe(1);
    expect(await streamQueries(async () => expect(await read(store, 's', 4n)).toEqual([]))).toBe(0);
    // anywhere past the known head: nothing, from memory
    expect(await streamQueries(async () => expect(await read(store, 's', 9n)).toEqual([]))).toBe(0);
    await store.close();
  });

  it('a read that ends after its own store appended to the stream does not take the head back', async () => {
    const store = open(freshFile());
    await store.append('s', [ev('A'), ev('B')], 'no_stream');
    await store.append('other', [ev()], 'no_stream');
    const reading = store.readStream('s')[Symbol.asyncIterator]();
    expect((await reading.next()).value).toMatchObject({ revision: 0n }); // the stream's rows are read by now
    await store.append('s', [ev('C')], 1n);
    while (!(await reading.next()).done);
    expect(await read(store, 's', 2n)).toEqual(['2:C']);
    await store.close();
  });

  it('sees another connection\'s commit from the next turn of the event loop, to any stream', async () => {
    const file = freshFile();
    const a = open(file);
    const b = open(file);
    await a.append('s', [ev('A')], 'no_stream');
    expect(await read(a, 's', 1n)).toEqual([]);
    await b.append('s', [ev('B')], 0n);
    await nextTurn();
    expect(await read(a, 's', 1n)).toEqual(['1:B']);
    await b.append('t', [ev('T')], 'no_stream');
    await nextTurn();
    expect(await streamQueries(async () => expect(await read(a, 's', 2n)).toEqual([]))).toBe(1);
    // a raw connection (another process, an older version) is another connection too
    const raw = new DatabaseSync(file);
    raw.prepare("INSERT INTO events (id, stream, revision, type, data, metadata, created) VALUES (?, 's', 2, 'R', '{}', '{}', 0)").run(randomUUID());
    raw.close();
    await nextTurn();
    expect(await read(a, 's', 2n)).toEqual(['2:R']);
    await a.close();
    await b.close();
  });

  it('looks at the other connections\' commits once per turn of the event loop', async () => {
    const file = freshFile();
    const a = open(file);
    for (const s of ['s', 't', 'u']) await a.append(s, [ev()], 'no_stream');
    await nextTurn();
    const raw = new DatabaseSync(file);
    const looks = await dataVersionLooks(async () => {
      // one turn: three reads, one look; a commit of another connection in the same turn is seen from the next
      const reads = Promise.all(['s', 't', 'u'].map((s) => read(a, s, 1n)));
      raw.prepare("INSERT INTO events (id, stream, revision, type, data, metadata, created) VALUES (?, 't', 1, 'R', '{}', '{}', 0)").run(randomUUID());
      expect(await read(a, 't', 1n)).toEqual([]);
      expect(await reads).toEqual([[], [], []]);
    });
    expect(looks).toBe(1);
    await nextTurn();
    expect(await read(a, 't', 1n)).toEqual(['1:R']);
    // the append checks its expectation against the log itself, whatever the reads of this turn knew
    raw.prepare("INSERT INTO events (id, stream, revision, type, data, metadata, created) VALUES (?, 'u', 1, 'R', '{}', '{}', 0)").run(randomUUID());
    await expect(a.append('u', [ev()], 0n)).rejects.toBeInstanceOf(WrongExpectedRevisionError);
    raw.close();
    await a.close();
  });

  it("a request's first read looks again (requestBegins): a commit answered within the turn, before the request came, is seen", async () => {
    const file = freshFile();
    const a = open(file);
    for (const s of ['s', 't']) await a.append(s, [ev()], 'no_stream');
    await nextTurn();
    const other = otherProcess(file);
    expect(await read(a, 's', 1n)).toEqual([]); // this turn's look (say, a timer's read before the event loop's poll)
    other.commit(['t', 1]); // another replica commits and answers its client, who asks this process next
    expect(await read(a, 't', 1n)).toEqual([]); // within the turn: not seen without a new look
    a.requestBegins(); // the client's request arrives
    expect(await read(a, 't', 1n)).toEqual(['1:R']);
    other.close();
    await a.close();
  });

  it('alone on the log (othersMayWrite false), reads take the heads they know without looking; an append still refuses what another connection made stale', async () => {
    const file = freshFile();
    const a = open(file);
    for (const s of ['s', 't']) await a.append(s, [ev()], 'no_stream');
    await nextTurn();
    a.othersMayWrite(false);
    const other = otherProcess(file);
    other.commit(['t', 1]); // a process it was not told of (it registers before it can commit: data-format.ts)
    await nextTurn();
    expect(await dataVersionLooks(async () => {
      a.requestBegins();
      expect(await read(a, 's', 1n)).toEqual([]);
      expect(await read(a, 't', 1n)).toEqual([]); // from memory: not looked at
    })).toBe(0);
    await expect(a.append('t', [ev()], 0n)).rejects.toBeInstanceOf(WrongExpectedRevisionError);
    // told another may write: the next request looks again (s's head known again first: read to its end)
    expect(await read(a, 's', 1n)).toEqual([]);
    await nextTurn();
    other.commit(['s', 1]);
    a.requestBegins();
    expect(await read(a, 's', 1n)).toEqual([]); // still alone: not seen
    a.othersMayWrite(true);
    a.requestBegins();
    expect(await read(a, 's', 1n)).toEqual(['1:R']);
    other.close();
    await a.close();
  });

  // KnownHeads.saw: two reads of one turn never show two moments of the log where the later is the older (an
  // organization state behind its workspace's, replicas e2e seed 56 of session 21)
  it.each([
    ['a stream it never read', (a: SqliteEventStore) => read(a, 'w')],
    ['a read bounded by a position', async (a: SqliteEventStore) => {
      for await (const _ of a.readStream('s', { toPosition: 1n << 62n }));
    }],
    ['the log after a position', async (a: SqliteEventStore) => {
      for await (const _ of a.readAll({ fromPosition: 1n }));
    }],
    ["the log's head", (a: SqliteEventStore) => a.headPosition()],
  ])("a read of the file that finds another connection's commit within the turn (%s): a later read of that turn shows the commit too", async (_kind, readingTheFile) => {
    const file = freshFile();
    const a = open(file);
    for (const s of ['s', 't']) await a.append(s, [ev()], 'no_stream');
    await nextTurn();
    const other = otherProcess(file);
    const looks = await dataVersionLooks(async () => {
      expect(await read(a, 's', 1n)).toEqual([]); // this turn's look
      // another process's commit, to s and to a stream this store never read, within the turn
      other.commit(['s', 1], ['w', 0]);
      expect(await read(a, 't', 1n)).toEqual([]); // nothing read showed the commit yet: the turn's heads hold
      await readingTheFile(a);
      expect(await read(a, 's', 1n)).toEqual(['1:R']);
      expect(await read(a, 's', 2n)).toEqual([]);
    });
    // the turn's look and the one the row past it asked for; the rows before it ask for none
    expect(looks).toBe(2);
    other.close();
    await a.close();
  });

  it('a read of the file that finds only rows committed before the last look looks at nothing more', async () => {
    const file = freshFile();
    const b = open(file);
    for (const s of ['s', 't']) await b.append(s, [ev(), ev()], 'no_stream');
    await b.close();
    const a = open(file);
    await nextTurn();
    const looks = await dataVersionLooks(async () => {
      expect(await read(a, 's')).toEqual(['0:E', '1:E']);
      expect(await read(a, 't')).toEqual(['0:E', '1:E']);
      expect(await read(a, 's', 2n)).toEqual([]);
    });
    // the turn's look only: the rows were there when the store opened
    expect(looks).toBe(1);
    const c = open(file);
    await c.append('t', [ev()], 1n);
    await c.close();
    await nextTurn();
    // the turn's look (it finds c's commit: nothing is known), one more for the first row past what was seen (a
    // look does not learn where the log ends), none for s's rows after it
    expect(await dataVersionLooks(async () => {
      expect(await read(a, 't', 2n)).toEqual(['2:E']);
      expect(await read(a, 's')).toEqual(['0:E', '1:E']);
      expect(await read(a, 't')).toEqual(['0:E', '1:E', '2:E']);
    })).toBe(2);
    await a.close();
  });

  it("a read from past the revision after the head it knows (the caller saw more, e.g. another process's snapshot) looks at once: a later read of that turn shows the commit", async () => {
    const file = freshFile();
    const a = open(file);
    for (const s of ['s', 'u']) await a.append(s, [ev()], 'no_stream');
    await nextTurn();
    const other = otherProcess(file);
    expect(await read(a, 'u', 1n)).toEqual([]); // this turn's look
    other.commit(['s', 1], ['u', 1]);
    // s's state came from elsewhere at revision 1: read from 2
    expect(await read(a, 's', 2n)).toEqual([]);
    expect(await read(a, 'u', 1n)).toEqual(['1:R']);
    other.close();
    await a.close();
  });

  if (writer === 'thread')
    it("another connection's commit while the commit thread opens is not taken for the thread's own (review, session 22)", async () => {
      const file = freshFile();
      const seed = open(file);
      await seed.append('x', [ev()], 'no_stream');
      await seed.close();
      const a = open(file);
      expect(await read(a, 'x', 1n)).toEqual([]); // x's head remembered
      // before the thread's connection takes its first data_version (it is still starting)
      const other = otherProcess(file);
      other.commit(['x', 1], ['w', 0]);
      other.close();
      // an own commit after it: the log's last position is the thread's own
      await a.append('y', [ev()], 'no_stream');
      await nextTurn();
      expect(await read(a, 'w')).toEqual(['0:R']);
      expect(await read(a, 'x', 1n)).toEqual(['1:R']);
      await a.close();
    });

  if (writer === 'thread')
    it("its own commit, answered after a look that let the heads go for another writer's commit after it, is not noted: the head is read again (replicas e2e seed 49)", async () => {
      const file = freshFile();
      const a = open(file);
      await a.append('s', [ev()], 'no_stream');
      expect(await read(a, 's', 1n)).toEqual([]); // s's head known
      const appending = a.append('s', [ev('O')], 0n);
      await nextTurn(); // the append is posted to the thread
      // the thread commits; its answer waits while this turn holds the main thread
      const probe = new DatabaseSync(file, { readOnly: true });
      const revisionOfS = probe.prepare("SELECT MAX(revision) AS r FROM events WHERE stream = 's'");
      const deadline = Date.now() + 10_000;
      while (Number((revisionOfS.get() as { r: number }).r) < 1) if (Date.now() > deadline) throw new Error('the thread did not commit');
      probe.close();
      // another writer commits after it, and a read of the file sees that: the heads go
      const other = otherProcess(file);
      other.commit(['s', 2]);
      other.close();
      await a.headPosition();
      await appending;
      expect(await read(a, 's', 2n)).toEqual(['2:R']);
      await a.close();
    });

  it('appends to a stream whose head it knows without querying the head, and still refuses what another connection made stale', async () => {
    const file = freshFile();
    const a = open(file);
    const b = open(file);
    await a.append('s', [ev('A')], 'no_stream');
    // (the commit thread's queries run on its own connection, not counted here)
    const headQueriesHere = writer === 'inline' ? 1 : 0;
    expect(await headQueries(() => a.append('s', [ev('B')], 0n))).toBe(0);
    // in one group commit: a written append moves the head for the next one, a failed one (its savepoint rolled back) does not
    const group = await headQueries(async () => {
      const results = await Promise.allSettled([
        a.append('s', [ev('C')], 1n),
        a.append('s', [ev('X'), ev('Y')], 1n),
        a.append('s', [ev('D')], 2n),
        a.appendMany([{ stream: 's', events: [ev('E')], expected: 3n }, { stream: 'u', events: [ev('U')], expected: 'no_stream' }]),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    });
    expect(group).toBe(headQueriesHere); // 'u' only: never read nor written by this connection
    // another connection's append: the heads are forgotten, the stale expectation refused, the right one written
    await b.append('s', [ev('F')], 4n);
    await expect(a.append('s', [ev('G')], 4n)).rejects.toBeInstanceOf(WrongExpectedRevisionError);
    await a.append('s', [ev('G')], 5n);
    // a raw connection (another process) is another connection too
    const raw = new DatabaseSync(file);
    raw.prepare("INSERT INTO events (id, stream, revision, type, data, metadata, created) VALUES (?, 's', 7, 'R', '{}', '{}', 0)").run(randomUUID());
    raw.close();
    await expect(a.append('s', [ev('H')], 6n)).rejects.toBeInstanceOf(WrongExpectedRevisionError);
    await a.append('s', [ev('H')], 7n);
    expect(await read(b, 's')).toEqual(['0:A', '1:B', '2:C', '3:D', '4:E', '5:F', '6:G', '7:R', '8:H']);
    await a.close();
    await b.close();
  });

  it('random appends and reads over two connections (early stops, small pages) always read what a fresh query reads', async () => {
    const file = freshFile();
    const stores = [open(file, { pageSize: 3 }), open(file, { pageSize: 3 })];
    const truth = new DatabaseSync(file);
    const truthOf = (stream: string, from: bigint) =>
      (truth.prepare('SELECT revision, type FROM events WHERE stream = ? AND revision >= ? ORDER BY revision').all(stream, from) as { revision: number; type: string }[]).map(
        (r) => `${r.revision}:${r.type}`,
      );
    let seed = 7;
    const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let step = 0; step < 400; step++) {
      const store = stores[random(2)]!;
      const stream = `s${random(4)}`;
      const op = random(10);
      if (op < 4) {
        // appends, sometimes several in one group commit
        const count = 1 + random(3);
        await Promise.all(Array.from({ length: count }, () => store.append(stream, Array.from({ length: 1 + random(4) }, () => ev(`e${step}`)), 'any')));
      } else if (op < 5) {
        // a read its consumer stops early: it proves nothing about the head
        for await (const e of store.readStream(stream, { fromRevision: BigInt(random(6)) })) if (e) break;
      } else {
        const head = truthOf(stream, 0n).length;
        const from = BigInt(Math.max(0, head - 2 + random(5)));
        expect([step, await read(store, stream, from)]).toEqual([step, truthOf(stream, from)]);
      }
    }
    truth.close();
    for (const s of stores) await s.close();
  });
});
