/**
 * A real Prometheus (Debian's package) scraping the three programs with the project's own scrape config,
 * its targets pointed at the local processes: through Prometheus' HTTP API, all three jobs are up and the
 * dashboard's hit-ratio query returns a value.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PROJECT_ROOT, freePort } from "../../lib/common/program-process.ts";
import { startLocalStack, type LocalStack } from "../support/local-stack.ts";
import { requireTool } from "../support/requires.ts";
import { runCommand } from "../support/run-command.ts";
import { waitFor } from "../support/wait-for.ts";
import { dashboardQueries, loadDashboard, withFixedInterval } from "../support/promql.ts";

const PROJECT_CONFIG = resolve(PROJECT_ROOT, "monitoring/prometheus/prometheus.yml");
const CAS_JOBS = ["cas-server", "cas-cache", "cas-client"] as const;

// `any`: Prometheus' config and API answers as parsed JSON/YAML; the tests check the fields they use.
type Obj = Record<string, any>;

/**
 * The project's config with every cas job's service discovery swapped for the local processes, a short
 * scrape interval, and nothing else (compose's own Prometheus job has no counterpart here).
 */
function localScrapeConfig(project: Obj, targets: Record<(typeof CAS_JOBS)[number], string>): Obj {
  const jobs = (project.scrape_configs as Obj[])
    .filter((job) => (CAS_JOBS as readonly string[]).includes(job.job_name))
    .map(({ static_configs: _s, dns_sd_configs: _d, ...job }) => ({
      ...job,
      static_configs: [{ targets: [targets[job.job_name as (typeof CAS_JOBS)[number]]] }],
    }));
  const ruleFiles = (project.rule_files as string[]).map((f) => resolve(PROJECT_CONFIG, "..", f));
  return {
    global: { ...project.global, scrape_interval: "1s", evaluation_interval: "1s" },
    rule_files: ruleFiles,
    scrape_configs: jobs,
  };
}

// Debian's package prometheus brings both the server and promtool.
const hasPrometheus = requireTool("prometheus", "apt-get install prometheus");
const hasPromtool = requireTool("promtool", "apt-get install prometheus");

describe.skipIf(!hasPrometheus || !hasPromtool)("Prometheus with the project's scrape config", () => {
  let stack: LocalStack;
  let prometheus: Subprocess<"ignore", "ignore", "pipe"> | undefined;
  let dir: string;
  let api: string;
  const logs: string[] = [];

  beforeAll(async () => {
    stack = await startLocalStack();
    dir = await mkdtemp(join(tmpdir(), "cas-prometheus-"));
    const project = Bun.YAML.parse(await Bun.file(PROJECT_CONFIG).text()) as Obj;
    const host = (url: string) => new URL(url).host;
    const config = localScrapeConfig(project, {
      "cas-server": host(stack.server.url),
      "cas-cache": host(stack.cache.url),
      "cas-client": host(stack.client.url),
    });
    const configFile = join(dir, "prometheus.yml");
    await Bun.write(configFile, JSON.stringify(config, null, 2));
    const port = freePort();
    api = `http://127.0.0.1:${port}`;
    prometheus = Bun.spawn(
      [
        "prometheus",
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=warn",
      ],
      { stdin: "ignore", stdout: "ignore", stderr: "pipe" },
    );
    void (async () => {
      for await (const chunk of prometheus.stderr) logs.push(new TextDecoder().decode(chunk));
    })();
    await waitFor("Prometheus to be ready", 15_000, async () =>
      (await fetch(`${api}/-/ready`)).ok ? true : undefined,
    );
  });

  afterAll(async () => {
    if (prometheus) {
      prometheus.kill("SIGTERM");
      await prometheus.exited;
    }
    await stack?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 30_000);

  test("the project's config and the local one derived from it pass promtool check config", async () => {
    for (const file of [PROJECT_CONFIG, join(dir, "prometheus.yml")]) {
      const { stdout, code } = await runCommand(["promtool", "check", "config", file]);
      expect(stdout).toContain("SUCCESS");
      expect(code).toBe(0);
    }
  });

  test("all three programs are scraped and up", async () => {
    const targets = await waitFor("all three targets up", 20_000, async () => {
      const body = (await (await fetch(`${api}/api/v1/targets`)).json()) as Obj;
      const active: Obj[] = body.data.activeTargets;
      const up = active.filter((t) => t.health === "up").map((t) => t.labels.job as string);
      return CAS_JOBS.every((job) => up.includes(job)) ? active : undefined;
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${logs.join("")}`);
    });
    expect(targets.map((t) => t.labels.job).sort()).toEqual([...CAS_JOBS].sort());
    expect(targets.every((t) => t.health === "up")).toBe(true);
  }, 30_000);

  test("the project's alerting rules are loaded and evaluate without error", async () => {
    const rules = await waitFor("evaluated rules", 20_000, async () => {
      const body = (await (await fetch(`${api}/api/v1/rules`)).json()) as Obj;
      const all: Obj[] = body.data.groups.flatMap((g: Obj) => g.rules);
      return all.length > 0 && all.every((r) => r.lastEvaluation !== "0001-01-01T00:00:00Z") ? all : undefined;
    });
    const project = Bun.YAML.parse(
      await Bun.file(resolve(PROJECT_ROOT, "monitoring/prometheus/rules.yml")).text(),
    ) as Obj;
    const names = project.groups.flatMap((g: Obj) => g.rules.map((r: Obj) => r.alert ?? r.record));
    expect(rules.map((r) => r.name).sort()).toEqual(names.sort());
    for (const r of rules) expect(`${r.name}: ${r.health} ${r.lastError ?? ""}`.trim()).toBe(`${r.name}: ok`);
  }, 30_000);

  test("the dashboard's hit-ratio query returns a ratio", async () => {
    const dashboard = await loadDashboard();
    const [hitRatio] = dashboardQueries(dashboard).filter((q) => /hit ratio/i.test(q.panel));
    // Prometheus needs two scrapes inside the range for rate(); 1s scrapes fill 1m quickly.
    const query = withFixedInterval(hitRatio!.expr, "1m");
    const value = await waitFor("a hit-ratio sample", 20_000, async () => {
      const body = (await (await fetch(`${api}/api/v1/query?query=${encodeURIComponent(query)}`)).json()) as Obj;
      expect(body.status).toBe("success");
      const sample = body.data.result[0]?.value?.[1];
      return sample === undefined || sample === "NaN" ? undefined : Number(sample);
    });
    expect(value).toBeGreaterThan(0);
    expect(value).toBeLessThanOrEqual(1);
  }, 30_000);
});
