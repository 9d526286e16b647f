import { prng } from '../../libs/read-store/src/projections/testing/simulated-traffic';

/** A seeded source of randomness for tests that must be reproducible from their seed. */
export class Random {
  private readonly next: () => number;
  constructor(readonly seed: number) {
    this.next = prng(seed);
  }

  /** uniform in [0, 1) */
  float(): number {
    return this.next() / 2 ** 32;
  }

  /** true with probability p */
  chance(p: number): boolean {
    return this.float() < p;
  }

  int(maxExclusive: number): number {
    return Math.floor(this.float() * maxExclusive);
  }

  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)]!;
  }
}
