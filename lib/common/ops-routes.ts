/**
 * The read-only routes every program serves next to its own, routed once: `/healthz`, `/readyz`, `/metrics`,
 * and any the program adds with the same rules (the cache's `/stats`). They take GET and HEAD; any other
 * method is 405 with `Allow: GET, HEAD`. Pure routing: each answer comes from the program.
 */
import type { Registry } from "prom-client";
import { methodNotAllowed } from "./http-error.ts";
import { metricsResponse } from "./prometheus.ts";

export type OpsAnswer = () => Response | Promise<Response>;

export interface OpsRoutesOptions {
  /** Serve `/healthz` with `{"status":"ok"}`: the process answers. @default false */
  health?: boolean;
  /** `/readyz`: whether the program can do its work now. */
  ready?: OpsAnswer;
  /** Serve `/metrics` from this registry. */
  metrics?: Registry;
  /** More routes by path, e.g. `{ "/stats": ... }`. */
  more?: Record<string, OpsAnswer>;
}

export interface OpsRoutes {
  /** True when `path` is one of these routes (a metric label may then name it). */
  has(path: string): boolean;
  /** The answer for `path`, or undefined when `path` is none of these routes. */
  answer(req: Request, path: string): Response | Promise<Response> | undefined;
}

const READ_METHODS = ["GET", "HEAD"] as const;

export function opsRoutes(options: OpsRoutesOptions): OpsRoutes {
  const routes = new Map<string, OpsAnswer>();
  if (options.health) routes.set("/healthz", () => Response.json({ status: "ok" }));
  if (options.ready) routes.set("/readyz", options.ready);
  const registry = options.metrics;
  if (registry) routes.set("/metrics", () => metricsResponse(registry));
  for (const [path, answer] of Object.entries(options.more ?? {})) routes.set(path, answer);
  return {
    has: (path) => routes.has(path),
    answer(req, path) {
      const answer = routes.get(path);
      if (answer === undefined) return undefined;
      if (req.method !== "GET" && req.method !== "HEAD") return methodNotAllowed(READ_METHODS);
      return answer();
    },
  };
}
