/**
 * HDR-style log-linear histogram of non-negative numbers (latencies in nanoseconds here): every power of two
 * above `lowest` is split into 2^ceil(log2(10^digits)) equal buckets, so memory is bounded (and only the ranges
 * in use are allocated) and any quantile is within 10^-digits relative error. Synchronous, no I/O; min, max, sum
 * and count are kept exactly. {@linkcode HdrHistogram.toData} and {@linkcode HdrHistogram.fromData} carry it
 * through a JSON report, so histograms from several runs merge exactly.
 */

export interface HdrHistogramOptions {
  /** Smallest value told apart from zero; smaller values share one underflow bucket. @default 1_000 (1 µs in ns) */
  lowest?: number;
  /** Largest value tracked precisely; larger values share one overflow bucket. @default 3_600e9 (1 h in ns) */
  highest?: number;
  /** Significant decimal digits kept, 1 to 5. @default 3 */
  significantDigits?: number;
}

/**
 * A histogram as plain JSON-ready data: its options, exact count, sum, min and max, and the non-empty buckets as
 * a flat list of index, count pairs in index order.
 */
export interface HistogramData {
  lowest: number;
  highest: number;
  digits: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  /** `[index0, count0, index1, count1, ...]` for the non-empty buckets, indexes rising. */
  buckets: number[];
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
  #shift: number; // log2(#sub): bucket index -> chunk
  #size: number; // buckets in all
  // Counts in chunks of #sub buckets, each allocated on first use: a run touches a few octaves of the 32.
  // Float64 keeps counts exact up to 2^53.
  #chunks: (Float64Array | undefined)[];
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
    this.#shift = Math.ceil(Math.log2(10 ** digits));
    this.#sub = 2 ** this.#shift;
    const octaves = Math.ceil(Math.log2(highest / lowest));
    this.#size = 2 + octaves * this.#sub;
    this.#chunks = new Array<Float64Array | undefined>((this.#size >>> this.#shift) + 1).fill(undefined);
    this.#first = this.#size;
    this.#last = -1;
  }

  /** Number of buckets. */
  get bucketCount(): number {
    return this.#size;
  }

  /** Bytes of counts allocated so far: 8 per bucket, in chunks of one octave's width, for the ranges in use. */
  get allocatedBytes(): number {
    return this.#chunks.reduce((n, c) => n + (c === undefined ? 0 : c.byteLength), 0);
  }

  #add(i: number, count: number): void {
    const c = i >>> this.#shift;
    const chunk = (this.#chunks[c] ??= new Float64Array(this.#sub));
    chunk[i & (this.#sub - 1)]! += count;
  }

  #at(i: number): number {
    const chunk = this.#chunks[i >>> this.#shift];
    return chunk === undefined ? 0 : chunk[i & (this.#sub - 1)]!;
  }

  /** Adds `count` occurrences of `value`. Throws RangeError for a negative or NaN value or count. */
  record(value: number, count = 1): void {
    if (!(value >= 0) || !(count >= 0)) throw new RangeError(`Cannot record value ${value} with count ${count}`);
    if (count === 0) return;
    const i = this.#index(value);
    this.#add(i, count);
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
    for (let i = other.#first; i <= other.#last; i++) {
      const n = other.#at(i);
      if (n !== 0) this.#add(i, n);
    }
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
      seen += this.#at(i);
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
    const last = Math.min(this.#last, this.#size - 2); // the overflow bucket sits at max, handled above
    for (let i = this.#first; i <= last; i++) {
      if (this.#lower(i) >= value) break;
      if (this.#upper(i) <= value || this.#middle(i) < value) below += this.#at(i);
    }
    return below;
  }

  /** Forgets every value; keeps the options and the memory. */
  reset(): void {
    for (const chunk of this.#chunks) chunk?.fill(0);
    this.#count = 0;
    this.#sum = 0;
    this.#min = Infinity;
    this.#max = -Infinity;
    this.#first = this.#size;
    this.#last = -1;
  }

  /** The histogram as plain data for a JSON report. */
  toData(): HistogramData {
    const buckets: number[] = [];
    for (let i = this.#first; i <= this.#last; i++) {
      const n = this.#at(i);
      if (n !== 0) buckets.push(i, n);
    }
    return {
      lowest: this.lowest,
      highest: this.highest,
      digits: this.significantDigits,
      count: this.#count,
      sum: this.#sum,
      min: this.min,
      max: this.max,
      buckets,
    };
  }

  /**
   * Rebuilds a histogram from {@linkcode HdrHistogram.toData}'s output. Throws TypeError when `data` is not
   * such data, and RangeError when its counts do not add up or an index is out of range.
   */
  static fromData(data: unknown): HdrHistogram {
    if (!isHistogramData(data))
      throw new TypeError(
        "Cannot read a histogram: expected lowest, highest, digits, count, sum, min, max and buckets",
      );
    const h = new HdrHistogram({ lowest: data.lowest, highest: data.highest, significantDigits: data.digits });
    const { buckets } = data;
    if (buckets.length % 2 !== 0) throw new RangeError("Cannot read a histogram: buckets must be index, count pairs");
    let total = 0;
    let previous = -1;
    for (let k = 0; k < buckets.length; k += 2) {
      const i = buckets[k]!;
      const n = buckets[k + 1]!;
      if (!Number.isInteger(i) || i <= previous || i >= h.#size) {
        throw new RangeError(`Cannot read a histogram: bucket index ${i} is out of order or range`);
      }
      if (!(n > 0)) throw new RangeError(`Cannot read a histogram: bucket ${i} has count ${n}`);
      h.#add(i, n);
      if (i < h.#first) h.#first = i;
      h.#last = i;
      previous = i;
      total += n;
    }
    if (total !== data.count)
      throw new RangeError(`Cannot read a histogram: buckets hold ${total} values, count says ${data.count}`);
    h.#count = data.count;
    h.#sum = data.sum;
    if (data.count > 0) {
      h.#min = data.min;
      h.#max = data.max;
    }
    return h;
  }

  #index(value: number): number {
    if (value < this.lowest) return 0;
    if (value > this.highest) return this.#size - 1;
    const ratio = value / this.lowest;
    let octave: number;
    if (ratio < 4294967296) {
      octave = 31 - Math.clz32(ratio); // the highest bit of floor(ratio): an order faster than log2
    } else {
      octave = Math.floor(Math.log2(ratio));
      // log2 can land on the wrong side of an exact power of two; nudge it back
      if (2 ** octave > ratio) octave--;
      else if (2 ** (octave + 1) <= ratio) octave++;
    }
    const sub = Math.min(this.#sub - 1, Math.floor((ratio / 2 ** octave - 1) * this.#sub));
    return 1 + octave * this.#sub + sub;
  }

  #lower(i: number): number {
    if (i === 0) return 0;
    if (i === this.#size - 1) return this.highest;
    return this.#bound(i - 1);
  }

  #upper(i: number): number {
    if (i === 0) return this.lowest;
    if (i === this.#size - 1) return Infinity;
    return this.#bound(i);
  }

  /** Lower bound of the j-th regular bucket (j counted from 0 after the underflow bucket). */
  #bound(j: number): number {
    const octave = Math.floor(j / this.#sub);
    return this.lowest * 2 ** octave * (1 + (j % this.#sub) / this.#sub);
  }

  #middle(i: number): number {
    if (i === 0) return this.lowest / 2;
    if (i === this.#size - 1) return this.#max;
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

function isHistogramData(data: unknown): data is HistogramData {
  if (typeof data !== "object" || data === null) return false;
  const d = data as Record<string, unknown>; // narrowed to an object above; each field is checked below
  const numbers = ["lowest", "highest", "digits", "count", "sum", "min", "max"] as const;
  return (
    numbers.every((k) => typeof d[k] === "number") &&
    Array.isArray(d.buckets) &&
    d.buckets.every((v) => typeof v === "number")
  );
}
