import { retryWaitMs } from './mail-dispatcher';

describe('the mail dispatcher\'s retry wait (probe 49 F2)', () => {
  it('doubles from 30 s up to 15 minutes, drawn between half and all of it, so that links failed together are not tried again together', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 100].map((n) => retryWaitMs(n, () => 1))).toEqual([30_000, 60_000, 120_000, 240_000, 480_000, 900_000, 900_000, 900_000]);
    expect([1, 6, 100].map((n) => retryWaitMs(n, () => 0))).toEqual([15_000, 450_000, 450_000]);
    const draws = Array.from({ length: 1000 }, () => retryWaitMs(3));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(60_000);
    expect(Math.max(...draws)).toBeLessThanOrEqual(120_000);
    expect(new Set(draws).size).toBeGreaterThan(100);
  });
});
