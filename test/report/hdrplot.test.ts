import { expect, test } from "bun:test";
import { AttackMetrics } from "../../lib/report/attack-metrics.ts";
import { HDRPLOT_QUANTILES, renderHdrplot } from "../../lib/report/hdrplot.ts";
import { summaryOf } from "../fixtures/shots.ts";

test("renderHdrplot() prints vegeta's header and one row per fixed quantile", () => {
  const latencies = Array.from({ length: 1000 }, (_, i) => (i + 1) * 1e6); // 1..1000 ms
  const lines = renderHdrplot(summaryOf(latencies)).trimEnd().split("\n");
  expect(HDRPLOT_QUANTILES.length).toBe(94); // the list in vegeta's lib/reporters.go, 0 to 1
  expect(lines.length).toBe(95);
  expect(lines[0]).toBe("Value(ms)    Percentile  TotalCount  1/(1-Percentile)");
  const rows = lines.slice(1).map((line) => line.trim().split(/\s+/));
  rows.forEach((cols, i) => {
    const q = HDRPLOT_QUANTILES[i]!;
    expect(cols[1]).toBe(q.toFixed(6));
    expect(cols[2]).toBe(String(Math.floor(q * 1000 + 0.5)));
    expect(cols[3]).toBe(q < 1 ? (1 / (1 - q)).toFixed(6) : "10000000.000000");
  });
  // values in ms, within the histogram's 0.1% of the exact nearest rank
  const at = (q: number) => Number(rows[HDRPLOT_QUANTILES.indexOf(q)]![0]);
  expect(Math.abs(at(0.5) - 500) / 500).toBeLessThanOrEqual(0.001);
  expect(Math.abs(at(0.990625) - 991) / 991).toBeLessThanOrEqual(0.001);
  expect(at(1)).toBe(1000);
  expect(lines[1]).toMatch(/^\d+\.\d{6} {2,}0\.000000 {2,}0 {2,}1\.000000$/);
});

test("renderHdrplot() with no requests prints zeros rather than NaN", () => {
  const text = renderHdrplot(new AttackMetrics().close());
  expect(text).not.toContain("NaN");
  expect(text.split("\n")[1]).toBe("0.000000   0.000000    0           1.000000");
});
