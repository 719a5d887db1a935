/**
 * HDR-style log-linear histogram of non-negative numbers (latencies in nanoseconds here): every power of two
 * above `lowest` is split into 2^ceil(log2(10^digits)) equal buckets, so memory is constant and any quantile is
 * within 10^-digits relative error. Synchronous, no I/O; min, max, sum and count are kept exactly.
 */

export interface HdrHistogramOptions {
  /** Smallest value told apart from zero; smaller values share one underflow bucket. @default 1_000 (1 µs in ns) */
  lowest?: number;
  /** Largest value tracked precisely; larger values share one overflow bucket. @default 3_600e9 (1 h in ns) */
  highest?: number;
  /** Significant decimal digits kept, 1 to 5. @default 3 */
  significantDigits?: number;
}

export const DEFAULT_HISTOGRAM_LOWEST = 1_000;
export const DEFAULT_HISTOGRAM_HIGHEST = 3_600e9;
export const DEFAULT_HISTOGRAM_DIGITS = 3;

/**
 * Bucket 0 holds [0, lowest); then octave k (values in [lowest·2^k, lowest·2^(k+1))) holds `sub` linear buckets;
 * the last bucket holds everything above `highest`. Mergeable with any histogram built with the same options.
 */
export class HdrHistogram {
  readonly lowest: number;
  readonly highest: number;
  readonly significantDigits: number;
  #sub: number; // buckets per octave
  #counts: Float64Array; // Float64 keeps counts exact up to 2^53
  #count = 0;
  #min = Infinity;
  #max = -Infinity;
  #sum = 0;
  #first: number; // lowest and highest bucket index in use, to bound scans
  #last: number;

  constructor(options: HdrHistogramOptions = {}) {
    const lowest = options.lowest ?? DEFAULT_HISTOGRAM_LOWEST;
    const highest = options.highest ?? DEFAULT_HISTOGRAM_HIGHEST;
    const digits = options.significantDigits ?? DEFAULT_HISTOGRAM_DIGITS;
    if (!(lowest >= 1) || !Number.isFinite(lowest)) throw new RangeError(`'lowest' must be at least 1, got ${lowest}`);
    if (!(highest >= 2 * lowest) || !Number.isFinite(highest)) {
      throw new RangeError(`'highest' must be finite and at least twice 'lowest', got ${highest}`);
    }
    if (!Number.isInteger(digits) || digits < 1 || digits > 5) {
      throw new RangeError(`'significantDigits' must be an integer from 1 to 5, got ${digits}`);
    }
    this.lowest = lowest;
    this.highest = highest;
    this.significantDigits = digits;
    this.#sub = 2 ** Math.ceil(Math.log2(10 ** digits));
    const octaves = Math.ceil(Math.log2(highest / lowest));
    this.#counts = new Float64Array(2 + octaves * this.#sub);
    this.#first = this.#counts.length;
    this.#last = -1;
  }

  /** Number of buckets (memory is 8 bytes each). */
  get bucketCount(): number {
    return this.#counts.length;
  }

  /** Adds `count` occurrences of `value`. Throws RangeError for a negative or NaN value or count. */
  record(value: number, count = 1): void {
    if (!(value >= 0) || !(count >= 0)) throw new RangeError(`Cannot record value ${value} with count ${count}`);
    if (count === 0) return;
    const i = this.#index(value);
    this.#counts[i]! += count;
    if (i < this.#first) this.#first = i;
    if (i > this.#last) this.#last = i;
    this.#count += count;
    this.#sum += value * count;
    if (value < this.#min) this.#min = value;
    if (value > this.#max) this.#max = value;
  }

  /** Adds every value recorded in `other`. Throws RangeError when the two were built with different options. */
  merge(other: HdrHistogram): void {
    if (
      other.lowest !== this.lowest ||
      other.highest !== this.highest ||
      other.significantDigits !== this.significantDigits
    ) {
      throw new RangeError("Cannot merge histograms built with different options");
    }
    if (other.#count === 0) return;
    const theirs = other.#counts;
    for (let i = other.#first; i <= other.#last; i++) this.#counts[i]! += theirs[i]!;
    if (other.#first < this.#first) this.#first = other.#first;
    if (other.#last > this.#last) this.#last = other.#last;
    this.#count += other.#count;
    this.#sum += other.#sum;
    if (other.#min < this.#min) this.#min = other.#min;
    if (other.#max > this.#max) this.#max = other.#max;
  }

  get count(): number {
    return this.#count;
  }
  /** Smallest value recorded, exact; 0 when empty. */
  get min(): number {
    return this.#count === 0 ? 0 : this.#min;
  }
  /** Largest value recorded, exact; 0 when empty. */
  get max(): number {
    return this.#count === 0 ? 0 : this.#max;
  }
  get sum(): number {
    return this.#sum;
  }
  /** Exact mean; 0 when empty. */
  get mean(): number {
    return this.#count === 0 ? 0 : this.#sum / this.#count;
  }

  /**
   * The value at quantile `q` (0..1) by nearest rank: the ceil(q·count)-th smallest value, reported as the middle
   * of its bucket (clamped to min..max), so within half a bucket (< 10^-digits relative) of the exact value.
   * 0 gives min, 1 gives max, an empty histogram 0.
   */
  quantile(q: number): number {
    if (!(q >= 0 && q <= 1)) throw new RangeError(`Quantile must be between 0 and 1, got ${q}`);
    if (this.#count === 0) return 0;
    if (q === 0) return this.#min;
    if (q === 1) return this.#max;
    const rank = nearestRank(q, this.#count);
    let seen = 0;
    for (let i = this.#first; i <= this.#last; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return this.#clamp(this.#middle(i));
    }
    return this.#max;
  }

  /**
   * How many recorded values are below `value`, for bucketed reports. Exact at min and max and at bucket
   * boundaries; otherwise a bucket counts as below when its middle is (an error of at most one 0.1%-wide bucket).
   */
  countBelow(value: number): number {
    if (this.#count === 0 || value <= this.#min) return 0;
    if (value > this.#max) return this.#count;
    let below = 0;
    const last = Math.min(this.#last, this.#counts.length - 2); // the overflow bucket sits at max, handled above
    for (let i = this.#first; i <= last; i++) {
      if (this.#lower(i) >= value) break;
      if (this.#upper(i) <= value || this.#middle(i) < value) below += this.#counts[i]!;
    }
    return below;
  }

  /** Forgets every value; keeps the options and the memory. */
  reset(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#sum = 0;
    this.#min = Infinity;
    this.#max = -Infinity;
    this.#first = this.#counts.length;
    this.#last = -1;
  }

  #index(value: number): number {
    if (value < this.lowest) return 0;
    if (value > this.highest) return this.#counts.length - 1;
    const ratio = value / this.lowest;
    let octave = Math.floor(Math.log2(ratio));
    // log2 can land on the wrong side of an exact power of two; nudge it back
    if (2 ** octave > ratio) octave--;
    else if (2 ** (octave + 1) <= ratio) octave++;
    const sub = Math.min(this.#sub - 1, Math.floor((ratio / 2 ** octave - 1) * this.#sub));
    return 1 + octave * this.#sub + sub;
  }

  #lower(i: number): number {
    if (i === 0) return 0;
    if (i === this.#counts.length - 1) return this.highest;
    return this.#bound(i - 1);
  }

  #upper(i: number): number {
    if (i === 0) return this.lowest;
    if (i === this.#counts.length - 1) return Infinity;
    return this.#bound(i);
  }

  /** Lower bound of the j-th regular bucket (j counted from 0 after the underflow bucket). */
  #bound(j: number): number {
    const octave = Math.floor(j / this.#sub);
    return this.lowest * 2 ** octave * (1 + (j % this.#sub) / this.#sub);
  }

  #middle(i: number): number {
    if (i === 0) return this.lowest / 2;
    if (i === this.#counts.length - 1) return this.#max;
    return (this.#lower(i) + this.#upper(i)) / 2;
  }

  #clamp(value: number): number {
    return value < this.#min ? this.#min : value > this.#max ? this.#max : value;
  }
}

/**
 * The 1-based rank of quantile q among n values: ceil(q·n), at least 1. A relative nudge keeps float noise
 * (0.07·100 = 7.000000000000001) from skipping a rank.
 */
export function nearestRank(q: number, n: number): number {
  return Math.max(1, Math.ceil(q * n * (1 - 1e-12)));
}
