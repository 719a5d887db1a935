/**
 * The `hist[...]` report: parses the bucket list the way vegeta does (same error messages) and renders
 * its histogram table, with upper bounds exclusive and the last bucket open to +Inf. Pure.
 */
import type { AttackSummary } from "./attack-metrics.ts";
import { goDuration, goFixed, goQuote, parseGoDuration, tabwrite } from "./go-format.ts";

/** Which report `--report` asked for. */
export type ReportKind =
  { kind: "json" } | { kind: "text" } | { kind: "hdrplot" } | { kind: "hist"; buckets: number[] };

/** Parses `--report`: `json`, `text`, `hdrplot` or `hist[0,1ms,5ms]`. Throws a `SyntaxError` with vegeta's message. */
export function parseReportKind(raw: string): ReportKind {
  if (raw === "json" || raw === "text" || raw === "hdrplot") return { kind: raw };
  if (raw.startsWith("hist")) {
    if (raw.length < 6) throw new SyntaxError(`bad buckets: '${raw.slice(4)}'`);
    return { kind: "hist", buckets: parseBuckets(raw.slice(4)) };
  }
  throw new SyntaxError(`unknown report type: ${goQuote(raw)}`);
}

/** vegeta's `Buckets.UnmarshalText`: `[0,1ms,5ms]` -> lower bounds in ns. */
export function parseBuckets(text: string): number[] {
  if (text.length < 2 || !text.startsWith("[") || !text.endsWith("]")) throw new SyntaxError(`bad buckets: ${text}`);
  return text
    .slice(1, -1)
    .split(",")
    .map((part) => parseGoDuration(part.trim()));
}

/** The histogram table: `Bucket  #  %  Histogram`, one `#` per 1/75 of the requests. */
export function renderHist(summary: AttackSummary): string {
  const buckets = summary.buckets;
  if (buckets === undefined) throw new TypeError("the summary has no bucket counts: give AttackMetrics the buckets");
  const total = buckets.counts.reduce((a, b) => a + b, 0);
  let text = "Bucket\t\t#\t%\tHistogram\n";
  buckets.bounds.forEach((lo, i) => {
    const hi = i + 1 < buckets.bounds.length ? goDuration(buckets.bounds[i + 1]!) : "+Inf";
    const count = buckets.counts[i]!;
    const ratio = total === 0 ? 0 : count / total; // Go would print NaN; an empty run reads better as 0
    text += `[${goDuration(lo)},\t${hi}]\t${count}\t${goFixed(ratio * 100, 2)}%\t${"#".repeat(Math.floor(ratio * 75))}\n`;
  });
  return tabwrite(text);
}

/**
 * `summary` with `hist` counts for `bounds`: its own exact ones when it has them for these bounds, else read off
 * its latency histogram (exact at bounds such as whole ms; elsewhere within one 0.1%-wide bucket), as when
 * merged reports were written with other buckets or none.
 */
export function withBuckets(summary: AttackSummary, bounds: readonly number[]): AttackSummary {
  const own = summary.buckets;
  if (own !== undefined && own.bounds.length === bounds.length && own.bounds.every((b, i) => b === bounds[i])) {
    return summary;
  }
  const h = summary.histogram;
  const below = bounds.map((b) => h.countBelow(b));
  // vegeta's rule: [b_i, b_i+1), and the last bucket also takes what lies below the first bound
  const counts = bounds.map((_, i) =>
    i + 1 < bounds.length ? below[i + 1]! - below[i]! : h.count - below[i]! + below[0]!,
  );
  return { ...summary, buckets: { bounds: [...bounds], counts } };
}
