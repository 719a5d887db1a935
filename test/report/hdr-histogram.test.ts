import { describe, expect, test } from "bun:test";
import { HdrHistogram, nearestRank } from "../../lib/report/hdr-histogram.ts";
import { prng } from "../support/prng.ts";

function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

const QUANTILES = [0, 0.0001, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 0.9999, 1];

function exactQuantile(sorted: Float64Array, q: number): number {
  if (q === 0) return sorted[0]!;
  if (q === 1) return sorted[sorted.length - 1]!;
  return sorted[nearestRank(q, sorted.length) - 1]!;
}

function checkAgainstExact(values: Float64Array, histogram: HdrHistogram): void {
  const sorted = values.slice().sort();
  for (const q of QUANTILES) {
    const exact = exactQuantile(sorted, q);
    const got = histogram.quantile(q);
    const error = Math.abs(got - exact) / exact;
    if (error > 0.001) throw new Error(`quantile ${q}: got ${got}, exact ${exact}, relative error ${error}`);
  }
  expect(histogram.count).toBe(values.length);
  expect(histogram.min).toBe(sorted[0]!);
  expect(histogram.max).toBe(sorted[sorted.length - 1]!);
  const sum = values.reduce((a, b) => a + b, 0);
  expect(histogram.sum).toBeCloseTo(sum, -3);
  expect(histogram.mean).toBeCloseTo(sum / values.length, 3);
}

const N = 200_000;
const DATASETS: Record<string, (rand: () => number) => number> = {
  // 1 µs .. 10 s, flat
  uniform: (rand) => 1_000 + Math.floor(rand() * 10e9),
  // median 1 ms, sigma 1.5: spans microseconds to seconds
  "log-normal": (rand) => Math.round(1e6 * Math.exp(1.5 * normal(rand))),
  // pareto alpha 1.2 from 50 µs: a heavy tail up to the hour cap
  pareto: (rand) => Math.min(3_600e9, Math.round(50_000 / Math.pow(1 - rand(), 1 / 1.2))),
  // integer nanoseconds near the low end, where buckets are narrow in absolute terms
  "small integers": (rand) => 1_000 + Math.floor(rand() * 5_000),
};

describe("HdrHistogram.quantile()", () => {
  for (const [name, draw] of Object.entries(DATASETS)) {
    test(`is within 0.1% of the exact sorted value on ${name} data`, () => {
      const rand = prng(42);
      const values = new Float64Array(N);
      const histogram = new HdrHistogram();
      for (let i = 0; i < N; i++) {
        const v = Math.max(1_000, draw(rand));
        values[i] = v;
        histogram.record(v);
      }
      checkAgainstExact(values, histogram);
    });
  }

  test("is within 1% with 2 significant digits", () => {
    const rand = prng(7);
    const values = new Float64Array(50_000);
    const histogram = new HdrHistogram({ significantDigits: 2 });
    for (let i = 0; i < values.length; i++) histogram.record((values[i] = 1e6 * Math.exp(normal(rand))));
    const sorted = values.slice().sort();
    for (const q of QUANTILES) {
      const exact = exactQuantile(sorted, q);
      expect(Math.abs(histogram.quantile(q) - exact) / exact).toBeLessThanOrEqual(0.01);
    }
  });

  test("of a single value is that value at every quantile", () => {
    const histogram = new HdrHistogram();
    histogram.record(123_456_789);
    for (const q of QUANTILES) expect(histogram.quantile(q)).toBe(123_456_789);
  });

  test("counts a value recorded with a count that many times", () => {
    const histogram = new HdrHistogram();
    histogram.record(1e6, 99);
    histogram.record(5e9);
    expect(histogram.count).toBe(100);
    expect(histogram.quantile(0.99) / 1e6).toBeCloseTo(1, 3);
    expect(histogram.quantile(0.995) / 5e9).toBeCloseTo(1, 3);
    expect(histogram.sum).toBe(99e6 + 5e9);
  });

  test("rejects a quantile outside 0..1", () => {
    const histogram = new HdrHistogram();
    for (const q of [-0.1, 1.1, NaN]) expect(() => histogram.quantile(q)).toThrow(RangeError);
  });
});

describe("HdrHistogram bounds", () => {
  test("is all zeros when empty", () => {
    const histogram = new HdrHistogram();
    expect([histogram.count, histogram.min, histogram.max, histogram.sum, histogram.mean]).toEqual([0, 0, 0, 0, 0]);
    expect(histogram.quantile(0.5)).toBe(0);
    expect(histogram.countBelow(1e9)).toBe(0);
  });

  test("keeps values below lowest in the first bucket with an exact min", () => {
    const histogram = new HdrHistogram();
    for (const v of [0, 10, 500, 999]) histogram.record(v);
    histogram.record(2e6);
    expect(histogram.min).toBe(0);
    expect(histogram.max).toBe(2e6);
    expect(histogram.quantile(0)).toBe(0);
    // the underflow bucket reports lowest/2, clamped to min..max
    expect(histogram.quantile(0.5)).toBe(500);
    expect(histogram.countBelow(1_000)).toBe(4);
    expect(histogram.countBelow(0)).toBe(0);
  });

  test("keeps values above highest in the last bucket with an exact max", () => {
    const histogram = new HdrHistogram({ highest: 1e9 });
    histogram.record(1e6, 98);
    histogram.record(5e9);
    histogram.record(7e9);
    expect(histogram.max).toBe(7e9);
    expect(histogram.quantile(0.99)).toBe(7e9);
    expect(histogram.quantile(1)).toBe(7e9);
    expect(histogram.countBelow(2e9)).toBe(98);
    expect(histogram.countBelow(8e9)).toBe(100);
  });

  test("tracks the largest value it is built for precisely", () => {
    const histogram = new HdrHistogram();
    histogram.record(3_600e9 - 1);
    histogram.record(3_599e9);
    expect(Math.abs(histogram.quantile(0.5) - 3_599e9) / 3_599e9).toBeLessThanOrEqual(0.001);
  });

  test("has 2 + 32 octaves x 1024 buckets by default, and allocates only the octaves in use", () => {
    const histogram = new HdrHistogram();
    expect(histogram.bucketCount).toBe(2 + 32 * 1024);
    expect(histogram.allocatedBytes).toBe(0);
    // 1 ms to 8 ms spans three octaves: three or four chunks of 1024 counts, not all 33
    for (let v = 1e6; v < 8e6; v += 1000) histogram.record(v);
    expect(histogram.allocatedBytes).toBeLessThanOrEqual(4 * 1024 * 8);
    expect(histogram.allocatedBytes).toBeGreaterThanOrEqual(3 * 1024 * 8);
  });

  test("rejects bad options and values", () => {
    expect(() => new HdrHistogram({ lowest: 0 })).toThrow("'lowest' must be at least 1, got 0");
    expect(() => new HdrHistogram({ lowest: 10, highest: 15 })).toThrow(RangeError);
    expect(() => new HdrHistogram({ highest: Infinity })).toThrow(RangeError);
    for (const d of [0, 6, 2.5]) expect(() => new HdrHistogram({ significantDigits: d })).toThrow(RangeError);
    const histogram = new HdrHistogram();
    expect(() => histogram.record(-1)).toThrow("Cannot record value -1 with count 1");
    expect(() => histogram.record(NaN)).toThrow(RangeError);
    expect(() => histogram.record(5, -1)).toThrow(RangeError);
  });
});

describe("HdrHistogram.merge()", () => {
  test("equals recording every value in one histogram", () => {
    const rand = prng(3);
    const all = new HdrHistogram();
    const parts = [new HdrHistogram(), new HdrHistogram(), new HdrHistogram()];
    for (let i = 0; i < 30_000; i++) {
      const v = Math.round(1e5 * Math.exp(2 * normal(rand)));
      all.record(v);
      parts[i % 3]!.record(v);
    }
    const merged = new HdrHistogram();
    for (const part of parts) merged.merge(part);
    merged.merge(new HdrHistogram()); // merging an empty one changes nothing
    expect([merged.count, merged.min, merged.max]).toEqual([all.count, all.min, all.max]);
    expect(merged.sum).toBeCloseTo(all.sum, -3);
    for (const q of QUANTILES) expect(merged.quantile(q)).toBe(all.quantile(q));
    for (const v of [1e3, 1e5, 1e6, 5e6, 1e9]) expect(merged.countBelow(v)).toBe(all.countBelow(v));
  });

  test("into an empty histogram copies it", () => {
    const source = new HdrHistogram();
    source.record(2e6);
    source.record(3e6);
    const target = new HdrHistogram();
    target.merge(source);
    expect([target.count, target.min, target.max, target.quantile(0.5)]).toEqual([2, 2e6, 3e6, source.quantile(0.5)]);
  });

  test("rejects a histogram built with other options", () => {
    expect(() => new HdrHistogram().merge(new HdrHistogram({ significantDigits: 2 }))).toThrow(
      "Cannot merge histograms built with different options",
    );
    expect(() => new HdrHistogram().merge(new HdrHistogram({ highest: 1e9 }))).toThrow(RangeError);
  });
});

describe("HdrHistogram.countBelow()", () => {
  test("is exact at round millisecond bounds and within one bucket elsewhere", () => {
    const rand = prng(11);
    const values = new Float64Array(100_000);
    const histogram = new HdrHistogram();
    for (let i = 0; i < values.length; i++) histogram.record((values[i] = Math.round(1e6 * Math.exp(normal(rand)))));
    const exactBelow = (v: number) => values.reduce((n, x) => n + (x < v ? 1 : 0), 0);
    for (const bound of [1e6, 2e6, 5e6, 500e3, 250e3]) expect(histogram.countBelow(bound)).toBe(exactBelow(bound));
    for (const bound of [1_234_567, 777_777, 3_333_333, 100e6]) {
      const near = exactBelow(bound * 1.001) - exactBelow(bound * 0.999);
      expect(Math.abs(histogram.countBelow(bound) - exactBelow(bound))).toBeLessThanOrEqual(near);
    }
    expect(histogram.countBelow(histogram.min)).toBe(0);
    expect(histogram.countBelow(histogram.max + 1)).toBe(values.length);
  });
});

describe("HdrHistogram.reset()", () => {
  test("forgets every value", () => {
    const histogram = new HdrHistogram();
    histogram.record(5e6);
    histogram.reset();
    expect([histogram.count, histogram.min, histogram.max, histogram.sum, histogram.quantile(0.5)]).toEqual([
      0, 0, 0, 0, 0,
    ]);
    histogram.record(7e6);
    expect(histogram.quantile(0.5)).toBe(7e6);
  });
});

describe("HdrHistogram.toData() and fromData()", () => {
  test("round-trip through JSON to the same quantiles, counts and bounds", () => {
    const rand = prng(5);
    const histogram = new HdrHistogram();
    for (let i = 0; i < 20_000; i++) histogram.record(Math.round(1e5 * Math.exp(2 * normal(rand))));
    histogram.record(0);
    histogram.record(7_200e9); // past highest: the overflow bucket
    const copy = HdrHistogram.fromData(JSON.parse(JSON.stringify(histogram.toData())));
    expect([copy.count, copy.min, copy.max, copy.sum]).toEqual([histogram.count, 0, 7_200e9, histogram.sum]);
    for (const q of QUANTILES) expect(copy.quantile(q)).toBe(histogram.quantile(q));
    for (const v of [1e3, 1e5, 1e6, 5e6, 1e9]) expect(copy.countBelow(v)).toBe(histogram.countBelow(v));
    expect(copy.toData()).toEqual(histogram.toData());
  });

  test("lists only the non-empty buckets, and an empty histogram as none", () => {
    const histogram = new HdrHistogram({ significantDigits: 2 });
    histogram.record(5e6, 3);
    histogram.record(9e6);
    const data = histogram.toData();
    expect(data).toMatchObject({ lowest: 1_000, highest: 3_600e9, digits: 2, count: 4, min: 5e6, max: 9e6 });
    expect(data.buckets.length).toBe(4);
    expect(data.buckets[1]).toBe(3);
    expect(new HdrHistogram().toData()).toEqual({
      ...{ lowest: 1_000, highest: 3_600e9, digits: 3 },
      ...{ count: 0, sum: 0, min: 0, max: 0, buckets: [] },
    });
    const empty = HdrHistogram.fromData(new HdrHistogram().toData());
    expect([empty.count, empty.min, empty.max, empty.quantile(0.5)]).toEqual([0, 0, 0, 0]);
  });

  test("fromData() rejects data that is not a histogram or does not add up", () => {
    const good = (() => {
      const h = new HdrHistogram();
      h.record(1e6, 2);
      return h.toData();
    })();
    expect(() => HdrHistogram.fromData({ ...good, count: "2" })).toThrow(TypeError);
    expect(() => HdrHistogram.fromData(null)).toThrow(TypeError);
    expect(() => HdrHistogram.fromData({ ...good, count: 3 })).toThrow(
      "Cannot read a histogram: buckets hold 2 values, count says 3",
    );
    expect(() => HdrHistogram.fromData({ ...good, buckets: [5] })).toThrow("buckets must be index, count pairs");
    expect(() => HdrHistogram.fromData({ ...good, buckets: [1e9, 2] })).toThrow("bucket index 1000000000");
    expect(() => HdrHistogram.fromData({ ...good, buckets: [good.buckets[0], 0] })).toThrow("has count 0");
    expect(() => HdrHistogram.fromData({ ...good, digits: 9 })).toThrow(RangeError);
  });
});
