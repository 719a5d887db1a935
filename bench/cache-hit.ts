/**
 * The cache's hit path: GET of a warm 25,000-byte blob from cache.ts (default flags, and `--no-bypass` as in
 * production, which skips reading request headers) against nginx serving a file of the same size and bytes,
 * each pinned to core 0, `wrk -t1 -c64 -d8s` pinned to core 1, rounds interleaved. Prints req/s and server CPU
 * per request per round, medians and the ratios (goal: at least 0.9x nginx; the exit code checks the production
 * flags, the default's extra cost being the `Cache-Control` check that forced misses need). At ~105k req/s the
 * single wrk core is the limit, so CPU per request is the finer comparison.
 * Run under `flock /tmp/cas-bench.lock bun bench/cache-hit.ts [rounds]`.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { digestHex } from "../lib/common/key.ts";
import { startProgram } from "../lib/common/program-process.ts";
import { startNginx } from "./support/nginx.ts";
import { formatCount, median, processCpuSeconds } from "./support/figures.ts";

const BLOB_BYTES = 25_000;
const TARGET_CORE = 0;
const WRK_CORE = 1;
const SECONDS = 8;
const GOAL = 0.9;
const rounds = Math.max(3, Number(process.argv[2] ?? 3) || 3);

interface Run {
  rps: number;
  /** Server CPU (user + system) per request, in microseconds. */
  cpuUs: number;
}

/** CPU seconds used so far by `pid` (all its threads), from /proc/<pid>/stat. */

/** nginx runs in the foreground as our child (through taskset's exec); its worker is the master's child. */
function nginxWorkerPid(): number {
  const children = (ppid: number) =>
    readdirSync("/proc")
      .filter((d) => /^\d+$/.test(d))
      .map(Number)
      .filter((pid) => {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
          const after = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
          return Number(after[1]) === ppid && stat.includes("(nginx)");
        } catch {
          return false;
        }
      });
  const master = children(process.pid)[0];
  const worker = master === undefined ? undefined : children(master)[0];
  if (worker === undefined) throw new Error("cannot find the nginx worker process");
  return worker;
}

function run(url: string, pid: number): Run {
  const before = processCpuSeconds(pid);
  const out = Bun.spawnSync(["taskset", "-c", String(WRK_CORE), "wrk", "-t1", "-c64", `-d${SECONDS}s`, url], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const cpu = processCpuSeconds(pid) - before;
  const text = out.stdout.toString();
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  const total = /(\d+) requests in/.exec(text);
  if (out.exitCode !== 0 || rps === null || total === null || /Non-2xx/.test(text)) {
    throw new Error(`wrk failed:\n${text}${out.stderr.toString()}`);
  }
  return { rps: Number(rps[1]), cpuUs: (cpu / Number(total[1])) * 1e6 };
}

function pin(pid: number, core: number): void {
  const result = Bun.spawnSync(["taskset", "-a", "-cp", String(core), String(pid)], { stdout: "ignore" });
  if (result.exitCode !== 0) throw new Error(`taskset could not pin ${pid}`);
}

const dataDir = mkdtempSync(join(tmpdir(), "cas-bench-cache-hit-"));
const nginx = await startNginx({ core: TARGET_CORE, fileBytes: BLOB_BYTES });
const origin = await startProgram("server.ts", ["--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir]);
const cacheArgs = ["--host", "127.0.0.1", "--port", "0", "--origin", origin.url, "--stats-interval", "0"];
const cache = await startProgram("cache.ts", cacheArgs);
const strict = await startProgram("cache.ts", [...cacheArgs, "--no-bypass"]);
try {
  pin(origin.proc.pid, WRK_CORE); // idle during the runs; kept off the measured core
  pin(cache.proc.pid, TARGET_CORE);
  pin(strict.proc.pid, TARGET_CORE);
  // The same bytes nginx serves (its helper fills the file with "x").
  const blob = new Uint8Array(BLOB_BYTES).fill("x".charCodeAt(0));
  const hash = digestHex("sha256", blob);
  const put = await fetch(`${origin.url}/cas/${hash}`, { method: "PUT", body: blob });
  if (put.status >= 300) throw new Error(`upload failed: ${put.status} ${await put.text()}`);
  for (const target of [cache, strict]) {
    for (const expected of ["MISS", "HIT"]) {
      const res = await fetch(`${target.url}/cas/${hash}`);
      const got = new Uint8Array(await res.arrayBuffer());
      if (res.headers.get("x-cache") !== expected || digestHex("sha256", got) !== hash) {
        throw new Error(`cache answered ${res.status} ${res.headers.get("x-cache")} instead of a verified ${expected}`);
      }
    }
  }
  const nginxPid = nginxWorkerPid();
  const cachePid = cache.proc.pid;

  console.log(
    `GET ${BLOB_BYTES} bytes, wrk -t1 -c64 -d${SECONDS}s on core ${WRK_CORE}, targets on core ${TARGET_CORE}`,
  );
  const nginxRuns: Run[] = [];
  const cacheRuns: Run[] = [];
  const strictRuns: Run[] = [];
  const show = (r: Run) => `${formatCount(r.rps)} req/s ${r.cpuUs.toFixed(1)} µs/req`;
  for (let round = 1; round <= rounds; round++) {
    nginxRuns.push(run(nginx.fileUrl, nginxPid));
    cacheRuns.push(run(`${cache.url}/cas/${hash}`, cachePid));
    strictRuns.push(run(`${strict.url}/cas/${hash}`, strict.proc.pid));
    console.log(
      `round ${round}: nginx ${show(nginxRuns.at(-1)!)}, cache ${show(cacheRuns.at(-1)!)}, ` +
        `cache --no-bypass ${show(strictRuns.at(-1)!)}`,
    );
  }
  const mid = (runs: Run[]): Run => ({ rps: median(runs.map((r) => r.rps)), cpuUs: median(runs.map((r) => r.cpuUs)) });
  const [n, c, s] = [mid(nginxRuns), mid(cacheRuns), mid(strictRuns)];
  console.log(`median: nginx ${show(n)}, cache ${show(c)}, cache --no-bypass ${show(s)}`);
  for (const target of [cache, strict]) {
    const stats = (await (await fetch(`${target.url}/stats`)).json()) as { Gets: number; CacheHits: number };
    if (stats.Gets - stats.CacheHits !== 1) throw new Error(`expected one miss, got ${JSON.stringify(stats)}`);
  }
  console.log(
    `ratio cache/nginx: ${(c.rps / n.rps).toFixed(2)}x req/s, CPU per request ${(c.cpuUs / n.cpuUs).toFixed(2)}x nginx's`,
  );
  const ratio = s.rps / n.rps;
  console.log(
    `ratio cache --no-bypass/nginx: ${ratio.toFixed(2)}x req/s (goal >= ${GOAL.toFixed(2)}x), ` +
      `CPU per request ${(s.cpuUs / n.cpuUs).toFixed(2)}x nginx's`,
  );
  process.exitCode = ratio >= GOAL ? 0 : 1;
} finally {
  await cache.stop();
  await strict.stop();
  await origin.stop();
  await nginx.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
