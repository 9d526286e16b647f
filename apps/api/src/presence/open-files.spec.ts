import { OTHER_OPEN_FILES, openFilesLimit, streamLimitWarning } from './open-files';

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
      `ROLLCALL_PRESENCE_STREAMS_MAX (10000) does not fit under this process's limit of open files (1024) with ${OTHER_OPEN_FILES} to spare: presence streams could take the descriptors other requests need. Raise the limit (ulimit -n, LimitNOFILE=) above 11024, or lower the setting to 1.`,
    );
    expect(streamLimitWarning({ presenceStreamsMax: 10_000 }, 20_000)).toBeUndefined();
    expect(streamLimitWarning({ presenceStreamsMax: 10_000 }, 11_024)).toBeUndefined();
    expect(streamLimitWarning({ presenceStreamsMax: 10_000 }, undefined)).toBeUndefined();
  });
});
