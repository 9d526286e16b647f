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

  it('rule 12: a forgetting that failed otherwise fails the deletion\'s answer, and memory still lets go of the subjects', async () => {
    const erased: string[][] = [];
    const personalData = erasingFromMemory(inner({ forgetAfterDeletion: () => Promise.reject(new Error('key store unreachable')) }), async (ids) => erased.push(ids), silent);
    await expect(personalData.forgetAfterDeletion(['u:kim'])).rejects.toThrow('key store unreachable');
    expect(erased).toEqual([['u:kim']]);
  });
});
