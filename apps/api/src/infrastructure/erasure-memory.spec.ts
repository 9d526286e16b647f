// What the API's PersonalData does around a deletion's forgetting (erasingFromMemory): the process lets go of what it
// holds of the erased subjects before the deletion is answered, and a deletion whose keys went with its commit is not
// answered as failed because their traces could not be cleared yet (docs/adr/0003, "Erasure and sealing race").
import { KeyTracesLeftError, type PersonalData } from '@rollcall/event-store';
import { erasingFromMemory } from './erasure';

const silent = { warn: jest.fn(), error: jest.fn() };

function inner(overrides: Partial<PersonalData>): PersonalData {
  return {
    subjectsOf: () => [],
    subjectIdsOf: () => [],
    forget: async () => undefined,
    forgetAfterDeletion: async () => undefined,
    forgottenWithDeletion: async () => undefined,
    forgetCached: () => undefined,
    ...overrides,
  };
}

afterEach(() => jest.useRealTimers());

describe('erasingFromMemory', () => {
  it('rule 12: a deletion whose keys went with its commit is answered when only their traces are left; the traces are cleared again in the background, and memory lets go of the subjects', async () => {
    jest.useFakeTimers();
    const erased: string[][] = [];
    const cleared = jest.fn().mockRejectedValueOnce(new Error('WAL busy')).mockResolvedValueOnce(undefined);
    const personalData = erasingFromMemory(
      inner({ forgetAfterDeletion: () => Promise.reject(new KeyTracesLeftError(['u:kim'], new Error('WAL busy'))), forgottenWithDeletion: cleared }),
      async (ids) => erased.push(ids),
      silent,
    );
    await expect(personalData.forgetAfterDeletion(['u:kim', 'e:kim'])).resolves.toBeUndefined();
    expect(erased).toEqual([['u:kim', 'e:kim']]);
    expect(cleared).toHaveBeenCalledTimes(1);
    expect(cleared).toHaveBeenLastCalledWith(['u:kim']);
    await jest.advanceTimersByTimeAsync(1000);
    expect(cleared).toHaveBeenCalledTimes(2);
    expect(silent.warn).toHaveBeenCalledWith(expect.stringContaining('trying again in 1 s'));
  });

  it('rule 12: traces that cannot be cleared for long (a full disk) are tried every minute until they are, not given up after 31 s (probe 51 F5)', async () => {
    jest.useFakeTimers();
    let failing = true;
    const cleared = jest.fn(() => (failing ? Promise.reject(new Error('database or disk is full')) : Promise.resolve()));
    const log = { warn: jest.fn(), error: jest.fn() };
    const personalData = erasingFromMemory(
      inner({ forgetAfterDeletion: () => Promise.reject(new KeyTracesLeftError(['u:kim'], new Error('disk full'))), forgottenWithDeletion: cleared }),
      async () => undefined,
      log,
    );
    await personalData.forgetAfterDeletion(['u:kim']);
    // 1 + 2 + 4 + 8 + 16 s, then a minute at a time: ten minutes of a full disk
    await jest.advanceTimersByTimeAsync(31_000 + 10 * 60_000);
    expect(cleared).toHaveBeenCalledTimes(6 + 10);
    expect(log.error).toHaveBeenCalledTimes(1);
    expect(log.error).toHaveBeenCalledWith(expect.stringContaining('tried again every minute until it succeeds'));
    failing = false;
    await jest.advanceTimersByTimeAsync(60_000);
    expect(cleared).toHaveBeenCalledTimes(17);
    expect(log.warn).toHaveBeenLastCalledWith(expect.stringContaining('done now, at try 17'));
    await jest.advanceTimersByTimeAsync(10 * 60_000);
    expect(cleared).toHaveBeenCalledTimes(17);
  });

  it('rule 12: a forgetting that failed otherwise fails the deletion\'s answer, and memory still lets go of the subjects', async () => {
    const erased: string[][] = [];
    const personalData = erasingFromMemory(inner({ forgetAfterDeletion: () => Promise.reject(new Error('key store unreachable')) }), async (ids) => erased.push(ids), silent);
    await expect(personalData.forgetAfterDeletion(['u:kim'])).rejects.toThrow('key store unreachable');
    expect(erased).toEqual([['u:kim']]);
  });
});
