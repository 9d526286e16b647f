// Latency samples and their percentiles (nearest rank, on the exact samples: no histogram buckets).

export class Samples {
  private values: number[] = [];

  add(ms: number): void {
    this.values.push(ms);
  }

  get count(): number {
    return this.values.length;
  }

  /** p in [0, 100]; NaN when there are no samples */
  percentile(p: number): number {
    if (this.values.length === 0) return Number.NaN;
    const sorted = Float64Array.from(this.values).sort();
    const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
    return sorted[rank - 1]!;
  }

  mean(): number {
    return this.values.length === 0
      ? Number.NaN
      : this.values.reduce((a, b) => a + b, 0) / this.values.length;
  }

  max(): number {
    return this.values.length === 0 ? Number.NaN : this.values.reduce((a, b) => (b > a ? b : a), -Infinity);
  }

  merge(other: Samples): Samples {
    const merged = new Samples();
    merged.values = [...this.values, ...other.values];
    return merged;
  }
}

export const ms2 = (x: number): number => Math.round(x * 100) / 100;
export const fmt = (x: number): string => (Number.isNaN(x) ? 'n/a' : x.toFixed(2));
