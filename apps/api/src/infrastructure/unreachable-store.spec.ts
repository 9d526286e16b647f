import { dataDirDiskProblem, unreachableStore } from './unreachable-store';

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

describe("a data dir's disk that fails the start (probe 41 F9)", () => {
  const storage = (error: unknown) => ((error as { errcode?: number }).errcode === 13 ? 'disk full' : undefined);

  it('a full disk met by SQLite or by a file write: one sentence naming the data dir, the cause and the fix', () => {
    expect(dataDirDiskProblem({ code: 'ERR_SQLITE_ERROR', errcode: 13, message: 'database or disk is full' }, '/var/lib/rollcall', storage)).toBe(
      'ROLLCALL_DATA_DIR /var/lib/rollcall cannot be written now: disk full. Free space on its device or repair it, then start again (nothing was left half-written)',
    );
    expect(dataDirDiskProblem(Object.assign(new Error("ENOSPC: no space left on device, write"), { code: 'ENOSPC' }), '/d', storage)).toContain('no space left on its device (ENOSPC)');
    expect(dataDirDiskProblem(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }), '/d', storage)).toContain('an I/O error (EIO)');
  });

  it('anything else is not said to be the disk', () => {
    expect(dataDirDiskProblem(new TypeError('x is undefined'), '/d', storage)).toBeUndefined();
    expect(dataDirDiskProblem(Object.assign(new Error('EADDRINUSE'), { code: 'EADDRINUSE' }), '/d', storage)).toBeUndefined();
  });
});
