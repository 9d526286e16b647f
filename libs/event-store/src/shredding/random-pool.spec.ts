import { randomIv, randomPooled } from './random-pool';

describe('randomPooled', () => {
  it('hands out 12-byte IVs, each once, across pool refills; an IV keeps its bytes after its pool is replaced', () => {
    const first = randomIv();
    const copy = Buffer.from(first);
    const seen = new Set<string>([first.toString('hex')]);
    for (let i = 0; i < 5000; i++) {
      const iv = randomIv();
      expect(iv).toHaveLength(12);
      seen.add(iv.toString('hex'));
    }
    expect(seen.size).toBe(5001);
    expect(first).toEqual(copy);
  });

  it('hands out draws of other sizes from the same pools, none overlapping another', () => {
    const draws = [randomIv(), randomPooled(32), randomIv(), randomPooled(32)];
    for (let i = 0; i < 1000; i++) draws.push(randomPooled(1 + (i % 40)));
    const copies = draws.map((d) => Buffer.from(d));
    // a draw shares its pool's memory: marking each draw in turn must leave every other draw's mark alone
    draws.forEach((d, i) => d.fill(i % 251));
    draws.forEach((d, i) => expect(d.every((b) => b === i % 251)).toBe(true));
    // the bytes were random: two 32-byte draws differ
    expect(copies[1]!.equals(copies[3]!)).toBe(false);
    expect(() => randomPooled(6145)).toThrow(RangeError);
  });
});
