import { LoadTurns } from './load-turns';

const busyFor = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

describe('LoadTurns: a long load yields by the time it has run', () => {
  it('is not due before its turn has run its time, and is once it has', () => {
    const long = new LoadTurns(60_000);
    busyFor(5);
    expect(long.due()).toBe(false);
    const short = new LoadTurns(5);
    busyFor(6);
    expect(short.due()).toBe(true);
  });

  it('a yield lets what waits run, and starts the next turn', async () => {
    const turns = new LoadTurns(5);
    busyFor(6);
    let waited = false;
    setImmediate(() => (waited = true));
    expect(waited).toBe(false);
    await turns.yield();
    expect(waited).toBe(true);
    // the next turn starts at the yield: a load that yields when due is not due again at once
    const next = new LoadTurns(50);
    busyFor(55);
    expect(next.due()).toBe(true);
    await next.yield();
    expect(next.due()).toBe(false);
  });
});
