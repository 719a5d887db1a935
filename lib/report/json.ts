/**
 * The JSON report both ways: vegeta's `report -type=json` field names, order and units exactly (ns integers,
 * RFC 3339 timestamps, compact one-line JSON), with this project's extras under `cas`: per-target figures,
 * rates, thresholds, and the histograms and counts that let {@linkcode parseJsonReport} rebuild the summary
 * exactly, so reports from several generators merge. Pure.
 */
import { observedHitRatio, summarize, type AttackSummary, type LagSummary } from "./attack-metrics.ts";
import { parseRfc3339Nano, rfc3339Nano } from "./go-format.ts";
import { HdrHistogram } from "./hdr-histogram.ts";
import type { LatencySummary } from "./latency-summary.ts";
import type { GroupSummary } from "./per-target.ts";
import type { ThresholdResult } from "./thresholds.ts";
import { seriesHistogram, type Series } from "./time-series.ts";
import type { Verdict } from "./verdict.ts";

/** What the client adds beyond what its results say. */
export interface CasExtras {
  /**
   * Hits / gets the caches counted during the run (from their `/stats`), or null when unknown. The report's
   * `hit_ratio_observed` comes from the responses' `X-Cache` headers instead (in the summary).
   */
  hitRatio: number | null;
  /** Each cache's `/stats` before and after the run, by base URL (null when it did not answer). */
  cacheStats: { before: Record<string, unknown>; after: Record<string, unknown> } | null;
  /** The `--threshold` results, listed with their measured values. */
  thresholds?: readonly ThresholdResult[];
  verdict?: Verdict;
}

/** The `cas` key's content, snake_case like the rest of the report. */
export function casJson(summary: AttackSummary, extras: CasExtras): Record<string, unknown> {
  return {
    latency_from: "due", // latencies count from each request's scheduled send time
    integrity_failures: summary.integrityFailures,
    hit_ratio: extras.hitRatio, // from the caches' /stats
    hit_ratio_observed: observedHitRatio(summary),
    x_cache: { hit: summary.cache.hits, miss: summary.cache.misses },
    send_lag: lagJson(summary.sendLag), // the generator's own lateness
    queue_wait: lagJson(summary.queueWait), // waiting for a --max-inflight slot or connection
    cache_stats: extras.cacheStats,
    target_rate: summary.targetRate,
    achieved_rate: summary.achievedRate,
    slot_waits: summary.slotWaits,
    error_count: summary.errorCount,
    successes: summary.successes,
    last_sent: rfc3339Nano(summary.lastSent),
    by_target: groupsJson(summary.byTarget),
    by_x_cache: groupsJson(summary.byXCache),
    ...(extras.thresholds && {
      thresholds: extras.thresholds.map((r) => ({
        threshold: r.threshold.text,
        measured: r.measured,
        pass: r.pass,
        ...(r.note !== undefined && { note: r.note }),
      })),
    }),
    ...(extras.verdict && {
      verdict: { exit_code: extras.verdict.code, generator: extras.verdict.generator, message: extras.verdict.message },
    }),
    histograms: {
      latency: summary.histogram.toData(),
      send_lag: summary.sendLagHistogram.toData(),
      queue_wait: summary.queueWaitHistogram.toData(),
    },
    series: {
      start_ms: summary.seriesStartMs ?? null,
      window_ms: summary.windowMs,
      windows: summary.series.map((p) => ({
        requests: p.requests,
        failures: p.failures,
        histogram: p.histogram.toData(),
      })),
    },
  };
}

function lagJson(lag: LagSummary): Record<string, number> {
  return { mean: lag.mean, "50th": lag.p50, "90th": lag.p90, "99th": lag.p99, max: lag.max };
}

function latenciesJson(l: LatencySummary): Record<string, number> {
  return {
    total: l.total,
    mean: l.mean,
    "50th": l.p50,
    "90th": l.p90,
    "95th": l.p95,
    "99th": l.p99,
    max: l.max,
    min: l.min,
  };
}

function groupsJson(groups: readonly GroupSummary[]): Record<string, unknown> {
  return Object.fromEntries(
    groups.map((g) => [
      g.name,
      {
        requests: g.requests,
        success: g.success,
        successes: g.successes,
        error_count: g.errorCount,
        integrity_failures: g.integrityFailures,
        latencies: latenciesJson(g.latencies),
        bytes_in: g.bytesIn,
        bytes_out: g.bytesOut,
        status_codes: g.statusCodes,
        errors: g.errors,
        histogram: g.histogram.toData(),
      },
    ]),
  );
}

/** One line of JSON plus a newline, as vegeta's `json.Encoder` writes it. */
export function renderJson(summary: AttackSummary, extras?: CasExtras): string {
  const parts: string[] = [`"latencies":${JSON.stringify(latenciesJson(summary.latencies))}`];
  if (summary.buckets !== undefined) parts.push(`"buckets":${bucketsJson(summary.buckets)}`);
  parts.push(
    `"bytes_in":${JSON.stringify(summary.bytesIn)}`,
    `"bytes_out":${JSON.stringify(summary.bytesOut)}`,
    `"earliest":${JSON.stringify(rfc3339Nano(summary.earliest))}`,
    `"latest":${JSON.stringify(rfc3339Nano(summary.latest))}`,
    `"end":${JSON.stringify(rfc3339Nano(summary.end))}`,
    `"duration":${summary.duration}`,
    `"wait":${summary.wait}`,
    `"requests":${summary.requests}`,
    `"rate":${summary.rate}`,
    `"throughput":${summary.throughput}`,
    `"success":${summary.success}`,
    `"status_codes":${statusCodesJson(summary.statusCodes)}`,
    `"errors":${JSON.stringify(summary.errors)}`,
  );
  if (extras !== undefined) parts.push(`"cas":${JSON.stringify(casJson(summary, extras))}`);
  return goEscape(`{${parts.join(",")}}`) + "\n";
}

/** Bounds in the order given (a JS object would reorder numeric keys), as vegeta's MarshalJSON. */
function bucketsJson(buckets: { bounds: number[]; counts: number[] }): string {
  return `{${buckets.bounds.map((b, i) => `"${b}":${buckets.counts[i]}`).join(",")}}`;
}

/** Go sorts map keys as strings. */
function statusCodesJson(codes: Record<string, number>): string {
  const keys = Object.keys(codes).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${codes[k]}`).join(",")}}`;
}

/** Go's encoder escapes <, >, & and the JS line separators inside strings; they only occur inside strings here. */
function goEscape(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** A JSON report that cannot be read back; the message says which field. */
export class ReportFormatError extends SyntaxError {
  override name = "ReportFormatError";
}

/**
 * Rebuilds the summary (and the caches' view) from a JSON report this project wrote, exactly: the same
 * percentiles, counts, times and per-target figures. Throws {@linkcode ReportFormatError} for anything else,
 * including vegeta's own JSON reports, which carry no histograms to merge.
 */
export function parseJsonReport(report: unknown): { summary: AttackSummary; extras: CasExtras } {
  const r = object(report, "the report");
  if (r.cas === undefined) {
    throw new ReportFormatError("a JSON report without cas (vegeta's own reports carry no histograms to merge)");
  }
  const cas = object(r.cas, "cas");
  const histograms = object(cas.histograms, "cas.histograms");
  const series = object(cas.series, "cas.series");
  const requests = count(r.requests, "requests");
  const earliest = time(r.earliest, "earliest");
  const latest = time(r.latest, "latest");
  const xCache = object(cas.x_cache, "cas.x_cache");
  const targetRate = cas.target_rate;
  const duration = count(r.duration, "duration");
  const summary = summarize({
    requests,
    successes: count(cas.successes, "cas.successes"),
    errorCount: count(cas.error_count, "cas.error_count"),
    integrityFailures: count(cas.integrity_failures, "cas.integrity_failures"),
    slotWaits: count(cas.slot_waits, "cas.slot_waits"),
    bytesIn: count(object(r.bytes_in, "bytes_in").total, "bytes_in.total"),
    bytesOut: count(object(r.bytes_out, "bytes_out").total, "bytes_out.total"),
    cacheHits: count(xCache.hit, "cas.x_cache.hit"),
    cacheMisses: count(xCache.miss, "cas.x_cache.miss"),
    earliest,
    latest,
    end: time(r.end, "end"),
    lastSent: time(cas.last_sent, "cas.last_sent"),
    statusCodes: new Map(Object.entries(counts(r.status_codes, "status_codes"))),
    errors: strings(r.errors, "errors"),
    buckets: r.buckets === undefined ? undefined : bucketsFrom(counts(r.buckets, "buckets")),
    latency: histogram(histograms.latency, "cas.histograms.latency"),
    sendLag: histogram(histograms.send_lag, "cas.histograms.send_lag"),
    queueWait: histogram(histograms.queue_wait, "cas.histograms.queue_wait"),
    series: seriesFrom(series),
    byTarget: groupsFrom(cas.by_target, "cas.by_target"),
    byXCache: groupsFrom(cas.by_x_cache, "cas.by_x_cache"),
    // a run of 2 or more requests over a time span has a target rate unless it was unpaced
    unpaced: targetRate === null && requests >= 2 && duration > 0,
  });
  const cacheStats = cas.cache_stats;
  return {
    summary,
    extras: {
      hitRatio: typeof cas.hit_ratio === "number" ? cas.hit_ratio : null,
      cacheStats:
        typeof cacheStats === "object" && cacheStats !== null
          ? // shape as casJson wrote it; only shown again, never computed with
            (cacheStats as CasExtras["cacheStats"])
          : null,
    },
  };
}

function object(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new ReportFormatError(`${what} must be an object`);
  return v as Record<string, unknown>; // checked to be a plain object just above
}

function count(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0)
    throw new ReportFormatError(`${what} must be a number of at least 0`);
  return v;
}

function counts(v: unknown, what: string): Record<string, number> {
  const o = object(v, what);
  for (const [k, n] of Object.entries(o)) count(n, `${what}.${k}`);
  return o as Record<string, number>; // every value checked to be a number just above
}

function strings(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string"))
    throw new ReportFormatError(`${what} must be a list of strings`);
  return v as string[]; // checked just above
}

function time(v: unknown, what: string): bigint | undefined {
  if (typeof v !== "string") throw new ReportFormatError(`${what} must be an RFC 3339 time`);
  try {
    return parseRfc3339Nano(v);
  } catch (err) {
    throw new ReportFormatError(`${what}: ${(err as Error).message}`);
  }
}

function histogram(v: unknown, what: string): HdrHistogram {
  try {
    return HdrHistogram.fromData(v);
  } catch (err) {
    throw new ReportFormatError(`${what}: ${(err as Error).message}`);
  }
}

function bucketsFrom(buckets: Record<string, number>): { bounds: number[]; counts: number[] } {
  const entries = Object.entries(buckets).sort(([a], [b]) => Number(a) - Number(b));
  return { bounds: entries.map(([b]) => Number(b)), counts: entries.map(([, n]) => n) };
}

function seriesFrom(s: Record<string, unknown>): Series {
  const windowMs = count(s.window_ms, "cas.series.window_ms");
  const startMs = s.start_ms === null ? undefined : count(s.start_ms, "cas.series.start_ms");
  if (!Array.isArray(s.windows)) throw new ReportFormatError("cas.series.windows must be a list");
  const points = s.windows.map((raw: unknown, i) => {
    const w = object(raw, `cas.series.windows[${i}]`);
    const h =
      w.histogram === undefined ? seriesHistogram() : histogram(w.histogram, `cas.series.windows[${i}].histogram`);
    const requests = count(w.requests, `cas.series.windows[${i}].requests`);
    return {
      t: (i * windowMs) / 1000,
      requests,
      failures: count(w.failures, `cas.series.windows[${i}].failures`),
      p50: requests === 0 ? 0 : Math.round(h.quantile(0.5)),
      p99: requests === 0 ? 0 : Math.round(h.quantile(0.99)),
      max: requests === 0 ? 0 : Math.round(h.max),
      histogram: h,
    };
  });
  return { startMs, windowMs, points };
}

function groupsFrom(v: unknown, what: string): GroupSummary[] {
  return Object.entries(object(v, what)).map(([name, raw]) => {
    const g = object(raw, `${what}[${JSON.stringify(name)}]`);
    const at = (key: string) => `${what}[${JSON.stringify(name)}].${key}`;
    const h = histogram(g.histogram, at("histogram"));
    const requests = count(g.requests, at("requests"));
    const successes = count(g.successes, at("successes"));
    const bytesIn = count(object(g.bytes_in, at("bytes_in")).total, at("bytes_in.total"));
    const bytesOut = count(object(g.bytes_out, at("bytes_out")).total, at("bytes_out.total"));
    const per = (total: number) => (requests === 0 ? 0 : total / requests);
    if (!Array.isArray(g.errors)) throw new ReportFormatError(`${at("errors")} must be a list`);
    const errors = g.errors.map((e: unknown, i) => {
      const o = object(e, `${at("errors")}[${i}]`);
      if (typeof o.error !== "string") throw new ReportFormatError(`${at("errors")}[${i}].error must be a string`);
      return { error: o.error, count: count(o.count, `${at("errors")}[${i}].count`) };
    });
    const l = object(g.latencies, at("latencies"));
    const ns = (key: string) => count(l[key], at(`latencies.${key}`));
    return {
      name,
      requests,
      successes,
      success: per(successes),
      errorCount: count(g.error_count, at("error_count")),
      integrityFailures: count(g.integrity_failures, at("integrity_failures")),
      latencies: {
        ...{ total: ns("total"), mean: ns("mean"), p50: ns("50th"), p90: ns("90th") },
        ...{ p95: ns("95th"), p99: ns("99th"), max: ns("max"), min: ns("min") },
      },
      bytesIn: { total: bytesIn, mean: per(bytesIn) },
      bytesOut: { total: bytesOut, mean: per(bytesOut) },
      statusCodes: counts(g.status_codes, at("status_codes")),
      errors,
      histogram: h,
    };
  });
}
