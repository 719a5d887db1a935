/**
 * ccache's remote storage, ours (server.ts, and cache.ts in front of it) against nginx as a WebDAV store (the
 * setup ccache's HTTP how-to gives), all with `layout=bazel` so the requests are the same, on any core as in a
 * real setup (with `pin`, every store is pinned to core 0 while the compiles use both): a generated project of 50 C files compiled through ccache (2 jobs), cold (empty local cache, keys the
 * remote has never seen: compile and upload) and warm (empty local cache, every result on the remote: download
 * only), rounds interleaved after an uncounted warm-up, with gcc alone for scale. Prints each round, the
 * medians and ours/nginx. Each warm build must be all remote hits and give byte-identical objects, or the run
 * fails. Run under `flock /tmp/cas-bench.lock bun bench/ccache-remote.ts [rounds] [pin]`.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { digestHex } from "../lib/common/key.ts";
import { startProgram, type ProgramProcess } from "../lib/common/program-process.ts";
import { writeCProject, type CProject } from "../test/fixtures/c-project.ts";
import {
  buildProject,
  ccacheStats,
  clearLocal,
  GCC,
  missingBuildTools,
  objectPath,
  type CcacheOptions,
} from "../test/support/ccache.ts";
import { runCommand } from "../test/support/run-command.ts";
import { loadAverage, median } from "./support/figures.ts";
import { startNginx, type Nginx } from "./support/nginx.ts";

const UNITS = 50;
const JOBS = 2;
const STORE_CORE = 0;
const rounds = Math.max(1, Number(process.argv[2] ?? 3) || 3);
const pinStores = process.argv.includes("pin");
// Bounded in time whatever happens: a hung build must not hold the bench lock.
const LIMIT_MS = 10 * 60_000;

interface Backend {
  name: string;
  remote: string;
  cold: number[];
  warm: number[];
}

const missing = missingBuildTools();
if (missing.length > 0) {
  console.error(`needs ${missing.join(" and ")} (Debian packages ccache, gcc)`);
  process.exit(2);
}
const watchdog = setTimeout(() => {
  console.error(`gave up after ${LIMIT_MS / 60_000} min`);
  process.exit(1);
}, LIMIT_MS);

const work = mkdtempSync(join(tmpdir(), "cas-bench-ccache-"));
chmodSync(work, 0o711); // nginx's unprivileged workers write below it
let server: ProgramProcess | undefined;
let cache: ProgramProcess | undefined;
let nginx: Nginx | undefined;
try {
  server = await startProgram("server.ts", ["--host", "127.0.0.1", "--port", "0", "--data-dir", join(work, "data")]);
  cache = await startProgram("cache.ts", ["--host", "127.0.0.1", "--port", "0", "--origin", server.url]);
  if (pinStores) {
    for (const pid of [server.proc.pid, cache.proc.pid]) {
      Bun.spawnSync(["taskset", "-a", "-cp", String(STORE_CORE), String(pid)], { stdout: "ignore" });
    }
  }
  nginx = await startNginx({ core: pinStores ? STORE_CORE : undefined, dav: join(work, "dav") });
  const project = writeCProject(join(work, "project"), UNITS);
  const backends: Backend[] = [
    { name: "server.ts", remote: `${server.url}|layout=bazel`, cold: [], warm: [] },
    { name: "cache.ts+server.ts", remote: `${cache.url}|layout=bazel`, cold: [], warm: [] },
    { name: "nginx", remote: `${nginx.davUrl}|layout=bazel`, cold: [], warm: [] },
  ];
  const plain: number[] = [];
  const placement = pinStores ? `stores pinned to core ${STORE_CORE}` : "stores on any core";
  console.log(
    `${project.sources.length} C files, ccache ${JOBS} jobs, ${placement}, ${rounds} rounds, ${loadAverage()}`,
  );
  // Round 0 warms up the tools, the page cache and each store, and is not counted.
  for (let round = 0; round <= rounds; round++) {
    const counted = round > 0;
    const plainTime = await timed(() => buildPlain(project, [`-DBENCH_ROUND=${round}`]));
    if (counted) plain.push(plainTime);
    // Rotated each round, so no backend always runs first (or right after gcc alone).
    const order = backends.map((_, i) => backends[(i + round) % backends.length]!);
    const line: string[] = [`${counted ? `round ${round}` : "warm-up"}: gcc alone ${plainTime.toFixed(2)} s`];
    for (const backend of order) {
      // A flag only this round and backend use: every key is new to the remote (server.ts and the tier share
      // one store), so each cold build is truly cold.
      const cflags = [`-DBENCH_ROUND=${round}_${backend.name}_${Date.now()}`];
      const options: CcacheOptions = { cacheDir: join(work, `ccache-${backend.name}`), remote: backend.remote, cflags };
      await clearLocal(options);
      const cold = await timed(() => buildProject(project, { ...options, jobs: JOBS }));
      const objects = objectDigests(project);
      await clearLocal(options);
      const warm = await timed(() => buildProject(project, { ...options, jobs: JOBS }));
      if (counted) {
        backend.cold.push(cold);
        backend.warm.push(warm);
      }
      const stats = await ccacheStats(options);
      if (stats.remote_storage_hit !== project.sources.length) {
        throw new Error(`${backend.name}: warm build had ${stats.remote_storage_hit} remote hits`);
      }
      if (objectDigests(project) !== objects) throw new Error(`${backend.name}: objects differ after a remote hit`);
      line.push(`${backend.name} cold ${cold.toFixed(2)} s warm ${warm.toFixed(3)} s`);
    }
    console.log(line.join(", "));
  }
  const [ours, tier, anchor] = backends as [Backend, Backend, Backend];
  const ratio = (a: number[], b: number[]) => (median(a) / median(b)).toFixed(2);
  console.log(`median gcc alone ${median(plain).toFixed(2)} s`);
  for (const backend of backends) {
    console.log(
      `median ${backend.name}: cold ${median(backend.cold).toFixed(2)} s, warm ${median(backend.warm).toFixed(3)} s`,
    );
  }
  console.log(`server.ts/nginx: cold ${ratio(ours.cold, anchor.cold)}x, warm ${ratio(ours.warm, anchor.warm)}x`);
  console.log(
    `cache.ts+server.ts/nginx: cold ${ratio(tier.cold, anchor.cold)}x, warm ${ratio(tier.warm, anchor.warm)}x ` +
      `(time, lower is better); ${loadAverage()}`,
  );
} finally {
  clearTimeout(watchdog);
  await cache?.stop();
  await server?.stop();
  await nginx?.stop();
  rmSync(work, { recursive: true, force: true });
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await fn();
  return (performance.now() - started) / 1000;
}

/** The same compiles without ccache, two at a time: what caching saves or costs against. */
async function buildPlain(project: CProject, cflags: string[]): Promise<void> {
  const queue = [...project.sources];
  const worker = async () => {
    for (let source = queue.shift(); source !== undefined; source = queue.shift()) {
      const out = objectPath(project, source);
      const result = await runCommand([GCC, "-O2", ...cflags, "-c", source, "-o", out], { cwd: project.dir });
      if (result.code !== 0) throw new Error(`gcc failed: ${result.stderr}`);
    }
  };
  await Promise.all(Array.from({ length: JOBS }, worker));
}

/** One digest over every object file, to compare a build with the next. */
function objectDigests(project: CProject): string {
  return project.sources.map((source) => digestHex("sha256", readFileSync(objectPath(project, source)))).join(",");
}
