/**
 * `--threshold` expressions that fail a CI job: `p99<50ms`, `success>=0.999`, `rate>=990`, `errors==0`, optionally
 * for one target (`target=GET http://h/a:p99<10ms`) or X-Cache verdict (`x_cache=hit:p50<1ms`). Parsing throws a
 * SyntaxError naming what is wrong; evaluation is a pure function of a report summary, so it works the same on a
 * live run, a re-report, merged reports or one step of a longer run.
 */
import type { AttackSummary } from "./attack-metrics.ts";
import { goDuration, goQuote, parseGoDuration } from "./go-format.ts";
import type { GroupSummary } from "./per-target.ts";

export const LATENCY_METRICS = ["p50", "p90", "p95", "p99", "max", "min", "mean"] as const;
export const OTHER_METRICS = ["success", "rate", "errors", "integrity_failures", "requests"] as const;
export type ThresholdMetric = (typeof LATENCY_METRICS)[number] | (typeof OTHER_METRICS)[number];
export type Comparison = "<" | "<=" | ">" | ">=" | "==";

/** Which results a threshold looks at: all of them, one target's, or one X-Cache verdict's. */
export type ThresholdScope = { kind: "all" } | { kind: "target" | "x_cache"; name: string };

export interface Threshold {
  /** The expression as written (trimmed). */
  text: string;
  scope: ThresholdScope;
  metric: ThresholdMetric;
  op: Comparison;
  /** ns for latency metrics, a share for success, requests per second for rate, a count otherwise. */
  limit: number;
}

export interface ThresholdResult {
  threshold: Threshold;
  /** In the limit's unit; null when there is nothing to measure (no requests, no such target). */
  measured: number | null;
  pass: boolean;
  /** Why there was nothing to measure. */
  note?: string;
}

/** Applies when no threshold names integrity_failures: a body that does not match its key fails the run. */
export const DEFAULT_INTEGRITY_THRESHOLD = "integrity_failures==0";

const EXPRESSION = /^([a-z_0-9]+)\s*(<=|>=|==|<|>)\s*(\S.*)$/;
const EXAMPLES = "p99<50ms, success>=0.999, rate>=990, errors==0 or target=NAME:p99<10ms";

/** Parses one `--threshold` expression; throws SyntaxError saying what was expected. */
export function parseThreshold(raw: string): Threshold {
  const text = raw.trim();
  let scope: ThresholdScope = { kind: "all" };
  let body = text;
  const scoped = /^(target|x_cache)=/.exec(text);
  if (scoped !== null) {
    // target names hold colons (URLs), metric expressions never do: the scope ends at the last one
    const colon = text.lastIndexOf(":");
    const name = colon === -1 ? "" : text.slice(scoped[0].length, colon).trim();
    if (name === "") throw new SyntaxError(`expected ${scoped[1]}=NAME:EXPRESSION such as ${scoped[1]}=NAME:p99<10ms`);
    const kind = scoped[1] === "target" ? "target" : "x_cache";
    if (kind === "x_cache" && name !== "hit" && name !== "miss") throw new SyntaxError('x_cache is "hit" or "miss"');
    scope = { kind, name };
    body = text.slice(colon + 1).trim();
  }
  const m = EXPRESSION.exec(body);
  if (m === null) throw new SyntaxError(`expected METRIC OP VALUE such as ${EXAMPLES}`);
  const name = m[1]!;
  const op = m[2]!;
  const value = m[3]!;
  if (!isComparison(op)) throw new SyntaxError(`expected METRIC OP VALUE such as ${EXAMPLES}`);
  if (!isMetric(name)) {
    throw new SyntaxError(
      `unknown metric ${goQuote(name)} (one of ${[...LATENCY_METRICS, ...OTHER_METRICS].join(", ")})`,
    );
  }
  return { text, scope, metric: name, op, limit: parseLimit(name, value.trim()) };
}

function isComparison(op: string): op is Comparison {
  return op === "<" || op === "<=" || op === ">" || op === ">=" || op === "==";
}

function isMetric(name: string): name is ThresholdMetric {
  return (LATENCY_METRICS as readonly string[]).includes(name) || (OTHER_METRICS as readonly string[]).includes(name);
}

function parseLimit(metric: ThresholdMetric, value: string): number {
  if ((LATENCY_METRICS as readonly string[]).includes(metric)) {
    try {
      return parseGoDuration(value);
    } catch {
      throw new SyntaxError(`expected a duration such as 50ms or 1.5s for ${metric}, got ${goQuote(value)}`);
    }
  }
  if (metric === "success") {
    const percent = value.endsWith("%");
    // 99.9 / 100 is 0.9990000000000001 in binary: keep the digits the user wrote
    const n = percent ? Number((number(value.slice(0, -1)) / 100).toPrecision(12)) : number(value);
    if (!(n >= 0 && n <= 1))
      throw new SyntaxError(`expected a share such as 0.999 or 99.9% for success, got ${goQuote(value)}`);
    return n;
  }
  if (metric === "rate") {
    const n = number(value.replace(/\/s$/, ""));
    if (!(n >= 0)) throw new SyntaxError(`expected requests per second such as 990 for rate, got ${goQuote(value)}`);
    return n;
  }
  const n = number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new SyntaxError(`expected a count such as 0 for ${metric}, got ${goQuote(value)}`);
  return n;
}

function number(text: string): number {
  return /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
}

/** `thresholds` plus {@linkcode DEFAULT_INTEGRITY_THRESHOLD} unless one of them is about integrity failures. */
export function withDefaultThresholds(thresholds: readonly Threshold[]): Threshold[] {
  if (thresholds.some((t) => t.metric === "integrity_failures" && t.scope.kind === "all")) return [...thresholds];
  return [parseThreshold(DEFAULT_INTEGRITY_THRESHOLD), ...thresholds];
}

/** Measures each threshold on `summary` and says whether it holds. Pure. */
export function evaluateThresholds(thresholds: readonly Threshold[], summary: AttackSummary): ThresholdResult[] {
  return thresholds.map((threshold) => {
    const group = scopeOf(threshold.scope, summary);
    if (group === undefined) {
      const what = threshold.scope.kind === "target" ? "target" : "X-Cache verdict";
      const name = threshold.scope.kind === "all" ? "" : threshold.scope.name;
      return { threshold, measured: null, pass: false, note: `no requests to the ${what} ${goQuote(name)}` };
    }
    const measured = measure(threshold.metric, group, summary);
    if (measured === null) return { threshold, measured, pass: false, note: "no requests" };
    return { threshold, measured, pass: compare(measured, threshold.op, threshold.limit) };
  });
}

/** What a scope's figures come from: the whole summary, or one group of it. */
type Figures = Pick<GroupSummary, "requests" | "successes" | "errorCount" | "integrityFailures" | "latencies">;

function scopeOf(scope: ThresholdScope, summary: AttackSummary): Figures | undefined {
  if (scope.kind === "all") return summary;
  const groups = scope.kind === "target" ? summary.byTarget : summary.byXCache;
  return groups.find((g) => g.name === scope.name);
}

function measure(metric: ThresholdMetric, f: Figures, summary: AttackSummary): number | null {
  switch (metric) {
    case "errors":
      return f.errorCount;
    case "integrity_failures":
      return f.integrityFailures;
    case "requests":
      return f.requests;
    case "rate":
      // a target's share of the requests that went out
      return summary.requests === 0 ? 0 : (summary.achievedRate * f.requests) / summary.requests;
  }
  if (f.requests === 0) return null;
  if (metric === "success") return f.successes / f.requests;
  return f.latencies[metric];
}

function compare(measured: number, op: Comparison, limit: number): boolean {
  switch (op) {
    case "<":
      return measured < limit;
    case "<=":
      return measured <= limit;
    case ">":
      return measured > limit;
    case ">=":
      return measured >= limit;
    case "==":
      return measured === limit;
  }
}

/** A measured value in the threshold's unit for people: `12.3ms`, `99.95%`, `998.2/s`, `3`. */
export function formatMeasured(metric: ThresholdMetric, value: number | null): string {
  if (value === null) return "-";
  if ((LATENCY_METRICS as readonly string[]).includes(metric)) return goDuration(Number(value.toPrecision(4)));
  if (metric === "success") return `${Number((value * 100).toFixed(3))}%`;
  if (metric === "rate") return `${Number(value.toFixed(2))}/s`;
  return String(value);
}
