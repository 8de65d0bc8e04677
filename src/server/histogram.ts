// A fixed-size log-linear latency histogram: 8 sub-buckets per power of two from 1 µs to ~1 hour.
// Recording is O(1) with no allocation, so it can sit on the per-request hot path.

const SUB_BUCKETS = 8;
const OCTAVES = 32;

export class Histogram {
  private readonly counts = new Float64Array(OCTAVES * SUB_BUCKETS);
  count = 0;
  sum = 0;
  max = 0;

  record(value: number): void {
    const v = value < 1 ? 1 : value;
    const octave = Math.min(OCTAVES - 1, Math.floor(Math.log2(v)));
    const base = 2 ** octave;
    const sub = Math.min(SUB_BUCKETS - 1, Math.floor(((v - base) / base) * SUB_BUCKETS));
    this.counts[octave * SUB_BUCKETS + sub]!++;
    this.count++;
    this.sum += value;
    if (value > this.max) this.max = value;
  }

  /** The upper edge of the bucket holding quantile `q` (0..1): never under the true value by more than 12.5%. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const target = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= target) {
        const octave = Math.floor(i / SUB_BUCKETS);
        const base = 2 ** octave;
        return Math.min(this.max, base + (base * ((i % SUB_BUCKETS) + 1)) / SUB_BUCKETS);
      }
    }
    return this.max;
  }

  /**
   * For each exponent k in [fromExp, toExp], how many values were recorded below 2^k: exact,
   * because every bucket lies inside one power of two. Prometheus histograms use these as `le`.
   */
  countsBelowPowersOfTwo(fromExp: number, toExp: number): number[] {
    const out: number[] = [];
    let seen = 0;
    let octave = 0;
    for (let k = fromExp; k <= toExp; k++) {
      for (; octave < Math.min(k, OCTAVES); octave++) {
        for (let sub = 0; sub < SUB_BUCKETS; sub++) seen += this.counts[octave * SUB_BUCKETS + sub]!;
      }
      out.push(seen);
    }
    return out;
  }

  summary(): { count: number; mean: number; p50: number; p90: number; p99: number; max: number } {
    return {
      count: this.count,
      mean: this.count === 0 ? 0 : this.sum / this.count,
      p50: this.quantile(0.5),
      p90: this.quantile(0.9),
      p99: this.quantile(0.99),
      max: this.max,
    };
  }
}
