import { expect, test } from "bun:test";
import { contentRange, parseByteRange, type RangeResult } from "../../lib/server/byte-range.ts";

test("parseByteRange() resolves single ranges against the size", () => {
  const cases: [string | null, number, RangeResult][] = [
    [null, 100, { kind: "full" }],
    ["bytes=0-0", 100, { kind: "partial", start: 0, end: 1 }],
    ["bytes=10-19", 100, { kind: "partial", start: 10, end: 20 }],
    ["bytes=90-", 100, { kind: "partial", start: 90, end: 100 }],
    ["bytes=90-1000", 100, { kind: "partial", start: 90, end: 100 }],
    ["bytes=-10", 100, { kind: "partial", start: 90, end: 100 }],
    ["bytes=-1000", 100, { kind: "partial", start: 0, end: 100 }],
    ["Bytes = 5 - 6", 100, { kind: "partial", start: 5, end: 7 }],
  ];
  for (const [header, size, expected] of cases) expect(parseByteRange(header, size)).toEqual(expected);
});

test("parseByteRange() answers unsatisfiable past the end, for -0 and for an empty blob", () => {
  for (const [header, size] of [
    ["bytes=100-", 100],
    ["bytes=100-200", 100],
    ["bytes=-0", 100],
    ["bytes=0-", 0],
    ["bytes=-5", 0],
  ] as const) {
    expect(parseByteRange(header, size)).toEqual({ kind: "unsatisfiable" });
  }
});

test("parseByteRange() ignores several ranges, other units, reversed ranges and bad syntax", () => {
  for (const header of ["bytes=0-1,5-6", "items=0-1", "bytes=5-1", "bytes=-", "bytes=a-b", "bytes 0-1", ""]) {
    expect(parseByteRange(header, 100)).toEqual({ kind: "full" });
  }
});

test("contentRange() writes 206 and 416 forms", () => {
  expect(contentRange(100, { start: 10, end: 20 })).toBe("bytes 10-19/100");
  expect(contentRange(100)).toBe("bytes */100");
});
