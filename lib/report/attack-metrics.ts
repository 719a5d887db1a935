/**
 * Accumulates the load generator's results into vegeta's metrics: `add()` per result, then `close()`
 * computes the derived figures once (percentiles, rate, throughput, per-window series for the HTML page).
 * Latency counts from each request's due time, so queueing behind a slow server is included.
 */
import { HdrHistogram } from "./hdr-histogram.ts";
import type { ShotResult } from "../loadgen.ts";

export interface AttackMetricsOptions {
  /** Lower bounds in ns for exact `hist` bucket counts; the last bucket is open-ended. */
  buckets?: readonly number[];
  /** Width of one point of the time series. @default 1000 */
  windowMs?: number;
  /** Epoch ms the series starts from. @default the first result's due time */
  startMs?: number;
}

/** Latency figures in ns, under vegeta's meanings. */
export interface LatencySummary {
  total: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
  min: number;
}

/** One window of the time series (the HTML page's latency-over-time chart). */
export interface SeriesPoint {
  /** Window start, seconds since the series start. */
  t: number;
  requests: number;
  /** Responses outside 200..399, including status 0. */
  failures: number;
  p50: number;
  p99: number;
  max: number;
}

/** Everything the reporters need: plain data plus the latency histogram for quantile tables. */
export interface AttackSummary {
  latencies: LatencySummary;
  bytesIn: { total: number; mean: number };
  bytesOut: { total: number; mean: number };
  /** Epoch ms of the first and last due time, and of the last response (exactly latest + wait); undefined with no results. */
  earliest: number | undefined;
  latest: number | undefined;
  end: number | undefined;
  /** latest - earliest, ns. */
  duration: number;
  /** end - latest, ns. */
  wait: number;
  requests: number;
  /** requests / duration, per second. */
  rate: number;
  /** successes / (duration + wait), per second. */
  throughput: number;
  /** Share of responses with status 200..399. */
  success: number;
  statusCodes: Record<string, number>;
  /** Unique error texts in first-seen order. */
  errors: string[];
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
  series: SeriesPoint[];
  windowMs: number;
  /** The latency distribution (ns), for quantile tables and curves. */
  histogram: HdrHistogram;
}

/** A lag distribution in ns. */
export interface LagSummary {
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

interface Window {
  requests: number;
  failures: number;
  latency: HdrHistogram;
}

/** Collects results; not safe to `add()` after `close()`. */
export class AttackMetrics {
  #latency = new HdrHistogram();
  #sendLag = new HdrHistogram();
  #queueWait = new HdrHistogram();
  #requests = 0;
  #successes = 0;
  #latencyTotal = 0;
  #bytesIn = 0;
  #bytesOut = 0;
  #cacheHits = 0;
  #cacheMisses = 0;
  #earliest: number | undefined;
  #latest: number | undefined;
  #end: number | undefined;
  // The last response's due time and latency, kept apart: epoch ms in a double resolve only ~0.25 µs.
  #endDue = 0;
  #endLatency = 0;
  #statusCodes = new Map<string, number>();
  #errors = new Set<string>(); // a Set keeps insertion order: vegeta's first-seen order
  #bounds: number[] | undefined;
  #bucketCounts: number[] | undefined;
  #windowMs: number;
  #startMs: number | undefined;
  #windows: Window[] = [];
  #summary: AttackSummary | undefined;

  constructor(options: AttackMetricsOptions = {}) {
    this.#windowMs = options.windowMs ?? 1000;
    if (!(this.#windowMs > 0)) throw new RangeError(`'windowMs' must be positive, got ${options.windowMs}`);
    this.#startMs = options.startMs;
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
    const latency = Math.max(0, r.latencyNs);
    this.#requests++;
    this.#latencyTotal += latency;
    this.#bytesIn += r.bytesIn;
    this.#bytesOut += r.bytesOut;
    this.#latency.record(latency);
    const queueNs = Math.max(0, r.queueNs ?? 0);
    this.#sendLag.record(Math.max(0, r.sendLagNs - queueNs));
    this.#queueWait.record(queueNs);
    const code = String(r.status);
    this.#statusCodes.set(code, (this.#statusCodes.get(code) ?? 0) + 1);
    const ok = isSuccess(r.status);
    if (ok) this.#successes++;
    if (r.cache === "HIT") this.#cacheHits++;
    else if (r.cache === "MISS") this.#cacheMisses++;
    const error = errorText(r);
    if (error !== undefined) this.#errors.add(error);
    if (this.#earliest === undefined || r.due < this.#earliest) this.#earliest = r.due;
    if (this.#latest === undefined || r.due > this.#latest) this.#latest = r.due;
    const end = r.due + latency / 1e6;
    if (this.#end === undefined || end > this.#end) {
      this.#end = end;
      this.#endDue = r.due;
      this.#endLatency = latency;
    }
    if (this.#bounds !== undefined) this.#bucketCounts![bucketIndex(this.#bounds, latency)]!++;
    this.#addToWindow(r.due, latency, ok);
  }

  #addToWindow(due: number, latency: number, ok: boolean): void {
    this.#startMs ??= due;
    const index = Math.max(0, Math.floor((due - this.#startMs) / this.#windowMs));
    while (this.#windows.length <= index) {
      // Two significant digits: 1% is plenty for a chart and keeps a long run's windows small.
      this.#windows.push({ requests: 0, failures: 0, latency: new HdrHistogram({ significantDigits: 2 }) });
    }
    const w = this.#windows[index]!;
    w.requests++;
    if (!ok) w.failures++;
    w.latency.record(latency);
  }

  /** Computes the summary once; later calls return the same object. */
  close(): AttackSummary {
    if (this.#summary !== undefined) return this.#summary;
    const n = this.#requests;
    const per = (total: number) => (n === 0 ? 0 : total / n);
    const duration = this.#earliest === undefined ? 0 : Math.round((this.#latest! - this.#earliest) * 1e6);
    const wait = this.#end === undefined ? 0 : Math.round((this.#endDue - this.#latest!) * 1e6 + this.#endLatency);
    const h = this.#latency;
    const q = (p: number) => (n === 0 ? 0 : Math.round(h.quantile(p)));
    this.#summary = {
      latencies: {
        total: Math.round(this.#latencyTotal),
        mean: Math.round(per(this.#latencyTotal)),
        p50: q(0.5),
        p90: q(0.9),
        p95: q(0.95),
        p99: q(0.99),
        max: n === 0 ? 0 : Math.round(h.max),
        min: n === 0 ? 0 : Math.round(h.min),
      },
      bytesIn: { total: this.#bytesIn, mean: per(this.#bytesIn) },
      bytesOut: { total: this.#bytesOut, mean: per(this.#bytesOut) },
      earliest: this.#earliest,
      latest: this.#latest,
      end: this.#end,
      duration,
      wait,
      requests: n,
      // As vegeta: with no time span (one request) the counts themselves stand in for the rates.
      rate: duration > 0 ? n / (duration / 1e9) : n,
      throughput: duration > 0 ? this.#successes / ((duration + wait) / 1e9) : this.#successes,
      success: per(this.#successes),
      statusCodes: Object.fromEntries(this.#statusCodes),
      errors: [...this.#errors],
      ...(this.#bounds && { buckets: { bounds: this.#bounds, counts: this.#bucketCounts! } }),
      cache: { hits: this.#cacheHits, misses: this.#cacheMisses },
      sendLag: lagSummary(this.#sendLag, n),
      queueWait: lagSummary(this.#queueWait, n),
      series: this.#windows.map((w, i) => ({
        t: (i * this.#windowMs) / 1000,
        requests: w.requests,
        failures: w.failures,
        p50: w.requests === 0 ? 0 : Math.round(w.latency.quantile(0.5)),
        p99: w.requests === 0 ? 0 : Math.round(w.latency.quantile(0.99)),
        max: w.requests === 0 ? 0 : Math.round(w.latency.max),
      })),
      windowMs: this.#windowMs,
      histogram: h,
    };
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
function bucketIndex(bounds: readonly number[], value: number): number {
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

function lagSummary(h: HdrHistogram, n: number): LagSummary {
  const r = (v: number) => (n === 0 ? 0 : Math.round(v));
  return { mean: r(h.mean), p50: r(h.quantile(0.5)), p90: r(h.quantile(0.9)), p99: r(h.quantile(0.99)), max: r(h.max) };
}
