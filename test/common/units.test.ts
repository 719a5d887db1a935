/** The one duration table and scanner and the size parser: lib/common/units.ts, and every parser built on them. */
import { describe, expect, test } from "bun:test";
import { parseRate } from "../../lib/client/rate.ts";
import { DURATION_UNITS_NS, parseBytes, parseDuration, scanDuration } from "../../lib/common/units.ts";
import { parseGoDuration } from "../../lib/report/go-format.ts";

const MICRO_SPELLINGS = ["us", "\u00b5s", "\u03bcs"]; // us, micro sign, Greek mu

describe("units", () => {
  test("parseBytes() takes plain numbers, SI and binary units", () => {
    const cases: [string, number][] = [
      ["25000", 25000],
      ["0", 0],
      ["64MiB", 64 * 2 ** 20],
      ["1GiB", 2 ** 30],
      ["10 MB", 10e6],
      ["1.5KiB", 1536],
      ["2k", 2000],
      ["3B", 3],
      ["1tib", 2 ** 40],
    ];
    for (const [raw, bytes] of cases) expect(parseBytes(raw)).toBe(bytes);
    for (const raw of ["", "lots", "-1", "5 parsecs", "1.2.3MB"]) {
      expect(() => parseBytes(raw)).toThrow("expected a size such as 25000, 64MiB or 1GB");
    }
  });

  test("parseDuration() takes unit sums in ms and bare numbers as seconds", () => {
    const cases: [string, number][] = [
      ["10s", 10_000],
      ["1m30s", 90_000],
      ["250ms", 250],
      ["2", 2000],
      ["0.5", 500],
      ["1h", 3_600_000],
      ["1500us", 1.5],
    ];
    for (const [raw, ms] of cases) expect(parseDuration(raw)).toBe(ms);
    for (const raw of ["", "10x", "s", "-1s", "1m 30s"]) {
      expect(() => parseDuration(raw)).toThrow("expected a duration such as 10s, 1m30s or 250ms");
    }
  });

  test("scanDuration() sums Go-style terms in ns and names the mistake it met", () => {
    expect(scanDuration("1m30s")).toEqual({ ok: true, ns: 90e9 });
    expect(scanDuration(".5ms")).toEqual({ ok: true, ns: 5e5 });
    expect(scanDuration("1h2m3s4ms5us6ns")).toEqual({ ok: true, ns: 3723e9 + 4e6 + 5e3 + 6 });
    expect(scanDuration("")).toEqual({ ok: false, problem: "invalid" });
    expect(scanDuration(".s")).toEqual({ ok: false, problem: "invalid" });
    expect(scanDuration("-1s")).toEqual({ ok: false, problem: "invalid" });
    expect(scanDuration("2")).toEqual({ ok: false, problem: "missing unit" });
    expect(scanDuration("1m 30s")).toEqual({ ok: false, problem: "unknown unit", unit: "m " });
  });

  test("the one unit table takes us, \u00b5s and \u03bcs in flags, rate periods and Go durations alike", () => {
    expect(Object.keys(DURATION_UNITS_NS).sort()).toEqual(
      ["h", "m", "ms", "ns", "s", "us", "\u00b5s", "\u03bcs"].sort(),
    );
    for (const micro of MICRO_SPELLINGS) {
      expect([micro, parseDuration(`1500${micro}`)]).toEqual([micro, 1.5]);
      expect([micro, parseRate(`1/500${micro}`)]).toEqual([micro, 2000]);
      expect([micro, parseGoDuration(`100${micro}`)]).toEqual([micro, 100e3]);
    }
  });
});
