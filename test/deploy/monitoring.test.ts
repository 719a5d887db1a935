/**
 * The Grafana dashboard and the metrics behind it: the one dashboard JSON covers what an operator needs,
 * every query parses and names only metrics of the shared contract, and the three running programs
 * expose every one of those names and pass `promtool check metrics` without a word.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PROJECT_ROOT } from "../../lib/common/program-process.ts";
import { startLocalStack, type LocalStack } from "../support/local-stack.ts";
import {
  dashboardQueries,
  exposedMetricNames,
  loadDashboard,
  metricNamesInExpr,
  withFixedInterval,
  type DashboardJson,
} from "../support/promql.ts";
import { requireTool } from "../support/requires.ts";
import { runCommand } from "../support/run-command.ts";

/** The metric names of the shared contract (README, section Metrics), per program. */
const CONTRACT = {
  all: [
    "cas_http_requests_total",
    "cas_http_request_duration_seconds",
    "process_resident_memory_bytes",
    "process_cpu_seconds_total",
  ],
  server: ["cas_store_blobs", "cas_store_bytes", "cas_store_written_bytes_total", "cas_store_digest_mismatches_total"],
  cache: [
    "cas_cache_gets_total",
    "cas_cache_hits_total",
    "cas_cache_peer_loads_total",
    "cas_cache_peer_errors_total",
    "cas_cache_loads_total",
    "cas_cache_loads_deduped_total",
    "cas_cache_local_loads_total",
    "cas_cache_local_load_errors_total",
    "cas_cache_server_requests_total",
    "cas_cache_bytes",
    "cas_cache_items",
    "cas_cache_evictions_total",
    "cas_cache_upstream_duration_seconds",
  ],
  client: ["cas_client_requests_total", "cas_client_request_duration_seconds", "cas_client_errors_total"],
};
const HISTOGRAMS = [
  "cas_http_request_duration_seconds",
  "cas_cache_upstream_duration_seconds",
  "cas_client_request_duration_seconds",
];
const contractNames = new Set(
  Object.values(CONTRACT)
    .flat()
    .flatMap((n) => (HISTOGRAMS.includes(n) ? [n, `${n}_bucket`, `${n}_sum`, `${n}_count`] : [n])),
);

const dashboard: DashboardJson = await loadDashboard();
const queries = dashboardQueries(dashboard);
const usedNames = [...new Set(queries.flatMap((q) => metricNamesInExpr(q.expr)))].sort();
const RULES_DIR = resolve(PROJECT_ROOT, "monitoring/prometheus");
const rules = Bun.YAML.parse(await Bun.file(join(RULES_DIR, "rules.yml")).text()) as DashboardJson;
const ruleExprs: string[] = rules.groups.flatMap((g: DashboardJson) => g.rules.map((r: DashboardJson) => r.expr));
/** Series Prometheus makes itself for every target. */
const PROMETHEUS_OWN = ["up"];
const ruleNames = [...new Set(ruleExprs.flatMap(metricNamesInExpr))].filter((n) => !PROMETHEUS_OWN.includes(n)).sort();
const hasPromtool = requireTool("promtool", "apt-get install prometheus");
const exprsOf = (panelTitle: RegExp) => queries.filter((q) => panelTitle.test(q.panel)).map((q) => q.expr);

describe("Grafana dashboard", () => {
  test("is one dashboard with a stable uid and a Prometheus data source variable every panel uses", () => {
    expect(dashboard.uid).toBe("cas-harness");
    const vars = dashboard.templating.list;
    expect(vars.find((v: DashboardJson) => v.name === "datasource")).toMatchObject({
      type: "datasource",
      query: "prometheus",
    });
    const panels = dashboard.panels.filter((p: DashboardJson) => p.type !== "row");
    const ids = dashboard.panels.map((p: DashboardJson) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      expect(p.datasource, p.title).toEqual({ type: "prometheus", uid: "${datasource}" });
      expect(p.targets.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets) expect(t.datasource).toEqual(p.datasource);
    }
  });

  test("lays its panels out on Grafana's 24-column grid without overlaps", () => {
    type Box = { x: number; y: number; w: number; h: number };
    const boxes: [string, Box][] = dashboard.panels.map((p: DashboardJson) => [p.title, p.gridPos]);
    for (const [title, b] of boxes) expect(b.x + b.w, title).toBeLessThanOrEqual(24);
    const overlap = (a: Box, b: Box) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
    for (const [i, [ta, a]] of boxes.entries()) {
      for (const [tb, b] of boxes.slice(i + 1)) expect(overlap(a, b), `${ta} / ${tb}`).toBe(false);
    }
  });

  test("names only metrics of the shared contract", () => {
    expect(usedNames.length).toBeGreaterThan(10);
    for (const name of usedNames) expect(contractNames, name).toContain(name);
  });

  test("shows every topic an operator needs", () => {
    const all = queries.map((q) => q.expr).join("\n");
    // request rate and error ratio, per program
    expect(all).toContain("sum by (job) (rate(cas_http_requests_total[$__rate_interval]))");
    expect(all).toContain('cas_http_requests_total{status=~"5.."}');
    expect(all).toContain("cas_client_errors_total");
    // p50/p95/p99 latency per program
    for (const q of ["0.5", "0.95", "0.99"]) {
      expect(all).toContain(
        `histogram_quantile(${q}, sum by (job, le) (rate(cas_http_request_duration_seconds_bucket[$__rate_interval])))`,
      );
    }
    // hit ratio exactly as the contract defines it
    expect(exprsOf(/hit ratio/i).map((e) => withFixedInterval(e))).toEqual([
      "sum(rate(cas_cache_hits_total[1m])) / sum(rate(cas_cache_gets_total[1m]))",
    ]);
    const cacheTopics = ["loads_total", "loads_deduped_total", "peer_loads_total", "peer_errors_total"];
    for (const n of cacheTopics) expect(usedNames).toContain(`cas_cache_${n}`);
    for (const n of ["cas_cache_bytes", "cas_cache_evictions_total", "cas_store_bytes", "cas_store_blobs"]) {
      expect(usedNames).toContain(n);
    }
    expect(usedNames).toContain("process_resident_memory_bytes");
    expect(usedNames).toContain("process_cpu_seconds_total");
  });

  test.skipIf(!hasPromtool)(
    "every query is valid PromQL (promtool check rules on them as recording rules)",
    async () => {
      const dir = await mkdtemp(join(tmpdir(), "cas-promql-"));
      try {
        const rules = queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: withFixedInterval(q.expr) }));
        const file = join(dir, "rules.yml");
        await Bun.write(file, JSON.stringify({ groups: [{ name: "dashboard", rules }] }));
        const { stdout, stderr, code } = await runCommand(["promtool", "check", "rules", file]);
        expect(stderr).toBe("");
        expect(stdout).toContain(`SUCCESS: ${rules.length} rules found`);
        expect(code).toBe(0);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});

/** promtool in monitoring/prometheus, where the rules and their tests name each other. */
async function promtool(args: string[]): Promise<{ out: string; code: number }> {
  const { stdout, stderr, code } = await runCommand(["promtool", ...args], { cwd: RULES_DIR });
  return { out: stdout + stderr, code };
}

describe("Prometheus alerting rules", () => {
  test.skipIf(!hasPromtool)("pass promtool check rules and name only metrics of the contract", async () => {
    const { out, code } = await promtool(["check", "rules", "rules.yml"]);
    expect(out).toContain(`SUCCESS: ${ruleExprs.length} rules found`);
    expect(code).toBe(0);
    expect(ruleNames.length).toBeGreaterThan(0);
    for (const name of ruleNames) expect(contractNames, name).toContain(name);
  });

  test.skipIf(!hasPromtool)("fire as their unit tests expect (promtool test rules)", async () => {
    const { out, code } = await promtool(["test", "rules", "rules.test.yml"]);
    expect(out).toContain("SUCCESS");
    expect(code).toBe(0);
  });
});

describe("the programs' /metrics", () => {
  let stack: LocalStack;
  const pages: Record<"server" | "cache" | "client", string> = { server: "", cache: "", client: "" };

  beforeAll(async () => {
    stack = await startLocalStack();
    // Let some traffic through so every histogram and labelled counter has samples.
    await Bun.sleep(1500);
    for (const name of ["server", "cache", "client"] as const) {
      const res = await fetch(`${stack[name].url}/metrics`);
      expect(res.status).toBe(200);
      pages[name] = await res.text();
    }
  }, 30_000);
  afterAll(async () => {
    await stack?.stop();
  }, 30_000);

  test("each program exposes the metrics of the contract", () => {
    for (const name of ["server", "cache", "client"] as const) {
      const exposed = exposedMetricNames(pages[name]);
      for (const metric of [...CONTRACT.all, ...CONTRACT[name]])
        expect(exposed, `${name}: ${metric}`).toContain(metric);
    }
  });

  test("every metric name the dashboard queries is exposed by a program", () => {
    const exposed = new Set(Object.values(pages).flatMap((text) => [...exposedMetricNames(text)]));
    for (const name of usedNames) expect(exposed, name).toContain(name);
  });

  test("every metric name the alerting rules use is exposed by a program", () => {
    const exposed = new Set(Object.values(pages).flatMap((text) => [...exposedMetricNames(text)]));
    for (const name of ruleNames) expect(exposed, name).toContain(name);
  });

  test.skipIf(!hasPromtool)("promtool check metrics finds nothing to report on any program", async () => {
    for (const name of ["server", "cache", "client"] as const) {
      const { stdout, stderr, code } = await runCommand(["promtool", "check", "metrics"], { input: pages[name] });
      expect(`${name}: ${stdout}${stderr}`).toBe(`${name}: `);
      expect(code).toBe(0);
    }
  });
});
