import { expect, test } from "bun:test";
import { AttackMetrics } from "../../lib/report/attack-metrics.ts";
import type { ShotResult } from "../../lib/loadgen.ts";
import { renderText, renderTextReport } from "../../lib/report/text.ts";
import { evaluateThresholds, parseThreshold, withDefaultThresholds } from "../../lib/report/thresholds.ts";
import { verdict } from "../../lib/report/verdict.ts";

const T0 = Date.UTC(2026, 10, 25, 15, 0, 0);

function add(m: AttackMetrics, i: number, latencyNs: number, status: number, error?: string): void {
  const r: ShotResult = {
    seq: i,
    target: { method: "GET", url: "http://x/" },
    due: T0 + i * 500,
    sent: T0 + i * 500,
    latencyNs,
    sendLagNs: 0,
    status,
    bytesIn: status === 200 ? 25_000 : 0,
    bytesOut: 0,
    ...(error && { error }),
  };
  m.add(r);
}

test("renderText() matches vegeta's text layout exactly", () => {
  const m = new AttackMetrics();
  add(m, 0, 1_500_000, 200);
  add(m, 1, 2_500_000, 200);
  add(m, 2, 3_456_789, 200);
  add(m, 3, 10_000_000, 404, "404 Not Found");
  add(m, 4, 2_000_000, 0, "connection refused");
  const text = renderText(m.close());
  // The percentiles come from the histogram (3 significant digits), so p50 reads 2.501ms for 2.5ms.
  expect(text).toBe(
    [
      "Requests      [total, rate, throughput]         5, 2.50, 1.50",
      "Duration      [total, attack, wait]             2.002s, 2s, 2ms",
      "Latencies     [min, mean, 50, 90, 95, 99, max]  1.5ms, 3.891ms, 2.501ms, 10ms, 10ms, 10ms, 10ms",
      "Bytes In      [total, mean]                     75000, 15000.00",
      "Bytes Out     [total, mean]                     0, 0.00",
      "Success       [ratio]                           60.00%",
      "Status Codes  [code:count]                      0:1  200:3  404:1  ",
      "Error Set:",
      "404 Not Found",
      "connection refused",
      "",
    ].join("\n"),
  );
});

test("renderText() with no errors ends with an empty error set", () => {
  const m = new AttackMetrics();
  add(m, 0, 1_000_000, 200);
  const text = renderText(m.close());
  expect(text.endsWith("Status Codes  [code:count]                      200:1  \nError Set:\n")).toBe(true);
  // one request spans no time: vegeta then reports the counts as the rates
  expect(text).toContain("Requests      [total, rate, throughput]         1, 1.00, 1.00\n");
});

test("renderTextReport() keeps vegeta's layout first, then rates, per-target tables, and ends with the thresholds", () => {
  const m = new AttackMetrics();
  for (let i = 0; i < 10; i++) {
    m.add({
      seq: i,
      target: { name: i % 2 === 0 ? "http://peer-a" : "http://peer-b", method: "GET", url: "http://x/" },
      due: T0 + i * 10,
      sent: T0 + i * 10,
      latencyNs: (i + 1) * 1e6,
      sendLagNs: 20_000,
      status: i === 9 ? 404 : 200,
      bytesIn: 100,
      bytesOut: 0,
      cache: i < 7 ? "HIT" : "MISS",
      ...(i === 9 && { error: "404 Not Found" }),
    });
  }
  const summary = m.close();
  const thresholds = evaluateThresholds(withDefaultThresholds([parseThreshold("p99<5ms")]), summary);
  const text = renderTextReport(summary, {
    hitRatio: null,
    cacheStats: null,
    thresholds,
    verdict: verdict(summary, thresholds),
  });
  expect(text.startsWith(renderText(summary) + "\n")).toBe(true);
  const ours = text.slice(renderText(summary).length + 1).split("\n");
  expect(ours.slice(0, 6)).toEqual([
    "Rate        [target, achieved]  100.00/s, 99.98/s", // the last send was 20 µs late
    "Send Lag    [50, 99, max]       20µs, 20µs, 20µs",
    "Queue Wait  [50, 99, max]       0s, 0s, 0s",
    "Slot Waits  [count, share]      0, 0.00%",
    "Integrity   [failures]          0",
    "Hit Ratio   [x-cache, /stats]   70.00%, -",
  ]);
  expect(text).toContain(
    [
      "Target         Requests  Success  p50      p90   p99   max   Bytes In  Bytes Out  Errors",
      "http://peer-a  5         100.00%  5.002ms  9ms   9ms   9ms   500       0          0",
      "http://peer-b  5         80.00%   6.002ms  10ms  10ms  10ms  500       0          1",
    ].join("\n"),
  );
  expect(text).toContain("\nTarget errors:\n  http://peer-b: 1 × 404 Not Found\n");
  expect(text).toContain("\nX-Cache  Requests  Success");
  expect(
    text.endsWith(
      [
        "Thresholds:",
        "PASS  integrity_failures==0  0",
        "FAIL  p99<5ms                10ms",
        "Verdict: exit 1: the system under test broke 1 threshold: p99<5ms",
        "",
      ].join("\n"),
    ),
  ).toBe(true);
});
