import { OTHER_OPEN_FILES, RESERVED_FOR_FILES, httpConnectionsLimit, openFilesLimit, openFilesProblem, streamLimitWarning } from './open-files';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max processes             95312                95312                processes
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

describe('presence streams and the open-files limit (probe 37 F3)', () => {
  it('reads the soft limit of open files; none when unlimited or unreadable', () => {
    expect(openFilesLimit(() => LIMITS)).toBe(1024);
    expect(openFilesLimit(() => LIMITS.replace('1024   ', 'unlimited'))).toBeUndefined();
    expect(openFilesLimit(() => { throw new Error('ENOENT'); })).toBeUndefined();
  });

  it('warns at start when the streams allowed would not leave the other descriptors room, naming both ways out', () => {
    expect(streamLimitWarning({ presenceStreamsMax: 10_000 }, 1_024)).toBe(
      `ROLLCALL_PRESENCE_STREAMS_MAX (10000) does not fit under this process's limit of open files (1024) with ${OTHER_OPEN_FILES} to spare: presence streams could take the descriptors other requests need. Raise the limit (ulimit -n, LimitNOFILE=) above 11024: this limit leaves no room for any presence stream, nor for much else.`,
    );
    // probe 41 F6: the advice is one that can be followed (it said "lower the setting to 1" where none fits)
    expect(streamLimitWarning({ presenceStreamsMax: 10_000 }, 4_096)).toContain(`or lower the setting to ${4_096 - OTHER_OPEN_FILES}.`);
    expect(streamLimitWarning({ presenceStreamsMax: 10_000 }, 128)).not.toContain('lower the setting');
    expect(streamLimitWarning({ presenceStreamsMax: 10_000 }, 20_000)).toBeUndefined();
    expect(streamLimitWarning({ presenceStreamsMax: 10_000 }, 11_024)).toBeUndefined();
    expect(streamLimitWarning({ presenceStreamsMax: 10_000 }, undefined)).toBeUndefined();
  });

  it('HTTP connections are bounded below the open-files limit, keeping descriptors for the data dir\'s files (probe 59 F6: silent connections took every one)', () => {
    expect(httpConnectionsLimit(3_000)).toBe(3_000 - RESERVED_FOR_FILES);
    expect(httpConnectionsLimit(100)).toBe(16);
    expect(httpConnectionsLimit(undefined)).toBeUndefined();
  });

  it('a start that ran out of descriptors says so in one sentence (probe 41 F6)', () => {
    const loader = new Error('Cannot read package config /app/node_modules/uuid/package.json: too many open files');
    expect(openFilesProblem(loader, 64)).toBe(
      `This process ran out of open files at start (its limit: 64): raise the limit (ulimit -n, LimitNOFILE=) to at least ${OTHER_OPEN_FILES} plus ROLLCALL_PRESENCE_STREAMS_MAX, then start again`,
    );
    expect(openFilesProblem(Object.assign(new Error('EMFILE: too many open files, open'), { code: 'EMFILE' }), undefined)).toMatch(/^This process ran out of open files at start: raise the limit/);
    expect(openFilesProblem(new Error('ENOENT: no such file'), 64)).toBeUndefined();
  });
});
