import { expect, test } from "bun:test";
import { parseShard, parseStartAt } from "../../lib/client/distributed.ts";

test("parseShard() reads I/N, counted from 0", () => {
  expect(parseShard("0/4")).toEqual({ index: 0, count: 4 });
  expect(parseShard(" 3 / 4 ")).toEqual({ index: 3, count: 4 });
  expect(parseShard("0/1")).toEqual({ index: 0, count: 1 });
});

test("parseShard() rejects anything else in one line", () => {
  for (const raw of ["", "4", "1/", "/4", "-1/4", "1.5/4", "a/b"]) {
    expect(() => parseShard(raw)).toThrow("expected I/N such as 0/4 (shard I of N, counted from 0)");
  }
  expect(() => parseShard("4/4")).toThrow("the shard index must be below 4 (shards count from 0)");
  expect(() => parseShard("0/0")).toThrow("the number of shards must be at least 1");
});

test("parseStartAt() reads RFC 3339 with a zone, fractions of a millisecond kept", () => {
  expect(parseStartAt("2026-12-01T16:00:00Z")).toBe(Date.UTC(2026, 11, 1, 16));
  expect(parseStartAt("2026-12-01T17:00:00.25+01:00")).toBe(Date.UTC(2026, 11, 1, 16, 0, 0, 250));
  expect(parseStartAt("2026-12-01T16:00:00.000123Z") - Date.UTC(2026, 11, 1, 16)).toBeCloseTo(0.123, 3);
});

test("parseStartAt() wants a full RFC 3339 time with its zone", () => {
  for (const raw of [
    "",
    "now",
    "2026-12-01",
    "2026-12-01T16:00:00",
    "2026-12-01 16:00:00Z",
    "2026-13-01T16:00:00Z",
    "0001-01-01T00:00:00Z",
  ]) {
    expect(() => parseStartAt(raw)).toThrow("expected an RFC 3339 time such as 2026-12-01T16:00:00Z");
  }
});
