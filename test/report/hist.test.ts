import { describe, expect, test } from "bun:test";
import { AttackMetrics } from "../../lib/report/attack-metrics.ts";
import { parseBuckets, parseReportKind, renderHist } from "../../lib/report/hist.ts";
import { summaryOf } from "../fixtures/shots.ts";

describe("parseReportKind()", () => {
  test("knows json, text, hdrplot and hist[...]", () => {
    expect(parseReportKind("json")).toEqual({ kind: "json" });
    expect(parseReportKind("text")).toEqual({ kind: "text" });
    expect(parseReportKind("hdrplot")).toEqual({ kind: "hdrplot" });
    expect(parseReportKind("hist[0,1ms,5ms]")).toEqual({ kind: "hist", buckets: [0, 1e6, 5e6] });
  });

  test("fails with vegeta's messages", () => {
    const cases: [string, string][] = [
      ["hist", "bad buckets: ''"],
      ["hist[", "bad buckets: '['"],
      ["hist{0,2ms}", "bad buckets: {0,2ms}"],
      ["hist[]", 'time: invalid duration ""'],
      ["hist[0, 2]", 'time: missing unit in duration "2"'],
      ["hist[0,5x]", 'time: unknown unit "x" in duration "5x"'],
      ["csv", 'unknown report type: "csv"'],
    ];
    for (const [raw, message] of cases) expect(() => parseReportKind(raw)).toThrow(message);
  });
});

test("parseBuckets() trims spaces around each bound, as vegeta", () => {
  expect(parseBuckets("[0,5ms]")).toEqual([0, 5e6]);
  expect(parseBuckets("[0, 5ms]")).toEqual([0, 5e6]);
  expect(parseBuckets("[   0,5ms, 10m    ]")).toEqual([0, 5e6, 600e9]);
});

test("renderHist() prints vegeta's table: exclusive upper bounds, +Inf last, one # per 1/75", () => {
  const latencies = [0.5e6, 0.9e6, 1e6, 2e6, 3e6, 4e6, 4.5e6, 20e6];
  const summary = summaryOf(latencies, { buckets: [0, 1e6, 5e6, 10e6] });
  expect(renderHist(summary)).toBe(
    [
      "Bucket         #  %       Histogram",
      "[0s,    1ms]   2  25.00%  ##################",
      "[1ms,   5ms]   5  62.50%  ##############################################",
      "[5ms,   10ms]  0  0.00%   ",
      "[10ms,  +Inf]  1  12.50%  #########",
      "",
    ].join("\n"),
  );
});

test("renderHist() refuses a summary without buckets", () => {
  expect(() => renderHist(new AttackMetrics().close())).toThrow(TypeError);
});
