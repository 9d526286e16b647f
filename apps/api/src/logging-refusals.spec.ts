import { LINES_PER_WINDOW, type RefusalsNotLogged, RefusalLogSampler, WINDOW_MS } from './logging-refusals';

describe('401 lines sampled per client address (probe 59 F9)', () => {
  it("an address's first refusals of a window are logged, the rest counted and reported once the window is over", () => {
    let now = 0;
    const reported: RefusalsNotLogged[] = [];
    const sampler = new RefusalLogSampler((s) => reported.push(s), () => now);
    const admitted = (address: string, n: number) => Array.from({ length: n }, () => sampler.admit(address)).filter(Boolean).length;
    expect(admitted('10.0.0.1', 100)).toBe(LINES_PER_WINDOW);
    // another address has its own window
    expect(admitted('10.0.0.2', 5)).toBe(5);
    now += WINDOW_MS - 1;
    sampler.endWindows();
    expect(reported).toEqual([]);
    now += 1;
    sampler.endWindows();
    // the second address logged everything: nothing to report for it
    expect(reported).toEqual([{ address: '10.0.0.1', refused: 100 - LINES_PER_WINDOW, windowSeconds: WINDOW_MS / 1000 }]);
    // a new window logs again
    expect(admitted('10.0.0.1', 3)).toBe(3);
  });

  it('a window over is reported at the next refusal of its address too, without waiting for the timer', () => {
    let now = 0;
    const reported: RefusalsNotLogged[] = [];
    const sampler = new RefusalLogSampler((s) => reported.push(s), () => now);
    for (let i = 0; i < LINES_PER_WINDOW + 7; i++) sampler.admit(undefined);
    now += WINDOW_MS;
    expect(sampler.admit(undefined)).toBe(true);
    expect(reported).toEqual([{ address: '*', refused: 7, windowSeconds: WINDOW_MS / 1000 }]);
    now += WINDOW_MS;
    sampler.endWindows(); // stops its timer: nothing is left
  });
});
