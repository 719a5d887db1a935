/**
 * The load tester's Prometheus metrics, served on `--metrics-port` while an attack runs:
 * `cas_client_requests_total{status}`, `cas_client_request_duration_seconds` (from the due time) and
 * `cas_client_errors_total`, next to the shared registry's process metrics.
 */
import type { Server } from "bun";
import { Counter, Histogram } from "prom-client";
import { isSuccess } from "../report/attack-metrics.ts";
import type { ShotResult } from "../loadgen.ts";
import { DURATION_BUCKETS_SECONDS, createMetrics, type HttpMetrics } from "../common/prometheus.ts";
import { errorResponse } from "../common/http-error.ts";
import type { Logger } from "../common/log.ts";
import { opsRoutes } from "../common/ops-routes.ts";
import { pathOf } from "../common/request-path.ts";
import { serve } from "../common/serve.ts";

export interface ClientMetrics {
  http: HttpMetrics;
  /** Counts one result. */
  observe(r: ShotResult): void;
}

/** Registers the client metrics on a fresh registry. */
export function createClientMetrics(): ClientMetrics {
  const http = createMetrics();
  const requests = new Counter({
    name: "cas_client_requests_total",
    help: "Requests the load tester completed, by response status (0 = no response)",
    labelNames: ["status"] as const,
    registers: [http.registry],
  });
  const duration = new Histogram({
    name: "cas_client_request_duration_seconds",
    help: "Request latency measured from the request's due time to the end of its response, in seconds",
    buckets: DURATION_BUCKETS_SECONDS,
    registers: [http.registry],
  });
  const errors = new Counter({
    name: "cas_client_errors_total",
    help: "Requests that failed: no response, a status outside 200..399, or a body that did not match its key",
    registers: [http.registry],
  });
  const byStatus = new Map<number, { inc(): void }>();
  return {
    http,
    observe(r) {
      let c = byStatus.get(r.status);
      if (c === undefined) {
        c = requests.labels(String(r.status));
        byStatus.set(r.status, c);
      }
      c.inc();
      duration.observe(Math.max(0, r.latencyNs) / 1e9);
      if (!isSuccess(r.status) || (r.error !== undefined && r.error !== "")) errors.inc();
    },
  };
}

export interface ClientMetricsServeOptions {
  host: string;
  port: number;
  logger: Logger;
}

/**
 * Serves `/metrics` (and nothing else) for the registry through lib/common/serve.ts, which logs "listening";
 * the caller stops it. Signals are left to client.ts, which ends the attack on the first one.
 */
export function serveClientMetrics(metrics: ClientMetrics, options: ClientMetricsServeOptions): Server<undefined> {
  const ops = opsRoutes({ metrics: metrics.http.registry });
  return serve({
    name: "metrics",
    host: options.host,
    port: options.port,
    logger: options.logger,
    async fetch(req) {
      const started = performance.now();
      const path = pathOf(req.url);
      const res = (await ops.answer(req, path)) ?? errorResponse(404, "not_found", "only /metrics is served here");
      metrics.http.observe(
        req.method,
        ops.has(path) ? path : "other",
        res.status,
        (performance.now() - started) / 1000,
      );
      return res;
    },
  });
}
