/** opsRoutes(): the shared /healthz, /readyz, /metrics (and added) routes, called directly without a socket. */
import { describe, expect, test } from "bun:test";
import { opsRoutes } from "../../lib/common/ops-routes.ts";
import { createMetrics } from "../../lib/common/prometheus.ts";

const req = (path: string, method = "GET") => new Request(`http://t${path}`, { method });

/** The answer for `method path`, which must be one of the routes. */
async function answer(ops: ReturnType<typeof opsRoutes>, path: string, method = "GET"): Promise<Response> {
  const res = ops.answer(req(path, method), path);
  if (res === undefined) throw new Error(`${path} is not routed`);
  return await res;
}

describe("opsRoutes()", () => {
  test("opsRoutes() answers /healthz, /readyz, /metrics and added routes to GET and HEAD", async () => {
    const ops = opsRoutes({
      health: true,
      ready: () => Response.json({ status: "ready", peers: 2 }),
      metrics: createMetrics().registry,
      more: { "/stats": () => Response.json({ Gets: 1 }) },
    });
    expect(await (await answer(ops, "/healthz")).json()).toEqual({ status: "ok" });
    expect(await (await answer(ops, "/readyz")).json()).toEqual({ status: "ready", peers: 2 });
    const metrics = await answer(ops, "/metrics");
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain("process_resident_memory_bytes");
    expect(await (await answer(ops, "/stats", "HEAD")).json()).toEqual({ Gets: 1 });
    for (const path of ["/healthz", "/readyz", "/metrics", "/stats"]) expect(ops.has(path)).toBe(true);
  });

  test("opsRoutes() answers other methods with 405 and Allow: GET, HEAD", async () => {
    const ops = opsRoutes({ health: true, metrics: createMetrics().registry });
    for (const [method, path] of [
      ["POST", "/healthz"],
      ["PUT", "/metrics"],
      ["DELETE", "/healthz"],
    ] as const) {
      const res = await answer(ops, path, method);
      expect([method, path, res.status, res.headers.get("allow")]).toEqual([method, path, 405, "GET, HEAD"]);
      expect(await res.json()).toMatchObject({ error: "method_not_allowed" });
    }
  });

  test("opsRoutes() leaves out the routes it was not given, and every other path", () => {
    const ops = opsRoutes({ metrics: createMetrics().registry });
    for (const path of ["/healthz", "/readyz", "/stats", "/", "/metrics/x"]) {
      expect([path, ops.has(path), ops.answer(req(path), path)]).toEqual([path, false, undefined]);
      expect(ops.answer(req(path, "POST"), path)).toBeUndefined();
    }
  });
});
