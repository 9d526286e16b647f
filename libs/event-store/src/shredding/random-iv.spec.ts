import { randomIv } from './random-iv';

describe('randomIv', () => {
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
});
