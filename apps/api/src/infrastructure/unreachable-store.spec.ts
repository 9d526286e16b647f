import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storageFault } from '../shared/storage-fault';
import { dataDirStartProblem, filesNotDatabases, unreachableStore } from './unreachable-store';

/** the KurrentDB client's error: `name` "Error", its kind in `type` (as @kurrent/kurrentdb-client's CommandErrorBase) */
class UnavailableError extends Error {
  readonly type = 'unavailable';
}
const mongoError = (message: string) => Object.assign(new Error(message), { name: 'MongoServerSelectionError' });

describe('a store not reachable at start (probe 38b F3)', () => {
  const config = { eventstoreUrl: 'esdb://admin:changeit@db.internal:2113?tls=false', mongoUrl: 'mongodb://reader:s3cret@mongo.internal:27017/rollcall' };

  it('names the setting and the address, never its credentials', () => {
    expect(unreachableStore(new UnavailableError('UnavailableError'), config)).toBe(
      'EVENTSTORE_URL: the event store at esdb://db.internal:2113?tls=false could not be reached (UnavailableError): start it, or check the address',
    );
    expect(unreachableStore(mongoError('connect ECONNREFUSED 10.0.0.7:27017\nmore'), config)).toBe(
      'MONGO_URL: MongoDB at mongodb://mongo.internal:27017/rollcall could not be reached (connect ECONNREFUSED 10.0.0.7:27017): start it, or check the address',
    );
  });

  it('says nothing of other errors, nor of a store that is not configured', () => {
    expect(unreachableStore(new Error('boom'), config)).toBeUndefined();
    expect(unreachableStore(new UnavailableError('UnavailableError'), { mongoUrl: config.mongoUrl })).toBeUndefined();
    expect(unreachableStore(mongoError('x'), {})).toBeUndefined();
    expect(unreachableStore(undefined, config)).toBeUndefined();
  });
});

describe("a data dir's disk or files that fail the start (probe 41 F9, 41b F2)", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rollcall-start-problem-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const sqliteError = (errcode: number, message: string) => Object.assign(new Error(message), { code: 'ERR_SQLITE_ERROR', errcode });

  it('a full disk met by SQLite or by a file write: one sentence naming the data dir, the cause and the fix, exit 75', () => {
    expect(dataDirStartProblem(sqliteError(13, 'database or disk is full'), '/var/lib/rollcall', storageFault)).toEqual({
      message: 'ROLLCALL_DATA_DIR /var/lib/rollcall cannot be written now: disk full. Free space on its device or repair it, then start again',
      exitCode: 75,
    });
    expect(dataDirStartProblem(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }), '/d', storageFault)?.message).toContain('no space left on its device (ENOSPC)');
    expect(dataDirStartProblem(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }), '/d', storageFault)).toMatchObject({ exitCode: 75 });
  });

  it('a file that is no database is named, with what may be done about it, exit 78 (not "free space", not restarted for ever)', () => {
    writeFileSync(join(dir, 'events.sqlite'), Buffer.concat([Buffer.from('SQLite format 3\0', 'latin1'), Buffer.alloc(4080)]));
    writeFileSync(join(dir, 'read.sqlite'), Buffer.alloc(4096, 0x5a));
    const problem = dataDirStartProblem(sqliteError(26, 'file is not a database'), dir, storageFault);
    expect(problem?.exitCode).toBe(78);
    expect(problem?.message).toContain(`ROLLCALL_DATA_DIR ${dir} cannot be used: read.sqlite is not a database. Restore the data dir from a backup; read.sqlite and audit.sqlite are made again from the log`);
    expect(filesNotDatabases(dir)).toEqual(['read.sqlite']);
    // a damaged page further in (no header to tell): the error's own words
    rmSync(join(dir, 'read.sqlite'));
    expect(dataDirStartProblem(sqliteError(11, 'database disk image is malformed'), dir, storageFault)?.message).toContain('a data file reads as damaged (database disk image is malformed)');
  });

  it('anything else is not said to be the disk: a lock another process holds, a bug, a port', () => {
    expect(dataDirStartProblem(sqliteError(5, 'database is locked'), '/d', storageFault)).toBeUndefined();
    expect(dataDirStartProblem(new TypeError('x is undefined'), '/d', storageFault)).toBeUndefined();
    expect(dataDirStartProblem(Object.assign(new Error('EADDRINUSE'), { code: 'EADDRINUSE' }), '/d', storageFault)).toBeUndefined();
  });
});
