/**
 * The JSON report both ways: vegeta's `report -type=json` field names, order and units exactly (ns integers,
 * RFC 3339 timestamps, compact one-line JSON), with this project's extras under `cas`: per-target figures,
 * rates, thresholds, and the histograms and counts that let {@linkcode parseJsonReport} rebuild the summary
 * exactly, so reports from several generators merge. Pure.
 */
import type { Warmup } from "./warmup.ts";
import { observedHitRatio, summarize, type AttackSummary, type LagSummary } from "./attack-metrics.ts";
import { parseRfc3339Nano, rfc3339Nano } from "./go-format.ts";
import { HdrHistogram } from "./hdr-histogram.ts";
import type { LatencySummary } from "./latency-summary.ts";
import type { GroupSummary } from "./per-target.ts";
import type { ThresholdResult } from "./thresholds.ts";
import { seriesHistogram, type Series } from "./time-series.ts";
import { epochNsFromMs, msFromEpochNs } from "./epoch-ns.ts";
import type { GeneratorStart } from "./generator-start.ts";
import type { CapacityFinding, StepOutcome, StepReport } from "./steps.ts";
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
  /** The run's steps on their own (`--steps`, a ramp's tenths, `--find-max`'s rates). */
  steps?: readonly StepReport[];
  /** What `--find-max` found. */
  capacity?: CapacityFinding;
  /** When each generator started against `--start-at`. */
  starts?: readonly GeneratorStart[];
  /** The warm-up before the schedule (`--warmup`): not counted in any figure. */
  warmup?: Warmup;
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
    ...(extras.capacity && {
      capacity: { rate: extras.capacity.rate, verdict: extras.capacity.line, exit_code: extras.capacity.code },
    }),
    ...(extras.warmup && {
      warmup: {
        duration: Math.round(extras.warmup.durationMs * 1e6),
        requests: extras.warmup.requests,
        errors: extras.warmup.errors,
      },
    }),
    ...(extras.starts && {
      starts: extras.starts.map((s) => ({
        shard: s.shard,
        start_at: rfc3339Nano(epochNsFromMs(s.at)),
        offset: Math.round(s.offsetNs),
      })),
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
  if (extras !== undefined) parts.push(`"cas":${withSteps(JSON.stringify(casJson(summary, extras)), extras.steps)}`);
  return goEscape(`{${parts.join(",")}}`) + "\n";
}

/**
 * `cas` with `steps` appended: each step's figures, its judgement, and its whole report as this function writes
 * one (vegeta's key order and histograms included), so that steps read back and merge as reports do.
 */
function withSteps(cas: string, steps: readonly StepReport[] | undefined): string {
  if (steps === undefined || steps.length === 0) return cas;
  const items = steps.map((s) => {
    const head = JSON.stringify({
      rate_asked: s.rate,
      rate_achieved: s.summary.achievedRate,
      start: rfc3339Nano(epochNsFromMs(s.startMs)),
      end: rfc3339Nano(epochNsFromMs(s.endMs)),
      requests: s.summary.requests,
      success: s.summary.success,
      latencies: { "50th": s.summary.latencies.p50, "99th": s.summary.latencies.p99 },
      ...(s.judged && { outcome: s.judged.outcome, failed: s.judged.failed, generator: s.judged.generator }),
    });
    return `${head.slice(0, -1)},"report":${renderJson(s.summary, { hitRatio: null, cacheStats: null }).trimEnd()}}`;
  });
  return `${cas.slice(0, -1)},"steps":[${items.join(",")}]}`;
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
  const extras: CasExtras = {
    hitRatio: typeof cas.hit_ratio === "number" ? cas.hit_ratio : null,
    cacheStats:
      typeof cacheStats === "object" && cacheStats !== null
        ? // shape as casJson wrote it; only shown again, never computed with
          (cacheStats as CasExtras["cacheStats"])
        : null,
  };
  if (cas.steps !== undefined) extras.steps = stepsFrom(cas.steps);
  if (cas.capacity !== undefined) extras.capacity = capacityFrom(object(cas.capacity, "cas.capacity"));
  if (cas.starts !== undefined) extras.starts = startsFrom(cas.starts);
  if (cas.warmup !== undefined) extras.warmup = warmupFrom(object(cas.warmup, "cas.warmup"));
  return { summary, extras };
}

function stepsFrom(v: unknown): StepReport[] {
  if (!Array.isArray(v)) throw new ReportFormatError("cas.steps must be a list");
  return v.map((raw: unknown, i) => {
    const what = `cas.steps[${i}]`;
    const s = object(raw, what);
    let summary: AttackSummary;
    try {
      summary = parseJsonReport(s.report).summary;
    } catch (err) {
      throw new ReportFormatError(`${what}.report: ${(err as Error).message}`);
    }
    const step: StepReport = {
      rate: count(s.rate_asked, `${what}.rate_asked`),
      startMs: msOf(s.start, `${what}.start`),
      endMs: msOf(s.end, `${what}.end`),
      summary,
    };
    if (s.outcome !== undefined) {
      if (s.outcome !== "pass" && s.outcome !== "fail" && s.outcome !== "generator-bound") {
        throw new ReportFormatError(`${what}.outcome must be pass, fail or generator-bound`);
      }
      const outcome: StepOutcome = s.outcome;
      step.judged = {
        outcome,
        failed: strings(s.failed, `${what}.failed`),
        generator: strings(s.generator, `${what}.generator`),
      };
    }
    return step;
  });
}

function capacityFrom(c: Record<string, unknown>): CapacityFinding {
  const code = c.exit_code;
  if (code !== 0 && code !== 1 && code !== 3) throw new ReportFormatError("cas.capacity.exit_code must be 0, 1 or 3");
  if (typeof c.verdict !== "string") throw new ReportFormatError("cas.capacity.verdict must be a string");
  return { rate: c.rate === null ? null : count(c.rate, "cas.capacity.rate"), line: c.verdict, code };
}

function warmupFrom(w: Record<string, unknown>): Warmup {
  return {
    durationMs: count(w.duration, "cas.warmup.duration") / 1e6,
    requests: count(w.requests, "cas.warmup.requests"),
    errors: count(w.errors, "cas.warmup.errors"),
  };
}

function startsFrom(v: unknown): GeneratorStart[] {
  if (!Array.isArray(v)) throw new ReportFormatError("cas.starts must be a list");
  return v.map((raw: unknown, i) => {
    const s = object(raw, `cas.starts[${i}]`);
    if (s.shard !== null && typeof s.shard !== "string") {
      throw new ReportFormatError(`cas.starts[${i}].shard must be a string or null`);
    }
    return {
      shard: s.shard,
      at: msOf(s.start_at, `cas.starts[${i}].start_at`),
      offsetNs: count(s.offset, `cas.starts[${i}].offset`),
    };
  });
}

function msOf(v: unknown, what: string): number {
  const ns = time(v, what);
  if (ns === undefined) throw new ReportFormatError(`${what} must be an RFC 3339 time`);
  return msFromEpochNs(ns);
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
