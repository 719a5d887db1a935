import { describe, expect, test } from "bun:test";
import { constantPacer } from "../../lib/loadgen/pacer.ts";

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
