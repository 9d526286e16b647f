// What a store that cannot be used is answered with (docs/replicas-and-faults.md: 503 EVENT_STORE_UNAVAILABLE naming
// the cause, never a 500): probe 41 F2, a failing disk (EIO) read by SQLite as a damaged file answered 500.
import { Logger } from '@nestjs/common';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { ConcurrencyExhaustedError } from '../command-path/command-errors';
import { ProblemFilter, problemFor } from './problem';
import { READ_ONLY_FILE_SYSTEM, faultUnder, onReadOnlyFileSystem, storageFault } from '../storage-fault';

/** the error node:sqlite throws for a file that is no database (SQLITE_NOTADB), as a failing disk's garbage reads */
function notADatabaseError(): unknown {
  const dir = mkdtempSync(join(tmpdir(), 'rollcall-problem-'));
  try {
    const file = join(dir, 'garbage.sqlite');
    writeFileSync(file, Buffer.alloc(8192, 0x5a));
    const db = new DatabaseSync(file);
    try {
      db.exec('SELECT * FROM sqlite_master');
    } catch (error) {
      return error;
    } finally {
      db.close();
    }
    throw new Error('a garbage file opened as a database');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('a store that cannot be used answers 503 EVENT_STORE_UNAVAILABLE with its cause, logged (probe 41 F2)', () => {
  it.each([
    ['a failing disk read as a damaged file (SQLITE_CORRUPT)', { code: 'ERR_SQLITE_ERROR', errcode: 11, message: 'database disk image is malformed' }, 'damaged'],
    ['an fsync that failed (SQLITE_IOERR_FSYNC, an extended code)', { code: 'ERR_SQLITE_ERROR', errcode: 10 | (4 << 8), message: 'disk I/O error' }, 'I/O error'],
    ['a full disk (SQLITE_FULL)', { code: 'ERR_SQLITE_ERROR', errcode: 13, message: 'database or disk is full' }, 'disk full'],
    ['a damaged file as the cause of another error', new Error('the group commit failed', { cause: { code: 'ERR_SQLITE_ERROR', errcode: 11 } }), 'damaged'],
  ])('%s', (_, error, cause) => {
    const { problem, fault } = problemFor(error);
    expect({ status: problem.status, code: problem.code }).toEqual({ status: 503, code: 'EVENT_STORE_UNAVAILABLE' });
    expect(problem.detail).toContain(cause);
    expect(fault).toContain('answered 503 EVENT_STORE_UNAVAILABLE');
  });

  it('a file that is no database, as node:sqlite reports it (SQLITE_NOTADB)', () => {
    const { problem } = problemFor(notADatabaseError());
    expect({ status: problem.status, code: problem.code }).toEqual({ status: 503, code: 'EVENT_STORE_UNAVAILABLE' });
    expect(problem.detail).toContain('no database');
  });

  it('any other error stays a 500 INTERNAL_ERROR, logged as unexpected', () => {
    const { problem, fault } = problemFor(new TypeError('undefined is not a function'));
    expect({ status: problem.status, code: problem.code }).toEqual({ status: 500, code: 'INTERNAL_ERROR' });
    expect(fault).toContain('unexpected');
  });
});

describe('a refusal that says retry says when (RFC 9110 Retry-After)', () => {
  it('409 CONCURRENCY_CONFLICT: Retry-After 1, so that a client whose retry policy follows the header sends it again (probe 49 F3)', () => {
    const headers: Record<string, string> = {};
    const reply = {
      raw: { headersSent: false },
      header: (name: string, value: string) => ((headers[name] = value), reply),
      status: (status: number) => ((headers[':status'] = String(status)), reply),
      type: () => reply,
      send: () => reply,
    };
    const host = { getType: () => 'http', switchToHttp: () => ({ getResponse: () => reply, getRequest: () => ({ method: 'POST', originalUrl: '/v1/workspaces/w/invitations' }) }) };
    new ProblemFilter().catch(new ConcurrencyExhaustedError('workspace-w'), host as never);
    expect(headers).toEqual({ ':status': '409', 'Retry-After': '1' });
  });
});

describe('a store that cannot be used, in the log (probe 51 F4)', () => {
  it('the first refusal of a cause names the data dir and what to do, with the stack; the next ones a line each, without it', () => {
    const full = () => Object.assign(new Error('database or disk is full'), { code: 'ERR_SQLITE_ERROR', errcode: 13 });
    const errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      const filter = new ProblemFilter(undefined, { dataDir: '/srv/rollcall' });
      for (let i = 0; i < 3; i++) expect(filter.toProblem(full(), true)).toMatchObject({ status: 503, code: 'EVENT_STORE_UNAVAILABLE' });
      expect(errors).toHaveBeenCalledTimes(3);
      const [first, second] = errors.mock.calls;
      expect(first![0]).toMatchObject({ err: expect.any(Error) });
      expect(first![1]).toContain('the data dir /srv/rollcall (ROLLCALL_DATA_DIR) cannot take writes (disk full)');
      expect(second).toEqual(['embedded store: disk full, answered 503 EVENT_STORE_UNAVAILABLE']);
      // another cause is logged whole at once
      filter.toProblem(Object.assign(new Error('disk I/O error'), { code: 'ERR_SQLITE_ERROR', errcode: 10 }), true);
      expect(errors.mock.calls[3]![0]).toMatchObject({ err: expect.any(Error) });
    } finally {
      errors.mockRestore();
    }
  });
});

describe('an I/O error on a file system gone read-only (probe 51 F4)', () => {
  const ioError = () => Object.assign(new Error('disk I/O error'), { code: 'ERR_SQLITE_ERROR', errcode: 778 }); // SQLITE_IOERR_WRITE
  const erofs = () => {
    throw Object.assign(new Error('EROFS: read-only file system'), { code: 'EROFS' });
  };

  it('is said as a read-only file system where the data dir is on one, as an I/O error elsewhere', () => {
    const fault = storageFault(ioError())!;
    expect(fault.cause).toBe('I/O error');
    // a write that fails with EROFS (probe 58 F3: ext4 aborted by the kernel keeps its mount flags, so access() said
    // writable; the check writes)
    expect(faultUnder(fault, '/srv/rollcall', erofs)).toEqual(READ_ONLY_FILE_SYSTEM);
    expect(faultUnder(fault, '/srv/rollcall', () => undefined)).toBe(fault);
    // another reason a write is refused (a missing dir, a permission) is not this
    expect(faultUnder(fault, '/srv/rollcall', () => { throw Object.assign(new Error('EACCES'), { code: 'EACCES' }); })).toBe(fault);
    // the data dir is asked only for an I/O error
    const full = storageFault(Object.assign(new Error('database or disk is full'), { code: 'ERR_SQLITE_ERROR', errcode: 13 }))!;
    expect(faultUnder(full, '/srv/rollcall', erofs)).toBe(full);
    // a real directory that takes writes (the probe file made and removed)
    const dir = mkdtempSync(join(tmpdir(), 'rollcall-ro-probe-'));
    try {
      expect(onReadOnlyFileSystem(dir)).toBe(false);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the answer, the metric and the log name it, and the log says a restart after repair is needed', () => {
    // the module itself (an `import * as` is a copy under the test's transform)
    const access = jest.spyOn(jest.requireActual<typeof import('node:fs')>('node:fs'), 'openSync').mockImplementation(erofs);
    const errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const refused: string[] = [];
    try {
      const filter = new ProblemFilter({ refused: (cause: string) => refused.push(cause) } as never, { dataDir: '/srv/rollcall' });
      const answer = filter.toProblem(ioError(), true);
      expect(answer).toMatchObject({ status: 503, code: 'EVENT_STORE_UNAVAILABLE', detail: expect.stringContaining('(read-only file system)') });
      expect(refused).toEqual(['read-only file system']);
      expect(errors.mock.calls[0]![1]).toContain('embedded store: read-only file system, answered 503 EVENT_STORE_UNAVAILABLE: the data dir /srv/rollcall');
      expect(errors.mock.calls[0]![1]).toContain('stop the processes on it, check it (fsck), mount it read-write and start them again');
    } finally {
      access.mockRestore();
      errors.mockRestore();
    }
  });
});

describe('a client gone in the middle of its request (probe 61 F3)', () => {
  const hostOf = (socketDestroyed: boolean, sent: string[]) => {
    const reply = {
      raw: { headersSent: false },
      header: () => reply,
      status: () => reply,
      type: () => reply,
      send: (body: string) => (sent.push(body), reply),
    };
    const req = { method: 'POST', originalUrl: '/v1/invitations/accept', raw: { destroyed: false, socket: { destroyed: socketDestroyed } } };
    return { getType: () => 'http', switchToHttp: () => ({ getResponse: () => reply, getRequest: () => req }) };
  };
  const aborted = () => Object.assign(new Error('aborted'), { code: 'ECONNRESET' });

  it('its body reader\'s `aborted` is no fault of the server: nothing logged, nothing sent (it was an error line "answered 500" per cut body, no key needed)', () => {
    const errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      const sent: string[] = [];
      new ProblemFilter().catch(aborted(), hostOf(true, sent) as never);
      expect([sent, errors.mock.calls]).toEqual([[], []]);
      // the same error with the client still there is answered and logged as before
      new ProblemFilter().catch(aborted(), hostOf(false, sent) as never);
      expect([sent.map((b) => JSON.parse(b).code), errors.mock.calls.length]).toEqual([['INTERNAL_ERROR'], 1]);
    } finally {
      errors.mockRestore();
    }
  });
});
