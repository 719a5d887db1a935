import { describe, expect, test } from "bun:test";
import {
  constantPacer,
  rampPacer,
  scheduleIndex,
  shardPacer,
  stepsPacer,
  type Pacer,
} from "../../lib/loadgen/pacer.ts";

const S = 1e9; // one second in ns
const MS = 1e6;

describe("constantPacer()", () => {
  const table: {
    name: string;
    rate: number;
    duration?: number;
    elapsed: number;
    sent: number;
    wait: number;
    stop: boolean;
  }[] = [
    { name: "first request is due at once", rate: 10, elapsed: 0, sent: 0, wait: 0, stop: false },
    { name: "waits one interval after the first", rate: 10, elapsed: 0, sent: 1, wait: 100 * MS, stop: false },
    { name: "waits the rest of the interval", rate: 10, elapsed: 30 * MS, sent: 1, wait: 70 * MS, stop: false },
    { name: "exactly on time", rate: 10, elapsed: 500 * MS, sent: 5, wait: 0, stop: false },
    { name: "late by 50 ms: negative wait", rate: 10, elapsed: 550 * MS, sent: 5, wait: -50 * MS, stop: false },
    { name: "far behind: wait says by how much", rate: 1000, elapsed: 2 * S, sent: 1000, wait: -S, stop: false },
    { name: "ahead: a request sent early waits", rate: 1, elapsed: 0, sent: 3, wait: 3 * S, stop: false },
    {
      name: "1 s at 10/s: the 10th is due at 0.9 s",
      rate: 10,
      duration: S,
      elapsed: 0,
      sent: 9,
      wait: 900 * MS,
      stop: false,
    },
    {
      name: "1 s at 10/s: the 11th would be due at 1 s: stop",
      rate: 10,
      duration: S,
      elapsed: 0,
      sent: 10,
      wait: 0,
      stop: true,
    },
    { name: "stop does not depend on the clock", rate: 10, duration: S, elapsed: 5 * S, sent: 10, wait: 0, stop: true },
    {
      name: "late requests still go out after the duration",
      rate: 10,
      duration: S,
      elapsed: 5 * S,
      sent: 9,
      wait: -4.1 * S,
      stop: false,
    },
    {
      name: "3/s for 1 s is 3 requests despite 1/3 in floats",
      rate: 3,
      duration: S,
      elapsed: 0,
      sent: 3,
      wait: 0,
      stop: true,
    },
    { name: "3/s: the 3rd is due at 2/3 s", rate: 3, duration: S, elapsed: 0, sent: 2, wait: (2 * S) / 3, stop: false },
    {
      name: "1/min for 1 min is one request",
      rate: 1 / 60,
      duration: 60 * S,
      elapsed: 0,
      sent: 1,
      wait: 0,
      stop: true,
    },
    {
      name: "fractional rate, first request",
      rate: 1 / 60,
      duration: 60 * S,
      elapsed: 0,
      sent: 0,
      wait: 0,
      stop: false,
    },
    {
      name: "0.5/s for 3 s: 2 requests (due 0, 2 s)",
      rate: 0.5,
      duration: 3 * S,
      elapsed: 0,
      sent: 2,
      wait: 0,
      stop: true,
    },
    { name: "no duration: never stops", rate: 10, elapsed: 1e6 * S, sent: 1e7, wait: 0, stop: false },
    { name: "duration 0 means no end", rate: 10, duration: 0, elapsed: 0, sent: 1e9, wait: 1e17, stop: false },
    { name: "unpaced: always due", rate: 0, duration: S, elapsed: 500 * MS, sent: 123456, wait: 0, stop: false },
    { name: "unpaced: stops at the duration", rate: 0, duration: S, elapsed: S, sent: 10, wait: 0, stop: true },
    { name: "unpaced, no duration: never stops", rate: 0, elapsed: 1e9 * S, sent: 1e12, wait: 0, stop: false },
    // overflow: due times past what a double holds, or past any sane duration
    { name: "overflow: due time not representable: stop", rate: 1e-300, elapsed: 0, sent: 1e10, wait: 0, stop: true },
    {
      name: "overflow: huge counts stay finite",
      rate: 1e6,
      elapsed: 0,
      sent: Number.MAX_SAFE_INTEGER,
      wait: Number.MAX_SAFE_INTEGER * 1e3,
      stop: false,
    },
    {
      name: "overflow: huge count past a long duration stops",
      rate: 1e6,
      duration: 1e6 * S,
      elapsed: 0,
      sent: Number.MAX_SAFE_INTEGER,
      wait: 0,
      stop: true,
    },
    {
      name: "overflow: huge elapsed gives a finite negative wait",
      rate: 1,
      elapsed: Number.MAX_VALUE,
      sent: 1,
      wait: -Number.MAX_VALUE,
      stop: false,
    },
  ];
  for (const row of table) {
    test(row.name, () => {
      const { waitNs, stop } = constantPacer(row.rate, row.duration)(row.elapsed, row.sent);
      expect(stop).toBe(row.stop);
      expect(waitNs).toBeCloseTo(row.wait, 0);
      expect(Number.isFinite(waitNs)).toBe(true);
    });
  }

  test("sends exactly rate x duration requests when driven like a sender", () => {
    for (const [rate, seconds, expected] of [
      [1000, 10, 10_000],
      [20_000, 10, 200_000],
      [3, 10, 30],
      [7, 1.5, 11], // ceil(10.5)
    ] as const) {
      const pace = constantPacer(rate, seconds * S);
      let sent = 0;
      let elapsed = 0;
      while (true) {
        const { waitNs, stop } = pace(elapsed, sent);
        if (stop) break;
        elapsed += Math.max(0, waitNs);
        sent++;
      }
      expect(sent).toBe(expected);
    }
  });

  test("rejects bad rates and durations", () => {
    for (const rate of [-1, NaN, Infinity]) {
      expect(() => constantPacer(rate)).toThrow(RangeError);
    }
    expect(() => constantPacer(-1)).toThrow(
      "Rate must be a finite number of requests per second of at least 0, got -1",
    );
    for (const duration of [-1, NaN, Infinity]) expect(() => constantPacer(10, duration)).toThrow(RangeError);
  });
});

/** Every due time `pace` promises (ns since the start): asked at elapsed 0, the wait is the due time itself. */
function dueTimes(pace: Pacer, limit = 1e6): number[] {
  const due: number[] = [];
  for (let sent = 0; sent < limit; sent++) {
    const { waitNs, stop } = pace(0, sent);
    if (stop) return due;
    due.push(waitNs);
  }
  throw new Error("the pacer did not stop");
}

/** How many of `due` fall in each window of `windowNs`. */
function perWindow(due: readonly number[], windowNs: number): number[] {
  const counts: number[] = [];
  for (const t of due) {
    const w = Math.floor(t / windowNs);
    while (counts.length <= w) counts.push(0);
    counts[w]!++;
  }
  return counts;
}

describe("rampPacer()", () => {
  test("100..2000/s over 10 s sends (100 + 2000)/2 x 10 requests, each due when the ramp's count reaches it", () => {
    const due = dueTimes(rampPacer(100, 2000, 10 * S));
    expect(due.length).toBe(10_500);
    expect(due[0]).toBe(0);
    // request i is due at t where 100t + 95t²  = i (slope 190/s²)
    for (const i of [1, 100, 1000, 5000, 10_499]) {
      const t = due[i]! / S;
      expect(100 * t + 95 * t * t).toBeCloseTo(i, 6);
    }
    expect(due[due.length - 1]!).toBeLessThan(10 * S);
    // each second carries the ramp's integral over it: 100 + 190·(k + 1/2) requests, give or take the one on the edge
    perWindow(due, S).forEach((n, k) => expect(Math.abs(n - (100 + 190 * (k + 0.5)))).toBeLessThanOrEqual(1));
  });

  test("intervals shrink as the rate rises, and grow on a ramp down", () => {
    const up = dueTimes(rampPacer(10, 100, S));
    const down = dueTimes(rampPacer(100, 10, S));
    expect(up.length).toBe(55);
    expect(down.length).toBe(55);
    for (let i = 2; i < up.length; i++) expect(up[i]! - up[i - 1]!).toBeLessThan(up[i - 1]! - up[i - 2]!);
    for (let i = 2; i < down.length; i++) expect(down[i]! - down[i - 1]!).toBeGreaterThan(down[i - 1]! - down[i - 2]!);
    // the second request is due when the ramp's count reaches 1: 10t + 45t² up (slope 90/s²), 100t - 45t² down
    const [u, d] = [up[1]! / S, down[1]! / S];
    expect(10 * u + 45 * u * u).toBeCloseTo(1, 9);
    expect(100 * d - 45 * d * d).toBeCloseTo(1, 9);
  });

  test("a ramp from 0 starts at once and one to 0 ends at the duration", () => {
    const fromZero = dueTimes(rampPacer(0, 1000, 2 * S));
    expect(fromZero.length).toBe(1000);
    expect(fromZero[0]).toBe(0);
    expect(fromZero[1]!).toBeCloseTo(Math.sqrt(2 / 500) * S, -3); // 500 t² = 1
    const toZero = dueTimes(rampPacer(1000, 0, 2 * S));
    expect(toZero.length).toBe(1000);
    expect(toZero[toZero.length - 1]!).toBeLessThan(2 * S);
  });

  test("a flat ramp is a constant rate", () => {
    expect(dueTimes(rampPacer(50, 50, S))).toEqual(dueTimes(constantPacer(50, S)));
  });

  test("late requests are due when the ramp had them due, and the pacer does not look at the clock to stop", () => {
    const pace = rampPacer(100, 2000, 10 * S);
    const due5000 = pace(0, 5000).waitNs;
    expect(pace(20 * S, 5000)).toEqual({ waitNs: due5000 - 20 * S, stop: false });
    expect(pace(0, 10_500).stop).toBe(true);
  });

  test("rejects bad rates and durations", () => {
    for (const [from, to] of [
      [-1, 10],
      [10, NaN],
      [Infinity, 10],
    ] as const) {
      expect(() => rampPacer(from, to, S)).toThrow(RangeError);
    }
    expect(() => rampPacer(0, 0, S)).toThrow("A ramp needs a rate above 0 at one end at least");
    for (const d of [0, -1, NaN, Infinity]) expect(() => rampPacer(1, 2, d)).toThrow(RangeError);
  });
});

describe("stepsPacer()", () => {
  test("100,200,400,800/s for 10 s each: every step starts on its boundary at its own rate", () => {
    const due = dueTimes(stepsPacer([100, 200, 400, 800], 10 * S));
    expect(due.length).toBe(15_000);
    expect(perWindow(due, 10 * S)).toEqual([1000, 2000, 4000, 8000]);
    const firsts = [0, 1000, 3000, 7000];
    firsts.forEach((first, j) => expect(due[first]).toBe(j * 10 * S));
    // within a step the requests are 1/rate apart
    expect(due[1]).toBeCloseTo(S / 100, 0);
    expect(due[1001]! - due[1000]!).toBeCloseTo(S / 200, 0);
    expect(due[14_999]!).toBeCloseTo(30 * S + (7999 * S) / 800, 0);
  });

  test("each step sends what a constant pacer alone would, fractions included", () => {
    const due = dueTimes(stepsPacer([3, 7, 0.5], 1.5 * S));
    // ceil(4.5) = 5, ceil(10.5) = 11, ceil(0.75) = 1
    expect(perWindow(due, 1.5 * S)).toEqual([5, 11, 1]);
    const alone = dueTimes(constantPacer(7, 1.5 * S));
    expect(due.slice(5, 16).map((t) => t - 1.5 * S)).toEqual(alone.map((t) => expect.closeTo(t, 0)));
  });

  test("late requests keep their due times; past the last step it stops whatever the clock says", () => {
    const pace = stepsPacer([10, 20], S);
    expect(pace(5 * S, 10)).toEqual({ waitNs: S - 5 * S, stop: false });
    expect(pace(0, 29).stop).toBe(false);
    expect(pace(0, 30).stop).toBe(true);
    expect(pace(1e6 * S, 30).stop).toBe(true);
  });

  test("rejects no steps, rates not above 0 and bad step lengths", () => {
    expect(() => stepsPacer([], S)).toThrow("Steps need at least one rate");
    for (const rate of [0, -1, NaN, Infinity]) expect(() => stepsPacer([10, rate], S)).toThrow(RangeError);
    for (const step of [0, -1, NaN, Infinity]) expect(() => stepsPacer([10], step)).toThrow(RangeError);
  });
});

describe("shardPacer()", () => {
  const shapes: [string, () => Pacer][] = [
    ["constant 1000/s for 1 s", () => constantPacer(1000, S)],
    ["constant 7/s for 1.5 s", () => constantPacer(7, 1.5 * S)],
    ["ramp 100..2000/s over 2 s", () => rampPacer(100, 2000, 2 * S)],
    ["steps 100,300/s of 1 s", () => stepsPacer([100, 300], S)],
  ];
  for (const [name, make] of shapes) {
    test(`${name}: N shards together send exactly the one schedule, none twice`, () => {
      const whole = dueTimes(make());
      for (const count of [1, 2, 3, 4]) {
        const union: number[] = [];
        for (let index = 0; index < count; index++) {
          const part = dueTimes(shardPacer(make(), { index, count }));
          part.forEach((t, sent) => expect(t).toBe(whole[scheduleIndex({ index, count }, sent)]!));
          union.push(...part);
        }
        expect(union.length).toBe(whole.length);
        expect(new Set(union).size).toBe(whole.length);
        expect(union.sort((a, b) => a - b)).toEqual(whole);
      }
    });
  }

  test("scheduleIndex() is every count-th request from index", () => {
    expect([0, 1, 2, 3].map((sent) => scheduleIndex({ index: 2, count: 4 }, sent))).toEqual([2, 6, 10, 14]);
  });

  test("rejects bad shards", () => {
    const pace = constantPacer(10);
    expect(() => shardPacer(pace, { index: 4, count: 4 })).toThrow(
      "A shard index must be an integer from 0 to 3, got 4",
    );
    expect(() => shardPacer(pace, { index: 0, count: 0 })).toThrow("A shard count must be a positive integer, got 0");
    expect(() => shardPacer(pace, { index: -1, count: 2 })).toThrow(RangeError);
    expect(() => shardPacer(pace, { index: 0.5, count: 2 })).toThrow(RangeError);
  });
});
