/**
 * lib/common/prometheus.ts: the shared `cas_http_*` metrics, tallied in plain numbers behind route handles and rendered
 * through prom-client's registry, are exact, cumulative, labelled as before and pass `promtool check metrics`.
 */
import { describe, expect, test } from "bun:test";
import { Counter, Histogram, Registry } from "prom-client";
import { createMetrics, DURATION_BUCKETS_SECONDS } from "../../lib/common/prometheus.ts";
import { requireTool } from "../support/requires.ts";
import { runCommand } from "../support/run-command.ts";

const hasPromtool = requireTool("promtool", "apt-get install prometheus");

/** The samples of a Prometheus text page, by `name{labels}` exactly as written. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

const bucket = (le: string, method: string, route: string) =>
  `cas_http_request_duration_seconds_bucket{le="${le}",method="${method}",route="${route}"}`;

describe("createMetrics()", () => {
  test("observe() counts requests by method, route and status, and durations into cumulative buckets", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const durations = [0.00005, 0.0001, 0.0003, 0.001, 0.001, 0.3, 7, 20];
    for (const [i, seconds] of durations.entries()) metrics.observe("GET", "/cas/:hash", i < 6 ? 200 : 404, seconds);
    metrics.observe("PUT", "/cas/:hash", 201, 0.02);
    const s = samples(await metrics.registry.metrics());

    expect(s.get('cas_http_requests_total{method="GET",route="/cas/:hash",status="200"}')).toBe(6);
    expect(s.get('cas_http_requests_total{method="GET",route="/cas/:hash",status="404"}')).toBe(2);
    expect(s.get('cas_http_requests_total{method="PUT",route="/cas/:hash",status="201"}')).toBe(1);
    expect([...s.keys()].filter((k) => k.startsWith("cas_http_requests_total")).length).toBe(3);

    // Each bucket counts the durations at or below its bound; +Inf counts them all.
    for (const le of DURATION_BUCKETS_SECONDS) {
      const expected = durations.filter((d) => d <= le).length;
      expect([le, s.get(bucket(String(le), "GET", "/cas/:hash"))]).toEqual([le, expected]);
    }
    expect(s.get(bucket("0.0001", "GET", "/cas/:hash"))).toBe(2);
    expect(s.get(bucket("0.001", "GET", "/cas/:hash"))).toBe(5);
    expect(s.get(bucket("10", "GET", "/cas/:hash"))).toBe(7);
    expect(s.get(bucket("+Inf", "GET", "/cas/:hash"))).toBe(8);
    expect(s.get('cas_http_request_duration_seconds_count{method="GET",route="/cas/:hash"}')).toBe(8);
    expect(s.get('cas_http_request_duration_seconds_sum{method="GET",route="/cas/:hash"}')).toBe(
      durations.reduce((a, b) => a + b, 0),
    );
    expect(s.get(bucket("0.01", "PUT", "/cas/:hash"))).toBe(0);
    expect(s.get(bucket("0.025", "PUT", "/cas/:hash"))).toBe(1);
    expect(s.get('cas_http_request_duration_seconds_sum{method="PUT",route="/cas/:hash"}')).toBe(0.02);
  });

  test("route() hands out one handle per method and route, sharing its series with observe()", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const hits = metrics.route("GET", "/cas/:hash");
    expect(metrics.route("GET", "/cas/:hash")).toBe(hits);
    expect(metrics.route("HEAD", "/cas/:hash")).not.toBe(hits);
    for (let i = 0; i < 1000; i++) hits.observe(200, 0.0002);
    metrics.observe("GET", "/cas/:hash", 200, 0.5);
    const s = samples(await metrics.registry.metrics());
    expect(s.get('cas_http_requests_total{method="GET",route="/cas/:hash",status="200"}')).toBe(1001);
    expect(s.get(bucket("0.00025", "GET", "/cas/:hash"))).toBe(1000);
    expect(s.get(bucket("0.5", "GET", "/cas/:hash"))).toBe(1001);
    expect(s.get(bucket("+Inf", "GET", "/cas/:hash"))).toBe(1001);
    // A handle that never counted exports nothing, as a prom-client series never observed.
    expect([...s.keys()].some((k) => k.includes('method="HEAD"'))).toBe(false);
  });

  test("renders HELP and TYPE lines, the series in the order prom-client wrote them, and escapes label values", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.observe("GET", '/a"b\\c', 200, 0.003);
    const text = await metrics.registry.metrics();
    const lines = text.split("\n").filter((l) => l.includes("cas_http_"));
    expect(lines.slice(0, 3)).toEqual([
      "# HELP cas_http_requests_total HTTP requests answered, by method, route pattern and status code",
      "# TYPE cas_http_requests_total counter",
      'cas_http_requests_total{method="GET",route="/a\\"b\\\\c",status="200"} 1',
    ]);
    expect(lines.slice(3, 6)).toEqual([
      "# HELP cas_http_request_duration_seconds Time from receiving a request to returning its response, in seconds",
      "# TYPE cas_http_request_duration_seconds histogram",
      'cas_http_request_duration_seconds_bucket{le="0.0001",method="GET",route="/a\\"b\\\\c"} 0',
    ]);
    expect(lines.slice(-3)).toEqual([
      'cas_http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/a\\"b\\\\c"} 1',
      'cas_http_request_duration_seconds_sum{method="GET",route="/a\\"b\\\\c"} 0.003',
      'cas_http_request_duration_seconds_count{method="GET",route="/a\\"b\\\\c"} 1',
    ]);
    expect(lines.length).toBe(6 + DURATION_BUCKETS_SECONDS.length + 2);
  });

  test("writes, byte for byte, what prom-client's own Counter and Histogram write for the same requests", async () => {
    const ours = createMetrics({ defaultMetrics: false });
    const registry = new Registry();
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
    let x = 1;
    for (let i = 0; i < 3000; i++) {
      x = (x * 48271) % 2147483647;
      const method = ["GET", "HEAD", "PUT", "POST"][x % 4]!;
      const route = ["/cas/:hash", "/cas", "/metrics", "other"][(x >> 3) % 4]!;
      const status = [200, 201, 304, 404, 500][(x >> 6) % 5]!;
      const seconds = (x % 100_000) / 7919;
      ours.observe(method, route, status, seconds);
      requests.labels(method, route, String(status)).inc();
      duration.labels(method, route).observe(seconds);
    }
    expect(await ours.registry.metrics()).toBe(await registry.metrics());
  });

  test("the registry's JSON view and resetMetrics() reach the series", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.observe("HEAD", "/cas/:hash", 200, 0.004);
    const json = await metrics.registry.getMetricsAsJSON();
    const requests = json.find((m) => m.name === "cas_http_requests_total");
    expect(requests?.values).toEqual([{ value: 1, labels: { method: "HEAD", route: "/cas/:hash", status: "200" } }]);
    metrics.registry.resetMetrics();
    metrics.observe("HEAD", "/cas/:hash", 200, 0.004);
    const s = samples(await metrics.registry.metrics());
    expect(s.get('cas_http_requests_total{method="HEAD",route="/cas/:hash",status="200"}')).toBe(1);
    expect(s.get('cas_http_request_duration_seconds_count{method="HEAD",route="/cas/:hash"}')).toBe(1);
  });

  test.skipIf(!hasPromtool)("promtool check metrics finds nothing to report", async () => {
    const metrics = createMetrics();
    const hits = metrics.route("GET", "/cas/:hash");
    for (const seconds of [0.00001, 0.0002, 0.004, 3, 60]) hits.observe(200, seconds);
    metrics.observe("GET", "/healthz", 200, 0.0001);
    metrics.observe("POST", "/cas", 413, 0.01);
    const text = await metrics.registry.metrics();
    expect(text).toContain("process_cpu_seconds_total");
    const { stdout, stderr, code } = await runCommand(["promtool", "check", "metrics"], { input: text });
    expect(stdout + stderr).toBe("");
    expect(code).toBe(0);
  });
});
