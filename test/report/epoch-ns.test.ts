import { expect, test } from "bun:test";
import { epochNsFromMs, msFromEpochNs, nsBetween } from "../../lib/report/epoch-ns.ts";

test("epochNsFromMs() and msFromEpochNs() round-trip the load generator's sub-ms epoch doubles", () => {
  const t0 = Date.UTC(2026, 10, 25, 15, 37, 1);
  let checked = 0;
  // fractions as the generator makes them: performance.timeOrigin + now(), steps of 1/rate
  for (let i = 0; i < 100_000; i++) {
    const ms = t0 + performance.now() + i * (1000 / 3) + i / 7;
    const ns = epochNsFromMs(ms);
    expect(msFromEpochNs(ns)).toBe(ms);
    checked++;
  }
  expect(checked).toBe(100_000);
  expect(epochNsFromMs(t0 + 0.5)).toBe(BigInt(t0) * 1_000_000n + 500_000n);
});

test("nsBetween() is exact where doubles of epoch ns would not be", () => {
  const a = 1_764_085_021_000_000_001n;
  expect(nsBetween(a, a + 999_999_999n)).toBe(999_999_999);
  expect(nsBetween(a + 5n, a)).toBe(-5);
});
