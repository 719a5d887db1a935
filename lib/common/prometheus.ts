/**
 * Prometheus registry for one program: prom-client's default process metrics plus the HTTP request
 * counter and duration histogram every program exports under the `cas_` prefix.
 * Programs add their own metrics to `registry`; `/metrics` is served by {@linkcode metricsResponse}.
 */
import { type Metric, Registry, collectDefaultMetrics } from "prom-client";

/** Latency buckets in seconds: 100 µs to 10 s, dense where a cache and a disk store answer. */
export const DURATION_BUCKETS_SECONDS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** prom-client default metrics that break Prometheus' naming rules; left out of every registry. */
const MISNAMED_DEFAULT_GAUGES = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
];

const REQUESTS_NAME = "cas_http_requests_total";
const DURATION_NAME = "cas_http_request_duration_seconds";

/** The shared request metrics of one (method, route), bound once so that a hot path looks nothing up. */
export interface RouteMetrics {
  /** Counts one finished request with its status code and duration in seconds. */
  observe(status: number, seconds: number): void;
}

export interface HttpMetrics {
  registry: Registry;
  /**
   * The handle that counts into `cas_http_requests_total{method,route,status}` and
   * `cas_http_request_duration_seconds{method,route}`; the same handle for the same pair. `route` must be a
   * fixed pattern such as "/cas/:hash", never a raw path.
   */
  route(method: string, route: string): RouteMetrics;
  /** Counts one finished request: `route(method, route).observe(status, seconds)`. */
  observe(method: string, route: string, status: number, seconds: number): void;
}

export interface MetricsOptions {
  /** Collect prom-client's process and runtime metrics. @default true */
  defaultMetrics?: boolean;
}

/** One (method, route)'s tallies: plain numbers, read by the collectors at scrape time. */
interface RouteSeries extends RouteMetrics {
  readonly method: string;
  readonly route: string;
  /** Requests per bucket of DURATION_BUCKETS_SECONDS, not cumulative; the last slot is above every bound. */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/** Requests of one (method, route, status), with the label set they are exported under. */
interface StatusCount {
  readonly labels: Readonly<Record<"method" | "route" | "status", string>>;
  value: number;
}

/** One exported sample, as prom-client's registry renders it. */
interface Sample {
  metricName?: string;
  labels: Record<string, string | number>;
  value: number;
}

/**
 * What `Registry.metrics()` reads from a registered metric (prom-client 15 lib/registry.js): `name`, `help`,
 * `type` and `get()` resolving to the samples; `reset()` for `resetMetrics()`, `aggregator` for cluster merging.
 */
interface Collector {
  name: string;
  help: string;
  type: "counter" | "histogram";
  aggregator: "sum";
  get(): Promise<{ name: string; help: string; type: string; aggregator: "sum"; values: Sample[] }>;
  reset(): void;
}

/** One of our series as the registry needs it: its samples at scrape time, and how to zero it. */
interface CollectorSource {
  name: string;
  help: string;
  type: Collector["type"];
  samples(): Sample[];
  reset(): void;
}

/** Creates a registry with the default metrics and the shared HTTP metrics registered on it. */
export function createMetrics(options: MetricsOptions = {}): HttpMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry });
    // prom-client names three gauges with a counter's "_total" suffix, which `promtool check metrics`
    // flags; the same figures stay available, by type, in nodejs_active_{handles,requests,resources}.
    for (const name of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(name);
  }
  // prom-client's own Counter and Histogram hash their labels on every call (about 1.2 µs per request for the
  // pair), too much for a cache hit; these series are plain numbers behind handles, handed over at scrape time.
  const byMethod = new Map<string, Map<string, RouteSeries>>();
  const all: RouteSeries[] = [];
  // In the order first counted, as prom-client wrote them.
  const statusCounts: StatusCount[] = [];

  function route(method: string, pattern: string): RouteMetrics {
    let byRoute = byMethod.get(method);
    if (byRoute === undefined) {
      byRoute = new Map();
      byMethod.set(method, byRoute);
    }
    let series = byRoute.get(pattern);
    if (series === undefined) {
      series = createRouteSeries(method, pattern, (counted) => statusCounts.push(counted));
      byRoute.set(pattern, series);
      all.push(series);
    }
    return series;
  }

  registerCollector(registry, {
    name: REQUESTS_NAME,
    help: "HTTP requests answered, by method, route pattern and status code",
    type: "counter",
    samples: () => statusCounts.map((s) => ({ value: s.value, labels: s.labels })),
    reset() {
      for (const s of statusCounts) s.value = 0;
    },
  });
  registerCollector(registry, {
    name: DURATION_NAME,
    help: "Time from receiving a request to returning its response, in seconds",
    type: "histogram",
    samples: () =>
      all.filter((series) => series.count > 0).flatMap((series) => histogramSamples(DURATION_NAME, series)),
    reset() {
      for (const series of all) {
        series.buckets.fill(0);
        series.sum = 0;
        series.count = 0;
      }
    },
  });

  return {
    registry,
    route,
    observe(method, pattern, status, seconds) {
      route(method, pattern).observe(status, seconds);
    },
  };
}

function createRouteSeries(method: string, route: string, onNewStatus: (counted: StatusCount) => void): RouteSeries {
  const bounds = DURATION_BUCKETS_SECONDS;
  const buckets = new Float64Array(bounds.length + 1);
  const statuses = new Map<number, StatusCount>();
  const series: RouteSeries = {
    method,
    route,
    buckets,
    sum: 0,
    count: 0,
    observe(status, seconds) {
      let counted = statuses.get(status);
      if (counted === undefined) {
        counted = { labels: { method, route, status: String(status) }, value: 0 };
        statuses.set(status, counted);
        onNewStatus(counted);
      }
      counted.value++;
      let b = 0;
      while (b < bounds.length && seconds > bounds[b]!) b++;
      buckets[b]!++;
      series.sum += seconds;
      series.count++;
    },
  };
  return series;
}

/** A series' `_bucket` samples (cumulative, `le` first, then `+Inf`), `_sum` and `_count`, as prom-client writes them. */
function histogramSamples(name: string, series: RouteSeries): Sample[] {
  const { method, route } = series;
  const samples: Sample[] = [];
  let cumulative = 0;
  for (let b = 0; b < DURATION_BUCKETS_SECONDS.length; b++) {
    cumulative += series.buckets[b]!;
    samples.push({
      metricName: `${name}_bucket`,
      labels: { le: DURATION_BUCKETS_SECONDS[b]!, method, route },
      value: cumulative,
    });
  }
  samples.push(
    { metricName: `${name}_bucket`, labels: { le: "+Inf", method, route }, value: series.count },
    { metricName: `${name}_sum`, labels: { method, route }, value: series.sum },
    { metricName: `${name}_count`, labels: { method, route }, value: series.count },
  );
  return samples;
}

/**
 * Registers a collector of our own. The cast is the one place prom-client's types are bent: `registerMetric`
 * is typed for its own four classes and declares `type` a numeric enum, while its registry only reads the
 * members of {@linkcode Collector} and prints `type` as the string it holds.
 */
function registerCollector(registry: Registry, source: CollectorSource): void {
  const collector: Collector = {
    name: source.name,
    help: source.help,
    type: source.type,
    aggregator: "sum",
    get: () =>
      Promise.resolve({
        name: source.name,
        help: source.help,
        type: source.type,
        aggregator: "sum",
        values: source.samples(),
      }),
    reset: source.reset,
  };
  registry.registerMetric(collector as unknown as Metric);
}

/** The `/metrics` response in Prometheus text format. */
export async function metricsResponse(registry: Registry): Promise<Response> {
  const body = await registry.metrics();
  return new Response(body, { headers: { "content-type": registry.contentType } });
}
