/**
 * Prometheus registry for one program: prom-client's default process metrics plus the HTTP request
 * counter and duration histogram every program exports under the `cas_` prefix.
 * Programs add their own metrics to `registry`; `/metrics` is served by {@linkcode metricsResponse}.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

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

export interface HttpMetrics {
  registry: Registry;
  /** `cas_http_requests_total{method,route,status}` */
  requests: Counter<"method" | "route" | "status">;
  /** `cas_http_request_duration_seconds{method,route}` */
  duration: Histogram<"method" | "route">;
  /** Counts one finished request; `route` must be a fixed pattern such as "/cas/:hash", never a raw path. */
  observe(method: string, route: string, status: number, seconds: number): void;
}

export interface MetricsOptions {
  /** Collect prom-client's process and runtime metrics. @default true */
  defaultMetrics?: boolean;
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
  const requests = new Counter({
    name: "cas_http_requests_total",
    help: "HTTP requests answered, by method, route pattern and status code",
    labelNames: ["method", "route", "status"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "cas_http_request_duration_seconds",
    help: "Time from receiving a request to returning its response, in seconds",
    labelNames: ["method", "route"] as const,
    buckets: DURATION_BUCKETS_SECONDS,
    registers: [registry],
  });
  // Label-bound children are cached so the hot path does no label hashing per request.
  const counterChildren = new Map<string, { inc(): void }>();
  const histogramChildren = new Map<string, { observe(v: number): void }>();
  function observe(method: string, route: string, status: number, seconds: number): void {
    const hkey = method + " " + route;
    const ckey = hkey + " " + status;
    let c = counterChildren.get(ckey);
    if (c === undefined) {
      c = requests.labels(method, route, String(status));
      counterChildren.set(ckey, c);
    }
    c.inc();
    let h = histogramChildren.get(hkey);
    if (h === undefined) {
      h = duration.labels(method, route);
      histogramChildren.set(hkey, h);
    }
    h.observe(seconds);
  }
  return { registry, requests, duration, observe };
}

/** The `/metrics` response in Prometheus text format. */
export async function metricsResponse(registry: Registry): Promise<Response> {
  const body = await registry.metrics();
  return new Response(body, { headers: { "content-type": registry.contentType } });
}
