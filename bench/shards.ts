/**
 * Where one generator becomes the limit: at each total rate, one `bun client.ts` on core 1 against two
 * `--shard I/2` generators on cores 0 and 1 started together (`--start-at`) and merged with
 * `bun client.ts report`, all against nginx (1 worker on core 0, a 1,000-byte file), beside wrk's closed-loop
 * maximum (`wrk -t1 -c64 -d8s`, core 1) measured in the same run. A rate is held when the client's own verdict
 * is exit 0: the generator kept its schedule (achieved within 1%, send lag p99 <= 10 ms, slots free) and every
 * request succeeded. This machine has 2 cores, so the second shard shares core 0 with nginx, which runs at a
 * higher priority (nice -10) so that a shard spinning for its due times cannot starve it.
 * Run: flock /tmp/cas-bench.lock bun bench/shards.ts [--rates 30000,40000,50000,60000] [--seconds 4] [--max-inflight 2048]
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { PROJECT_ROOT } from "../lib/common/program-process.ts";
import { formatCount, loadAverage } from "./support/figures.ts";
import { startNginx } from "./support/nginx.ts";
import { wrk } from "./support/wrk.ts";

// any: the client's JSON report, read field by field
type Report = Record<string, any>;

const CLIENT = resolve(PROJECT_ROOT, "client.ts");

interface Outcome {
  code: number;
  report: Report;
  /** CPU seconds of each generator process. */
  cpu: number[];
}

/** Runs `bun client.ts ...args` pinned to `core`; its JSON report goes to `json`. */
async function client(core: number, args: string[], json: string): Promise<{ code: number; cpu: number }> {
  const proc = Bun.spawn(["taskset", "-c", String(core), process.execPath, CLIENT, ...args, "--json", json], {
    cwd: PROJECT_ROOT,
    stdout: "ignore",
    stderr: "pipe",
  });
  const [code] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  const usage = proc.resourceUsage();
  return { code, cpu: usage === undefined ? NaN : Number(usage.cpuTime.total) / 1e6 };
}

let maxInflight = "2048";

function attack(url: string, rate: number, seconds: number): string[] {
  return [
    ...["--url", url, "--rate", String(rate), "--duration", `${seconds}s`, "--max-inflight", maxInflight],
    ...["--quiet", "--log-level", "warn"],
  ];
}

async function oneGenerator(url: string, rate: number, seconds: number, dir: string): Promise<Outcome> {
  const json = join(dir, "one.json");
  const run = await client(1, attack(url, rate, seconds), json);
  return { code: run.code, report: JSON.parse(readFileSync(json, "utf8")) as Report, cpu: [run.cpu] };
}

async function twoShards(url: string, rate: number, seconds: number, dir: string): Promise<Outcome> {
  // far enough ahead for both processes to start and connect
  const startAt = new Date(Date.now() + 2000).toISOString();
  const files = [0, 1].map((i) => join(dir, `shard-${i}.json`));
  const runs = await Promise.all(
    [0, 1].map((i) =>
      client(i, [...attack(url, rate, seconds), "--shard", `${i}/2`, "--start-at", startAt], files[i]!),
    ),
  );
  const merged = join(dir, "merged.json");
  const report = Bun.spawnSync([process.execPath, CLIENT, "report", "--json", merged, ...files], {
    cwd: PROJECT_ROOT,
    stdout: "ignore",
    stderr: "pipe",
  });
  return {
    code: report.exitCode,
    report: JSON.parse(readFileSync(merged, "utf8")) as Report,
    cpu: runs.map((r) => r.cpu),
  };
}

function line(name: string, rate: number, o: Outcome): string {
  const cas = o.report.cas;
  const ms = (ns: number) => (ns / 1e6).toFixed(2);
  const starts = (cas.starts ?? []).map((s: Report) => `${s.shard} +${(s.offset / 1e3).toFixed(0)}µs`).join(", ");
  const cpuUs = o.cpu.map((c) => ((c * 1e6) / o.report.requests).toFixed(1)).join(" + ");
  const why =
    o.code === 0 ? "held" : `exit ${o.code}: ${(cas.verdict?.generator ?? []).join("; ") || cas.verdict?.message}`;
  return (
    `  ${name} ${formatCount(rate)}/s: ${why}; achieved ${formatCount(cas.achieved_rate)}/s, ` +
    `p99 ${ms(o.report.latencies["99th"])} ms, own send lag p99 ${ms(cas.send_lag["99th"])} ms, ` +
    `CPU ${cpuUs} µs/request${starts ? `, starts ${starts}` : ""}`
  );
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      rates: { type: "string", default: "30000,40000,50000,60000" },
      seconds: { type: "string", default: "4" },
      "max-inflight": { type: "string", default: "2048" },
    },
  });
  maxInflight = values["max-inflight"];
  const rates = values.rates.split(",").map(Number);
  const seconds = Number(values.seconds);
  // the second shard shares nginx's core: nginx goes first, so the shard takes only what nginx leaves
  const nginx = await startNginx({ core: 0, nice: -10 });
  const dir = mkdtempSync(join(tmpdir(), "cas-bench-shards-"));
  try {
    const wrkMax = wrk(nginx.fileUrl, { core: 1, connections: 64, seconds: 8 });
    console.log(`wrk -t1 -c64 -d8s: ${formatCount(wrkMax)} req/s; ${loadAverage()}`);
    let bestOne = 0;
    let bestTwo = 0;
    for (const rate of rates) {
      const one = await oneGenerator(nginx.fileUrl, rate, seconds, dir);
      console.log(line("1 generator (core 1)  ", rate, one));
      const two = await twoShards(nginx.fileUrl, rate, seconds, dir);
      console.log(line("2 shards (cores 0, 1) ", rate, two));
      if (one.code === 0) bestOne = Math.max(bestOne, rate);
      if (two.code === 0) bestTwo = Math.max(bestTwo, rate);
      console.log(`  ${loadAverage()}`);
    }
    console.log(
      `highest total rate held: 1 generator ${formatCount(bestOne)}/s (${(bestOne / wrkMax).toFixed(2)}x wrk), ` +
        `2 shards ${formatCount(bestTwo)}/s (${(bestTwo / wrkMax).toFixed(2)}x wrk); ` +
        `2 shards / 1 generator = ${bestOne > 0 ? (bestTwo / bestOne).toFixed(2) : "-"}x`,
    );
  } finally {
    await nginx.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
