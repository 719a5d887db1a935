/**
 * compose.yaml for real, under every Compose implementation here (v2 and Debian's 1.29): the server,
 * three cache replicas that find each other through the service name, Prometheus scraping them with the
 * project's config and rules, and the `load` profile's client. Prints the up-to-healthy time and the
 * client's figures through the containers beside the same load on loopback.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PROJECT_ROOT, startProgram, type ProgramProcess } from "../../../lib/common/program-process.ts";
import { startCachePeers } from "../../../scripts/demo.ts";
import { currentAppImage, dropIfReplaced, ensureAppImage } from "../../support/containers/app-image.ts";
import { parseReport, summary, type ClientReport } from "../../support/containers/client-report.ts";
import { composeClis } from "../../support/containers/compose-cli.ts";
import { STACK_SERVICES, composeOk, createStack, type ComposeStack } from "../../support/containers/compose-stack.ts";
import { docker, dockerOut, inspect } from "../../support/containers/docker-cli.ts";
import { figure, seconds } from "../../support/containers/figures.ts";
import { ON_CI, describeWithContainers } from "../../support/containers/readiness.ts";
import { dashboardQueries, loadDashboard, withFixedInterval } from "../../support/promql.ts";
import { runClient } from "../../support/client-run.ts";
import { waitFor } from "../../support/wait-for.ts";

// `any`: Prometheus' API answers and parsed YAML; the tests check the fields they use.
type Obj = Record<string, any>;

/** The load run, the same through the containers and on loopback. */
const LOAD = { rate: 100, duration: "15s", blobs: 20, size: 25_000, hitRatio: 1 };
const CAS_JOBS = { "cas-server": 1, "cas-cache": 3, "cas-client": 1, prometheus: 1 };

const clis = await composeClis();
/** Client reports through the containers, by Compose implementation, for the loopback comparison. */
const throughContainers = new Map<string, ClientReport>();

async function stats(url: string): Promise<Obj> {
  return (await (await fetch(`${url}/stats`, { signal: AbortSignal.timeout(5000) })).json()) as Obj;
}

/** GETs of blobs the origin has answered so far (the caches' loads), from its own metrics. */
async function originBlobGets(serverUrl: string): Promise<number> {
  const text = await (await fetch(`${serverUrl}/metrics`)).text();
  return [...text.matchAll(/^cas_http_requests_total\{([^}]*)\} (\S+)$/gm)]
    .filter(([, labels]) => labels!.includes('method="GET"') && labels!.includes('route="/cas/:hash"'))
    .reduce((sum, m) => sum + Number(m[2]), 0);
}

async function prometheusApi(stack: ComposeStack, path: string): Promise<Obj> {
  const body = (await (await fetch(`${stack.prometheusUrl}/api/v1/${path}`)).json()) as Obj;
  if (body.status !== "success") throw new Error(`Prometheus ${path}: ${JSON.stringify(body)}`);
  return body.data;
}

function describeUnder(cli: (typeof clis)[number]): void {
  describe(`under ${cli.label}`, () => {
    const stack = createStack(cli, "casct");
    let upToHealthyMs = 0;
    let buildMs = 0;
    let targetsDuringLoad: Obj[] = [];

    beforeAll(async () => {
      await ensureAppImage();
      const before = await currentAppImage();
      const t0 = performance.now();
      await composeOk(stack, ["build", "server"]);
      buildMs = performance.now() - t0;
      await dropIfReplaced(before);
      const t1 = performance.now();
      await stack.up(STACK_SERVICES);
      await stack.waitHealthy();
      upToHealthyMs = performance.now() - t1;
    }, 180_000);

    afterAll(async () => {
      await stack.down();
    }, 60_000);

    test("the server, 3 cache replicas and Prometheus come up healthy; the replicas find each other by the service name", async () => {
      figure(`${cli.label}: compose build (warm) ${seconds(buildMs)}; up -d to all healthy ${seconds(upToHealthyMs)}`);
      const urls = await stack.cacheUrls();
      expect(urls.size).toBe(3);
      // Each replica's address on the project's network, as Docker's DNS gives it for "cache".
      const addresses: string[] = [];
      for (const id of urls.keys()) {
        addresses.push(
          await dockerOut(["inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", id]),
        );
      }
      const expected = addresses.map((a) => `http://${a}:18001`).sort();
      await waitFor("every replica to list all three peers", 20_000, async () => {
        for (const url of urls.values()) if ((await stats(url)).Peers.length !== 3) return undefined;
        return true;
      });
      for (const url of urls.values()) {
        const s = await stats(url);
        expect([...s.Peers].sort()).toEqual(expected);
        expect(expected).toContain(s.Self);
      }
      // compose.yaml's hardening, as the engine applied it.
      for (const id of [...(await stack.containers("server")), ...urls.keys()]) {
        expect(await inspect(id, "{{.HostConfig.ReadonlyRootfs}} {{json .HostConfig.CapDrop}} {{.Config.User}}")).toBe(
          'true ["ALL"] 1000:1000',
        );
      }
    }, 60_000);

    test("the load profile's client succeeds on every request, with one origin load per key across the replicas", async () => {
      const urls = [...(await stack.cacheUrls()).values()];
      const before = await Promise.all(urls.map(stats));
      const originBefore = await originBlobGets(stack.serverUrl);
      await composeOk(stack, ["up", "-d", "client"], {
        ATTACK_FREQ: String(LOAD.rate),
        ATTACK_DURATION: LOAD.duration,
        ATTACK_BLOBS: String(LOAD.blobs),
        CONTENT_SIZE: String(LOAD.size),
        HIT_MISS_RATIO: String(LOAD.hitRatio),
      });
      const [client] = await stack.containers("client");
      expect(client).toBeDefined();
      // While it runs, Prometheus finds it by its service name too: every target, all up.
      targetsDuringLoad = await waitFor("every Prometheus target up, the client's included", 30_000, async () => {
        const active: Obj[] = (await prometheusApi(stack, "targets")).activeTargets;
        const up = active.filter((t) => t.health === "up");
        const complete = Object.entries(CAS_JOBS).every(
          ([job, n]) => up.filter((t) => t.labels.job === job).length === n,
        );
        return complete && up.length === active.length ? active : undefined;
      });
      expect(await dockerOut(["wait", client!])).toBe("0");
      const report = parseReport((await docker(["logs", client!])).stdout);
      throughContainers.set(cli.label, report);
      figure(`${cli.label}: client through the containers: ${summary(report)}`);
      expect(report.status_codes).toEqual({ "200": report.requests });
      expect(report.success).toBe(1);
      expect(report.cas.integrity_failures).toBe(0);

      const after = await Promise.all(urls.map(stats));
      const delta = (field: string) => after.map((s, i) => s[field] - before[i]![field]);
      const originLoads = delta("LocalLoads");
      figure(
        `${cli.label}: origin loads per replica ${originLoads.join(" + ")} = ${originLoads.reduce((a, b) => a + b)} for ${LOAD.blobs} keys; ` +
          `peer loads ${delta("PeerLoads").join(" + ")}; origin GETs ${(await originBlobGets(stack.serverUrl)) - originBefore}`,
      );
      expect(originLoads.reduce((a, b) => a + b)).toBe(LOAD.blobs);
      expect(delta("PeerErrors")).toEqual([0, 0, 0]);
      expect((await originBlobGets(stack.serverUrl)) - originBefore).toBe(LOAD.blobs);
    }, 120_000);

    test("the load-distributed profile: two shard containers start together, and their reports merge into one", async () => {
      const rate = 100;
      const seconds = 5;
      // far enough ahead for both containers to start, upload and warm up
      const startAt = new Date(Date.now() + 12_000).toISOString();
      await composeOk(stack, ["--profile", "load-distributed", "up", "-d", "client-shard-0", "client-shard-1"], {
        ATTACK_START_AT: startAt,
        ATTACK_FREQ: String(rate),
        ATTACK_DURATION: `${seconds}s`,
        ATTACK_BLOBS: "5",
        CONTENT_SIZE: String(LOAD.size),
        HIT_MISS_RATIO: "1",
      });
      const shards = [...(await stack.containers("client-shard-0")), ...(await stack.containers("client-shard-1"))];
      expect(shards.length).toBe(2);
      const dir = await mkdtemp(join(tmpdir(), "cas-compose-shards-"));
      try {
        const files: string[] = [];
        for (const [i, id] of shards.entries()) {
          expect(await dockerOut(["wait", id])).toBe("0");
          const report = parseReport((await docker(["logs", id])).stdout);
          expect(report.requests).toBe((rate * seconds) / 2);
          files.push(join(dir, `shard-${i}.json`));
          await Bun.write(files.at(-1)!, JSON.stringify(report));
        }
        const merged = await runClient(["report", "--type", "json", ...files]);
        expect(merged.code).toBe(0);
        const m = JSON.parse(merged.stdout) as Obj;
        figure(
          `${cli.label}: 2 shard containers at ${rate}/s in all: merged ${summary(m as ClientReport)}; start offsets ` +
            m.cas.starts.map((s: Obj) => `${s.shard} ${(s.offset / 1e6).toFixed(2)} ms`).join(", "),
        );
        expect(m.requests).toBe(rate * seconds);
        expect(m.success).toBe(1);
        expect(m.cas.starts.map((s: Obj) => s.shard).sort()).toEqual(["0/2", "1/2"]);
        for (const s of m.cas.starts) expect(Date.parse(s.start_at)).toBe(Date.parse(startAt));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }, 90_000);

    test("Prometheus scrapes every target with the project's config and rules, and answers the hit-ratio query", async () => {
      expect(targetsDuringLoad.length).toBe(Object.values(CAS_JOBS).reduce((a, b) => a + b));
      const rules: Obj[] = (await prometheusApi(stack, "rules")).groups.flatMap((g: Obj) => g.rules);
      const project = Bun.YAML.parse(
        await Bun.file(resolve(PROJECT_ROOT, "monitoring/prometheus/rules.yml")).text(),
      ) as Obj;
      const names = project.groups.flatMap((g: Obj) => g.rules.map((r: Obj) => r.alert ?? r.record));
      expect(rules.map((r) => r.name).sort()).toEqual(names.sort());
      await waitFor("every rule evaluated", 20_000, async () => {
        const now: Obj[] = (await prometheusApi(stack, "rules")).groups.flatMap((g: Obj) => g.rules);
        return now.every((r) => r.lastEvaluation !== "0001-01-01T00:00:00Z") ? true : undefined;
      });
      for (const r of (await prometheusApi(stack, "rules")).groups.flatMap((g: Obj) => g.rules))
        expect(`${r.name}: ${r.health}`).toBe(`${r.name}: ok`);
      const [hitRatio] = dashboardQueries(await loadDashboard()).filter((q) => /hit ratio/i.test(q.panel));
      const query = withFixedInterval(hitRatio!.expr, "1m");
      const value = await waitFor("a hit-ratio sample", 30_000, async () => {
        const sample = (await prometheusApi(stack, `query?query=${encodeURIComponent(query)}`)).result[0]?.value?.[1];
        return sample === undefined || sample === "NaN" ? undefined : Number(sample);
      });
      const version = (await prometheusApi(stack, "status/buildinfo")).version;
      figure(
        `${cli.label}: Prometheus ${version}: ${targetsDuringLoad.length} targets up, ${rules.length} rules ok, hit ratio ${value.toFixed(3)}`,
      );
      expect(value).toBeGreaterThan(0);
      expect(value).toBeLessThanOrEqual(1);
    }, 90_000);
  });
}

await describeWithContainers("compose.yaml for real", () => {
  for (const major of [2, 1] as const) {
    const cli = clis.find((c) => c.major === major);
    if (cli !== undefined) describeUnder(cli);
    else if (ON_CI) {
      test(`Compose ${major === 2 ? "v2" : "1.29"} is installed`, () => {
        throw new Error(
          `no Compose ${major === 2 ? "v2 (docker compose)" : "1.x (docker-compose)"}: scripts/containers/install-tools.sh installs it`,
        );
      });
    } else figure(`skipped under Compose ${major === 2 ? "v2: no `docker compose`" : "1.29: no docker-compose 1.x"}`);
  }

  test("the same load on loopback, for comparison", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "cas-loopback-"));
    const running: ProgramProcess[] = [];
    try {
      const server = await startProgram("server.ts", ["--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir]);
      running.push(server);
      const peers = await startCachePeers(server.url);
      running.push(...peers);
      // One cache URL, as the compose client's "cache" name gives it one replica per connection.
      const client = Bun.spawn(
        [
          process.execPath,
          resolve(PROJECT_ROOT, "client.ts"),
          ...["--server", server.url, "--cache", peers[0]!.url, "--quiet"],
          ...["--rate", String(LOAD.rate), "--duration", LOAD.duration, "--blobs", String(LOAD.blobs)],
          ...["--size", String(LOAD.size), "--hit-ratio", String(LOAD.hitRatio)],
        ],
        { stdin: "ignore", stdout: "pipe", stderr: "ignore" },
      );
      const [stdout, code] = await Promise.all([new Response(client.stdout).text(), client.exited]);
      expect(code).toBe(0);
      const loopback = parseReport(stdout);
      figure(`loopback (3 cache processes): client: ${summary(loopback)}`);
      for (const [label, report] of throughContainers) {
        const ratio = (q: "50th" | "99th") => (report.latencies[q] / loopback.latencies[q]).toFixed(2);
        figure(
          `${label}: through the containers / loopback at ${LOAD.rate}/s: p50 x${ratio("50th")}, p99 x${ratio("99th")}`,
        );
      }
      expect(loopback.success).toBe(1);
    } finally {
      for (const p of running.reverse()) await p.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
