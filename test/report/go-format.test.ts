import { describe, expect, test } from "bun:test";
import {
  goDuration,
  goFixed,
  parseGoDuration,
  parseRfc3339Nano,
  rfc3339Nano,
  roundDuration,
  tabwrite,
} from "../../lib/report/go-format.ts";

test("goDuration() prints like Go's time.Duration.String", () => {
  const cases: [number, string][] = [
    [0, "0s"],
    [1, "1ns"],
    [999, "999ns"],
    [1000, "1µs"],
    [1500, "1.5µs"],
    [241_678, "241.678µs"],
    [1_000_000, "1ms"],
    [1_059_036, "1.059036ms"],
    [1_000_000_000, "1s"],
    [1_500_000_000, "1.5s"],
    [90e9, "1m30s"],
    [60e9, "1m0s"],
    [3600e9, "1h0m0s"],
    [3723.5e9, "1h2m3.5s"],
    [-1500, "-1.5µs"],
  ];
  for (const [ns, want] of cases) expect([ns, goDuration(ns)]).toEqual([ns, want]);
});

test("roundDuration() keeps one unit below the largest, as vegeta's text report", () => {
  expect(roundDuration(1_059_036)).toBe(1_059_000); // ms -> µs
  expect(roundDuration(1_990_000_123)).toBe(1_990_000_000); // s -> ms
  expect(roundDuration(241_678)).toBe(241_678); // µs -> ns
  expect(roundDuration(999)).toBe(999);
  expect(roundDuration(61.4e9)).toBe(61e9); // m -> s
  expect(roundDuration(3_661.6e9)).toBe(3_660e9); // h -> m
});

describe("parseGoDuration()", () => {
  test("parses Go duration syntax to ns", () => {
    expect(parseGoDuration("0")).toBe(0);
    expect(parseGoDuration("5ms")).toBe(5e6);
    expect(parseGoDuration("1.5s")).toBe(1.5e9);
    expect(parseGoDuration("1m30s")).toBe(90e9);
    expect(parseGoDuration("100us")).toBe(100e3);
    expect(parseGoDuration("100µs")).toBe(100e3);
    expect(parseGoDuration(".5ms")).toBe(5e5);
    expect(parseGoDuration("-2ns")).toBe(-2);
  });

  test("fails with Go's exact messages", () => {
    expect(() => parseGoDuration("")).toThrow('time: invalid duration ""');
    expect(() => parseGoDuration("abc")).toThrow('time: invalid duration "abc"');
    expect(() => parseGoDuration("2")).toThrow('time: missing unit in duration "2"');
    expect(() => parseGoDuration("5x")).toThrow('time: unknown unit "x" in duration "5x"');
    expect(() => parseGoDuration(".s")).toThrow('time: invalid duration ".s"');
  });
});

const SECOND_NS = BigInt(Date.UTC(2026, 10, 25, 15, 37, 1)) * 1_000_000n;

test("rfc3339Nano() gives Go's JSON time: nanoseconds, trailing zeros dropped, zero time when unset", () => {
  expect(rfc3339Nano(SECOND_NS + 123_456_789n)).toBe("2026-11-25T15:37:01.123456789Z");
  expect(rfc3339Nano(SECOND_NS + 500_000_000n)).toBe("2026-11-25T15:37:01.5Z");
  expect(rfc3339Nano(SECOND_NS)).toBe("2026-11-25T15:37:01Z");
  expect(rfc3339Nano(SECOND_NS + 999_000_000n + 1_000_001n)).toBe("2026-11-25T15:37:02.000000001Z");
  expect(rfc3339Nano(undefined)).toBe("0001-01-01T00:00:00Z");
});

test("parseRfc3339Nano() reads what rfc3339Nano() writes, offsets too, and refuses anything else", () => {
  for (const ns of [SECOND_NS, SECOND_NS + 1n, SECOND_NS + 123_456_789n, SECOND_NS + 500_000_000n]) {
    expect(parseRfc3339Nano(rfc3339Nano(ns))).toBe(ns);
  }
  expect(parseRfc3339Nano("2026-11-25T16:37:01.25+01:00")).toBe(SECOND_NS + 250_000_000n);
  expect(parseRfc3339Nano("0001-01-01T00:00:00Z")).toBeUndefined();
  for (const bad of ["", "2026-11-25 15:37:01Z", "2026-11-25T15:37:01.1234567891Z", "2026-13-45T15:37:01Z", "now"]) {
    expect(() => parseRfc3339Nano(bad)).toThrow(SyntaxError);
  }
});

describe("tabwrite()", () => {
  test("pads each column block to its widest cell plus two spaces", () => {
    expect(tabwrite("a\tbb\tc\nddd\te\tf\n")).toBe("a    bb  c\nddd  e   f\n");
  });

  test("a line without a cell in a column ends that column's block", () => {
    expect(tabwrite("a\tx\nlonger\ty\nend\nb\tz\n")).toBe("a       x\nlonger  y\nend\nb  z\n");
  });

  test("counts runes, not UTF-16 units or bytes", () => {
    expect(tabwrite("1µs\tx\n10ms\ty")).toBe("1µs   x\n10ms  y");
  });
});

test("goFixed() rounds exact ties half to even like Go's %.2f, and agrees with toFixed otherwise", () => {
  expect(goFixed(0.125, 2)).toBe("0.12");
  expect(goFixed(0.375, 2)).toBe("0.38");
  expect(goFixed(1001 / 8, 2)).toBe("125.12");
  expect(goFixed(2.5, 0)).toBe("2");
  expect(goFixed(3.5, 0)).toBe("4");
  expect(goFixed(2.675, 2)).toBe("2.67"); // not a tie in binary: 2.67499999...
  expect(goFixed(100.50251256281408, 2)).toBe("100.50");
  expect(goFixed(0, 2)).toBe("0.00");
  expect(goFixed(25000, 2)).toBe("25000.00");
});
