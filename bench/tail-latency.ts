/**
 * Tail latency and throughput of the hot paths against nginx in the same rounds: a 25,000-byte blob from
 * nginx (static file), from the server (its read cache) and as a cache hit (--no-bypass, the production
 * setting), each on core 0, measured by wrk on core 1 with one connection (`-c1`: p99 is the target's own
 * tail) and with 64 (`-c64`: p99 and req/s under load). Goals: p99 at most 1.5x nginx's at -c1 and -c64;
 * req/s at -c64 at least 1.0x nginx's for the cache hit and 0.9x for the server. A bare Bun.serve answering a
 * prebuilt Blob (bench/support/bare-serve.ts) runs in the same rounds: what Bun allows before any code of ours.
 * Run: flock /tmp/cas-bench.lock bun bench/tail-latency.ts [--rounds 3] [--seconds 5]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { digestHex } from "../lib/common/key.ts";
import { startProgram, type ProgramProcess } from "../lib/common/program-process.ts";
import { formatCount, loadAverage, median } from "./support/figures.ts";
import { startBareServe } from "./support/bare-serve.ts";
import { startNginx } from "./support/nginx.ts";
import { wrkRun, type WrkFigures } from "./support/wrk.ts";

const BLOB_BYTES = 25_000;
const TARGET_CORE = 0;
const WRK_CORE = 1;
const { values } = parseArgs({
  options: { rounds: { type: "string", default: "3" }, seconds: { type: "string", default: "5" } },
});
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);

function pin(proc: ProgramProcess): void {
  const out = Bun.spawnSync(["taskset", "-a", "-cp", String(TARGET_CORE), String(proc.proc.pid)], { stdout: "ignore" });
  if (out.exitCode !== 0) throw new Error(`taskset could not pin pid ${proc.proc.pid}`);
}

const dataDir = mkdtempSync(join(tmpdir(), "cas-bench-tail-"));
const nginx = await startNginx({ core: TARGET_CORE, fileBytes: BLOB_BYTES });
const server = await startProgram("server.ts", ["--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir]);
const cache = await startProgram("cache.ts", [
  ...["--host", "127.0.0.1", "--port", "0", "--origin", server.url, "--no-bypass", "--stats-interval", "0"],
]);
const bare = await startBareServe(BLOB_BYTES, TARGET_CORE);
try {
  const bareUrl = bare.url;
  pin(server);
  pin(cache);
  const blob = crypto.getRandomValues(new Uint8Array(BLOB_BYTES));
  const hash = digestHex("sha256", blob);
  const put = await fetch(`${server.url}/cas/${hash}`, { method: "PUT", body: blob });
  if (put.status !== 201) throw new Error(`upload failed: ${put.status} ${await put.text()}`);
  const targets: [string, string][] = [
    ["nginx", nginx.fileUrl],
    ["bare Bun.serve", bareUrl],
    ["server", `${server.url}/cas/${hash}`],
    ["cache hit", `${cache.url}/cas/${hash}`],
  ];
  for (const [, url] of targets) {
    const body = new Uint8Array(await (await fetch(url)).arrayBuffer());
    if (body.length !== BLOB_BYTES) throw new Error(`${url} answered ${body.length} bytes`);
    wrkRun(url, { core: WRK_CORE, connections: 64, seconds: 1 }); // warm up
  }
  const runs = new Map<string, { c1: WrkFigures[]; c64: WrkFigures[] }>(targets.map(([n]) => [n, { c1: [], c64: [] }]));
  console.log(
    `GET ${BLOB_BYTES} bytes, wrk -t1 --latency -d${seconds}s on core ${WRK_CORE}, targets on core ${TARGET_CORE}`,
  );
  for (let round = 1; round <= rounds; round++) {
    for (const [name, url] of targets) {
      const c1 = wrkRun(url, { core: WRK_CORE, connections: 1, seconds });
      const c64 = wrkRun(url, { core: WRK_CORE, connections: 64, seconds });
      runs.get(name)!.c1.push(c1);
      runs.get(name)!.c64.push(c64);
      console.log(
        `round ${round} ${name}: -c1 p50 ${c1.latencyMs.p50.toFixed(3)} ms p99 ${c1.latencyMs.p99.toFixed(3)} ms; ` +
          `-c64 ${formatCount(c64.requestsPerSecond)} req/s p99 ${c64.latencyMs.p99.toFixed(2)} ms, ${loadAverage()}`,
      );
    }
  }
  const med = (name: string, pick: (r: { c1: WrkFigures[]; c64: WrkFigures[] }) => number[]) =>
    median(pick(runs.get(name)!));
  const base = {
    c1p99: med("nginx", (r) => r.c1.map((f) => f.latencyMs.p99)),
    c64p99: med("nginx", (r) => r.c64.map((f) => f.latencyMs.p99)),
    rps: med("nginx", (r) => r.c64.map((f) => f.requestsPerSecond)),
  };
  for (const [name, goalRps] of [
    ["server", 0.9],
    ["cache hit", 1.0],
  ] as const) {
    const c1p99 = med(name, (r) => r.c1.map((f) => f.latencyMs.p99)) / base.c1p99;
    const c64p99 = med(name, (r) => r.c64.map((f) => f.latencyMs.p99)) / base.c64p99;
    const rps = med(name, (r) => r.c64.map((f) => f.requestsPerSecond)) / base.rps;
    const verdict = (ok: boolean) => (ok ? "PASS" : "FAIL");
    console.log(
      `${name} vs nginx (medians): -c1 p99 ${c1p99.toFixed(2)}x (goal <= 1.5x) ${verdict(c1p99 <= 1.5)}; ` +
        `-c64 p99 ${c64p99.toFixed(2)}x (goal <= 1.5x) ${verdict(c64p99 <= 1.5)}; ` +
        `-c64 req/s ${rps.toFixed(2)}x (goal >= ${goalRps.toFixed(1)}x) ${verdict(rps >= goalRps)}`,
    );
  }
} finally {
  bare.stop();
  await cache.stop();
  await server.stop();
  await nginx.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
