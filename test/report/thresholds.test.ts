import { describe, expect, test } from "bun:test";
import { AttackMetrics } from "../../lib/report/attack-metrics.ts";
import {
  evaluateThresholds,
  formatMeasured,
  parseThreshold,
  withDefaultThresholds,
} from "../../lib/report/thresholds.ts";
import { shot } from "../fixtures/shots.ts";

describe("parseThreshold()", () => {
  test("reads the metric, comparison, limit and scope", () => {
    const cases: [string, object][] = [
      ["p99<50ms", { metric: "p99", op: "<", limit: 50e6, scope: { kind: "all" } }],
      ["p50 <= 2ms", { metric: "p50", op: "<=", limit: 2e6 }],
      ["max<1s", { metric: "max", op: "<", limit: 1e9 }],
      ["mean<1.5ms", { metric: "mean", op: "<", limit: 1.5e6 }],
      ["success>=0.999", { metric: "success", op: ">=", limit: 0.999 }],
      ["success>=99.9%", { metric: "success", op: ">=", limit: 0.999 }],
      ["rate>=990", { metric: "rate", op: ">=", limit: 990 }],
      ["rate>=990/s", { metric: "rate", op: ">=", limit: 990 }],
      ["errors==0", { metric: "errors", op: "==", limit: 0 }],
      ["integrity_failures==0", { metric: "integrity_failures", op: "==", limit: 0 }],
      ["requests>100", { metric: "requests", op: ">", limit: 100 }],
      [
        "target=GET http://127.0.0.1:8080/a:p99<10ms",
        { metric: "p99", limit: 10e6, scope: { kind: "target", name: "GET http://127.0.0.1:8080/a" } },
      ],
      ["target=http://peer-a:errors==0", { metric: "errors", scope: { kind: "target", name: "http://peer-a" } }],
      ["x_cache=hit:p50<1ms", { metric: "p50", scope: { kind: "x_cache", name: "hit" } }],
    ];
    for (const [text, expected] of cases) expect(parseThreshold(text)).toMatchObject({ text, ...expected });
  });

  test("bad expressions fail with a message saying what was expected", () => {
    const bad: [string, string][] = [
      ["", "expected METRIC OP VALUE such as p99<50ms"],
      ["p99", "expected METRIC OP VALUE"],
      ["p99=50ms", "expected METRIC OP VALUE"],
      ["p99!=50ms", "expected METRIC OP VALUE"],
      ["p98<50ms", 'unknown metric "p98" (one of p50, p90, p95, p99, max, min, mean, success, rate, errors'],
      ["p99<50", 'expected a duration such as 50ms or 1.5s for p99, got "50"'],
      ["p99<fast", 'expected a duration such as 50ms or 1.5s for p99, got "fast"'],
      ["success>=1.5", 'expected a share such as 0.999 or 99.9% for success, got "1.5"'],
      ["success>=high", "expected a share"],
      ["rate>=-1", "expected requests per second such as 990 for rate"],
      ["errors==0.5", 'expected a count such as 0 for errors, got "0.5"'],
      ["target=:p99<1ms", "expected target=NAME:EXPRESSION such as target=NAME:p99<10ms"],
      ["target=x", "expected target=NAME:EXPRESSION"],
      ["x_cache=warm:p99<1ms", 'x_cache is "hit" or "miss"'],
    ];
    for (const [text, message] of bad) {
      expect(() => parseThreshold(text)).toThrow(SyntaxError);
      expect(() => parseThreshold(text)).toThrow(message);
    }
  });
});

describe("evaluateThresholds()", () => {
  // 100 requests at 100/s: 98 of 1..98 ms, a 404 at 99 ms and a bad body at 100 ms; half to each of two targets
  const m = new AttackMetrics();
  for (let i = 0; i < 100; i++) {
    m.add(
      shot({
        seq: i,
        latencyNs: (i + 1) * 1e6,
        target: { name: i % 2 === 0 ? "even" : "odd", method: "GET", url: "http://x/" },
        ...(i === 98 && { status: 404 }),
        ...(i === 99 && { error: "body does not match its key" }),
        ...(i < 10 && { cache: "HIT" as const }),
      }),
    );
  }
  const summary = m.close();

  test("measures every metric in its unit and compares", () => {
    const results = evaluateThresholds(
      [
        "p99<100ms",
        "p99<98ms",
        "p50<=50ms",
        "max<1s",
        "min>=1ms",
        "success>=0.99",
        "success>=0.995",
        "errors==2",
        "integrity_failures==0",
        "requests>=100",
        "rate>=99",
      ].map(parseThreshold),
      summary,
    );
    expect(results.map((r) => [r.threshold.text, r.pass])).toEqual([
      ["p99<100ms", true],
      ["p99<98ms", false],
      ["p50<=50ms", true],
      ["max<1s", true],
      ["min>=1ms", true],
      ["success>=0.99", true],
      ["success>=0.995", false],
      ["errors==2", true],
      ["integrity_failures==0", false],
      ["requests>=100", true],
      ["rate>=99", true],
    ]);
    expect(results[0]!.measured).toBe(summary.latencies.p99);
    expect(results[5]!.measured).toBe(0.99);
    expect(results[8]!.measured).toBe(1);
  });

  test("per target and per X-Cache verdict, and an unknown name fails with a note", () => {
    const results = evaluateThresholds(
      [
        "target=even:errors==0",
        "target=odd:errors==1",
        "target=odd:rate>=49",
        "x_cache=hit:max<=10ms",
        "target=nope:p99<1s",
      ].map(parseThreshold),
      summary,
    );
    expect(results.map((r) => r.pass)).toEqual([false, true, true, true, false]);
    expect(results[0]!.measured).toBe(1); // the 404 was request 98, an even one
    expect(results[1]!.measured).toBe(1); // the bad body, request 99
    expect(results[4]).toMatchObject({ measured: null, note: 'no requests to the target "nope"' });
  });
});

test("withDefaultThresholds() adds integrity_failures==0 unless one is given", () => {
  expect(withDefaultThresholds([parseThreshold("p99<1s")]).map((t) => t.text)).toEqual([
    "integrity_failures==0",
    "p99<1s",
  ]);
  expect(withDefaultThresholds([parseThreshold("integrity_failures<=3")]).map((t) => t.text)).toEqual([
    "integrity_failures<=3",
  ]);
});

test("formatMeasured() shows each metric in its unit", () => {
  expect(formatMeasured("p99", 12_345_678)).toBe("12.35ms");
  expect(formatMeasured("success", 0.99951)).toBe("99.951%");
  expect(formatMeasured("rate", 998.236)).toBe("998.24/s");
  expect(formatMeasured("errors", 3)).toBe("3");
  expect(formatMeasured("p50", null)).toBe("-");
});
