/**
 * Accumulates the load generator's results into vegeta's metrics and ours: `add()` per result, then `close()`
 * computes the derived figures once (percentiles, rates, per-target figures, the per-window series). Latency
 * counts from each request's due time, so queueing behind a slow server is included. Times are kept in whole
 * nanoseconds, as results files and JSON reports carry them, so a report rebuilt from either is the same.
 */
import { HdrHistogram } from "./hdr-histogram.ts";
import { nanosPast, wholeSeconds } from "./epoch-ns.ts";
import { lagSummary, latencySummary, type LagSummary, type LatencySummary } from "./latency-summary.ts";
import { GroupBreakdown, type GroupSample, type GroupSummary } from "./per-target.ts";
import { TimeSeries, type Series, type SeriesPoint } from "./time-series.ts";
import { VERIFY_ERROR, type ShotResult } from "../loadgen.ts";

export type { LagSummary, LatencySummary } from "./latency-summary.ts";
export type { SeriesPoint } from "./time-series.ts";

export interface AttackMetricsOptions {
  /** Lower bounds in ns for exact `hist` bucket counts; the last bucket is open-ended. */
  buckets?: readonly number[];
  /** Width of the series' windows to start with; they double while there are more than 1000. @default 1000 */
  windowMs?: number;
  /** The run was unpaced (`--rate 0`): there is no target rate. @default false: inferred from the due times */
  unpaced?: boolean;
}

/** Everything the reporters need: plain data plus the histograms for quantile tables and merging. */
export interface AttackSummary {
  latencies: LatencySummary;
  bytesIn: { total: number; mean: number };
  bytesOut: { total: number; mean: number };
  /**
   * Whole epoch ns of the first and last due time, of the last response (latest + wait), and of the last request
   * to go on the wire (or be given up); undefined with no results.
   */
  earliest: bigint | undefined;
  latest: bigint | undefined;
  end: bigint | undefined;
  lastSent: bigint | undefined;
  /** latest - earliest, ns. */
  duration: number;
  /** end - latest, ns. */
  wait: number;
  requests: number;
  /** requests / duration, per second (vegeta's `rate`: with due times, the scheduled rate). */
  rate: number;
  /** successes / (duration + wait), per second. */
  throughput: number;
  /** Share of responses with status 200..399. */
  success: number;
  /** Responses with status 200..399. */
  successes: number;
  statusCodes: Record<string, number>;
  /** Unique error texts in first-seen order. */
  errors: string[];
  /** Requests with an error: no response, a status outside 200..399, or a body that did not match its key. */
  errorCount: number;
  /** Bodies that did not hash to their key (the error {@linkcode VERIFY_ERROR}). */
  integrityFailures: number;
  /**
   * Requests that waited for a free `--max-inflight` slot past their due time: a generator-side limit (too few
   * slots for the rate and the latency), as k6 counts dropped iterations.
   */
  slotWaits: number;
  /**
   * The rate the requests were scheduled at, (requests - 1) / duration, per second; null when unpaced or with
   * fewer than 2 requests.
   */
  targetRate: number | null;
  /**
   * Requests that went out per second: requests over the span from the first due time to the last send, plus one
   * interval; every request counts once it has completed (answered, failed or timed out).
   */
  achievedRate: number;
  /** Exact counts per `hist` bucket, when buckets were given. */
  buckets?: { bounds: number[]; counts: number[] };
  /**
   * Responses by their `X-Cache` header (whatever their status): the hit ratio the responses themselves show,
   * as opposed to the caches' own `/stats`. Responses without the header count in neither.
   */
  cache: { hits: number; misses: number };
  /**
   * The generator's own lateness, ns: due time to on the wire, less the wait for a `--max-inflight` slot or a
   * connection. High means the generator (or its machine) could not keep up.
   */
  sendLag: LagSummary;
  /**
   * The wait for a free `--max-inflight` slot or connection, ns: high with a low `sendLag` means the server
   * answered too slowly (back-pressure), not that the generator fell behind.
   */
  queueWait: LagSummary;
  /** Per-window points from `seriesStartMs`, each `windowMs` wide. */
  series: SeriesPoint[];
  seriesStartMs: number | undefined;
  windowMs: number;
  /** Results by target name (the default flow's: the cache peer), in first-seen order. */
  byTarget: GroupSummary[];
  /** Responses by their `X-Cache` verdict, `hit` and `miss`. */
  byXCache: GroupSummary[];
  /** The latency distribution (ns), for quantile tables and curves. */
  histogram: HdrHistogram;
  sendLagHistogram: HdrHistogram;
  queueWaitHistogram: HdrHistogram;
}

/**
 * The raw counts a summary is computed from: what {@linkcode AttackMetrics} accumulates and what merging
 * reports adds up.
 */
export interface SummaryTotals {
  requests: number;
  successes: number;
  errorCount: number;
  integrityFailures: number;
  slotWaits: number;
  bytesIn: number;
  bytesOut: number;
  cacheHits: number;
  cacheMisses: number;
  earliest: bigint | undefined;
  latest: bigint | undefined;
  end: bigint | undefined;
  lastSent: bigint | undefined;
  statusCodes: Map<string, number>;
  errors: Iterable<string>;
  buckets: { bounds: number[]; counts: number[] } | undefined;
  latency: HdrHistogram;
  sendLag: HdrHistogram;
  queueWait: HdrHistogram;
  series: Series;
  byTarget: GroupSummary[];
  byXCache: GroupSummary[];
  unpaced: boolean;
}

/** Computes every derived figure of a summary from its totals. Pure (the histograms are shared, not copied). */
export function summarize(t: SummaryTotals): AttackSummary {
  const n = t.requests;
  const per = (total: number) => (n === 0 ? 0 : total / n);
  const between = (a: bigint | undefined, b: bigint | undefined) =>
    a === undefined || b === undefined ? 0 : Number(b - a);
  const duration = between(t.earliest, t.latest);
  const wait = between(t.latest, t.end);
  const targetRate = t.unpaced || n < 2 || duration <= 0 ? null : (n - 1) / (duration / 1e9);
  const sentSpan = between(t.earliest, t.lastSent) / 1e9;
  const achievedRate =
    targetRate !== null ? n / (sentSpan + 1 / targetRate) : n < 2 || sentSpan <= 0 ? n : (n - 1) / sentSpan;
  return {
    latencies: latencySummary(t.latency),
    bytesIn: { total: t.bytesIn, mean: per(t.bytesIn) },
    bytesOut: { total: t.bytesOut, mean: per(t.bytesOut) },
    earliest: t.earliest,
    latest: t.latest,
    end: t.end,
    lastSent: t.lastSent,
    duration,
    wait,
    requests: n,
    // As vegeta: with no time span (one request) the counts themselves stand in for the rates.
    rate: duration > 0 ? n / (duration / 1e9) : n,
    throughput: duration > 0 ? t.successes / ((duration + wait) / 1e9) : t.successes,
    success: per(t.successes),
    successes: t.successes,
    statusCodes: Object.fromEntries(t.statusCodes),
    errors: [...t.errors],
    errorCount: t.errorCount,
    integrityFailures: t.integrityFailures,
    slotWaits: t.slotWaits,
    targetRate,
    achievedRate,
    ...(t.buckets && { buckets: t.buckets }),
    cache: { hits: t.cacheHits, misses: t.cacheMisses },
    sendLag: lagSummary(t.sendLag),
    queueWait: lagSummary(t.queueWait),
    series: t.series.points,
    seriesStartMs: t.series.startMs,
    windowMs: t.series.windowMs,
    byTarget: t.byTarget,
    byXCache: t.byXCache,
    histogram: t.latency,
    sendLagHistogram: t.sendLag,
    queueWaitHistogram: t.queueWait,
  };
}

/** The name a result is grouped under: its target's, else `METHOD URL`. */
export function targetName(target: ShotResult["target"]): string {
  return target.name ?? `${target.method} ${target.url}`;
}

/** Collects results; not safe to `add()` after `close()`. */
export class AttackMetrics {
  #latency = new HdrHistogram();
  #sendLag = new HdrHistogram();
  #queueWait = new HdrHistogram();
  #requests = 0;
  #successes = 0;
  #errorCount = 0;
  #integrityFailures = 0;
  #slotWaits = 0;
  #bytesIn = 0;
  #bytesOut = 0;
  #cacheHits = 0;
  #cacheMisses = 0;
  // Times in whole ns since #baseS (the first result's whole epoch second): exact integers for 104 days.
  #baseS: number | undefined;
  #earliest = Infinity;
  #latest = -Infinity;
  #end = -Infinity;
  #lastSent = -Infinity;
  #statusCodes = new Map<string, number>();
  #errors = new Set<string>(); // a Set keeps insertion order: vegeta's first-seen order
  #bounds: number[] | undefined;
  #bucketCounts: number[] | undefined;
  #series: TimeSeries;
  #byTarget = new GroupBreakdown();
  #byXCache = new GroupBreakdown();
  #unpaced: boolean;
  #sample: GroupSample = {
    ...{ latencyNs: 0, status: 0, ok: false, error: undefined },
    ...{ integrityFailure: false, bytesIn: 0, bytesOut: 0 },
  };
  #summary: AttackSummary | undefined;

  constructor(options: AttackMetricsOptions = {}) {
    this.#series = new TimeSeries(options.windowMs ?? 1000);
    this.#unpaced = options.unpaced ?? false;
    if (options.buckets !== undefined) {
      if (options.buckets.length === 0) throw new RangeError("'buckets' must hold at least one bound");
      this.#bounds = [...options.buckets];
      this.#bucketCounts = new Array<number>(this.#bounds.length).fill(0);
    }
  }

  /** Number of results added so far. */
  get requests(): number {
    return this.#requests;
  }

  add(r: ShotResult): void {
    const latency = Math.max(0, Math.round(r.latencyNs));
    const queueNs = Math.max(0, Math.round(r.queueNs ?? 0));
    const lagNs = Math.max(0, Math.round(r.sendLagNs));
    this.#requests++;
    this.#bytesIn += r.bytesIn;
    this.#bytesOut += r.bytesOut;
    this.#latency.record(latency);
    this.#sendLag.record(Math.max(0, lagNs - queueNs));
    this.#queueWait.record(queueNs);
    if ((r.slotWaitNs ?? 0) > 0) this.#slotWaits++;
    const code = String(r.status);
    this.#statusCodes.set(code, (this.#statusCodes.get(code) ?? 0) + 1);
    const ok = isSuccess(r.status);
    if (ok) this.#successes++;
    if (r.cache === "HIT") this.#cacheHits++;
    else if (r.cache === "MISS") this.#cacheMisses++;
    const error = errorText(r);
    if (error !== undefined) {
      this.#errorCount++;
      this.#errors.add(error);
    }
    const integrityFailure = r.error === VERIFY_ERROR;
    if (integrityFailure) this.#integrityFailures++;

    const s = wholeSeconds(r.due);
    this.#baseS ??= s;
    const due = (s - this.#baseS) * 1e9 + nanosPast(r.due, s);
    if (due < this.#earliest) this.#earliest = due;
    if (due > this.#latest) this.#latest = due;
    if (due + latency > this.#end) this.#end = due + latency;
    if (due + lagNs > this.#lastSent) this.#lastSent = due + lagNs;
    if (this.#bounds !== undefined) this.#bucketCounts![bucketIndex(this.#bounds, latency)]!++;
    this.#series.add(r.due, latency, ok);

    const sample = this.#sample;
    sample.latencyNs = latency;
    sample.status = r.status;
    sample.ok = ok;
    sample.error = error;
    sample.integrityFailure = integrityFailure;
    sample.bytesIn = r.bytesIn;
    sample.bytesOut = r.bytesOut;
    this.#byTarget.add(targetName(r.target), sample);
    if (r.cache !== undefined) this.#byXCache.add(r.cache === "HIT" ? "hit" : "miss", sample);
  }

  /** Computes the summary once; later calls return the same object. */
  close(): AttackSummary {
    if (this.#summary !== undefined) return this.#summary;
    const none = this.#requests === 0;
    const at = (rel: number) => (none ? undefined : BigInt(this.#baseS!) * 1_000_000_000n + BigInt(rel));
    this.#summary = summarize({
      requests: this.#requests,
      successes: this.#successes,
      errorCount: this.#errorCount,
      integrityFailures: this.#integrityFailures,
      slotWaits: this.#slotWaits,
      bytesIn: this.#bytesIn,
      bytesOut: this.#bytesOut,
      cacheHits: this.#cacheHits,
      cacheMisses: this.#cacheMisses,
      earliest: at(this.#earliest),
      latest: at(this.#latest),
      end: at(this.#end),
      lastSent: at(this.#lastSent),
      statusCodes: this.#statusCodes,
      errors: this.#errors,
      buckets: this.#bounds && { bounds: this.#bounds, counts: this.#bucketCounts! },
      latency: this.#latency,
      sendLag: this.#sendLag,
      queueWait: this.#queueWait,
      series: this.#series.close(),
      byTarget: this.#byTarget.close(),
      byXCache: this.#byXCache.close(),
      unpaced: this.#unpaced,
    });
    return this.#summary;
  }
}

/** vegeta's success: only the status code counts. */
export function isSuccess(status: number): boolean {
  return status >= 200 && status < 400;
}

/** The error a result contributes: its own error, else `"404 Not Found"` for a status outside 200..399. */
export function errorText(r: Pick<ShotResult, "status" | "error">): string | undefined {
  if (r.error !== undefined && r.error !== "") return r.error;
  if (r.status === 0 || isSuccess(r.status)) return undefined;
  const reason = STATUS_TEXT[r.status];
  return reason === undefined ? String(r.status) : `${r.status} ${reason}`;
}

/**
 * vegeta's bucket rule: the bucket [bounds[i], bounds[i+1]) holding the value, else the last one; so a value
 * below the first bound also lands in the last bucket, exactly as vegeta counts it.
 */
export function bucketIndex(bounds: readonly number[], value: number): number {
  let i = 0;
  for (; i < bounds.length - 1; i++) {
    if (value >= bounds[i]! && value < bounds[i + 1]!) break;
  }
  return i;
}

/** Reason phrases as Go's `http.StatusText` gives them. */
const STATUS_TEXT: Record<number, string> = {
  100: "Continue",
  101: "Switching Protocols",
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  206: "Partial Content",
  301: "Moved Permanently",
  302: "Found",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  411: "Length Required",
  412: "Precondition Failed",
  413: "Request Entity Too Large",
  414: "Request URI Too Long",
  415: "Unsupported Media Type",
  416: "Requested Range Not Satisfiable",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
  507: "Insufficient Storage",
};

/** Hits / responses that carried `X-Cache: HIT` or `MISS`; null when none did (a target that is not our cache). */
export function observedHitRatio(summary: AttackSummary): number | null {
  const { hits, misses } = summary.cache;
  return hits + misses === 0 ? null : hits / (hits + misses);
}
