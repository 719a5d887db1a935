import { describe, expect, test } from "bun:test";
import { AttackMetrics } from "../../lib/report/attack-metrics.ts";
import { parseJsonReport, renderJson, ReportFormatError } from "../../lib/report/json.ts";
import { mergeReports, mergeSummaries } from "../../lib/report/merge.ts";
import { renderText } from "../../lib/report/text.ts";
import { mixedRun, T0 } from "../fixtures/shots.ts";

/** Four generators at 1000/s each, started a few ms apart, overlapping in time. */
const runs = [0, 1, 2, 3].map((g) => mixedRun(100 + g, 3000, T0 + g * 7.3 + 0.123456));

function summaryOf(results: readonly (typeof runs)[number][], buckets?: number[]) {
  const m = new AttackMetrics(buckets ? { buckets } : {});
  for (const list of results) for (const r of list) m.add(r);
  return m.close();
}

const extras = { hitRatio: null, cacheStats: null };

describe("mergeReports()", () => {
  test("4 JSON reports merge to exactly the report over the union of their results", () => {
    const union = summaryOf(runs);
    const reports = runs.map((r) => JSON.parse(renderJson(summaryOf([r]), extras)) as unknown);
    const merged = mergeReports(reports);
    // every figure: percentiles, counts, min/max, status codes, errors, rates, per-target, histograms, series
    expect(renderJson(merged.summary, merged.extras)).toBe(renderJson(union, extras));
    expect(renderText(merged.summary)).toBe(renderText(union));
    expect(merged.summary.requests).toBe(12_000);
    expect(merged.summary.byTarget.map((g) => g.name)).toEqual(["http://peer-a", "http://peer-b", "http://peer-c"]);
    expect(merged.summary.byXCache.map((g) => g.name)).toEqual(["hit", "miss"]);
    expect(merged.summary.integrityFailures).toBeGreaterThan(0);
    expect(merged.summary.slotWaits).toBeGreaterThan(0);
    // four generators at 1000/s each: the scheduled rate of the whole is about 4000/s
    expect(merged.summary.targetRate!).toBeGreaterThan(3900);
    expect(merged.summary.targetRate!).toBeLessThan(4000);
  });

  test("hist bucket counts add up when the bounds agree, and are dropped when they do not", () => {
    const bounds = [0, 1e6, 10e6];
    const same = mergeSummaries(runs.map((r) => summaryOf([r], bounds)));
    expect(same.buckets).toEqual(summaryOf(runs, bounds).buckets!);
    const mixed = mergeSummaries([summaryOf([runs[0]!], bounds), summaryOf([runs[1]!], [0, 5e6])]);
    expect(mixed.buckets).toBeUndefined();
  });

  test("one report keeps the caches' view it carries; several drop it", () => {
    const withStats = { hitRatio: 0.5, cacheStats: { before: { c: { Gets: 1 } }, after: { c: { Gets: 3 } } } };
    const one = JSON.parse(renderJson(summaryOf([runs[0]!]), withStats)) as unknown;
    expect(mergeReports([one]).extras).toEqual(withStats);
    expect(mergeReports([one, one]).extras).toEqual({ hitRatio: null, cacheStats: null });
  });

  test("refuses vegeta's own reports and damaged ones with the field at fault", () => {
    const plain = JSON.parse(renderJson(summaryOf([runs[0]!]))) as Record<string, unknown>;
    expect(() => mergeReports([plain])).toThrow(ReportFormatError);
    expect(() => mergeReports([plain])).toThrow("vegeta's own reports carry no histograms");
    const full = JSON.parse(renderJson(summaryOf([runs[0]!]), extras)) as { cas: Record<string, unknown> };
    const broken = { ...full, cas: { ...full.cas, successes: "many" } };
    expect(() => mergeReports([broken])).toThrow("cas.successes must be a number");
    expect(() => mergeReports([{ ...full, earliest: "yesterday" }])).toThrow("earliest: Cannot parse");
    expect(() => mergeReports(["text"])).toThrow("the report must be an object");
  });
});

test("parseJsonReport() gives back the summary renderJson() wrote", () => {
  const s = summaryOf([runs[2]!], [0, 2e6]);
  const text = renderJson(s, extras);
  const back = parseJsonReport(JSON.parse(text));
  expect(renderJson(back.summary, back.extras)).toBe(text);
  expect(back.summary.earliest).toBe(s.earliest!);
  expect(back.summary.end).toBe(s.end!);
});

test("mergeSummaries() of an unpaced run has no target rate", () => {
  const m = new AttackMetrics({ unpaced: true });
  for (const r of runs[0]!) m.add(r);
  const unpaced = m.close();
  expect(unpaced.targetRate).toBeNull();
  expect(mergeSummaries([unpaced, summaryOf([runs[1]!])]).targetRate).toBeNull();
  const back = parseJsonReport(JSON.parse(renderJson(unpaced, extras))).summary;
  expect(back.targetRate).toBeNull();
  expect(back.achievedRate).toBe(unpaced.achievedRate);
});
